/**
 * Recovery (issue 18): how soon a 20 ms ping from the home address is answered
 * again, `homeward run` in mode mc against strongSwan (dpd_delay = 2s, short
 * retransmissions) and the reference HA (20 s lifetimes) — the lab and the
 * measurements of test/lab/engine-recovery.test.ts (test/lab/fixtures/recovery.ts),
 * median of RUNS each:
 *   resumeMs   the engine frozen (SIGSTOP) 40 s while the MN moves between the two
 *              untrusted networks, the SA deleted and the binding expired meanwhile:
 *              SIGCONT → first reply;
 *   gatewayMs  charon killed, started again 2 s later: loaded again → first reply;
 *   haMs       the reference HA killed and started again (bindings lost): ready → first reply.
 * strongSwan's own client has no counterpart here: no baseline column.
 */
import type { LabProcess } from '../../test/lab/harness/index.ts';
import type { EngineLab } from '../../test/lab/fixtures/engine-lab.ts';
import {
  createRecoveryLab, measureGatewayRestart, measureHaRestart, measureResume, Pinger, startEngineOnU1, story, type RecoveryResult,
} from '../../test/lab/fixtures/recovery.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import type { Progress } from './section.ts';

export const RUNS = Number(process.env.BENCH_RECOVERY_RUNS ?? 5);

async function series(what: string, progress: Progress, ping: Pinger, one: () => Promise<RecoveryResult>): Promise<Measured> {
  const samples: number[] = [];
  const earlier = (): string => (samples.length > 0 ? ` (earlier runs: ${samples.map(Math.round).join(', ')} ms)` : '');
  for (let i = 0; i < RUNS; i++) {
    try {
      await ping.flowing();
    } catch (e) {
      return missing(`${what}: before run ${i + 1}: ${(e as Error).message}${earlier()}`);
    }
    const r = await one();
    if (r.ms === undefined) {
      // the engine's story of the failed run, for whoever reads the bench's stderr
      progress(`  ${what} ${i + 1}: no reply; the engine's events:\n${story(r.events)}`);
      return missing(`${what}: run ${i + 1} of ${RUNS} got no ping reply within 15 s${earlier()}`);
    }
    samples.push(r.ms);
    progress(`  ${what} ${i + 1}: ${Math.round(r.ms)} ms`);
  }
  const m = median(samples);
  return m === null ? missing(`${what}: no runs`) : measured(m, { samples: samples.map(Math.round) });
}

export async function recoverySection(progress: Progress): Promise<Figure[]> {
  let L: EngineLab | undefined;
  let mn: LabProcess | undefined;
  let ping: Pinger | undefined;
  try {
    L = await createRecoveryLab();
    const lab = L;
    mn = await startEngineOnU1(lab);
    const engine = mn;
    ping = new Pinger(lab, 3600);
    const p = ping;
    progress(`recovery: resume after a 40 s SIGSTOP and a move (${RUNS} runs) …`);
    const resume = await series('resume', progress, p, async () => {
      const r = await measureResume(lab, engine, p);
      if (!r.saGone || !r.bindingExpired) progress(`  (gateway SA gone: ${r.saGone}, HA binding expired: ${r.bindingExpired})`);
      return r;
    });
    progress(`recovery: gateway restart (${RUNS} runs) …`);
    const gateway = await series('gateway restart', progress, p, () => measureGatewayRestart(lab, engine, p));
    progress(`recovery: home agent restart (${RUNS} runs) …`);
    const ha = await series('HA restart', progress, p, () => measureHaRestart(lab, engine, p));
    return figures(resume, gateway, ha);
  } finally {
    if (mn?.running) {
      try {
        process.kill(mn.pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    await ping?.stop();
    await L?.lab.destroy();
  }
}

function figures(resume: Measured, gateway: Measured, ha: Measured): Figure[] {
  const note = 'mode mc, 20 ms ping from the home address; gateway dpd_delay 2s, HA lifetime 20 s';
  return [
    { key: 'recovery.resumeMs', label: 'resume: 40 s SIGSTOP + move, SA and binding gone → first reply', unit: 'ms', homeward: resume, note },
    { key: 'recovery.gatewayMs', label: 'gateway killed and restarted → first reply', unit: 'ms', homeward: gateway, note },
    { key: 'recovery.haMs', label: 'home agent killed and restarted → first reply', unit: 'ms', homeward: ha, note },
  ];
}
