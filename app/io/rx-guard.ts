/**
 * The guard around a driver's receive handler: one hostile or malformed
 * input is counted and dropped, never fatal. Whatever the handler throws is
 * counted (`dropped`) and reported through `report` at most once per
 * `intervalMs`, saying what was dropped and how many so far.
 */
export class RxGuard {
  dropped = 0;
  private lastReport = -Infinity;

  constructor(
    private readonly what: string,
    private readonly report: (msg: string) => void,
    /** called on every drop (the driver's own typed counter) */
    private readonly onDrop: () => void = () => undefined,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  run(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.dropped++;
      this.onDrop();
      const t = this.now();
      if (t - this.lastReport < this.intervalMs) return;
      this.lastReport = t;
      try {
        this.report(`dropped ${this.what} whose handling failed (${this.dropped} so far): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      } catch {
        // reporting is best effort: the drop is counted either way
      }
    }
  }

  wrap<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => this.run(() => fn(...args));
  }
}
