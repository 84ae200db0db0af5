/**
 * The shape every mobility state has (Mullvad's TunnelState, made pure):
 * `enter()` returns the entry effects; `handle()` and `handleTimer()` return
 * either a transition to a new state or effects while staying.
 */
import type { Instant } from '../base/clock.ts';
import type { Mode } from '../events.ts';
import type { MobilityContext, TimerName } from './context.ts';
import type { MobilityEffect } from './effects.ts';
import type { MobilityInput } from './inputs.ts';

export type StateName = 'disconnected' | 'offline' | 'detecting' | 'inside-c' | 'inside-f' | 'outside-connecting' | 'outside-mc' | 'blocked';

export interface Transition {
  /** absent: stay in the current state */
  next?: MobilityState;
  effects: MobilityEffect[];
}

export interface MobilityState {
  readonly name: StateName;
  /** the mode the UI shows while in this state */
  readonly mode: Mode;
  enter(ctx: MobilityContext, now: Instant): MobilityEffect[];
  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition;
  handleTimer(timer: TimerName, ctx: MobilityContext, now: Instant): Transition;
}

export const stay = (...effects: MobilityEffect[]): Transition => ({ effects });
export const goTo = (next: MobilityState, ...effects: MobilityEffect[]): Transition => ({ next, effects });
