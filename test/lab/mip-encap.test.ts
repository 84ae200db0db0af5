/**
 * Issue 21: Mobile IPv4 data paths in every format the reference HA accepts,
 * and a registration diagnosis a user can act on — one engine lab
 * (fixtures/engine-lab.ts: T1 trusted, U1 untrusted behind the strongSwan
 * gateway), the cases in sequence:
 *
 *   1. for IP-in-IP, GRE and minimal encapsulation (profile mip.encapsulation):
 *      `homeward run` in mode c on T1, then mode mc on U1 (the MIP tunnel inside
 *      ESP); in each mode a ping and a byte-checked TCP stream from the home
 *      address; a capture at the HA shows the format's IP protocol (4, 47, 55)
 *      in both directions — CoA ↔ HA in c, TIA ↔ HA in mc — and no other;
 *   2. RFC 3519 UDP tunnelling (udpTunnel "force") with GRE inside, mode c:
 *      tunnel data with Next Header 47 both ways;
 *   3. a second reference HA (10.1.0.3, clock 60 s ahead) whose replies to three
 *      home addresses are broken one way each (identification, authenticator,
 *      SPI): `homeward mip register` reports each cause as `failing` before its
 *      second retransmission; a fourth home address is accepted after exactly one 133;
 *   4. a third reference HA (10.1.0.4) using nonces (RFC 5944 §5.7.2): a profile with
 *      mip.replayProtection "nonce" registers after one 133 and deregisters with the
 *      nonce of the HA's accept.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, labAvailable, skipLine, type Lab, type LabProcess } from './harness/index.ts';
import { createEngineLab, events, HOA, isMode, KEY, ROOT, TSX, waitEvent, type EngineLab, type Json } from './fixtures/engine-lab.ts';

const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('mip-encap', avail));

const HA2 = '10.1.0.3';
const HA3 = '10.1.0.4';
const PROTO = { ipip: 4, gre: 47, minimal: 55 } as const;
type Encap = keyof typeof PROTO;

describe.skipIf(!avail.ok)('Mobile IPv4 with IP-in-IP, GRE and minimal encapsulation; registration diagnosis (lab)', () => {
  let L: EngineLab;
  let lab: Lab;
  const base = (): Json => JSON.parse(readFileSync(L.profile, 'utf8')) as Json;
  const profileWith = (name: string, mip: Json): string => {
    const p = join(lab.workDir, `${name}.json`);
    const b = base();
    writeFileSync(p, JSON.stringify({ ...b, mip: { ...(b.mip as Json), ...mip } }));
    return p;
  };

  beforeAll(async () => {
    L = await createEngineLab();
    lab = L.lab;
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  const run = (profile: string, label: string): LabProcess =>
    lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', profile, '--json'], { env: L.env, label });

  /** ping and a byte-checked TCP stream from the home address to the intranet host */
  async function traffic(what: string): Promise<void> {
    const ping = await lab.exec('mn', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
    expect(ping.code, `${what}: ${ping.stdout}${ping.stderr}`).toBe(0);
    const stream = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', '2'], { env: L.env, label: `stream-${what}` });
    const done = await stream.waitFor(/\{"event":"done".*\}/, 40_000, 'stdout');
    expect(JSON.parse(done[0]), what).toMatchObject({ ok: true, src: HOA });
  }

  /** The outer IP protocols seen at the HA between `peer` and the HA, per direction. */
  function protocolsBetween(packets: Array<{ fields: Record<string, string[]> }>, peer: string): { up: Set<string>; down: Set<string> } {
    const up = new Set<string>();
    const down = new Set<string>();
    for (const p of packets) {
      const [src, dst, proto] = ['ip.src', 'ip.dst', 'ip.proto'].map((k) => p.fields[k]?.[0] ?? '');
      if (src === peer && dst === '10.1.0.1') up.add(proto!);
      if (src === '10.1.0.1' && dst === peer) down.add(proto!);
    }
    return { up, down };
  }

  for (const encap of ['ipip', 'gre', 'minimal'] as const satisfies readonly Encap[]) {
    it(`${encap}: ping and a TCP stream in mode c and in mode mc; the HA sees IP protocol ${PROTO[encap]} both ways`, async () => {
      await L.toT1();
      const cap = await capture(lab, 'ha', 'any', { filter: 'ip proto 4 or ip proto 47 or ip proto 55' });
      const mn = run(profileWith(`profile-${encap}`, { encapsulation: encap }), `run-${encap}`);
      try {
        await waitEvent(mn, 0, isMode('c'), 'mode c on T1', 30_000);
        expect(events(L.ha).filter((e) => e.event === 'binding-added').at(-1)).toMatchObject({ coa: '10.2.0.100', tunnel: encap, encapsulation: encap });
        await traffic(`${encap}-c`);
        const n0 = events(mn).length;
        await L.toU1();
        const mc = await waitEvent(mn, n0, isMode('mc'), 'mode mc on U1', 40_000);
        const tia = String(mc.coa);
        expect(tia).toMatch(/^10\.10\.100\./);
        expect(events(L.ha).filter((e) => e.event === 'binding-added').at(-1)).toMatchObject({ coa: tia, encapsulation: encap });
        await traffic(`${encap}-mc`);
        if (encap === 'ipip' && process.env.HA_NATIVE !== '0') {
          // the HA's native fast path (ha_forward.cc) carried the IP-in-IP both ways, not its JS forwarder
          const n = events(L.ha).length;
          L.ha.kill('SIGUSR1');
          const stats = await waitEvent(L.ha, n, (e) => e.event === 'stats', 'HA stats', 10_000);
          const native = stats.native as { toMn: number; fromMn: number; malformed: number };
          expect(native.toMn).toBeGreaterThan(10);
          expect(native.fromMn).toBeGreaterThan(10);
          expect(native.malformed).toBe(0);
        }
        const d = await dissect(await cap.stop(), { fields: ['ip.src', 'ip.dst', 'ip.proto'] });
        expect(d.malformed).toEqual([]);
        const want = new Set([String(PROTO[encap])]);
        expect(protocolsBetween(d.packets, '10.2.0.100'), 'mode c').toEqual({ up: want, down: want });
        expect(protocolsBetween(d.packets, tia), 'mode mc').toEqual({ up: want, down: want });
      } finally {
        await cap.stop();
        await mn.stop(8000);
      }
    }, 150_000);
  }

  it('RFC 3519 UDP tunnelling with GRE inside (mode c): tunnel data with Next Header 47 both ways', async () => {
    await L.toT1();
    const cap = await capture(lab, 'ha', 'sub2', { filter: 'udp port 434' });
    const mn = run(profileWith('profile-udp-gre', { encapsulation: 'gre', udpTunnel: 'force' }), 'run-udp-gre');
    try {
      await waitEvent(mn, 0, isMode('c'), 'mode c on T1', 30_000);
      expect(events(L.ha).filter((e) => e.event === 'binding-added').at(-1)).toMatchObject({ coa: '10.2.0.100', tunnel: 'udp', encapsulation: 'gre' });
      await traffic('udp-gre');
      const d = await dissect(await cap.stop(), { fields: ['ip.src', 'udp.payload'] });
      expect(d.malformed).toEqual([]);
      const data = d.packets
        .map((p) => ({ src: p.fields['ip.src']?.[0], msg: Buffer.from((p.fields['udp.payload']?.[0] ?? '').replace(/:/g, ''), 'hex') }))
        .filter((p) => p.msg[0] === 4);
      const nh = (src: string) => new Set(data.filter((p) => p.src === src).map((p) => `${p.msg[1]}/${p.msg.readUInt16BE(6)}`));
      // Next Header 47 and the GRE header's protocol type 0x0800, from the MN and from the HA
      expect(nh('10.2.0.100')).toEqual(new Set(['47/2048']));
      expect(nh('10.1.0.1')).toEqual(new Set(['47/2048']));
    } finally {
      await cap.stop();
      await mn.stop(8000);
    }
  }, 90_000);

  describe('registration diagnosis against a home agent 60 s ahead with broken replies', () => {
    let ha2: LabProcess;
    let ha3: LabProcess;
    const FAULTS = { '10.1.0.51': 'identification', '10.1.0.52': 'authenticator', '10.1.0.53': 'spi' } as const;
    const CAUSE = { identification: 'identification-mismatch', authenticator: 'bad-authenticator', spi: 'unknown-spi' } as const;

    beforeAll(async () => {
      await L.toT1();
      await lab.ip('ha', ['addr', 'add', `${HA2}/32`, 'dev', 'intra0']);
      const cfg = join(lab.workDir, 'ha2.json');
      writeFileSync(cfg, JSON.stringify({
        address: HA2, homeNetwork: '10.1.0.0/24', tunDevice: 'ha1', trustedPrefixes: ['10.2.0.0/24'], clockOffsetSeconds: 60,
        mobileNodes: [
          ...Object.entries(FAULTS).map(([homeAddress, replyFault]) => ({ homeAddress, spi: 300, key: `hex:${KEY}`, replyFault })),
          { homeAddress: '10.1.0.54', spi: 300, key: `hex:${KEY}` },
        ],
      }));
      ha2 = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', cfg], { env: L.env, label: 'home-agent-2' });
      await lab.ip('ha', ['addr', 'add', `${HA3}/32`, 'dev', 'intra0']);
      const cfg3 = join(lab.workDir, 'ha3.json');
      writeFileSync(cfg3, JSON.stringify({
        address: HA3, homeNetwork: '10.1.0.0/24', tunDevice: 'ha2', trustedPrefixes: ['10.2.0.0/24'], replayProtection: 'nonce',
        mobileNodes: [{ homeAddress: '10.1.0.55', spi: 300, key: `hex:${KEY}` }],
      }));
      ha3 = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', cfg3], { env: L.env, label: 'home-agent-3' });
      await ha2.waitFor(/"event":"ready"/, 20_000, 'stdout');
      await ha3.waitFor(/"event":"ready"/, 20_000, 'stdout');
    }, 60_000);

    const register = (hoa: string, ha = HA2, mip: Json = {}): LabProcess => {
      const p = join(lab.workDir, `mn-${hoa}.json`);
      writeFileSync(p, JSON.stringify({ homeAddress: hoa, homeAgent: ha, mnHaAuth: { spi: 300, key: `hex:${KEY}` }, mip: { udpTunnel: 'off', lifetimeSeconds: 120, ...mip } }));
      return lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'mip', 'register', '--profile', p, '--json', '--route', '10.9.9.0/24', '--tun', 'hwdiag0'], { env: L.env, label: `mn-${hoa}` });
    };

    for (const [hoa, fault] of Object.entries(FAULTS)) {
      it(`replies with a broken ${fault}: "failing" with cause ${CAUSE[fault]} within one retransmission, and a hint`, async () => {
        const mn = register(hoa);
        try {
          const failing = await waitEvent(mn, 0, (e) => e.type === 'registration' && e.state === 'failing', `failing (${fault})`, 20_000);
          expect(failing).toMatchObject({ cause: CAUSE[fault], count: 1, coa: '10.2.0.100' });
          expect(Number(failing.tries)).toBeLessThanOrEqual(2);
          expect(String(failing.hint)).toMatch(fault === 'spi' ? /mnHaAuth\.spi/ : fault === 'authenticator' ? /mnHaAuth\.key/ : /Identification/);
          expect(events(mn).some((e) => e.state === 'accepted')).toBe(false);
          // only this cause: the HA's 133 (clock) came back broken the same way
          expect(new Set(events(mn).filter((e) => e.state === 'failing').map((e) => e.cause))).toEqual(new Set([CAUSE[fault]]));
        } finally {
          await mn.stop(8000);
        }
      }, 40_000);
    }

    it('a home agent clock 60 s ahead is corrected after exactly one 133, and the client says so', async () => {
      const mn = register('10.1.0.54');
      try {
        await waitEvent(mn, 0, (e) => e.type === 'registration' && e.state === 'accepted', 'accepted after resync', 20_000);
        const resync = events(mn).filter((e) => e.type === 'registration-resync');
        expect(resync).toHaveLength(1);
        expect(Math.abs(Number(resync[0]!.offsetSeconds) - 60)).toBeLessThanOrEqual(1);
        expect(String(resync[0]!.message)).toMatch(/ahead/);
        const mine = events(ha2).filter((e) => e.homeAddress === '10.1.0.54');
        expect(mine.filter((e) => e.event === 'denied').map((e) => e.code)).toEqual([133]);
        expect(mine.some((e) => e.event === 'binding-added')).toBe(true);
      } finally {
        await mn.stop(8000);
      }
    }, 40_000);

    it('nonces (RFC 5944 §5.7.2): one 133 carries the HA\'s nonce, the next request is accepted, deregistration uses the accept\'s nonce', async () => {
      const mn = register('10.1.0.55', HA3, { replayProtection: 'nonce' });
      try {
        await waitEvent(mn, 0, (e) => e.type === 'registration' && e.state === 'accepted', 'accepted with nonces', 20_000);
        expect(events(mn).filter((e) => e.type === 'registration-resync')).toEqual([expect.objectContaining({ replayProtection: 'nonce' })]);
      } finally {
        await mn.stop(8000);
      }
      expect(events(mn).some((e) => e.type === 'registration' && e.state === 'deregistered')).toBe(true);
      const log = events(ha3).filter((e) => e.homeAddress === '10.1.0.55').map((e) => (e.event === 'denied' ? `denied ${String(e.code)}` : e.event));
      expect(log).toEqual(['denied 133', 'binding-added', 'binding-removed']);
    }, 40_000);
  });
});
