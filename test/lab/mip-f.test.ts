/**
 * Mode `f` (foreign-agent care-of address) through the reference foreign
 * agent and home agent. The mobile node here is scripted (its request is built
 * with node:crypto): what is checked is the FA — advertisements, relaying,
 * de-tunnelling onto the link and reverse tunnelling — and the HA with an
 * FA care-of address. The product's mode-f client is not written yet.
 *
 *   mn (HoA 10.1.0.50 on wlan0) ── lan0 10.4.0.1 [fa] wan0 10.2.0.5 ── 10.2.0.1 [ha 10.1.0.1] ── 10.1.0.10 intra
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, Lab, labAvailable, skipLine, type Capture, type LabProcess } from './harness/index.ts';
import { rawAddonEnv } from './home-agent/addon.ts';

const avail = labAvailable({ need: ['tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('mip-f', avail));

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];
const KEY = '5b6a79881726354453627180a9b8c7d6';

function rrq(): Buffer {
  const head = Buffer.alloc(24);
  head[0] = 1;
  head[1] = 0x02; // T: reverse tunnel through the FA
  head.writeUInt16BE(120, 2);
  Buffer.from([10, 1, 0, 50]).copy(head, 4);
  Buffer.from([10, 1, 0, 1]).copy(head, 8);
  Buffer.from([10, 2, 0, 5]).copy(head, 12); // the FA's care-of address from its advertisement
  head.writeBigUInt64BE((BigInt(Math.floor(Date.now() / 1000) + 2_208_988_800) << 32n) | 77n, 16);
  const covered = Buffer.concat([head, Buffer.from([32, 20, 0, 0, 0x01, 0x2c])]);
  return Buffer.concat([covered, createHmac('md5', Buffer.from(KEY, 'hex')).update(covered).digest()]);
}

const lines = (t: string) => t.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(!avail.ok)('Mobile IPv4 mode f through the reference foreign agent (lab)', () => {
  let lab: Lab;
  let ha: LabProcess;
  let fa: LabProcess;
  let cap: Capture;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = await rawAddonEnv();
    lab = await Lab.create({
      hosts: ['mn', { name: 'fa', forward: true }, { name: 'ha', forward: true }, 'intra'],
      links: [
        { a: 'mn', b: 'fa', aIf: 'wlan0', bAddr: '10.4.0.1/24', bIf: 'lan0' },
        { a: 'fa', b: 'ha', aAddr: '10.2.0.5/24', bAddr: '10.2.0.1/24', aIf: 'wan0', bIf: 'sub2' },
        { a: 'ha', b: 'intra', aAddr: '10.1.0.1/24', bAddr: '10.1.0.10/24', aIf: 'intra0', bIf: 'eth0' },
      ],
      routes: [{ host: 'fa', to: 'default', via: '10.2.0.1' }],
    });
    // the MN keeps its home address on the visited link (RFC 5944 §4.6), the FA is its router
    await lab.ip('mn', ['addr', 'add', '10.1.0.50/32', 'dev', 'wlan0']);
    await lab.ip('mn', ['route', 'add', '10.4.0.1/32', 'dev', 'wlan0']);
    await lab.ip('mn', ['route', 'add', 'default', 'via', '10.4.0.1', 'dev', 'wlan0', 'src', '10.1.0.50']);
    const haConfig = join(lab.workDir, 'ha.json');
    writeFileSync(haConfig, JSON.stringify({
      address: '10.1.0.1', homeNetwork: '10.1.0.0/24', intranetDevice: 'intra0', tunDevice: 'ha0',
      trustedPrefixes: ['10.2.0.0/24'], mobileNodes: [{ homeAddress: '10.1.0.50', spi: 300, key: `hex:${KEY}` }],
    }));
    const faConfig = join(lab.workDir, 'fa.json');
    writeFileSync(faConfig, JSON.stringify({ linkDevice: 'lan0', linkAddress: '10.4.0.1', prefixLength: 24, careOfAddress: '10.2.0.5', tunDevice: 'fa0' }));
    cap = await capture(lab, 'mn', 'wlan0', { filter: 'icmp[0] = 9 or udp port 434' });
    ha = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', haConfig], { env, label: 'home-agent' });
    fa = lab.spawn('fa', process.execPath, [...TSX, join(ROOT, 'test/lab/foreign-agent/main.ts'), '--config', faConfig], { env, label: 'foreign-agent' });
    const echo = lab.spawn('intra', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/echo-server.ts'), '10.1.0.10', '5001'], { env, label: 'echo' });
    await Promise.all([ha.waitFor(/"event":"ready"/, 20_000, 'stdout'), fa.waitFor(/"event":"ready"/, 20_000, 'stdout'), echo.waitFor(/listening/, 20_000, 'stdout')]);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('the FA relays the registration; the HA binds the HoA to the FA care-of address', async () => {
    const r = await lab.exec('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/scripted-mn.ts'), '10.4.0.1', rrq().toString('hex')], { env, cwd: ROOT });
    expect(lines(r.stdout)[0]).toMatchObject({ event: 'reply', code: 0 });
    expect(lines(fa.stdout()).map((l) => l.event)).toEqual(expect.arrayContaining(['relayed-request', 'relayed-reply', 'visitor-added']));
    expect(lines(ha.stdout()).find((l) => l.event === 'binding-added')).toMatchObject({ coa: '10.2.0.5', tunnel: 'ipip', tnc: true, from: '10.2.0.5' });
  });

  it('ping and a byte-checked TCP stream from the home address flow FA ⇄ HA', async () => {
    const ping = await lab.exec('mn', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
    expect(ping.code, ping.stdout + ping.stderr + fa.stdout()).toBe(0);
    const stream = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', '2'], { env, label: 'stream' });
    const done = await stream.waitFor(/\{"event":"done".*\}/, 40_000, 'stdout');
    expect(JSON.parse(done[0])).toMatchObject({ ok: true, src: '10.1.0.50' });
  });

  it('the link carried agent advertisements (ICMP 9 + extensions 16/19) and relayed registrations, all dissecting cleanly', async () => {
    const pcap = await cap.stop();
    const d = await dissect(pcap, { fields: ['icmp.type', 'icmp.mip.type', 'icmp.mip.coa', 'icmp.mip.f', 'icmp.mip.r', 'icmp.mip.rt', 'icmp.mip.prefixlength'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    const adverts = d.packets.filter((p) => p.fields['icmp.type']?.[0] === '9');
    expect(adverts.length).toBeGreaterThan(0);
    const f = adverts[0]!.fields;
    expect(f['icmp.mip.type']).toEqual(['16', '19']);
    expect(f['icmp.mip.coa']).toEqual(['10.2.0.5']);
    expect([f['icmp.mip.f']?.[0], f['icmp.mip.r']?.[0], f['icmp.mip.rt']?.[0]]).toEqual(['1', '1', '1']);
    expect(f['icmp.mip.prefixlength']).toEqual(['24']);
    expect(d.packets.filter((p) => p.protocols.includes('mip') && p.protocols.includes('udp')).length).toBeGreaterThanOrEqual(2);
  });
});
