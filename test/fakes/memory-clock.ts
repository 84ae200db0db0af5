/**
 * A PlatformClock on a ManualClock: time moves only in `advance(ms)`, and
 * the timers armed through `timer()` fire there, one deadline after another
 * in order, with `now()` set to each deadline while its callback runs (a
 * timer armed by a callback for a time before the target fires in the same
 * advance). After each firing — and at the end of every advance — the tick
 * listeners run (MemoryNet delivers its queued packets there). No real
 * timers, no sleeps.
 */
import type { Instant } from '../../app/base/clock.ts';
import type { PlatformClock, PlatformTimer } from '../../app/io/platform.ts';
import { ManualClock } from '../harness/manual-clock.ts';

class MemoryTimer implements PlatformTimer {
  at: Instant | undefined;
  /** arm order: timers with the same deadline fire in the order they were armed */
  seq = 0;
  constructor(
    private readonly clock: MemoryClock,
    readonly onFire: () => void,
  ) {}
  arm(at: Instant | undefined): void {
    this.at = at;
    this.seq = this.clock.nextSeq();
  }
  stop(): void {
    this.at = undefined;
  }
}

export interface MemoryClockOptions {
  /** the monotonic start (default ManualClock's) */
  start?: Instant;
  /** wallNow() at the start, epoch ms (default: the real time when the clock was made) */
  wallStart?: number;
}

export class MemoryClock extends ManualClock implements PlatformClock {
  private readonly timers = new Set<MemoryTimer>();
  private readonly tickListeners: Array<() => void> = [];
  private readonly wallOffset: number;
  private seq = 0;
  /** how many timer callbacks have run */
  fired = 0;
  /** how long the simulated machine was suspended (bootNow() runs ahead of now() by this) */
  private suspendedMs = 0;

  constructor(opts: MemoryClockOptions = {}) {
    super(opts.start);
    this.wallOffset = (opts.wallStart ?? Date.now()) - this.now();
  }

  wallNow(): number {
    return this.wallOffset + this.now();
  }

  bootNow(): Instant {
    return this.now() + this.suspendedMs;
  }

  /**
   * The machine sleeps `ms`: the boot-time clock moves, the monotonic one does
   * not (CLOCK_MONOTONIC stops in suspend); then what is due fires.
   */
  suspend(ms: number): void {
    this.suspendedMs += ms;
    this.runDue();
  }

  /**
   * The process is frozen (SIGSTOP) `ms`: both clocks move but no timer fires
   * on the way; at the end (SIGCONT) every overdue timer fires at once, late.
   */
  freeze(ms: number): void {
    if (ms < 0) throw new Error('time does not go backwards');
    this.set(this.now() + ms);
    this.runDue();
  }

  timer(onFire: () => void): PlatformTimer {
    const t = new MemoryTimer(this, onFire);
    this.timers.add(t);
    return t;
  }

  /** runs `fn` once at `at` (a one-shot that is forgotten after it ran: link delays) */
  at(at: Instant, fn: () => void): void {
    const t = new MemoryTimer(this, () => {
      this.timers.delete(t);
      fn();
    });
    this.timers.add(t);
    t.arm(at);
  }

  /** @internal */
  nextSeq(): number {
    return ++this.seq;
  }

  /** called after every timer callback and at the end of every advance() */
  onTick(listener: () => void): void {
    this.tickListeners.push(listener);
  }

  /** the earliest armed deadline (undefined: none) */
  nextDeadline(): Instant | undefined {
    return this.due(Infinity)?.at;
  }

  /** how many timers are armed */
  get armed(): number {
    return [...this.timers].filter((t) => t.at !== undefined).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer whose deadline is reached
   * on the way (a deadline already past fires at once, at the current time).
   */
  override advance(ms: number): Instant {
    if (ms < 0) throw new Error('time does not go backwards');
    const target = this.now() + ms;
    for (let guard = 0; ; guard++) {
      if (guard > 1_000_000) throw new Error('MemoryClock: a timer re-arms itself without moving forward');
      const t = this.due(target);
      if (!t) break;
      if (t.at! > this.now()) this.set(t.at!);
      t.at = undefined;
      this.fired++;
      t.onFire();
      this.tick();
    }
    this.set(target);
    this.tick();
    return target;
  }

  /** fires what is due now (advance(0)) */
  runDue(): void {
    this.advance(0);
  }

  /** advances to the next deadline (if any, and not beyond `limitMs` from now); returns whether one fired */
  step(limitMs = Infinity): boolean {
    const at = this.nextDeadline();
    if (at === undefined || at - this.now() > limitMs) return false;
    this.advance(Math.max(0, at - this.now()));
    return true;
  }

  private due(limit: Instant): MemoryTimer | undefined {
    let best: MemoryTimer | undefined;
    for (const t of this.timers) {
      if (t.at === undefined || t.at > limit) continue;
      if (!best || t.at < best.at! || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private tick(): void {
    for (const l of this.tickListeners) l();
  }
}
