/**
 * Start-up cost of the CLI (issue 17): `homeward --help` as a user runs it —
 * the installed command is the file package.json's `bin` names,
 * bin/homeward.cjs (npm links it; its `#!/usr/bin/env -S node …` line starts
 * Node), which answers from the compiled bundle's help when it is current —
 * median of 5 runs of the wall
 * time including the process start, the CPU time the process used (user +
 * system, which other jobs on the machine do not inflate the way they
 * inflate the wall time) and its peak RSS. The load average before the runs
 * is in the note. No baseline column: strongSwan has no comparable command.
 *
 * bench/run.ts runs this section first, right after building the bundle and
 * before any lab exists, so its own lab's processes and their teardown are
 * not what the runs wait for.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { relative } from 'node:path';
import { HOMEWARD_BIN, ROOT } from '../lab/peers.ts';
import { GNU_TIME_FORMAT, parseGnuTime, type TimedRun } from '../lib/parse.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import type { Progress } from './section.ts';

const RUNS = 5;

export function startupSection(progress: Progress): Promise<Figure[]> {
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const walls: number[] = [];
  const runs: TimedRun[] = [];
  let failure: string | undefined;
  for (let i = 0; i < RUNS && !failure; i++) {
    const t0 = performance.now();
    // the file itself, as the installed `homeward` command runs it (its shebang picks `node` from PATH)
    const r = spawnSync('/usr/bin/time', ['-f', GNU_TIME_FORMAT, HOMEWARD_BIN, '--help'], { encoding: 'utf8', timeout: 30_000 });
    walls.push(performance.now() - t0);
    if (r.status !== 0) {
      failure = `homeward --help exited ${String(r.status)}: ${(r.stderr ?? r.error?.message ?? '').slice(0, 200)}`;
      break;
    }
    try {
      runs.push(parseGnuTime(r.stderr ?? ''));
    } catch (e) {
      failure = (e as Error).message;
    }
  }
  let t: Measured;
  let cpu: Measured;
  let m: Measured;
  if (failure) {
    t = missing(failure);
    cpu = missing(failure);
    m = missing(failure);
  } else {
    const cpuMs = runs.map((x) => (x.userS + x.sysS) * 1000);
    t = measured(median(walls)! / 1000, { samples: walls.map((x) => Math.round(x)) });
    cpu = measured(median(cpuMs)! / 1000, { samples: cpuMs.map((x) => Math.round(x)) });
    m = measured(median(runs.map((x) => x.maxRssKiB / 1024))!);
    progress(`startup: homeward --help ${walls.map((x) => x.toFixed(0)).join(' ')} ms wall, ${cpuMs.map((x) => x.toFixed(0)).join(' ')} ms CPU (load average ${load})`);
  }
  return Promise.resolve([
    { key: 'startup.helpS', label: 'homeward --help start-up (median of 5)', unit: 's', homeward: t, note: `${relative(ROOT, HOMEWARD_BIN)} --help run as the installed command, wall time including process start; load average ${load}` },
    { key: 'startup.helpCpuS', label: 'homeward --help CPU time (user + system, median of 5)', unit: 's', homeward: cpu, note: 'GNU time %U + %S: the process\'s own cost, whatever else holds the cores' },
    { key: 'startup.helpPeakRssMiB', label: 'homeward --help peak RSS', unit: 'MiB', homeward: m },
  ]);
}
