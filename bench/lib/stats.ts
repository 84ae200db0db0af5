/** Small statistics for benchmark samples. */

/** The median of the finite samples; null when there are none. */
export function median(samples: readonly number[]): number | null {
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  const hi = xs[mid] as number;
  return xs.length % 2 === 1 ? hi : ((xs[mid - 1] as number) + hi) / 2;
}

/** a / b, or null when either is missing or b is not positive. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** Rounds for display and for results.json (keeps 3 significant decimals below 10). */
export function round(x: number): number {
  const digits = Math.abs(x) >= 100 ? 1 : Math.abs(x) >= 10 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
