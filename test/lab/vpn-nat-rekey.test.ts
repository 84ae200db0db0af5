/**
 * `homeward vpn up` behind a NAT against a strongSwan gateway that demands
 * COOKIEs and rekeys from its side (CHILD_SA every 10 s, IKE_SA every 20 s):
 *
 *   client 192.168.1.2 ── 192.168.1.1 nat 192.0.2.2 ── 192.0.2.1 gw 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *                                     (MASQUERADE)
 *
 * One topology, one long test: NAT detected, IKE and ESP on 4500,
 * keepalives on the wire, the COOKIE round trip, 60 s of 50 ms pings across
 * the rekeys without a loss, DELETE and a clean client at the end.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, PYTHON, capture, dissect, labAvailable, roadWarriorResponder, skipLine, startStrongSwan, sweepStale, type StrongSwan } from './harness/index.ts';

const BIN = fileURLToPath(new URL('../../bin/homeward.mjs', import.meta.url));
const PROBE = fileURLToPath(new URL('./fixtures/ike-sa-init-probe.py', import.meta.url));
const PSK = 'lab-vpn-nat-psk-0123456789';
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark', 'scapy'] });
if (!avail.ok) console.warn(skipLine('vpn-nat-rekey.test.ts', avail));

const SWANCTL = roadWarriorResponder({ localAddr: '192.0.2.1', psk: PSK, proposals: 'aes256gcm16-prfsha256-x25519', espProposals: 'aes256gcm16', localTs: '10.10.0.0/16', ikeOptions: ['rekey_time = 20s'], childOptions: ['rekey_time = 10s'] });

type Json = Record<string, unknown>;
const events = (s: string): Json[] => s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);

describe.skipIf(!avail.ok)('vpn up behind a NAT, with COOKIEs and gateway rekeys', () => {
  let lab: Lab;
  let gw: StrongSwan;

  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['client', 'nat', { name: 'gw', forward: true }, 'intranet'],
      switches: ['lan'],
      links: [
        { a: 'client', b: 'nat', aAddr: '192.168.1.2/24', bAddr: '192.168.1.1/24' },
        { a: 'nat', b: 'gw', aAddr: '192.0.2.2/24', bAddr: '192.0.2.1/24' },
        { a: 'gw', b: 'lan', aAddr: '10.10.0.1/24' },
        { a: 'intranet', b: 'lan', aAddr: '10.10.0.10/24' },
      ],
      routes: [{ host: 'client', to: 'default', via: '192.168.1.1' }, { host: 'intranet', to: 'default', via: '10.10.0.1' }],
      nat: [{ host: 'nat', outIf: 'eth1' }],
    });
    gw = await startStrongSwan(lab, 'gw', { swanctlConf: SWANCTL, conf: { cookieThreshold: 1 } });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('NAT → 4500 + keepalives, COOKIE honoured, 60 s of 50 ms pings lose nothing across CHILD (10 s) and IKE (20 s) rekeys', async () => {
    const dir = lab.tempDir('client');
    const profilePath = join(dir, 'profile.json');
    writeFileSync(profilePath, JSON.stringify({
      homeAddress: '10.10.0.77', homeAgent: '10.10.0.2',
      vpn: {
        gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: PSK },
        ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16', remoteTs: ['10.10.0.0/16'], natKeepaliveSeconds: 2,
      },
    }));
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
    // one half-open IKE SA (an independent IKE_SA_INIT) reaches cookie_threshold = 1
    const probe = await lab.exec('client', PYTHON, [PROBE, '192.0.2.1', '500', '5']);
    expect(probe.code, probe.stderr).toBe(0);
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profilePath]);
    await p.waitFor(/"state":"established"|"type":"error"/, 30_000, 'stdout');
    const est = events(p.stdout()).find((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(est, p.stdout()).toMatchObject({ natLocal: true, local: '192.168.1.2' }) // natRemote: kernel-libipsec fakes its NAT-D (forced encapsulation);
    const tia = String(est!.tia);

    const ping = await lab.exec('client', 'ping', ['-q', '-c', '1200', '-i', '0.05', '-W', '1', '-I', tia, '10.10.0.10'], { timeoutMs: 90_000 });
    expect(ping.stdout, ping.stderr).toMatch(/1200 packets transmitted, 1200 received/);

    await p.stop(8000);
    expect((await p.exited).code).toBe(0);
    const ev = events(p.stdout());
    expect(ev.filter((e) => e.type === 'child-sa' && e.state === 'rekeyed').length).toBeGreaterThanOrEqual(3);
    expect(ev.filter((e) => e.type === 'ike-sa' && e.state === 'rekeyed').length).toBeGreaterThanOrEqual(2);
    expect(ev.some((e) => e.type === 'error')).toBe(false);
    expect(await gw.listSas()).toEqual([]);
    const tun = await lab.exec('client', 'ip', ['-o', 'link', 'show']);
    expect(tun.stdout).not.toMatch(/^\d+: hw\d+[:@]/m);

    const pcap = await cap.stop();
    const d = await dissect(pcap, { fields: ['isakmp.notify.msgtype', 'udp.srcport', 'udp.length'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    expect(d.packets.some((x) => x.fields['isakmp.notify.msgtype']?.includes('16390'))).toBe(true); // COOKIE
    expect(d.packets.some((x) => x.fields['udp.length']?.[0] === '9')).toBe(true); // 0xFF keepalive
    expect(d.packets.filter((x) => x.fields['udp.srcport']?.[0] === '4500').length).toBeGreaterThan(1000);
  }, 150_000);
});
