/**
 * Time as a value. Protocol cores never read a clock: every input carries
 * `now`, an Instant in monotonic milliseconds chosen by the driver (the real
 * one in app/io/system-clock.ts, a ManualClock in tests).
 *
 * TimerTable<K> keeps one deadline per named timer (quinn's TimerTable):
 * cores arm and stop timers by key, the driver asks `next()` for the earliest
 * deadline and calls the core's handleTimeout(now) when it passes; expired()
 * hands back the keys that are due. Spurious calls simply find nothing due.
 */

/** Monotonic milliseconds. Only differences between Instants mean anything. */
export type Instant = number;

export class TimerTable<K extends string> {
  private readonly deadlines = new Map<K, Instant>();

  set(key: K, at: Instant): void {
    this.deadlines.set(key, at);
  }

  stop(key: K): void {
    this.deadlines.delete(key);
  }

  get(key: K): Instant | undefined {
    return this.deadlines.get(key);
  }

  isArmed(key: K): boolean {
    return this.deadlines.has(key);
  }

  clear(): void {
    this.deadlines.clear();
  }

  /** Earliest armed deadline, or undefined when nothing is armed. */
  next(): Instant | undefined {
    let min: Instant | undefined;
    for (const at of this.deadlines.values()) if (min === undefined || at < min) min = at;
    return min;
  }

  /** Removes and returns the keys whose deadline is at or before `now`, earliest first. */
  expired(now: Instant): K[] {
    const due = [...this.deadlines.entries()].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [k] of due) this.deadlines.delete(k);
    return due.map(([k]) => k);
  }
}

/** Exponential back-off: base * factor^attempt, capped. Pure. */
export function backoff(attempt: number, baseMs: number, factor: number, capMs: number): number {
  return Math.min(capMs, Math.round(baseMs * Math.pow(factor, attempt)));
}
