/**
 * `homeward run` — the RFC 5266 engine — roaming between a trusted subnet and
 * an untrusted network, against the reference home agent and strongSwan:
 *
 *   mn wlan0 10.2.0.100 ── T1 ── 10.2.0.1 ha (i-HA 10.1.0.1) intra0 ──┐
 *   mn eth1 198.51.100.100 ── U1 ── 198.51.100.1 gw (strongSwan)  eth1 10.1.0.2 ── lan ── 10.1.0.10 intra
 *
 *   T1: trusted (the i-HA answers with TNC); the gateway is reachable through the HA.
 *   U1: untrusted: gw forwards nothing in clear from U1 (only the gateway itself answers);
 *       the i-HA is reachable only through the VPN (TIA pool 10.10.100.0/24) and serves
 *       untrusted sources without TNC (acceptUntrusted).
 *
 * Checked: mode c on T1 (ping + byte-checked TCP stream from the home address);
 * T1 → U1 → T1 gives c → mc → c with the stream and a 20 ms ping surviving and
 * every handover's gap printed; a capture on U1 holds no packet with the home
 * address and nothing but IKE, ESP-in-UDP, NAT keepalives and the detection
 * request to the i-HA; a fake i-HA on U1 (bad authenticator / no TNC) does not
 * make the MN believe it is inside; SIGTERM removes everything.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, labAvailable, skipLine, type Lab, type LabProcess, type StrongSwan } from './harness/index.ts';
import { createEngineLab, events, HOA, isMode, KEY, ROOT, TSX, waitEvent } from './fixtures/engine-lab.ts';

const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('engine-roam', avail));

describe.skipIf(!avail.ok)('homeward run: trusted-network detection and modes c / mc (lab)', () => {
  let lab: Lab;
  let ha: LabProcess;
  let gw: StrongSwan;
  let mn: LabProcess;
  let env: NodeJS.ProcessEnv;
  let profile: string;
  let toU1: () => Promise<void>;
  let toT1: () => Promise<void>;
  const stream = (seconds: number) =>
    lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', String(seconds)], { env, label: 'stream' });

  beforeAll(async () => {
    ({ lab, ha, gw, env, profile, toU1, toT1 } = await createEngineLab());
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('on the trusted subnet T1: mode c (trusted, CoA = the link address); ping and a byte-checked TCP stream from the home address', async () => {
    mn = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', profile, '--json'], { env, label: 'homeward-run' });
    const c = await waitEvent(mn, 0, isMode('c'), 'mode c');
    expect(c).toMatchObject({ trusted: true, coa: '10.2.0.100', hoa: HOA });
    const modes = events(mn).filter((e) => e.type === 'mode').map((e) => e.mode);
    expect(modes.slice(-2)).toEqual(['detecting', 'c']);
    expect(ha.stdout()).toMatch(/"event":"binding-added","homeAddress":"10.1.0.50","coa":"10.2.0.100"/);
    const ping = await lab.exec('mn', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const s = stream(2);
    const done = await s.waitFor(/\{"event":"done".*\}/, 30_000, 'stdout');
    expect(JSON.parse(done[0])).toMatchObject({ ok: true, src: HOA });
    // the traffic the user sees in the UI: counters events carry what crossed the home-address TUN
    const counters = await waitEvent(mn, 0, (e) => e.type === 'counters' && Number(e.bytesOut) > 10_000 && Number(e.tunIn) > 3, 'counters after the stream', 5000);
    expect(Number(counters.bytesIn)).toBeGreaterThan(0);
  }, 60_000);

  it('T1 → U1 → T1: modes c → mc → c, the stream and a 20 ms ping survive, each handover gap printed; U1 carries nothing with the home address', async () => {
    const s = stream(16);
    await s.waitFor(/"event":"progress"/, 10_000, 'stdout');
    const ping = lab.spawn('mn', 'ping', ['-i', '0.02', '-w', '15', '-W', '1', '10.1.0.10'], { label: 'ping' });
    await new Promise((r) => setTimeout(r, 1000));
    // U1 as the MN's peer sees it (the MN's own side is down until the move)
    const cap = await capture(lab, 'gw', 'ext0', { filter: 'ip' });
    const n0 = events(mn).length;
    const dbg = await capture(lab, 'gw', 'any', { filter: 'udp port 434 or proto 4' });
    const t0 = Date.now();
    await toU1();
    const mc = await waitEvent(mn, n0, isMode('mc'), 'mode mc on U1', 30_000)
      .catch(async (e: Error) => {
        const d = await dissect(await dbg.stop(), { fields: ['frame.time_epoch', 'ip.src', 'ip.dst', 'udp.srcport', 'udp.dstport'] });
        throw new Error(`${e.message}\nmove at ${t0}\nHA: ${ha.stdout().slice(-3000)} ${ha.stderr().slice(-2000)}\n${d.packets.map((p) => JSON.stringify(p.fields)).join('\n')}`);
      });
    await dbg.stop();
    expect(mc).toMatchObject({ trusted: false, hoa: HOA });
    expect(String(mc.coa)).toMatch(/^10\.10\.100\.\d+$/);
    expect(events(mn).slice(n0).some(isMode('c'))).toBe(false);
    const h1 = await waitEvent(mn, n0, (e) => e.type === 'handover' && e.to === 'mc', 'handover to mc');
    console.log(`[engine-roam] handover c → mc: gap ${String(h1.gapMs)} ms`);
    await new Promise((r) => setTimeout(r, 3000));
    const pcap = await cap.stop();
    const n1 = events(mn).length;
    await toT1();
    const c = await waitEvent(mn, n1, isMode('c'), 'mode c back on T1', 30_000);
    expect(c).toMatchObject({ trusted: true, coa: '10.2.0.100' });
    // one handover for the move: to c, or to mc when the warm SA's MOBIKE answer came before the i-HA's proof
    const h2 = await waitEvent(mn, n1, (e) => e.type === 'handover', 'handover back on T1');
    console.log(`[engine-roam] handover ${String(h2.from)} → ${String(h2.to)} (${String(h2.trust)}): gap ${String(h2.gapMs)} ms`);
    const done = await s.waitFor(/\{"event":"done".*\}/, 60_000, 'stdout');
    expect(JSON.parse(done[0])).toMatchObject({ ok: true, src: HOA });
    const pinged = await ping.exited;
    const summary = /(\d+) packets transmitted, (\d+) received/.exec(ping.stdout());
    console.log(`[engine-roam] 20 ms ping: ${summary?.[0] ?? ping.stdout().slice(-300)} (exit ${String(pinged.code)})`);
    expect(summary).not.toBeNull();
    // the ping went on after both moves: more answers than the part before the first move
    expect(Number(summary![2])).toBeGreaterThan(100);
    // the capture on U1: no home address, only IKE / ESP-in-UDP / keepalives, and the direct detection request
    const d = await dissect(pcap, { fields: ['ip.src', 'ip.dst', 'ip.proto', 'udp.srcport', 'udp.dstport'] });
    expect(d.packets.length).toBeGreaterThan(10);
    for (const p of d.packets) {
      const f = (k: string) => p.fields[k]?.[0] ?? '';
      expect([f('ip.src'), f('ip.dst')]).not.toContain(HOA);
      if (f('ip.src') !== '198.51.100.100') continue;
      const ports = [f('udp.srcport'), f('udp.dstport')];
      const ike = ports.includes('500') || ports.includes('4500');
      // RFC 5944 §2.4 agent solicitation (ICMP 10, TTL 1, all-routers): carries no address of ours but the link's
      const solicitation = f('ip.proto') === '1' && f('ip.dst') === '224.0.0.2';
      const detection = f('udp.dstport') === '434' && f('ip.dst') === '10.1.0.1';
      expect(ike || detection || solicitation, JSON.stringify(p.fields)).toBe(true);
    }
  }, 120_000);

  for (const kind of ['bad-auth', 'no-tnc'] as const) {
    it(`on U1 a fake i-HA answering "accepted" (${kind}) does not make the MN believe it is inside`, async () => {
      const fake = lab.spawn('gw', process.execPath, [...TSX, join(ROOT, 'test/lab/fixtures/engine-fake-ha.ts'), '4340', kind, '300', KEY], { env, label: `fake-ha-${kind}` });
      await fake.waitFor(/listening/, 20_000, 'stdout');
      const redirect = ['PREROUTING', '-i', 'ext0', '-p', 'udp', '--dport', '434', '-j', 'REDIRECT', '--to-ports', '4340'];
      await lab.iptables('gw', ['-t', 'nat', '-A', ...redirect]);
      try {
        const n0 = events(mn).length;
        await toU1();
        await waitEvent(mn, n0, isMode('mc'), `mode mc on U1 despite the fake (${kind})`, 30_000);
        await fake.waitFor(/"event":"answered"/, 5_000, 'stdout');
        expect(events(mn).slice(n0).some((e) => e.type === 'mode' && (e.mode === 'c' || e.trusted === true))).toBe(false);
      } finally {
        await lab.iptables('gw', ['-t', 'nat', '-D', ...redirect]);
        await fake.stop();
      }
      const n1 = events(mn).length;
      await toT1();
      await waitEvent(mn, n1, isMode('c'), 'mode c back on T1', 30_000);
    }, 90_000);
  }

  it('SIGTERM deregisters, deletes the IKE SA and leaves no rule, route or TUN', async () => {
    await mn.stop(10_000);
    expect(events(mn).some((e) => e.type === 'stopped')).toBe(true);
    expect(ha.stdout()).toMatch(/"event":"binding-removed","homeAddress":"10.1.0.50"/);
    // half-open SAs of VPN attempts cancelled when detection proved T1 trusted may linger on the gateway until it times them out
    expect((await gw.listSas()).filter((sa) => sa.state !== 'CONNECTING')).toEqual([]);
    const rules = (await lab.exec('mn', 'ip', ['rule', 'list'])).stdout;
    expect(rules).not.toMatch(/lookup 43[456]|unreachable/);
    const links = (await lab.exec('mn', 'ip', ['link', 'show'])).stdout;
    expect(links).not.toMatch(/hwmip0|hwvpn/);
  }, 30_000);
});
