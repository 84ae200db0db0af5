/**
 * `homeward vpn up` against a real strongSwan 5.9 gateway (PSK), one shared
 * topology:
 *
 *   client 192.0.2.2 ── 192.0.2.1 gw 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *                       (pool 10.10.100.0/24, local_ts 10.10.0.0/16)
 *
 * Each test runs the CLI in the client namespace with its own profile,
 * waits for its JSON events, and checks both ends afterwards.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Lab, PYTHON, capture, dissect, labAvailable, roadWarriorResponder, skipLine, startStrongSwan, type StrongSwan,
} from './harness/index.ts';
import { createVpnLab } from './fixtures/vpn-lab.ts';

/** scapy's SecurityAssociation as the independent ChaCha20-Poly1305 ESP (tshark 4.0 has none). */
const SCAPY_CHACHA = `
import sys, json
from scapy.all import rdpcap, IP, UDP, ICMP, Raw
from scapy.layers.ipsec import SecurityAssociation, ESP
sas = {k['spi']: SecurityAssociation(ESP, spi=k['spi'], crypt_algo='CHACHA20-POLY1305', crypt_key=bytes.fromhex(k['key']), tunnel_header=IP())
       for k in json.loads(sys.argv[2])}
out = []
for p in rdpcap(sys.argv[1]):
    if IP not in p or UDP not in p or 4500 not in (p[UDP].sport, p[UDP].dport):
        continue
    b = bytes(p[UDP].payload)
    if len(b) < 8 or b[:4] == b'\\0\\0\\0\\0':
        continue
    spi = int.from_bytes(b[:4], 'big')
    if spi not in sas:
        out.append({'spi': spi, 'error': 'unknown spi'})
        continue
    inner = sas[spi].decrypt(IP(bytes(IP(src=p[IP].src, dst=p[IP].dst, proto=50) / Raw(b))))
    out.append({'spi': spi, 'icmp': int(inner[ICMP].type) if ICMP in inner else None})
print(json.dumps(out))
`;

const BIN = fileURLToPath(new URL('../../bin/homeward.mjs', import.meta.url));
const TOOLS = fileURLToPath(new URL('./home-agent/tools/', import.meta.url));
const PSK = 'lab-vpn-psk-0123456789';
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark', 'scapy'] });
if (!avail.ok) console.warn(skipLine('vpn-psk.test.ts', avail));

const SUITES = [
  { ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16' },
  { ike: 'chacha20poly1305-prfsha512-ecp256', esp: 'chacha20poly1305' },
  { ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256' },
];

type Json = Record<string, unknown>;

function events(stdout: string): Json[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
}

describe.skipIf(!avail.ok)('vpn up (PSK) against strongSwan', () => {
  let lab: Lab;
  let gw: StrongSwan;
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    lab = await createVpnLab();
    gw = await startStrongSwan(lab, 'gw', {
      swanctlConf: roadWarriorResponder({
        localAddr: '192.0.2.1', psk: PSK, localTs: '10.10.0.0/16',
        proposals: SUITES.map((s) => s.ike).join(', '), espProposals: SUITES.map((s) => s.esp).join(', '),
      }),
    });
    dir = lab.tempDir('client');
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  function profile(vpn: Json): string {
    const path = join(dir, `profile-${++n}.json`);
    writeFileSync(path, JSON.stringify({
      homeAddress: '10.10.0.77', homeAgent: '10.10.0.2',
      vpn: {
        gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: PSK },
        remoteTs: ['10.10.0.0/16'], retransmitBaseMs: 500, retransmitTries: 3, ...vpn,
      },
    }));
    return path;
  }

  async function clientLeftovers(): Promise<string> {
    const links = await lab.exec('client', 'ip', ['-o', 'link', 'show']);
    const routes = await lab.exec('client', 'ip', ['route', 'show']);
    return [...links.stdout.split('\n').filter((l) => /^\d+: hw\d+[:@]/.test(l)), ...routes.stdout.split('\n').filter((l) => l.includes('10.10.'))].join('\n');
  }

  async function runUp(suite: Json, extra: string[] = []): Promise<{ stop: () => Promise<{ code: number | null; events: Json[] }>; established: Json }> {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile(suite), ...extra]);
    await p.waitFor(/"state":"established"|"type":"error"/, 30_000, 'stdout');
    const established = events(p.stdout()).find((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(established, p.stdout() + p.stderr()).toBeDefined();
    return {
      established: established!,
      stop: async () => {
        await p.stop(8000);
        const info = await p.exited;
        return { code: info.code, events: events(p.stdout()) };
      },
    };
  }

  for (const suite of SUITES) {
    it(`${suite.ike} / ${suite.esp}: TIA from the pool, ping to the intranet, DELETE on SIGTERM, nothing left`, async () => {
      const up = await runUp(suite);
      expect(up.established).toMatchObject({ gateway: '192.0.2.1', local: '192.0.2.2', ike: suite.ike, esp: suite.esp });
      const tia = String(up.established.tia);
      expect(tia).toMatch(/^10\.10\.100\.\d+$/);
      const ping = await lab.exec('client', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', tia, '10.10.0.10']);
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
      expect((await gw.listSas()).length).toBe(1);
      const { code, events: ev } = await up.stop();
      expect(code).toBe(0);
      expect(ev.some((e) => e.type === 'ike-sa' && e.state === 'deleted')).toBe(true);
      expect(await gw.listSas()).toEqual([]);
      expect(await clientLeftovers()).toBe('');
    });
  }

  it('TUN offloads: a fast byte-checked TCP stream comes back whole and in order; TSO reads were cut, received segments joined', async () => {
    const up = await runUp(SUITES[0]!);
    const tia = String(up.established.tia);
    const echo = lab.spawn('intranet', process.execPath, ['--import', 'tsx', join(TOOLS, 'echo-server.ts'), '10.10.0.10', '5001'], { label: 'echo' });
    try {
      await echo.waitFor(/listening/, 15_000, 'stdout');
      // 3 s at 10 MB/s each way: the kernel hands the client's sends over as TSO super-packets, the echo comes back in full-size segments
      const stream = lab.spawn('client', process.execPath, ['--import', 'tsx', join(TOOLS, 'stream-client.ts'), '10.10.0.10', '5001', '3', '500000'], { label: 'stream' });
      await stream.waitFor(/"event":"done"/, 60_000, 'stdout');
      const done = stream.stdout().split('\n').filter((l) => l.includes('"done"')).map((l) => JSON.parse(l) as Json).at(-1)!;
      expect(done, stream.stdout()).toMatchObject({ ok: true, src: tia, sent: 30_000_000, received: 30_000_000 });
    } finally {
      await echo.stop();
    }
    const { code, events: ev } = await up.stop();
    expect(code).toBe(0);
    const line = ev.map((e) => String(e.msg ?? '')).find((m) => m.includes('TUN offloads'));
    const m = /TUN offloads on: (\d+) TSO reads cut into (\d+) segments, \d+ checksums completed, (\d+) of (\d+) packets written in (\d+) coalesced writes/.exec(line ?? '');
    expect(m, line).not.toBeNull();
    const [tsoReads, segments, joined, written, writes] = m!.slice(1).map(Number) as [number, number, number, number, number];
    expect(tsoReads).toBeGreaterThan(0);
    expect(segments).toBeGreaterThan(tsoReads);
    expect(writes).toBeGreaterThan(0);
    expect(joined).toBeGreaterThan(writes);
    expect(written).toBeGreaterThanOrEqual(joined);
  });

  it('vpn.rekeySeconds: our own CHILD_SA rekey against strongSwan keeps the ping going and leaves one CHILD_SA', async () => {
    const up = await runUp({ ...SUITES[0], rekeySeconds: 10 });
    const tia = String(up.established.tia);
    const ping = await lab.exec('client', 'ping', ['-q', '-c', '240', '-i', '0.05', '-W', '1', '-I', tia, '10.10.0.10'], { timeoutMs: 30_000 });
    expect(ping.stdout).toMatch(/240 packets transmitted, 240 received/);
    const sas = await gw.listSas();
    expect(sas.length).toBe(1);
    expect(JSON.stringify(sas)).toMatch(/INSTALLED/);
    const { code, events: ev } = await up.stop();
    expect(code).toBe(0);
    expect(ev.filter((e) => e.type === 'child-sa' && e.state === 'rekeyed').length).toBeGreaterThanOrEqual(1);
    expect(ev.filter((e) => e.type === 'child-sa' && e.state === 'rekeyed').length).toBeLessThanOrEqual(2);
  });

  it('a wrong PSK ends with AUTHENTICATION_FAILED, exit 1 and nothing configured', async () => {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile({ ...SUITES[0], auth: { psk: 'wrong' } })]);
    const info = await p.exited;
    const err = events(p.stdout()).find((e) => e.type === 'error');
    expect(err, p.stdout() + p.stderr()).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    expect(info.code).toBe(1);
    expect(await clientLeftovers()).toBe('');
  });

  it('a proposal the gateway refuses ends with NO_PROPOSAL_CHOSEN, exit 1 and nothing configured', async () => {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile({ ike: 'aes128gcm16-prfsha384-ecp384', esp: 'aes128gcm16' })]);
    const info = await p.exited;
    const err = events(p.stdout()).find((e) => e.type === 'error');
    expect(err, p.stdout() + p.stderr()).toMatchObject({ code: 'NO_PROPOSAL_CHOSEN' });
    expect(info.code).toBe(1);
    expect(await clientLeftovers()).toBe('');
  });

  it('tshark dissects every IKE/ESP packet cleanly and, with --keylog, decrypts IKE_AUTH and the ESP ping', async () => {
    const keylog = join(dir, 'keys.txt');
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
    const up = await runUp(SUITES[0]!, ['--keylog', keylog]);
    const ping = await lab.exec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', String(up.established.tia), '10.10.0.10']);
    expect(ping.code).toBe(0);
    await up.stop();
    const pcap = await cap.stop();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(keylog, 'utf8').trim().split('\n');
    const ike = lines.filter((l) => l.startsWith('ikev2_decryption_table: ')).map((l) => l.slice(24));
    const esp = lines.filter((l) => l.startsWith('esp_sa: ')).map((l) => l.slice(8));
    expect(ike.length).toBeGreaterThan(0);
    expect(esp.length).toBeGreaterThan(1);
    const plain = await dissect(pcap);
    expect(plain.malformed).toEqual([]);
    expect(plain.expertErrors).toEqual([]);
    const prefs = [
      ...ike.map((l) => `uat:ikev2_decryption_table:${l}`),
      'esp.enable_encryption_decode:TRUE',
      ...esp.map((l) => `uat:esp_sa:${l}`),
    ];
    const dec = await dissect(pcap, { prefs, fields: ['isakmp.exchangetype', 'isakmp.typepayload', 'icmp.type'] });
    expect(dec.malformed).toEqual([]);
    // IKE_AUTH decrypted: our request's inner chain starts IDi (35) … AUTH (39)
    const auth = dec.packets.find((p) => p.fields['isakmp.exchangetype']?.[0] === '35');
    expect(auth?.fields['isakmp.typepayload']).toEqual(expect.arrayContaining(['35', '36', '39', '47', '33', '44', '45']));
    // ESP decrypted: the ICMP echo request (8) and reply (0) inside
    expect(dec.packets.some((p) => p.fields['icmp.type']?.includes('8'))).toBe(true);
    expect(dec.packets.some((p) => p.fields['icmp.type']?.includes('0'))).toBe(true);
  });

  it('ChaCha20-Poly1305: scapy decrypts every captured ESP packet to the ping with the --keylog keys', async () => {
    const keylog = join(dir, 'keys-chacha.txt');
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 4500' });
    const up = await runUp(SUITES[1]!, ['--keylog', keylog]);
    const ping = await lab.exec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', String(up.established.tia), '10.10.0.10']);
    expect(ping.code).toBe(0);
    await up.stop();
    const pcap = await cap.stop();
    const { readFileSync } = await import('node:fs');
    const keys = readFileSync(keylog, 'utf8').split('\n').filter((l) => l.startsWith('esp_sa: ')).map((l) => {
      const f = l.slice(8).split(',').map((x) => x.replace(/"/g, ''));
      return { spi: parseInt(f[3]!, 16), key: f[5]!.slice(2) };
    });
    expect(keys.length).toBe(2);
    const r = await lab.exec('client', PYTHON, ['-c', SCAPY_CHACHA, pcap, JSON.stringify(keys)]);
    expect(r.code, r.stderr).toBe(0);
    const decrypted = JSON.parse(r.stdout) as { spi: number; icmp?: number | null; error?: string }[];
    expect(decrypted.filter((d) => d.error)).toEqual([]);
    expect(decrypted.filter((d) => d.icmp === 8).length).toBe(2);
    expect(decrypted.filter((d) => d.icmp === 0).length).toBe(2);
  });
});
