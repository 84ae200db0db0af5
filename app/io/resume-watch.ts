/**
 * Notices that the engine slept (issue 18): a suspend of the machine, or the
 * process frozen (SIGSTOP, a stalled VM). A Deadline of the engine's loop
 * that ticks every RESUME_TICK_MS and feeds app/base/liveness.ts's
 * ResumeDetector both of the platform's clocks — CLOCK_BOOTTIME (bootNow,
 * counts suspend) and the monotonic one (now, keeps running while the
 * process is frozen, so the tick merely fires far too late). Either jump
 * beyond RESUME_THRESHOLD_MS is a resume.
 *
 * systemd-logind's PrepareForSleep (D-Bus) is not listened to: it would only
 * tell earlier what the clocks tell within one tick of waking, and a frozen
 * process gets no signal at all.
 */
import type { Instant } from '../base/clock.ts';
import { ResumeDetector, type Resume } from '../base/liveness.ts';
import type { Deadline } from './engine-loop.ts';
import type { PlatformClock } from './platform.ts';

export const RESUME_TICK_MS = 1000;
/** a tick this much later than due is a sleep (a loaded machine delays timers by far less) */
export const RESUME_THRESHOLD_MS = 3000;

export class ResumeWatch implements Deadline {
  private readonly detector = new ResumeDetector(RESUME_TICK_MS, RESUME_THRESHOLD_MS);
  private next?: Instant;

  constructor(private readonly clock: PlatformClock, private readonly onResume: (r: Resume, now: Instant) => void) {}

  start(now: Instant): void {
    this.detector.tick(this.clock.bootNow(), now);
    this.next = now + RESUME_TICK_MS;
  }

  nextTimeout(): Instant | undefined {
    return this.next;
  }

  handleTimeout(now: Instant): void {
    this.next = now + RESUME_TICK_MS;
    const r = this.detector.tick(this.clock.bootNow(), now);
    if (r) this.onResume(r, now);
  }
}
