/**
 * The real clock and the one timer a driver re-arms (js-quic's
 * setConnTimeoutTimer): monotonic milliseconds from performance.now().
 */
import type { Instant } from '../base/clock.ts';

export function monotonicNow(): Instant {
  return performance.now();
}

/** One re-armable timer: arm(at) replaces the previous deadline; undefined disarms. */
export class DriverTimer {
  private handle?: ReturnType<typeof setTimeout>;

  constructor(private readonly onFire: () => void) {}

  arm(at: Instant | undefined): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    if (at === undefined) return;
    const wait = Math.max(0, Math.ceil(at - monotonicNow()));
    this.handle = setTimeout(() => {
      this.handle = undefined;
      this.onFire();
    }, wait);
  }

  stop(): void {
    this.arm(undefined);
  }
}
