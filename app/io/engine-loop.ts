/**
 * The engine's loop (quinn's endpoint driver, one per engine): every input
 * and effect runs in order on one promise chain, and ONE platform timer is
 * armed at the earliest deadline of what the loop drives — the cores
 * (mobility controller, agent discovery, the detection probe, the counters'
 * second: `Deadline`s) and the short waits the engine asks for (`after`,
 * `sleep`: a MOBIKE move tried again, the bound on a VPN stop).
 *
 * The timer is re-armed after every operation on the chain, so a core whose
 * deadline moved while handling an input needs no call of its own. When it
 * fires, every deadline that has passed is handled in one operation (each in
 * its own try: one core's failure is reported and the others still run).
 */
import type { Instant } from '../base/clock.ts';
import type { PlatformClock, PlatformTimer } from './platform.ts';

/** Something with a deadline the loop keeps: a sans-I/O core or a periodic job. */
export interface Deadline {
  nextTimeout(): Instant | undefined;
  handleTimeout(now: Instant): void;
}

interface Wait {
  at: Instant;
  fire(): void;
}

export class EngineLoop {
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: PlatformTimer;
  private readonly deadlines: Deadline[] = [];
  private waits: Wait[] = [];
  /** what the timer is armed for now (undefined: disarmed) */
  private armedAt?: Instant;
  private closed = false;

  constructor(private readonly clock: PlatformClock, private readonly onError: (e: Error) => void) {
    this.timer = clock.timer(() => {
      this.armedAt = undefined;
      void this.enqueue(() => this.fire());
    });
  }

  /** Runs `op` after every operation queued before it; a failure is reported, never breaks the chain. */
  enqueue(op: () => void | Promise<void>): Promise<void> {
    const next = this.chain.then(op).catch((e: unknown) => this.onError(e instanceof Error ? e : new Error(String(e)))).then(() => this.rearm());
    this.chain = next;
    return next;
  }

  /** Settles once everything queued so far has run. */
  idle(): Promise<void> {
    return this.chain;
  }

  add(d: Deadline): void {
    if (!this.deadlines.includes(d)) this.deadlines.push(d);
    this.rearm();
  }

  remove(d: Deadline): void {
    const i = this.deadlines.indexOf(d);
    if (i >= 0) this.deadlines.splice(i, 1);
    this.rearm();
  }

  /** The engine stops: no core is driven any more (the waits still run until close()). */
  removeAll(): void {
    this.deadlines.length = 0;
    this.rearm();
  }

  /** Calls `fn` (on the chain) once `ms` have passed. */
  after(ms: number, fn: () => void): void {
    if (this.closed) return;
    this.waits.push({ at: this.clock.now() + ms, fire: fn });
    this.rearm();
  }

  /** Resolves after `ms` (never, once the loop is closed). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  close(): void {
    this.closed = true;
    this.deadlines.length = 0;
    this.waits = [];
    this.armedAt = undefined;
    this.timer.stop();
  }

  /** Arms the one timer at the earliest deadline (unchanged: left as it is). */
  rearm(): void {
    if (this.closed) return;
    let at: Instant | undefined;
    for (const d of this.deadlines) at = earliest(at, d.nextTimeout());
    for (const w of this.waits) at = earliest(at, w.at);
    if (at === this.armedAt) return;
    this.armedAt = at;
    this.timer.arm(at);
  }

  private fire(): void {
    if (this.closed) return;
    const now = this.clock.now();
    for (const d of [...this.deadlines]) {
      const at = d.nextTimeout();
      if (at === undefined || at > now || !this.deadlines.includes(d)) continue;
      this.guard(() => d.handleTimeout(now));
    }
    const due = this.waits.filter((w) => w.at <= now);
    this.waits = this.waits.filter((w) => w.at > now);
    for (const w of due) this.guard(() => w.fire());
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

function earliest(a: Instant | undefined, b: Instant | undefined): Instant | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
