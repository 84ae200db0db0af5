/** Command-line and environment options of `npm run bench` (bench/run.ts, bench/sections/memory.ts). */

export class BenchOptionError extends Error {
  override name = 'BenchOptionError';
}

/**
 * The sections to run: `--only a,b` (or `--only=a,b`, repeatable) on the
 * command line, else BENCH_ONLY=a,b, else undefined (all of them). A name that
 * is not a section is refused with the list of known ones, so a typo does not
 * silently run nothing.
 */
export function selectSections(argv: readonly string[], envOnly: string | undefined, known: readonly string[]): string[] | undefined {
  const picked: string[] = [];
  let fromArgv = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let list: string | undefined;
    if (a === '--only') {
      list = argv[++i];
      if (list === undefined || list.startsWith('--')) throw new BenchOptionError('--only needs a list of sections, e.g. --only startup,memory');
    } else if (a.startsWith('--only=')) {
      list = a.slice('--only='.length);
    } else {
      throw new BenchOptionError(`unknown option ${a} (bench takes --only <section,…>)`);
    }
    fromArgv = true;
    picked.push(...splitList(list));
  }
  const names = fromArgv ? picked : envOnly === undefined ? [] : splitList(envOnly);
  if (!fromArgv && names.length === 0) return undefined;
  if (names.length === 0) throw new BenchOptionError('--only names no section');
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new BenchOptionError(`no such bench section: ${unknown.join(', ')} (sections: ${known.join(', ')})`);
  return [...new Set(names)];
}

function splitList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * How often the memory soak samples RSS: every 30 s in the 10-minute
 * soak, and 20 samples over a shorter one (BENCH_SOAK_MINUTES=2 → every 6 s),
 * never more often than every 2 s, so a short local run still has a curve
 * whose second half can be read.
 */
export function soakSampleMs(soakMinutes: number): number {
  if (!Number.isFinite(soakMinutes) || soakMinutes <= 0) throw new BenchOptionError(`BENCH_SOAK_MINUTES must be a positive number, got ${String(soakMinutes)}`);
  return Math.round(Math.min(30_000, Math.max(2_000, (soakMinutes * 60_000) / 20)));
}

/**
 * Growth over the second half of a soak: the last reading minus the sample
 * at the middle of the run; null without samples.
 */
export function secondHalfGrowth(samples: readonly number[], after: number): number | null {
  if (samples.length === 0) return null;
  const mid = samples[Math.floor(samples.length / 2)]!;
  return after - mid;
}
