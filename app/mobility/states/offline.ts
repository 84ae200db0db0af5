/**
 * OFFLINE — no link, or neither the i-HA nor the VPN gateway answered.
 * Traffic is dropped (fail closed). With a link, detection is retried with
 * exponential back-off; a new link retries at once.
 */
import type { Instant } from '../../base/clock.ts';
import type { HandoverTrigger } from '../../events.ts';
import { drop, modeEvent, retryDelayMs, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon, redetect } from './common.ts';

export class OfflineState implements MobilityState {
  readonly name = 'offline';
  readonly mode = 'offline';

  constructor(readonly reason: string, readonly trigger: HandoverTrigger = 'link') {}

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    const out: MobilityEffect[] = [drop(ctx, now, this.trigger)];
    if (ctx.link) {
      ctx.timers.set('retry', now + retryDelayMs(ctx));
      ctx.retries += 1;
    }
    out.push(modeEvent(ctx, 'offline', false, null, this.reason));
    return out;
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    if (input.kind === 'agent' || input.kind === 'vpn' || input.kind.endsWith('registration')) return stay();
    return handleCommon(input, ctx, now);
  }

  handleTimer(timer: TimerName, ctx: MobilityContext): Transition {
    return timer === 'retry' ? redetect(ctx, 'retry', 'retry') : stay();
  }
}
