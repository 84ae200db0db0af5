/**
 * The reference home agent as a process in a lab namespace, driven by a
 * scripted mobile node whose requests are built here with node:crypto's
 * HMAC-MD5 (independent of every Homeward codec):
 *
 *   mn 10.2.0.100 ── sub2 10.2.0.1 [ha 10.1.0.1] intra0 ── 10.1.0.10 intra
 *      (trusted subnet)                home network 10.1.0.0/24, HoA 10.1.0.50
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, Lab, labAvailable, skipLine, type Capture, type LabProcess } from './harness/index.ts';
import { rawAddonEnv } from './home-agent/addon.ts';

const avail = labAvailable({ need: ['tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('mip-home-agent', avail));

const KEY = '8a4f0e3c1b2d5a6978f0e1d2c3b4a596';
const NTP_UNIX_OFFSET = 2_208_988_800;
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];

function rrq(opts: { key?: string; id: bigint; force?: boolean }): Buffer {
  const head = Buffer.alloc(24);
  head[0] = 1;
  head[1] = 0x22; // D (co-located decapsulation) + T (reverse tunnel)
  head.writeUInt16BE(120, 2);
  Buffer.from([10, 1, 0, 50]).copy(head, 4);
  Buffer.from([10, 1, 0, 1]).copy(head, 8);
  Buffer.from([10, 2, 0, 100]).copy(head, 12);
  head.writeBigUInt64BE(opts.id, 16);
  const nai = Buffer.from('mn@example');
  const exts = Buffer.concat([
    Buffer.from([131, nai.length]), nai,
    Buffer.from([144, 6, 0, 0, opts.force ? 0x80 : 0, 4, 0, 0]), // UDP Tunnel Request (RFC 3519), F when forced
    Buffer.from([32, 20, 0, 0, 0x01, 0x2c]), // MN-HA, SPI 300
  ]);
  const covered = Buffer.concat([head, exts]);
  return Buffer.concat([covered, createHmac('md5', Buffer.from(opts.key ?? KEY, 'hex')).update(covered).digest()]);
}

const nowId = (low: number) => (BigInt(Math.floor(Date.now() / 1000) + NTP_UNIX_OFFSET) << 32n) | BigInt(low);

function validReplyAuth(reply: Buffer): boolean {
  const covered = reply.subarray(0, reply.length - 16);
  const at = covered.length - 6;
  return reply[at] === 32 && reply.readUInt32BE(at + 2) === 300 &&
    createHmac('md5', Buffer.from(KEY, 'hex')).update(covered).digest().equals(reply.subarray(reply.length - 16));
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!avail.ok)('reference home agent (lab)', () => {
  let lab: Lab;
  let ha: LabProcess;
  let cap: Capture;
  let env: NodeJS.ProcessEnv;

  const scriptedMn = async (req: Buffer, ping?: string) => {
    const r = await lab.exec('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/scripted-mn.ts'), '10.1.0.1', req.toString('hex'), ...(ping ? [ping] : [])], { env, cwd: ROOT });
    return jsonLines(r.stdout);
  };

  beforeAll(async () => {
    env = await rawAddonEnv();
    lab = await Lab.create({
      hosts: ['mn', { name: 'ha', forward: true }, 'intra'],
      links: [
        { a: 'mn', b: 'ha', aAddr: '10.2.0.100/24', bAddr: '10.2.0.1/24', aIf: 'wlan0', bIf: 'sub2' },
        { a: 'ha', b: 'intra', aAddr: '10.1.0.1/24', bAddr: '10.1.0.10/24', aIf: 'intra0', bIf: 'eth0' },
      ],
      routes: [{ host: 'mn', to: 'default', via: '10.2.0.1' }],
    });
    const config = join(lab.workDir, 'ha.json');
    writeFileSync(config, JSON.stringify({
      address: '10.1.0.1', homeNetwork: '10.1.0.0/24', intranetDevice: 'intra0', tunDevice: 'ha0',
      trustedPrefixes: ['10.2.0.0/24'],
      mobileNodes: [{ homeAddress: '10.1.0.50', nai: 'mn@example', spi: 300, key: `hex:${KEY}` }],
    }));
    cap = await capture(lab, 'ha', 'sub2', { filter: 'udp port 434' });
    ha = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', config], { env, label: 'home-agent' });
    await ha.waitFor(/"event":"ready"/, 20_000, 'stdout');
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('a wrong MN-HA key gets 131 and no binding', async () => {
    const [reply] = await scriptedMn(rrq({ key: 'ff'.repeat(16), id: nowId(1) }));
    expect(reply).toMatchObject({ event: 'reply', code: 131 });
    expect(ha.stdout()).toMatch(/"event":"denied","code":131/);
    expect(ha.stdout()).not.toMatch(/binding-added/);
  });

  it('a trusted request is accepted with TNC; a ping from the HoA crosses the HA through the UDP tunnel', async () => {
    const lines = await scriptedMn(rrq({ id: nowId(2), force: true }), '10.1.0.10');
    const reply = Buffer.from(String(lines[0]?.hex), 'hex');
    expect(reply[1]).toBe(0);
    expect(reply.includes(Buffer.from([0x95, 0x02, 0x00, 0x00]))).toBe(true);
    expect(validReplyAuth(reply)).toBe(true);
    expect(lines[1]).toMatchObject({ event: 'tunnelled', src: '10.1.0.10', dst: '10.1.0.50', icmpType: 0, id: 0x4d4e, data: 'through the home agent' });
    const added = jsonLines(ha.stdout()).find((l) => l.event === 'binding-added');
    expect(added).toMatchObject({ homeAddress: '10.1.0.50', tunnel: 'udp', tnc: true, coa: '10.2.0.100' });
  });

  it('a keepalive (ICMP echo to the HA inside tunnel data) is answered through the same tunnel (RFC 3519)', async () => {
    const lines = await scriptedMn(rrq({ id: nowId(4), force: true }), '10.1.0.1');
    expect(lines[0]).toMatchObject({ event: 'reply', code: 0 });
    expect(lines[1]).toMatchObject({ event: 'tunnelled', src: '10.1.0.1', dst: '10.1.0.50', icmpType: 0, id: 0x4d4e });
  });

  it('a replayed request gets 133 with the HA clock in the high 32 bits and the low 32 bits copied', async () => {
    const req = rrq({ id: nowId(5) });
    await scriptedMn(req);
    const [again] = await scriptedMn(req);
    const reply = Buffer.from(String(again?.hex), 'hex');
    expect(reply[1]).toBe(133);
    expect(validReplyAuth(reply)).toBe(true);
    expect(reply.readUInt32BE(16)).toBe(5);
    expect(Math.abs(reply.readUInt32BE(12) - (Math.floor(Date.now() / 1000) + NTP_UNIX_OFFSET))).toBeLessThan(5);
  });

  it('every captured registration packet dissects cleanly, and each MN-HA authenticator recomputes with node:crypto', async () => {
    const pcap = await cap.stop();
    const d = await dissect(pcap, { fields: ['udp.payload'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    const mip = d.packets.filter((p) => p.protocols.includes('mip'));
    expect(mip.length).toBeGreaterThanOrEqual(6);
    let verified = 0;
    for (const p of mip) {
      const payload = Buffer.from((p.fields['udp.payload']?.[0] ?? '').replace(/:/g, ''), 'hex');
      if (payload[0] !== 3) continue;
      // every reply, the 131 one included, is authenticated with the HA's key for SPI 300
      expect(validReplyAuth(payload)).toBe(true);
      verified++;
    }
    expect(verified).toBeGreaterThanOrEqual(4);
  });
});
