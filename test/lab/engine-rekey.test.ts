/**
 * Issue 18's rekey case in mode mc: `homeward run` on the untrusted U1
 * (Mobile IP inside ESP: the home address's traffic goes IP-in-IP to the
 * reference HA inside the IPsec tunnel to the real strongSwan gateway) while
 * both sides rekey both SAs. The gateway rekeys IKE_SA and CHILD_SA every
 * 20 s (`rekey_time = 20s`, its default 10 % jitter), we rekey them on our
 * own timers (`vpn.rekeySeconds` 23, `vpn.ikeRekeySeconds` 27, jittered up to
 * 10 % early), so over two minutes both sides initiate several of each kind
 * (and may cross: RFC 7296 §2.8.1/§2.8.2). test/lab/vpn-rekey.test.ts is the
 * same case through `homeward vpn up`.
 *
 * For 120 s a byte-checked TCP stream from the home address to the intranet
 * host and a 10 ms ping from the home address: no stream error, no ping lost,
 * several rekeys of each kind by each side (ours from our events, the
 * gateway's from charon's log), one IKE_SA with one CHILD_SA left at the
 * gateway, mode mc held throughout (no re-detection, no handover) and the
 * binding never lost (no binding liveness suspicion, no registration other
 * than accepted, the HA never removed it).
 *
 * Topology: fixtures/engine-lab.ts (T1 + U1), destroyed in afterAll.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable, skipLine, type LabProcess } from './harness/index.ts';
import { createEngineLab, events, HOA, isMode, ROOT, TSX, type EngineLab, type Json } from './fixtures/engine-lab.ts';
import { Pinger, sleep, startEngineOnU1, story } from './fixtures/recovery.ts';

const SECONDS = 120;
const avail = labAvailable({ need: ['strongswan'] });
if (!avail.ok) console.warn(skipLine('engine-rekey', avail));

describe.skipIf(!avail.ok)('homeward run (mode mc): CHILD_SA and IKE_SA rekeys from both sides under traffic (lab)', () => {
  let L: EngineLab | undefined;
  let mn: LabProcess | undefined;
  let ping: Pinger | undefined;

  beforeAll(async () => {
    L = await createEngineLab({
      profile: { vpn: { rekeySeconds: 23, ikeRekeySeconds: 27 } },
      gatewayIkeOptions: ['rekey_time = 20s'],
      gatewayChildOptions: ['rekey_time = 20s'],
    });
  }, 90_000);

  afterAll(async () => {
    try {
      await ping?.stop();
      if (mn?.running) await mn.stop(8000);
    } finally {
      await L?.lab.destroy();
    }
  });

  it('two minutes of a 10 ms ping and a byte-checked stream from the home address lose nothing while both sides rekey both SAs', async () => {
    const lab = L!;
    mn = await startEngineOnU1(lab);
    const n0 = events(mn).length;
    const tia = String(events(mn).find(isMode('mc'))!.coa);
    const gwLog0 = lab.gw.logs().length;
    const ha0 = lab.ha.stdout().length;

    const stream = lab.lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', String(SECONDS), '20000'], { env: lab.env, label: 'stream' });
    await stream.waitFor(/"event":"connected"/, 15_000, 'stdout');
    // a 10 ms ping for as long as the stream runs (-w: a count would stretch with the scheduling slip of a loaded machine)
    ping = new Pinger(lab, SECONDS, { intervalMs: 10, bindHoa: true });
    const doneLine = await stream.waitFor(/\{"event":"done".*\}/, (SECONDS + 60) * 1000, 'stdout');
    await ping.proc.exited;

    const ev = events(mn).slice(n0);
    const count = (f: (e: Json) => boolean): number => ev.filter(f).length;
    const gwLog = lab.gw.logs().slice(gwLog0);
    const summary = {
      ours: { child: count((e) => e.msg === 'rekeying the Child SA'), ike: count((e) => e.msg === 'rekeying the IKE SA') },
      // charon's own rekeys: the CREATE_CHILD_SA requests it generated (REKEY_SA: a CHILD_SA; SA No KE alone: the IKE SA)
      gateway: {
        child: [...gwLog.matchAll(/generating CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\)/g)].length,
        ike: [...gwLog.matchAll(/generating CREATE_CHILD_SA request \d+ \[ SA No KE \]/g)].length,
      },
      rekeyed: { child: count((e) => e.type === 'child-sa' && e.state === 'rekeyed'), ike: count((e) => e.type === 'ike-sa' && e.state === 'rekeyed') },
      collisions: ev.filter((e) => String(e.msg).startsWith('simultaneous')).map((e) => e.msg),
    };
    const missing = ping.missing();
    const stats = ping.summary();
    console.log(`[engine-rekey] ${JSON.stringify(summary)}`);
    console.log(`[engine-rekey] 10 ms ping: ${JSON.stringify(stats)}, missing ${missing.length}${missing.length ? ` (${missing.slice(0, 20).join(',')})` : ''}`);
    console.log(`[engine-rekey] stream: ${doneLine[0]}`);
    // which ESP path carried the packets (the native one switches SAs on rekey itself: native-esp-path.ts)
    console.log(`[engine-rekey] ${events(mn).filter((e) => e.type === 'log' && String(e.msg).startsWith('ESP data path')).map((e) => String(e.msg)).join(' / ') || 'ESP data path not reported'}`);
    const ctx = `${JSON.stringify(summary)}\n${story(ev)}\n--- gateway ---\n${gwLog.slice(-4000)}`;

    // no stream error: every byte echoed, in order (stream-client compares each one)
    const done = JSON.parse(doneLine[0]) as Json;
    expect(done, ctx).toMatchObject({ ok: true, src: HOA });
    expect(Number(done.received)).toBe(Number(done.sent));
    expect(Number(done.sent)).toBe(SECONDS * 20 * 20_000);

    // no ping lost: every sequence number up to the last answered one has its reply ...
    expect(stats, ping.proc.stdout().slice(-300)).toBeDefined();
    expect(stats!.received, 'the ping ran at roughly its 10 ms pace').toBeGreaterThan(SECONDS * 50);
    expect(missing, `no ping lost (seqs without a reply)\n${ctx}`).toEqual([]);
    // ... and of ping's own count at most the one echo request still on its way when -w ended it (ping
    // stops at the deadline without waiting for the last request's reply, which then counts as lost)
    expect(stats!.transmitted - stats!.received, ping.proc.stdout().slice(-300)).toBeLessThanOrEqual(1);

    // both sides initiated both kinds several times
    expect(summary.ours.child, ctx).toBeGreaterThanOrEqual(3);
    expect(summary.ours.ike, ctx).toBeGreaterThanOrEqual(3);
    expect(summary.gateway.child, ctx).toBeGreaterThanOrEqual(3);
    expect(summary.gateway.ike, ctx).toBeGreaterThanOrEqual(3);
    // every rekey completed, whoever began it (a lost crossing leaves one side's attempt without a `rekeyed`)
    expect(summary.rekeyed.child, ctx).toBeGreaterThanOrEqual(summary.ours.child + summary.gateway.child - summary.collisions.length);
    expect(summary.rekeyed.ike, ctx).toBeGreaterThanOrEqual(summary.ours.ike + summary.gateway.ike - summary.collisions.length);

    // mode mc held throughout: no other mode, no re-detection, no handover, no new IKE SA, no error
    expect(ev.filter((e) => e.type === 'mode' && e.mode !== 'mc'), ctx).toEqual([]);
    expect(ev.filter((e) => e.type === 'handover'), ctx).toEqual([]);
    expect(ev.filter((e) => e.type === 'ike-sa' && (e.state === 'established' || e.state === 'deleted' || e.state === 'failed')), ctx).toEqual([]);
    expect(ev.filter((e) => e.type === 'liveness'), ctx).toEqual([]);
    expect(ev.filter((e) => e.type === 'error'), ctx).toEqual([]);
    // the binding never lost: nothing but accepted registrations of the TIA, the HA never removed it. The
    // only other registration event is the detection's verdict: its request to the i-HA in clear on U1
    // times out (that is what made U1 untrusted); the engine reports it right after entering mode mc
    expect(ev.filter((e) => e.type === 'registration' && e.coa === tia && e.state !== 'accepted'), ctx).toEqual([]);
    expect(ev.filter((e) => e.type === 'registration' && e.coa !== tia && !(e.state === 'timeout' && e.coa === '198.51.100.100')), ctx).toEqual([]);
    expect(lab.ha.stdout().slice(ha0)).not.toMatch(/"event":"binding-removed"/);

    // in the end one IKE_SA with one CHILD_SA at the gateway. The rekeys go on (the gateway's timers cannot be
    // stopped), and charon keeps a rekeyed CHILD_SA's inbound half for delete_rekeyed_delay (5 s) in state
    // DELETED (and a rekeyed IKE_SA until its DELETE is answered): within a few seconds exactly one of each
    let sas = await lab.gw.listSas();
    for (const end = Date.now() + 20_000; Date.now() < end; await sleep(250)) {
      sas = await lab.gw.listSas();
      if (sas.length === 1 && sas[0]!.children.length === 1) break;
    }
    expect(sas.length, `one IKE_SA left at the gateway: ${JSON.stringify(sas)}`).toBe(1);
    expect(sas[0]!.state).toBe('ESTABLISHED');
    expect(sas[0]!.children.length, `one CHILD_SA: ${JSON.stringify(sas[0]!.children)}`).toBe(1);
    expect(sas[0]!.children[0]!.state).toBe('INSTALLED');
  }, (SECONDS + 120) * 1000);
});
