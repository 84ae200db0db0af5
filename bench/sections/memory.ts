/**
 * Engine memory: RSS (VmRSS of /proc/<pid>/status) of `homeward run` idle in
 * mode mc (one IKE SA, one binding), and after BENCH_SOAK_MINUTES (default
 * 10, the figure) of traffic from the intranet host to the home
 * address: iperf3 at a fixed rate, so the run length bounds the work.
 * RSS is sampled every 30 s in the 10-minute soak, 20 times over a shorter
 * one (`BENCH_SOAK_MINUTES=2 npm run bench -- --only memory` for a local look).
 */
import { readFile } from 'node:fs/promises';
import { sleep } from '../lab/peers.ts';
import { createMobileNodeLab, HOME_ADDRESS, tryHomewardRun } from '../lab/mobile-node.ts';
import { vmRssKiB } from '../lib/parse.ts';
import { secondHalfGrowth, soakSampleMs } from '../lib/options.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import type { Progress } from './section.ts';

export const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const SOAK_RATE = '20M';
const IDLE_SETTLE_MS = 5000;
/** A second idle reading: V8's memory reducer returns the start-up garbage about 10 s after the burst, so this is what an idle engine keeps holding. */
const IDLE_LATER_MS = 30_000;

async function rssMiB(pid: number): Promise<number> {
  return vmRssKiB(await readFile(`/proc/${pid}/status`, 'utf8')) / 1024;
}

export async function memorySection(progress: Progress): Promise<Figure[]> {
  const sampleMs = soakSampleMs(SOAK_MINUTES);
  let idleLater: Measured = missing('the engine did not reach mode mc');
  const figures = (idle: Measured, after: Measured, growth: Measured, secondHalf: Measured): Figure[] => soakFigures(sampleMs, idle, idleLater, after, growth, secondHalf);
  const m = await createMobileNodeLab();
  try {
    progress('memory: homeward run …');
    const run = await tryHomewardRun(m);
    if (!run.ok) {
      progress(`  ${run.reason}`);
      return figures(missing(run.reason), missing(run.reason), missing(run.reason), missing(run.reason));
    }
    const pid = run.value.proc.pid;
    try {
      await sleep(IDLE_SETTLE_MS);
      const idle = await rssMiB(pid);
      await sleep(IDLE_LATER_MS - IDLE_SETTLE_MS);
      const later = await rssMiB(pid);
      idleLater = measured(later);
      progress(`  idle RSS ${idle.toFixed(1)} MiB after ${IDLE_SETTLE_MS / 1000} s, ${later.toFixed(1)} MiB after ${IDLE_LATER_MS / 1000} s; ${SOAK_MINUTES} min of traffic at ${SOAK_RATE}bit/s …`);
      m.lab.spawn('client', 'iperf3', ['-s', '-B', HOME_ADDRESS], { label: 'iperf3-server' });
      await sleep(500);
      const seconds = Math.max(1, Math.round(SOAK_MINUTES * 60));
      // the RSS curve during the soak: a leak keeps climbing, a heap settling at its working size flattens
      const samples: number[] = [];
      let soaking = true;
      const sampler = (async () => {
        while (soaking) {
          await sleep(sampleMs);
          if (soaking) samples.push(Math.round((await rssMiB(pid).catch(() => NaN)) * 10) / 10);
        }
      })();
      const r = await m.lab.exec('intranet', 'iperf3', ['-c', HOME_ADDRESS, '-t', String(seconds), '-b', SOAK_RATE, '-J'], { timeoutMs: (seconds + 60) * 1000 });
      soaking = false;
      await sampler;
      if (r.code !== 0) return figures(measured(idle), missing(`iperf3 soak failed (exit ${r.code}): ${r.stdout.slice(0, 200)}`), missing('no soak'), missing('no soak'));
      await sleep(IDLE_SETTLE_MS);
      const after = await rssMiB(pid);
      progress(`  RSS after soak ${after.toFixed(1)} MiB; every ${sampleMs / 1000} s: ${samples.join(' ')}`);
      const grown = secondHalfGrowth(samples, after);
      const secondHalf = grown === null ? missing('too few samples') : measured(grown, { samples });
      return figures(measured(idle), measured(after), measured(after - idle, { samples }), secondHalf);
    } finally {
      await run.value.proc.stop(3000, 'SIGINT');
    }
  } finally {
    await m.lab.destroy();
  }
}

function soakFigures(sampleMs: number, idle: Measured, idleLater: Measured, after: Measured, growth: Measured, secondHalf: Measured): Figure[] {
  const note = `homeward run in mode mc (one IKE SA, one binding); soak ${SOAK_MINUTES} min iperf3 -b ${SOAK_RATE} (BENCH_SOAK_MINUTES)`;
  return [
    { key: 'memory.rssIdleMiB', label: 'engine RSS idle (mode mc)', unit: 'MiB', homeward: idle, note: `${note}; read ${IDLE_SETTLE_MS / 1000} s after mode mc` },
    { key: 'memory.rssIdleLaterMiB', label: `engine RSS idle, ${IDLE_LATER_MS / 1000} s after mode mc`, unit: 'MiB', homeward: idleLater, note: 'after V8\'s memory reducer has returned the start-up garbage' },
    { key: 'memory.rssAfterSoakMiB', label: `engine RSS after ${SOAK_MINUTES} min of traffic`, unit: 'MiB', homeward: after },
    { key: 'memory.rssGrowthMiB', label: 'engine RSS growth over the soak', unit: 'MiB', homeward: growth, note: `RSS every ${sampleMs / 1000} s under raw samples` },
    { key: 'memory.rssGrowthSecondHalfMiB', label: 'engine RSS growth over the second half of the soak', unit: 'MiB', homeward: secondHalf, note: 'a leak grows here too; a heap settling does not' },
  ];
}
