/**
 * Detection times (RFC 5266 §3.4) from `homeward run`'s event stream, median
 * of MOVES moves each way, with the lab RTT beside them:
 *   trusted:  address event (move inside) → mode "c" settled
 *   outside:  address event (move outside) → mode "mc" settled and a ping
 *             reply from the intranet host to the home address through it
 * strongSwan has no counterpart: the baseline column stays empty.
 */
import { sleep } from '../lab/peers.ts';
import { createMobileNodeLab, DETECTION, HOME_ADDRESS, INSIDE, OUTSIDE, tryHomewardRun } from '../lab/mobile-node.ts';
import { moveClient } from '../lab/topology.ts';
import { outsideDetectionMs, trustedDetectionMs } from '../lib/detection.ts';
import { averageRtt, parsePingD } from '../lib/ping-gap.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import { MOVES } from './handover.ts';
import type { Progress } from './section.ts';

const SETTLE_TIMEOUT_MS = 20_000;
/** a mode must hold this long before the next move (it is "settled") */
const HOLD_MS = 1000;

function summarise(samples: Array<number | null>, what: string): Measured {
  const bad = samples.findIndex((s) => s === null);
  if (bad >= 0) return missing(`${what}: move ${bad + 1} did not settle within ${SETTLE_TIMEOUT_MS} ms`);
  const xs = samples as number[];
  const m = median(xs);
  return m === null ? missing(`${what}: no moves`) : measured(m, { samples: xs.map(Math.round) });
}

export async function detectionSection(progress: Progress): Promise<Figure[]> {
  const m = await createMobileNodeLab();
  try {
    const rttOut = await m.lab.exec('client', 'ping', ['-n', '-c', '10', '-i', '0.05', OUTSIDE.gw], { timeoutMs: 10_000 });
    const rtt = averageRtt(rttOut.stdout);
    const rttNote = `lab RTT ${rtt === null ? 'n/a' : rtt.toFixed(3)} ms; detection.timeoutMs ${DETECTION.timeoutMs}, retransmits ${DETECTION.retransmits}`;
    progress('detection: homeward run …');
    const run = await tryHomewardRun(m);
    if (!run.ok) {
      progress(`  ${run.reason}`);
      return figures(missing(run.reason), missing(run.reason), rttNote);
    }
    const ping = m.lab.spawn('intranet', 'stdbuf', ['-oL', 'ping', '-n', '-D', '-i', '0.02', HOME_ADDRESS], { label: 'ping' });
    const trusted: Array<number | null> = [];
    const outside: Array<number | null> = [];
    try {
      for (let i = 0; i < 2 * MOVES; i++) {
        const goingIn = i % 2 === 0;
        const t = Date.now();
        await moveClient(m.lab, goingIn ? OUTSIDE : INSIDE, goingIn ? INSIDE : OUTSIDE);
        const deadline = t + SETTLE_TIMEOUT_MS;
        let r: number | null = null;
        while (r === null && Date.now() < deadline) {
          await sleep(50);
          const now = Date.now();
          const replies = parsePingD(ping.stdout()).map((x) => x.atMs);
          r = goingIn ? trustedDetectionMs(run.value.events, t, now) : outsideDetectionMs(run.value.events, replies, t, now);
          if (r !== null && now - (t + r) < HOLD_MS) r = null; // not held long enough yet
        }
        (goingIn ? trusted : outside).push(r);
        if (r === null) break;
      }
    } finally {
      await ping.stop(2000, 'SIGINT');
      await run.value.proc.stop(3000, 'SIGINT');
    }
    progress(`  trusted ${trusted.join(' ')} ms; outside ${outside.join(' ')} ms`);
    return figures(summarise(trusted, 'trusted detection'), summarise(outside, 'outside detection'), rttNote);
  } finally {
    await m.lab.destroy();
  }
}

function figures(trusted: Measured, outside: Measured, note: string): Figure[] {
  return [
    { key: 'detection.trustedMs', label: 'trusted-network detection (address event → mode c)', unit: 'ms', homeward: trusted, note },
    { key: 'detection.outsideMs', label: 'outside detection (address event → mode mc + traffic)', unit: 'ms', homeward: outside, note },
  ];
}
