/**
 * Start-up cost of the CLI (issue 17): wall time of `homeward --help`
 * (bin/homeward.mjs, which runs the compiled engine bundle when it is current)
 * and its peak RSS, median of 5 runs. No baseline column: strongSwan has no
 * comparable command.
 */
import { spawnSync } from 'node:child_process';
import { HOMEWARD_BIN } from '../lab/peers.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import type { Progress } from './section.ts';

const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function startupSection(progress: Progress): Promise<Figure[]> {
  const times: number[] = [];
  const rss: number[] = [];
  let failure: string | undefined;
  for (let i = 0; i < RUNS && !failure; i++) {
    const t0 = performance.now();
    // /usr/bin/time -f %M: peak RSS of the child in KiB, on stderr's last line
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, HOMEWARD_BIN, '--help'], { encoding: 'utf8', timeout: 30_000 });
    const ms = performance.now() - t0;
    if (r.status !== 0) failure = `homeward --help exited ${String(r.status)}: ${(r.stderr ?? '').slice(0, 200)}`;
    times.push(ms);
    const kib = Number((r.stderr ?? '').trim().split('\n').at(-1));
    if (Number.isFinite(kib) && kib > 0) rss.push(kib / 1024);
  }
  let t: Measured;
  let m: Measured;
  if (failure) {
    t = missing(failure);
    m = missing(failure);
  } else {
    t = measured(median(times) / 1000, { samples: times.map((x) => Math.round(x)) });
    m = rss.length === RUNS ? measured(median(rss)) : missing('/usr/bin/time gave no peak RSS');
    progress(`startup: homeward --help ${times.map((x) => x.toFixed(0)).join(' ')} ms`);
  }
  return Promise.resolve([
    { key: 'startup.helpS', label: 'homeward --help start-up (median of 5)', unit: 's', homeward: t, note: 'node bin/homeward.mjs --help, wall time including process start' },
    { key: 'startup.helpPeakRssMiB', label: 'homeward --help peak RSS', unit: 'MiB', homeward: m },
  ]);
}
