/**
 * BLOCKED — an error that retrying soon will not fix (the home agent refuses
 * our credentials, the VPN rejects our authentication). Traffic is dropped
 * (fail closed) and the reason is shown. A new link, `connect` or `re-detect`
 * tries again; so does a slow timer, so the user is never stuck here.
 */
import type { Instant } from '../../base/clock.ts';
import { drop, modeEvent, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon, redetect } from './common.ts';

export class BlockedState implements MobilityState {
  readonly name = 'blocked';
  readonly mode = 'blocked';

  constructor(readonly reason: string) {}

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    ctx.timers.set('retry', now + ctx.cfg.retryMaxMs);
    return [drop(ctx, now, 'registration-lost'), modeEvent(ctx, 'blocked', false, null, this.reason), { kind: 'event', event: { type: 'error', code: 'BLOCKED', message: this.reason } }];
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    if (input.kind === 'agent' || input.kind === 'vpn' || input.kind.endsWith('registration')) return stay();
    return handleCommon(input, ctx, now);
  }

  handleTimer(timer: TimerName, ctx: MobilityContext): Transition {
    return timer === 'retry' ? redetect(ctx, 'retry after error', 'retry') : stay();
  }
}
