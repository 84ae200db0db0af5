/**
 * The RFC 5266 mobility controller: a sans-I/O state machine.
 *
 *   inputs ──► handleInput(input, now) / handleTimeout(now)
 *   outputs ◄── pollEffect() (effects as values), nextTimeout()
 *
 * One state per file in ./states; docs/MOBILITY.md draws the states and
 * holds the transition table that test/unit/mobility walks row by row.
 * The controller owns the context; a state returns a transition, the
 * machine runs the new state's enter() and queues every effect in order.
 */
import type { Instant } from '../base/clock.ts';
import { createContext, type MobilityConfig, type MobilityContext } from './context.ts';
import type { MobilityEffect } from './effects.ts';
import type { MobilityInput } from './inputs.ts';
import type { MobilityState, StateName, Transition } from './state.ts';
import { observe } from './states/common.ts';
import { DisconnectedState } from './states/disconnected.ts';

export class MobilityController {
  private state: MobilityState;
  private readonly ctx: MobilityContext;
  private readonly queue: MobilityEffect[] = [];
  /** every state entered, oldest first (bounded) — for diagnostics and tests */
  readonly history: StateName[] = [];

  constructor(cfg: MobilityConfig, now: Instant) {
    this.ctx = createContext(cfg);
    this.state = new DisconnectedState();
    this.enter(this.state, now);
  }

  get stateName(): StateName {
    return this.state.name;
  }

  get context(): Readonly<MobilityContext> {
    return this.ctx;
  }

  handleInput(input: MobilityInput, now: Instant): void {
    observe(input, this.ctx);
    this.apply(this.state.handle(input, this.ctx, now), now);
  }

  /** Spurious calls are harmless: only timers that are due fire. */
  handleTimeout(now: Instant): void {
    for (const timer of this.ctx.timers.expired(now)) {
      this.apply(this.state.handleTimer(timer, this.ctx, now), now);
    }
  }

  nextTimeout(): Instant | undefined {
    return this.ctx.timers.next();
  }

  pollEffect(): MobilityEffect | undefined {
    return this.queue.shift();
  }

  private apply(t: Transition, now: Instant): void {
    this.queue.push(...t.effects);
    if (t.next) this.enter(t.next, now);
  }

  private enter(next: MobilityState, now: Instant): void {
    this.state = next;
    this.history.push(next.name);
    if (this.history.length > 256) this.history.shift();
    this.queue.push(...next.enter(this.ctx, now));
  }
}
