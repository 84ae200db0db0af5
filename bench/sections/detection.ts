/**
 * Detection times (RFC 5266 §3.4) from `homeward run`'s event stream with
 * the profile's defaults (no detection tuning), DETECTION_MOVES moves each
 * way, with the lab RTT beside them:
 *   trusted:  address event (move inside) → mode "c" settled
 *   outside:  address event (move outside) → mode "mc" settled and a ping
 *             reply from the intranet host to the home address through it
 * median and worst. strongSwan has no counterpart for these.
 *
 * Then, in the same lab, the time to a new IKE SA + CHILD_SA beside
 * strongSwan's own client against the same gateway (IKE_SETUPS each on the
 * client's outside link, in IKE_ROUNDS interleaved rounds, each setup after
 * the same ~1 s of quiet; bench/lib/ike-setup.ts, docs/PERFORMANCE.md):
 *   ikeSetupMs            Homeward's events, `ike-sa` connecting → `child-sa`
 *                         installed (a running process: the gateway deletes
 *                         each IKE SA and `homeward vpn up` sets up the next)
 *   ikeSetupMsStrongswan  strongSwan's client to its CHILD_SA installed, as
 *                         ours: its first IKE_SA_INIT request on the wire (a
 *                         capture on the gateway's side of the link) → its
 *                         "CHILD_SA … established" log line (epoch stamps,
 *                         ms; written once SA and policies are in the
 *                         kernel) — no vici, no swanctl process
 * and both on the wire to the IKE_AUTH response (`detection.ikeSetupWireMs`);
 * `swanctl --initiate`'s own wall time, each side's share of the exchanges
 * and Homeward on strongSwan's clock (wire → its event) are in the raw figures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { capture, runOk, startStrongSwan } from '../../test/lab/harness/index.ts';
import { createMobileNodeLab, HOME_ADDRESS, INSIDE, OUTSIDE, tryHomewardRun, type MobileNodeLab } from '../lab/mobile-node.ts';
import { sleep, spawnHomewardToFile, strongswanClientConf, waitForEvent } from '../lab/peers.ts';
import { moveClient } from '../lab/topology.ts';
import { outsideDetectionMs, trustedDetectionMs } from '../lib/detection.ts';
import { idleBeforeFromWire, ikeSetupFromEvents, ikeSetupFromWire, childEstablishedFromLog, ikeSetupToInstalled, initiatorShareFromWire, parseIkeFields, responderShareFromWire, type IkePacket } from '../lib/ike-setup.ts';
import { averageRtt, parsePingD } from '../lib/ping-gap.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import type { StampedEvent } from '../lib/parse.ts';
import type { Progress, SectionOutput } from './section.ts';

/** moves each way (the issue asks for 20 outside samples) */
export const DETECTION_MOVES = Number(process.env.BENCH_DETECTION_MOVES ?? 20);
/** new IKE SAs per client */
export const IKE_SETUPS = Number(process.env.BENCH_IKE_SETUPS ?? 20);
const SETTLE_TIMEOUT_MS = 20_000;
/** a mode must hold this long before the next move (it is "settled") */
const HOLD_MS = 1000;
/** the client's address on the outside link: the initiator on the wire */
const CLIENT_OUTSIDE = OUTSIDE.cidr.split('/')[0] ?? '';

function summarise(samples: Array<number | null>, what: string, take: (xs: number[]) => number | null = median): Measured {
  const bad = samples.findIndex((s) => s === null);
  if (bad >= 0) return missing(`${what}: move ${bad + 1} did not settle within ${SETTLE_TIMEOUT_MS} ms`);
  const xs = samples as number[];
  const m = take(xs);
  return m === null ? missing(`${what}: no moves`) : measured(m, { samples: xs.map(Math.round) });
}

const worst = (xs: number[]): number | null => (xs.length === 0 ? null : Math.max(...xs));

interface Moves {
  trusted: Array<number | null>;
  outside: Array<number | null>;
  /** gapMs of the `handover` events into mc */
  outsideGaps: number[];
  /** the engine's events of each outside move over 500 ms, relative to the move */
  slowTraces: string[][];
  inside: boolean;
}

async function measureMoves(m: MobileNodeLab, progress: Progress): Promise<Moves | { reason: string }> {
  progress('detection: homeward run …');
  const run = await tryHomewardRun(m);
  if (!run.ok) return { reason: run.reason };
  const ping = m.lab.spawn('intranet', 'stdbuf', ['-oL', 'ping', '-n', '-D', '-i', '0.02', HOME_ADDRESS], { label: 'ping' });
  const out: Moves = { trusted: [], outside: [], outsideGaps: [], slowTraces: [], inside: false };
  try {
    for (let i = 0; i < 2 * DETECTION_MOVES; i++) {
      const goingIn = i % 2 === 0;
      const t = Date.now();
      await moveClient(m.lab, goingIn ? OUTSIDE : INSIDE, goingIn ? INSIDE : OUTSIDE);
      out.inside = goingIn;
      const deadline = t + SETTLE_TIMEOUT_MS;
      let r: number | null = null;
      while (r === null && Date.now() < deadline) {
        await sleep(50);
        const now = Date.now();
        const replies = parsePingD(ping.stdout()).map((x) => x.atMs);
        r = goingIn ? trustedDetectionMs(run.value.events, t, now) : outsideDetectionMs(run.value.events, replies, t, now);
        if (r !== null && now - (t + r) < HOLD_MS) r = null; // not held long enough yet
      }
      (goingIn ? out.trusted : out.outside).push(r);
      if (!goingIn && (r === null || r > 500)) {
        const trace = run.value.events.filter((e) => e.atMs >= t && e.atMs <= t + (r ?? SETTLE_TIMEOUT_MS) + 50)
          .map((e) => `+${e.atMs - t} ${String(e.event.type)}${['state', 'mode', 'to', 'msg'].map((k) => (e.event[k] !== undefined ? ` ${String(e.event[k]).slice(0, 80)}` : '')).join('')}`);
        progress(`  outside move ${out.outside.length}: ${r ?? 'unsettled'} ms — ${trace.join(' | ')}`);
        out.slowTraces.push(trace);
      }
      if (!goingIn) {
        const gap = run.value.events.find((e) => e.atMs >= t && e.event.type === 'handover' && e.event.to === 'mc');
        if (typeof gap?.event.gapMs === 'number') out.outsideGaps.push(Math.round(gap.event.gapMs));
      }
      if (r === null) break;
    }
  } finally {
    await ping.stop(2000, 'SIGINT');
    await run.value.proc.stop(3000, 'SIGINT');
  }
  progress(`  trusted ${out.trusted.join(' ')} ms; outside ${out.outside.join(' ')} ms; handover gapMs into mc ${out.outsideGaps.join(' ')}`);
  return out;
}

interface IkeSetups {
  homeward: Measured;
  strongswan: Measured;
  homewardWire: Measured;
  strongswanWire: Measured;
  raw: Record<string, unknown>;
}

const some = (xs: number[], what: string, note?: string, why = 'no sample'): Measured => {
  const m = median(xs);
  return m === null ? missing(`${what}: ${why}`) : measured(m, { samples: xs.map((x) => Math.round(x * 10) / 10), ...(note ? { note } : {}) });
};

/** IKE setups are timed in this many rounds, each one block of Homeward's and one of strongSwan's */
export const IKE_ROUNDS = Number(process.env.BENCH_IKE_ROUNDS ?? 4);
/**
 * The quiet time before each of strongSwan's setups, ms: Homeward's reconnect comes 1 s after the
 * gateway's delete (app/ikev2/reconnect-policy.ts), and a setup after a longer quiet time is slower
 * on this machine for both clients (the gateway's share too; docs/PERFORMANCE.md)
 */
const SWAN_IDLE_MS = 1000;

/**
 * IKE_SETUPS new IKE SAs from each client on the outside link, in IKE_ROUNDS interleaved rounds (a
 * block of Homeward's, then one of strongSwan's), so that both see the same machine: the speed of
 * this machine drifts over tens of seconds by more than the difference being measured. In each
 * block the first setup (a process just started) is left out of the medians, for both clients.
 */
async function measureIkeSetups(m: MobileNodeLab, progress: Progress): Promise<IkeSetups> {
  const { lab } = m;
  // the wire clock needs tcpdump and tshark: without them only the wire figures are missing
  const cap = await capture(lab, 'gw', 'a0', { filter: 'udp port 500 or udp port 4500', name: 'ike-setup.pcap' }).catch((e: Error) => e);
  const perRound = Math.max(1, Math.ceil(IKE_SETUPS / Math.max(1, IKE_ROUNDS)));
  const hBlocks: Array<{ start: number; end: number; events: StampedEvent[] }> = [];
  const sBlocks: Array<{ start: number; end: number; log: string }> = [];
  const initiate: number[] = [];
  let hReason = '';
  for (let round = 0; round < IKE_ROUNDS && !hReason; round++) {
    // Homeward: one `homeward vpn up` (vpn.reconnect, the default): the gateway deletes each IKE SA once its
    // CHILD_SA is installed, and the running process sets up the next (as the engine does on a move without a
    // warm SA); its events carry the process's own stamp (`t`), as charon's log line carries charon's
    const hStart = Date.now();
    // its stdout to a file read every 50 ms (as charon's log is read afterwards): a bench process woken by each
    // event line during the exchange slowed the gateway's answers (bench/lab/peers.ts)
    const h = spawnHomewardToFile(lab, 'client', ['vpn', 'up', '--profile', m.profile, '--json'], 'homeward-vpn');
    try {
      for (let i = 0; i <= perRound; i++) {
        const r = await waitForEvent(h, (e) => e.type === 'child-sa' && e.state === 'installed' && h.events.filter((x) => x.event.type === 'child-sa' && x.event.state === 'installed').length > i, 20_000);
        if ('reason' in r) {
          hReason = `homeward vpn up: ${r.reason}`;
          break;
        }
        if (i < perRound) await m.gateway.swanctl(['--terminate', '--ike', 'rw', '--timeout', '5']);
      }
    } finally {
      await h.proc.stop(3000, 'SIGINT');
      h.stop();
    }
    hBlocks.push({ start: hStart, end: Date.now(), events: h.events });
    // strongSwan's client: a second charon in the client's namespace, the same suites, PSK and gateway; a second
    // log with epoch stamps (ms): charon's "CHILD_SA … established" line, written once the CHILD_SA is installed,
    // ends its setup on the same terms as Homeward's `installed` event
    await sleep(200);
    const sStart = Date.now();
    const stampLog = join(lab.tempDir('swan-stamps'), 'charon.log');
    const charon = await startStrongSwan(lab, 'client', {
      swanctlConf: strongswanClientConf({ gateway: '192.0.2.1', remoteTs: '10.10.0.0/16', mobike: true }),
      conf: {
        charonExtra: ['filelog {', '  stamps {', `    path = ${stampLog}`, '    time_format = %s', '    time_add_ms = yes',
          '    flush_line = yes', '    default = -1', '    ike = 0', '  }', '}'].join('\n'),
      },
    });
    try {
      for (let i = 0; i <= perRound; i++) {
        // quiet as long as Homeward's link is before its reconnect
        await sleep(SWAN_IDLE_MS);
        const t = performance.now();
        await charon.swanctl(['--initiate', '--child', 'home', '--timeout', '15']);
        if (i > 0) initiate.push(performance.now() - t);
        await charon.swanctl(['--terminate', '--ike', 'home', '--timeout', '15']);
      }
    } finally {
      await charon.stop();
    }
    let log = '';
    try {
      log = readFileSync(stampLog, 'utf8');
    } catch {
      // no stamp log: the installed figure is missing (below), the wire figures stay
    }
    sBlocks.push({ start: sStart, end: Date.now(), log });
  }
  let packets: IkePacket[] = [];
  let wireReason = '';
  try {
    if (cap instanceof Error) throw cap;
    await cap.stop();
    const fields = await runOk('tshark', ['-r', cap.pcap, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'isakmp.exchangetype', '-e', 'isakmp.flags']);
    packets = parseIkeFields(fields.stdout);
  } catch (e) {
    wireReason = `no capture: ${(e as Error).message.split('\n')[0] ?? ''}`;
  }
  const within = (a: number, b: number) => packets.filter((p) => p.atMs >= a && p.atMs <= b);
  // per block, the first setup left out (a process just started); pooled over the rounds
  const pool = <T>(blocks: readonly T[], f: (b: T) => number[], skip = 1): number[] => blocks.flatMap((b) => f(b).slice(skip));
  const hFirsts = hBlocks.map((b) => ikeSetupFromEvents(b.events)[0]).filter((x): x is number => x !== undefined);
  const hEvents = pool(hBlocks, (b) => ikeSetupFromEvents(b.events));
  const hWire = pool(hBlocks, (b) => ikeSetupFromWire(within(b.start, b.end), CLIENT_OUTSIDE));
  const sWire = pool(sBlocks, (b) => ikeSetupFromWire(within(b.start, b.end), CLIENT_OUTSIDE));
  // cross-check: Homeward on strongSwan's terms, from its first IKE_SA_INIT on the wire to its `installed` event
  const installedAt = (evs: readonly StampedEvent[]) => evs.filter((e) => e.event.type === 'child-sa' && e.event.state === 'installed').map((e) => e.atMs);
  const hWireToInstalled = pool(hBlocks, (b) => ikeSetupToInstalled(within(b.start, b.end), CLIENT_OUTSIDE, installedAt(b.events)));
  const sInstalled = pool(sBlocks, (b) => ikeSetupToInstalled(within(b.start, b.end), CLIENT_OUTSIDE, childEstablishedFromLog(b.log)));
  const installedReason = sBlocks.some((b) => b.log === '') ? 'no charon stamp log' : '';
  const hShare = pool(hBlocks, (b) => initiatorShareFromWire(within(b.start, b.end), CLIENT_OUTSIDE));
  const sShare = pool(sBlocks, (b) => initiatorShareFromWire(within(b.start, b.end), CLIENT_OUTSIDE));
  const gw = (blocks: ReadonlyArray<{ start: number; end: number }>) => ({
    init: pool(blocks, (b) => responderShareFromWire(within(b.start, b.end), CLIENT_OUTSIDE).init),
    auth: pool(blocks, (b) => responderShareFromWire(within(b.start, b.end), CLIENT_OUTSIDE).auth),
  });
  const hGw = gw(hBlocks);
  const sGw = gw(sBlocks);
  // the quiet time before each measured setup (the first of a block has none before it in its window)
  const hIdle = pool(hBlocks, (b) => idleBeforeFromWire(within(b.start, b.end), CLIENT_OUTSIDE), 0);
  const sIdle = pool(sBlocks, (b) => idleBeforeFromWire(within(b.start, b.end), CLIENT_OUTSIDE), 0);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  const med = (xs: number[]): string => median(xs)?.toFixed(1) ?? 'n/a';
  progress(`  IKE setup, ${hBlocks.length} rounds of ${perRound}: Homeward (events) ${fmt(hEvents)} ms, first in each process ${fmt(hFirsts)} ms${hReason ? `; ${hReason}` : ''}`);
  progress(`  IKE setup to the CHILD_SA installed, from the wire: strongSwan (charon's log) ${fmt(sInstalled)} ms; Homeward (its event) ${fmt(hWireToInstalled)} ms`);
  progress(`  IKE setup on the wire: Homeward ${fmt(hWire)} ms; strongSwan ${fmt(sWire)} ms; swanctl --initiate wall ${initiate.map((x) => x.toFixed(0)).join(' ')} ms`);
  progress(`  the initiator's share (IKE_SA_INIT response → IKE_AUTH request): Homeward ${fmt(hShare)} ms; strongSwan ${fmt(sShare)} ms`);
  progress(`  the gateway's share, medians (IKE_SA_INIT, IKE_AUTH request → response): to Homeward ${med(hGw.init)}, ${med(hGw.auth)} ms; to strongSwan ${med(sGw.init)}, ${med(sGw.auth)} ms; quiet before a setup, medians: Homeward ${med(hIdle)} ms, strongSwan ${med(sIdle)} ms`);
  return {
    homeward: hReason && hEvents.length === 0 ? missing(hReason) : some(hEvents, 'Homeward IKE setup', `the first in each process (left out): ${fmt(hFirsts)} ms`),
    strongswan: some(sInstalled, 'strongSwan IKE setup to its CHILD_SA installed', `swanctl --initiate's own wall time ${median(initiate)?.toFixed(1) ?? 'n/a'} ms; to its IKE_AUTH response on the wire ${median(sWire)?.toFixed(1) ?? 'n/a'} ms`, wireReason || installedReason || undefined),
    homewardWire: some(hWire, 'Homeward IKE setup on the wire', undefined, wireReason || undefined),
    strongswanWire: some(sWire, 'strongSwan IKE setup on the wire', undefined, wireReason || undefined),
    raw: { rounds: hBlocks.length, perRound, swanIdleMs: SWAN_IDLE_MS, homewardFirstMs: hFirsts, homewardEventsMs: hEvents, strongswanInitiateMs: initiate, homewardWireMs: hWire, strongswanWireMs: sWire, strongswanToInstalledMs: sInstalled, homewardWireToInstalledMs: hWireToInstalled, homewardInitiatorShareMs: hShare, strongswanInitiatorShareMs: sShare, gatewayShareToHomewardMs: hGw, gatewayShareToStrongswanMs: sGw, idleBeforeHomewardMs: hIdle, idleBeforeStrongswanMs: sIdle },
  };
}

export async function detectionSection(progress: Progress): Promise<SectionOutput> {
  const m = await createMobileNodeLab();
  try {
    const rttOut = await m.lab.exec('client', 'ping', ['-n', '-c', '10', '-i', '0.05', OUTSIDE.gw], { timeoutMs: 10_000 });
    const rtt = averageRtt(rttOut.stdout);
    const rttNote = `lab RTT ${rtt === null ? 'n/a' : rtt.toFixed(3)} ms; the profile's detection defaults (timeoutMs 1000, retransmits 2)`;
    const moves = await measureMoves(m, progress);
    const figs: Figure[] = [];
    if ('reason' in moves) {
      progress(`  ${moves.reason}`);
      figs.push(...detectionFigures(missing(moves.reason), missing(moves.reason), missing(moves.reason), rttNote));
    } else {
      const note = `${rttNote}; ${moves.outside.length} outside moves; handover gapMs into mc ${moves.outsideGaps.join(' ')}`;
      figs.push(...detectionFigures(summarise(moves.trusted, 'trusted detection'), summarise(moves.outside, 'outside detection'), summarise(moves.outside, 'outside detection', worst), note));
      // the IKE setups run on the outside link
      if (moves.inside) await moveClient(m.lab, INSIDE, OUTSIDE);
    }
    progress('detection: new IKE SA + CHILD_SA, Homeward and strongSwan …');
    const ike = await measureIkeSetups(m, progress);
    figs.push(
      {
        key: 'detection.ikeSetupMs', label: 'new IKE SA + CHILD_SA (Homeward: its events, connecting → CHILD_SA installed; strongSwan: wire → its CHILD_SA established log line)', unit: 'ms',
        homeward: ike.homeward, baseline: ike.strongswan, note: `median of ${IKE_SETUPS}, same gateway, ${rttNote.split(';')[0]}`,
      },
      {
        key: 'detection.ikeSetupWireMs', label: 'new IKE SA + CHILD_SA on the wire (IKE_SA_INIT request → IKE_AUTH response)', unit: 'ms',
        homeward: ike.homewardWire, baseline: ike.strongswanWire, note: 'one capture on the gateway side of the link, both clients',
      },
    );
    return { figures: figs, raw: { ikeSetup: ike.raw, ...('reason' in moves ? {} : { moves }) } };
  } finally {
    await m.lab.destroy();
  }
}

function detectionFigures(trusted: Measured, outside: Measured, outsideWorst: Measured, note: string): Figure[] {
  return [
    { key: 'detection.trustedMs', label: 'trusted-network detection (address event → mode c)', unit: 'ms', homeward: trusted, note },
    { key: 'detection.outsideMs', label: 'outside detection (address event → mode mc + traffic)', unit: 'ms', homeward: outside, note },
    { key: 'detection.outsideWorstMs', label: 'outside detection, worst move (target ≤ 500)', unit: 'ms', homeward: outsideWorst, note },
  ];
}
