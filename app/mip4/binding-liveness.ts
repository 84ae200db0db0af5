/**
 * Binding liveness from one-sided traffic (issue 18): a home agent that
 * restarts forgets its bindings and says nothing — it drops what we tunnel to
 * it and tunnels nothing back. So when tunnelled packets go out and none
 * come back for `livenessMs`, the binding is suspect and the driver refreshes
 * it at once instead of waiting for the next re-registration (80 % of the
 * lifetime). An answer with a new binding brings the traffic back.
 *
 * Pure and sans-I/O: the driver (app/io/mip-driver.ts) samples the data
 * path's existing packet counters (tunnelled out / in) every `periodMs` while
 * there is a binding whose inbound comes through our tunnel (not mode f: the
 * FA delivers on the link), and time comes in as `now`. Nothing per packet.
 *
 *   outbound ↑, inbound ↑  → two-sided: nothing to say (after a suspicion: `back`)
 *   outbound ↑, inbound —  → the window opens at the previous sample (the first
 *                            unanswered packet left after it)
 *   window ≥ threshold     → `suspect`: refresh now; the next window starts, its
 *                            threshold doubled (one-way traffic that never gets an
 *                            answer costs a registration at 1, 2, 4 … 64 × livenessMs)
 *   nothing sent           → nothing suspected, however long inbound is silent
 *
 * Inbound of any kind ends the window and resets the threshold; so does an
 * accepted registration (`confirmed`), which starts a new window.
 */
import type { Instant } from '../base/clock.ts';

/** What a sample concluded (undefined: nothing to report). */
export type LivenessVerdict =
  /** outbound unanswered for `silentMs`: refresh the binding now */
  | { kind: 'suspect'; silentMs: number }
  /** inbound came back after a suspicion, `silentMs` after the window opened */
  | { kind: 'back'; silentMs: number };

/** The threshold doubles per suspicion without an answer, up to this many times. */
const MAX_BACKOFF = 6;

export class BindingLiveness {
  /** how often the driver samples the counters while watching */
  readonly periodMs: number;
  private watching = false;
  private lastOut = 0;
  private lastIn = 0;
  private lastSampleAt: Instant = 0;
  /** the window: outbound left after this instant and nothing came back since */
  private unansweredSince: Instant | undefined;
  /** when the first suspicion of this silence was reported (cleared by inbound) */
  private suspectedSince: Instant | undefined;
  private backoff = 0;

  constructor(readonly livenessMs: number) {
    if (!Number.isFinite(livenessMs) || livenessMs < 0) throw new RangeError('livenessMs must be 0 (off) or positive');
    this.periodMs = Math.max(50, Math.min(250, Math.floor(livenessMs / 4)));
  }

  get enabled(): boolean {
    return this.livenessMs > 0;
  }

  /** true while a suspicion has not been cleared by inbound traffic */
  get suspect(): boolean {
    return this.suspectedSince !== undefined;
  }

  /** The silence that must pass before the next suspicion. */
  get thresholdMs(): number {
    return this.livenessMs * 2 ** Math.min(this.backoff, MAX_BACKOFF);
  }

  /**
   * Starts (a binding whose inbound comes through our tunnel) or stops
   * watching; the counters' current values are the baseline.
   */
  watch(on: boolean, now: Instant, out: number, inbound: number): void {
    const start = on && this.enabled && !this.watching;
    this.watching = on && this.enabled;
    if (!this.watching) {
      this.unansweredSince = undefined;
      this.suspectedSince = undefined;
      this.backoff = 0;
      return;
    }
    if (start) {
      this.lastOut = out;
      this.lastIn = inbound;
      this.lastSampleAt = now;
    }
  }

  /** The binding was just confirmed by the home agent (accepted): a new window starts. */
  confirmed(now: Instant): void {
    if (this.unansweredSince !== undefined) this.unansweredSince = now;
  }

  /** When the driver should sample next (undefined: not watching). */
  nextTimeout(): Instant | undefined {
    return this.watching ? this.lastSampleAt + this.periodMs : undefined;
  }

  /** The counters' values at `now`. */
  sample(now: Instant, out: number, inbound: number): LivenessVerdict | undefined {
    if (!this.watching) return undefined;
    const sent = out !== this.lastOut;
    const received = inbound !== this.lastIn;
    const previous = this.lastSampleAt;
    this.lastOut = out;
    this.lastIn = inbound;
    this.lastSampleAt = now;
    if (received) {
      const was = this.suspectedSince;
      this.unansweredSince = undefined;
      this.suspectedSince = undefined;
      this.backoff = 0;
      return was === undefined ? undefined : { kind: 'back', silentMs: now - was };
    }
    if (sent && this.unansweredSince === undefined) this.unansweredSince = previous;
    if (this.unansweredSince === undefined) return undefined;
    const silentMs = now - this.unansweredSince;
    if (silentMs < this.thresholdMs) return undefined;
    this.suspectedSince ??= this.unansweredSince;
    this.backoff++;
    // the next window opens only with new outbound after this suspicion
    this.unansweredSince = undefined;
    return { kind: 'suspect', silentMs };
  }
}
