/**
 * The real clock and the one timer a driver re-arms (js-quic's
 * setConnTimeoutTimer): monotonic milliseconds from performance.now().
 */
import { readFileSync } from 'node:fs';
import type { Instant } from '../base/clock.ts';

export function monotonicNow(): Instant {
  return performance.now();
}

/**
 * CLOCK_BOOTTIME (ms; counts suspend, unlike performance.now()'s CLOCK_MONOTONIC):
 * /proc/uptime's first field, 10 ms resolution. Without /proc (never on Linux), the
 * monotonic clock: a suspend is then noticed only as a timer that fired far too late.
 */
export function bootTimeNow(): Instant {
  try {
    const up = Number.parseFloat(readFileSync('/proc/uptime', 'latin1'));
    if (Number.isFinite(up)) return up * 1000;
  } catch {
    // fall through
  }
  return monotonicNow();
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
