import type { Instant } from '../../app/base/clock.ts';

/** A clock that moves only when a test says so. */
export class ManualClock {
  constructor(private t: Instant = 1_000_000) {}
  now(): Instant {
    return this.t;
  }
  advance(ms: number): Instant {
    if (ms < 0) throw new Error('time does not go backwards');
    this.t += ms;
    return this.t;
  }
  set(t: Instant): void {
    this.t = t;
  }
}
