/**
 * Handover gap for an address change A↔B (median of MOVES moves each): a
 * 20 ms ping from the intranet host to the client's inner address, the
 * client moved between its two access links, the largest gap in the
 * replies around each move. Three clients, one after the other in one lab:
 * strongSwan with MOBIKE, strongSwan without MOBIKE (it re-authenticates:
 * a new IKE SA), and Homeward's MOBIKE. Plus the plain lab RTT, and for
 * Homeward the other moves of issue 4: A↔behind-NAT (NAT appearing and
 * disappearing) and the gateway's primary address disappearing.
 *
 * Then the RFC 5266 moves of issue 16 with `homeward run` (the engine, the
 * profile's defaults) in the tour lab of test/lab/fixtures/engine-lab.ts:
 * a 10 ms ping from the home address to the intranet host, ROUNDS rounds of
 * T1 → U1 → U2 (NAT) → U1 → T1 → T2 (FA) → T1, the longest reply gap per
 * move, median and worst per kind of move, with strongSwan's own MOBIKE gap
 * from the same run as the yardstick.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Lab } from '../../test/lab/harness/index.ts';
import { createEngineLab, events, ROOT, TSX, type Json } from '../../test/lab/fixtures/engine-lab.ts';
import { createBenchLab, GATEWAY, GATEWAY_2, LINK_A, LINK_B, LINK_C, moveClient, REMOTE_TS, type Access } from '../lab/topology.ts';
import { sleep, startStrongswanClient, tryHomewardVpnUp, writeProfile } from '../lab/peers.ts';
import { averageRtt, gapAround, parsePingD, repliesAfter, type PingReply } from '../lib/ping-gap.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import type { Progress } from './section.ts';

export const MOVES = Number(process.env.BENCH_MOVES ?? 10);
export const PING_INTERVAL_MS = 20;
/** a move that has not carried replies again after this long counts as failed */
export const RECOVERY_TIMEOUT_MS = 30_000;
const RECOVERED_AFTER_REPLIES = 10;

/** Moves the client MOVES times (A→other, other→A, …; other is B unless given) under a 20 ms ping to `target`; the median gap. */
export async function measureMoves(lab: Lab, target: string, progress: Progress, label: string, other: Access = LINK_B): Promise<Measured> {
  const ping = lab.spawn('intranet', 'stdbuf', ['-oL', 'ping', '-n', '-D', '-i', String(PING_INTERVAL_MS / 1000), target], { label: 'ping' });
  const replies = () => parsePingD(ping.stdout());
  const waitReplies = async (after: number, n: number, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (repliesAfter(replies(), after) >= n) return true;
      if (!ping.running) return false;
      await sleep(20);
    }
    return false;
  };
  const moveTimes: number[] = [];
  let failure: string | undefined;
  try {
    if (!(await waitReplies(0, RECOVERED_AFTER_REPLIES, 10_000))) return missing(`${label}: no ping replies from ${target} before the first move: ${ping.stderr().slice(0, 200)}`);
    let at = LINK_A;
    for (let i = 0; i < MOVES; i++) {
      const to = at === LINK_A ? other : LINK_A;
      const t = Date.now();
      moveTimes.push(t);
      await moveClient(lab, at, to);
      at = to;
      if (!(await waitReplies(t, RECOVERED_AFTER_REPLIES, RECOVERY_TIMEOUT_MS))) {
        failure = `${label}: move ${i + 1} (${at === other ? 'A→other' : 'other→A'}): no ping reply within ${RECOVERY_TIMEOUT_MS} ms`;
        break;
      }
      await sleep(300);
    }
    if (at === other) await moveClient(lab, other, LINK_A);
  } finally {
    await ping.stop(2000, 'SIGINT');
  }
  if (failure !== undefined) return missing(failure);
  const all = replies();
  const gaps = moveTimes.map((t, i) => gapAround(all, t, moveTimes[i + 1] ?? Infinity, PING_INTERVAL_MS)?.gapMs ?? NaN);
  const m = median(gaps);
  progress(`  ${label}: gaps ${gaps.map((g) => Math.round(g)).join(' ')} ms → median ${m === null ? 'n/a' : Math.round(m)}`);
  if (m === null || gaps.some((g) => Number.isNaN(g))) return missing(`${label}: a move had no reply on one side of it`);
  return measured(m, { samples: gaps.map((g) => Math.round(g * 10) / 10) });
}

async function strongswanMoves(lab: Lab, mobike: boolean, progress: Progress): Promise<Measured> {
  const label = mobike ? 'strongSwan MOBIKE' : 'strongSwan re-establishment';
  progress(`handover: ${label} …`);
  const c = await startStrongswanClient(lab, 'client', { gateway: GATEWAY, remoteTs: REMOTE_TS, mobike });
  try {
    const m = await measureMoves(lab, c.vip, progress, label);
    const log = c.charon.logs();
    const established = (log.match(/IKE_SA home\[\d+\] established/g) ?? []).length;
    const updates = (log.match(/requesting address change using MOBIKE/g) ?? []).length;
    const reauths = (log.match(/reauthenticating IKE_SA due to address change/g) ?? []).length;
    const how = `charon log: ${established} IKE_SA established, ${updates} MOBIKE address updates, ${reauths} reauthentications`;
    progress(`  ${how}`);
    if (process.env.BENCH_DEBUG_LOGS === '1') progress(log);
    return m.value === null ? m : { ...m, note: `${label}: ${how}` };
  } finally {
    await c.charon.swanctl(['--terminate', '--ike', 'home', '--timeout', '5']).catch(() => '');
    await c.charon.stop();
  }
}

interface GapRtt {
  gap: Measured;
  rtt: Measured;
}

/** The `ms` of the mobike-update events from index `from` on that match `pick`, as a median. */
function rttOf(events: readonly { event: Record<string, unknown> }[], from: number, pick: (e: Record<string, unknown>) => boolean): Measured {
  const rtts = events.slice(from).flatMap((e) => (e.event.type === 'mobike-update' && typeof e.event.ms === 'number' && pick(e.event) ? [e.event.ms] : []));
  const m = median(rtts);
  return m === null ? missing('no mobike-update event with ms was reported') : measured(m, { samples: rtts.map((r) => Math.round(r * 10) / 10) });
}

/**
 * Homeward's MOBIKE, one SA through all of it: A↔B moves, A↔behind-NAT
 * moves, then the gateway's primary address deleted. Per kind the ping gap
 * and the round trip its mobike-update events report (address event →
 * gateway's answer).
 */
async function homewardMoves(lab: Lab, progress: Progress): Promise<{ ab: GapRtt; nat: GapRtt; gatewayLoss: GapRtt }> {
  progress('handover: Homeward MOBIKE …');
  const hw = await tryHomewardVpnUp(lab, 'client', writeProfile(lab.tempDir('homeward'), 'vpn'));
  if (!hw.ok) {
    const gr = { gap: missing(hw.reason), rtt: missing(hw.reason) };
    return { ab: gr, nat: gr, gatewayLoss: gr };
  }
  const events = hw.value.h.events;
  try {
    const gap = await measureMoves(lab, hw.value.tia, progress, 'Homeward MOBIKE');
    const ab = { gap, rtt: rttOf(events, 0, () => true) };
    progress('handover: Homeward MOBIKE, A ↔ behind a NAT …');
    const n0 = events.length;
    const natGap = await guarded('Homeward A↔NAT', () => measureMoves(lab, hw.value.tia, progress, 'Homeward MOBIKE A↔NAT', LINK_C));
    const behindNat = events.slice(n0).some((e) => e.event.type === 'mobike-update' && e.event.natLocal === true);
    const nat = behindNat
      ? { gap: natGap, rtt: rttOf(events, n0, () => true) }
      : { gap: missing('no mobike-update reported natLocal: the moves did not go behind the NAT'), rtt: missing('no NAT seen') };
    progress('handover: Homeward MOBIKE, the gateway loses its primary address …');
    const g0 = events.length;
    const lossGap = await guarded('Homeward gateway address loss', () => gatewayLoss(lab, hw.value.tia));
    const gatewayLossRtt = rttOf(events, g0, (e) => e.gateway === GATEWAY_2);
    progress(`  gateway ${GATEWAY} gone: gap ${lossGap.value === null ? 'n/a' : Math.round(lossGap.value)} ms`);
    return { ab, nat, gatewayLoss: { gap: lossGap, rtt: gatewayLossRtt } };
  } finally {
    await hw.value.h.proc.stop(3000, 'SIGINT');
  }
}

/** Deletes the gateway's primary address under a 20 ms ping to `target`; the gap until replies flow again. */
async function gatewayLoss(lab: Lab, target: string): Promise<Measured> {
  const ping = lab.spawn('intranet', 'stdbuf', ['-oL', 'ping', '-n', '-D', '-i', String(PING_INTERVAL_MS / 1000), target], { label: 'ping-gw-loss' });
  let t: number | undefined;
  try {
    const deadline = Date.now() + 10_000;
    while (repliesAfter(parsePingD(ping.stdout()), 0) < RECOVERED_AFTER_REPLIES && Date.now() < deadline) await sleep(20);
    t = Date.now();
    await lab.addrDel('gw', 'a0', `${GATEWAY}/24`);
    const end = Date.now() + RECOVERY_TIMEOUT_MS;
    while (repliesAfter(parsePingD(ping.stdout()), t) < RECOVERED_AFTER_REPLIES) {
      if (Date.now() > end) return missing(`no ping reply within ${RECOVERY_TIMEOUT_MS} ms after ${GATEWAY} was deleted`);
      await sleep(20);
    }
  } finally {
    await ping.stop(2000, 'SIGINT');
  }
  const r = t === undefined ? null : gapAround(parsePingD(ping.stdout()), t, Infinity, PING_INTERVAL_MS);
  return r ? measured(r.gapMs) : missing('no reply on one side of the address deletion');
}

async function labRtt(lab: Lab): Promise<Measured> {
  const r = await lab.exec('client', 'ping', ['-n', '-c', '20', '-i', '0.05', GATEWAY], { timeoutMs: 15_000 });
  const rtt = averageRtt(r.stdout);
  return rtt === null ? missing(`ping client → gateway: ${r.stderr || r.stdout}`.slice(0, 200)) : measured(rtt);
}

/** Runs one measurement; an exception becomes a reason, so the other clients still run. */
async function guarded(what: string, fn: () => Promise<Measured>): Promise<Measured> {
  try {
    return await fn();
  } catch (e) {
    return missing(`${what} failed: ${(e as Error).message.split('\n')[0] ?? ''}`.slice(0, 400));
  }
}

/** One kind of move of the engine table: the moves of a round that belong to it, and the target. */
interface MoveKind {
  key: string;
  label: string;
  targetMs: number;
}

const KINDS = {
  tu: { key: 'handover.engine.trustedToUntrustedGapMs', label: 'move gap, trusted → untrusted (T1 → U1, c → mc)', targetMs: 150 },
  uuNat: { key: 'handover.engine.untrustedToUntrustedNatGapMs', label: 'move gap, untrusted → untrusted into a NAT (U1 → U2, mc → mc)', targetMs: 50 },
  uu: { key: 'handover.engine.untrustedToUntrustedGapMs', label: 'move gap, untrusted → untrusted, no NAT (U2 → U1, mc → mc)', targetMs: 50 },
  ut: { key: 'handover.engine.untrustedToTrustedGapMs', label: 'move gap, untrusted → trusted (U1 → T1, mc → c)', targetMs: 50 },
  tt: { key: 'handover.engine.trustedToTrustedGapMs', label: 'move gap, trusted → trusted (T1 → T2, c → f)', targetMs: 50 },
} satisfies Record<string, MoveKind>;

/** A round of the engine table: [network to move to, the settled mode expected there, the kind it measures]. */
const ROUND: Array<['U1' | 'U2' | 'T1' | 'T2', string, keyof typeof KINDS | null]> = [
  ['U1', 'mc', 'tu'], ['U2', 'mc', 'uuNat'], ['U1', 'mc', 'uu'], ['T1', 'c', 'ut'], ['T2', 'f', 'tt'], ['T1', 'c', null],
];
export const ROUNDS = Number(process.env.BENCH_MOVES ?? 10);
const ENGINE_PING_MS = 10;

/**
 * `homeward run` through ROUNDS tours of the lab; per kind of move the longest
 * gap in a 10 ms ping's replies (median, worst), and every handover event's gapMs.
 */
async function engineMoves(progress: Progress, yardstick: Measured): Promise<Figure[]> {
  progress('handover: homeward run, the RFC 5266 moves …');
  const L = await createEngineLab({ tour: true, faAdvertisementLifetime: 10 });
  const gaps: Record<string, number[]> = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
  const eventGaps: Record<string, number[]> = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
  let failure: string | undefined;
  const timeline = process.env.BENCH_TIMELINE;
  const mn = L.lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', L.profile, '--json'], { env: timeline ? { ...L.env, HOMEWARD_EVENT_TIMES: '1' } : L.env, label: 'homeward-run' });
  const ping = L.lab.spawn('mn', 'stdbuf', ['-oL', 'ping', '-n', '-D', '-i', String(ENGINE_PING_MS / 1000), '10.1.0.10'], { label: 'ping-hoa' });
  const waitFor = async (from: number, pred: (e: Json) => boolean, ms: number): Promise<Json | undefined> => {
    const end = Date.now() + ms;
    while (Date.now() < end && mn.running) {
      const e = events(mn).slice(from).find(pred);
      if (e) return e;
      await sleep(20);
    }
    return undefined;
  };
  try {
    if (!(await waitFor(0, (e) => e.type === 'mode' && e.mode === 'c', 30_000))) throw new Error(`no mode c on T1: ${mn.stderr().slice(-300)}`);
    await sleep(1000);
    // each move's ping gap is read right after it settled: the lab keeps only the last MiB of the ping's
    // output (some 130 s of replies at 10 ms), less than the whole run
    const moves: Array<{ at: number; kind: keyof typeof KINDS | null; n0: number; gapMs?: number; ping?: PingReply[] }> = [];
    for (let r = 0; r < ROUNDS && failure === undefined; r++) {
      for (const [net, mode, kind] of ROUND) {
        // the new interface comes up beside the current one first (a laptop's second interface), then the
        // measured move: the default route onto it and the old link down, in one ip -batch
        await L.prepare(net);
        const n0 = events(mn).length;
        const at = Date.now();
        moves.push({ at, kind, n0 });
        await L.switchTo(net);
        if (!(await waitFor(n0, (e) => e.type === 'mode' && e.mode === mode, 20_000))) {
          failure = `round ${r + 1}: no mode ${mode} on ${net}`;
          break;
        }
        if (!(await waitFor(n0, (e) => e.type === 'handover' && e.to === mode, 5_000)) && mode !== 'mc') {
          // a move whose traffic came back in mc while trust was decided has no handover to `mode`: fine
        }
        await sleep(1000);
        const replies = parsePingD(ping.stdout());
        const g = gapAround(replies, at, Infinity, ENGINE_PING_MS);
        if (g) moves[moves.length - 1]!.gapMs = g.gapMs;
        if (timeline) moves[moves.length - 1]!.ping = replies.filter((x) => x.atMs >= at - 100 && x.atMs <= at + 1000);
      }
    }
    moves.forEach((m, i) => {
      if (m.kind === null) return;
      const next = moves[i + 1];
      if (m.gapMs !== undefined) gaps[m.kind]!.push(m.gapMs);
      const hs = events(mn).slice(m.n0, next?.n0).filter((e) => e.type === 'handover');
      // c → f: the gap of the c → f switch itself (the move T1 → T2 first lands in c, or straight in f)
      const h = m.kind === 'tt' ? hs.find((e) => e.to === 'f') : hs[0];
      if (h && typeof h.gapMs === 'number') eventGaps[m.kind]!.push(h.gapMs);
    });
    // BENCH_TIMELINE=<file>: every move's events (with the engine's clock `t`) and its ping gap, for reading where a gap went
    if (timeline) await writeFile(timeline, JSON.stringify(moves.map((m, i) => ({ kind: m.kind, at: m.at, gapMs: m.gapMs, ping: m.ping, events: events(mn).slice(m.n0, moves[i + 1]?.n0) })), null, 1));
  } catch (e) {
    failure = (e as Error).message.split('\n')[0];
  } finally {
    await ping.stop(2000, 'SIGINT').catch(() => undefined);
    await mn.stop(10_000).catch(() => undefined);
    await L.lab.destroy();
  }
  const note = (k: keyof typeof KINDS): string => {
    const xs = gaps[k]!;
    const worst = xs.length ? Math.round(Math.max(...xs)) : NaN;
    const ev = eventGaps[k]!.map(Math.round);
    return `${ROUNDS} moves, ping -i 0.01 from the home address; worst ${worst} ms (target ≤ ${KINDS[k].targetMs}, none > 500); handover events' gapMs ${ev.join(' ')}; baseline: strongSwan's MOBIKE gap (A↔B) from this run`;
  };
  return (Object.keys(KINDS) as Array<keyof typeof KINDS>).map((k) => {
    const xs = gaps[k]!;
    const m = median(xs);
    progress(`  ${KINDS[k].label}: gaps ${xs.map(Math.round).join(' ')} ms`);
    const homeward: Measured = failure !== undefined && xs.length < ROUNDS ? missing(failure) : m === null ? missing('no move measured') : measured(m, { samples: xs.map((x) => Math.round(x * 10) / 10) });
    return { key: KINDS[k].key, label: KINDS[k].label, unit: 'ms', homeward, baseline: yardstick, note: note(k) };
  });
}

export async function handoverSection(progress: Progress): Promise<Figure[]> {
  const { lab } = await createBenchLab({ nat: true });
  try {
    const rtt = await guarded('lab RTT', () => labRtt(lab));
    const swanMobike = await guarded('strongSwan MOBIKE', () => strongswanMoves(lab, true, progress));
    const swanReauth = await guarded('strongSwan re-establishment', () => strongswanMoves(lab, false, progress));
    const notRun = { gap: missing('Homeward MOBIKE did not run'), rtt: missing('Homeward MOBIKE did not run') };
    let more = { nat: notRun, gatewayLoss: notRun };
    let rttOurs: Measured = notRun.rtt;
    const ours = await guarded('Homeward MOBIKE', async () => {
      const r = await homewardMoves(lab, progress);
      rttOurs = r.ab.rtt;
      more = r;
      return r.ab.gap;
    });
    const note = `ping -i 0.02 intranet → inner address, median of ${MOVES} moves (A↔B: address removed, new address + default route); no loss reads as ≈${PING_INTERVAL_MS} ms`;
    const engine = await engineMoves(progress, swanMobike).catch((e: Error) =>
      Object.values(KINDS).map((k): Figure => ({ key: k.key, label: k.label, unit: 'ms', homeward: missing(`engine moves failed: ${e.message.split('\n')[0] ?? ''}`), baseline: swanMobike })));
    return [
      ...engine,
      { key: 'handover.labRttMs', label: 'lab RTT client ↔ gateway (plain ping)', unit: 'ms', baseline: rtt },
      { key: 'handover.mobikeGapMs', label: 'handover gap, MOBIKE', unit: 'ms', homeward: ours, baseline: swanMobike, note },
      { key: 'handover.mobikeRttMs', label: 'MOBIKE round trip (address event → gateway answer)', unit: 'ms', homeward: rttOurs, note: 'from the mobike-update events of homeward vpn up, median of the moves' },
      { key: 'handover.reauthGapMs', label: 'handover gap, strongSwan without MOBIKE (new IKE SA)', unit: 'ms', homeward: ours, baseline: swanReauth, note: 'Homeward column: its MOBIKE gap, for comparison' },
      { key: 'handover.natGapMs', label: 'handover gap, MOBIKE A ↔ behind a NAT', unit: 'ms', homeward: more.nat.gap, note: `median of ${MOVES} moves A→NAT, NAT→A (NAT-D switches UDP keepalives on and off)` },
      { key: 'handover.natRttMs', label: 'MOBIKE round trip, A ↔ behind a NAT', unit: 'ms', homeward: more.nat.rtt, note: 'mobike-update ms, median of those moves' },
      { key: 'handover.gatewayLossGapMs', label: "handover gap, the gateway's primary address deleted", unit: 'ms', homeward: more.gatewayLoss.gap, note: `one move: strongSwan announces its addresses from ${GATEWAY_2}, the client follows` },
      { key: 'handover.gatewayLossRttMs', label: "MOBIKE round trip, gateway's primary address deleted", unit: 'ms', homeward: more.gatewayLoss.rtt, note: 'mobike-update ms (from the gateway\'s announcement to its answer)' },
    ];
  } finally {
    await lab.destroy();
  }
}
