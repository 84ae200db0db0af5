/**
 * Liveness from one-sided traffic (issue 18). Pure: the driver samples its
 * packet counters (sent, received) with `now`; the answer says when to check
 * the path at once (a DPD on the IKE SA, a registration refresh at the home
 * agent) instead of waiting for `dpdSeconds` of silence.
 *
 *   quiet ──we send──► sending ──nothing back for silentMs──► suspect (check once)
 *     ▲                   │                                        │
 *     └──something comes back (any state)──────────────────────────┘
 *
 * A check is asked for once per silent episode: the episode ends only when
 * something comes back, or we stop sending for silentMs.
 */
import type { Instant } from './clock.ts';

export interface LivenessOptions {
  /** how long we may send without hearing anything before the path is suspect */
  silentMs: number;
}

export class OneSidedLiveness {
  private lastTx?: number;
  private lastRx?: number;
  /** when we first sent without anything coming back since */
  private sendingSince?: Instant;
  private lastSentAt?: Instant;
  private asked = false;

  constructor(private readonly o: LivenessOptions) {}

  /** One sample of the counters (monotonic totals); true = check the path now. */
  sample(now: Instant, tx: number, rx: number): boolean {
    const sent = this.lastTx !== undefined && tx > this.lastTx;
    const heard = this.lastRx !== undefined && rx > this.lastRx;
    const first = this.lastTx === undefined;
    this.lastTx = tx;
    this.lastRx = rx;
    if (first) return false;
    if (heard) {
      this.reset();
      return false;
    }
    if (sent) {
      this.sendingSince ??= now;
      this.lastSentAt = now;
    } else if (this.lastSentAt !== undefined && now - this.lastSentAt >= this.o.silentMs) {
      this.reset(); // we went quiet ourselves: silence says nothing about the path
      return false;
    }
    if (!this.asked && this.sendingSince !== undefined && now - this.sendingSince >= this.o.silentMs) {
      this.asked = true;
      return true;
    }
    return false;
  }

  /** The check succeeded (or the path changed): start over. */
  reset(): void {
    this.sendingSince = undefined;
    this.lastSentAt = undefined;
    this.asked = false;
  }
}

/** What ResumeDetector saw: how long we were away, and which clock says so. */
export interface Resume {
  sleptMs: number;
  /** suspend: CLOCK_BOOTTIME jumped beyond the monotonic clock (the machine slept); freeze: the monotonic clock jumped (SIGSTOP, a stalled VM) */
  kind: 'suspend' | 'freeze';
}

/**
 * Suspend / freeze detection (issue 18): a tick that should come every
 * `periodMs` and comes much later means the process or the machine slept.
 * `boot` is CLOCK_BOOTTIME (counts suspend), `mono` the monotonic clock
 * (stops in suspend, runs while the process is frozen); the larger jump of
 * the two, less the period, is the time away. Pure: the driver feeds both clocks.
 */
export class ResumeDetector {
  private last?: { boot: number; mono: number };

  constructor(private readonly periodMs: number, private readonly thresholdMs: number) {}

  /** One tick; returns the resume when we were away longer than the threshold. */
  tick(bootMs: number, monoMs: number): Resume | undefined {
    const prev = this.last;
    this.last = { boot: bootMs, mono: monoMs };
    if (!prev) return undefined;
    const boot = bootMs - prev.boot;
    const mono = monoMs - prev.mono;
    const away = Math.max(boot, mono) - this.periodMs;
    if (away < this.thresholdMs) return undefined;
    return { sleptMs: Math.round(away), kind: boot - mono >= this.thresholdMs ? 'suspend' : 'freeze' };
  }
}
