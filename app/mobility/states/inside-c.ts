/**
 * INSIDE-C — on a trusted subnet, mode c: co-located care-of address, Mobile
 * IP only, no VPN for data. RFC 5265 T_MONITOR: re-register with the
 * i-HA at least every T_MONITOR; if that fails, stop plaintext and detect again.
 */
import type { Instant } from '../../base/clock.ts';
import { directRegistration, modeEvent, release, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon, redetect } from './common.ts';
import { InsideFState } from './inside-f.ts';

export class InsideCState implements MobilityState {
  readonly name = 'inside-c';
  readonly mode = 'c';
  private attempt = 0;

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    this.attempt = ctx.attempt;
    const coa = ctx.link!.addr;
    ctx.timers.set('monitor', now + ctx.cfg.tMonitorMs);
    return [{ kind: 'data-path', mode: 'c', coa }, ...release(ctx, 'c', now), modeEvent(ctx, 'c', true, coa)];
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'direct-registration': {
        if (input.attempt !== this.attempt) return stay();
        if (input.result.status === 'accepted' && input.result.tnc) {
          ctx.timers.stop('detect');
          ctx.timers.set('monitor', now + ctx.cfg.tMonitorMs);
          return stay();
        }
        return redetect(ctx, 'i-HA re-registration failed');
      }
      case 'agent': {
        const fa = ctx.link && input.iface === ctx.link.iface && input.fa && !ctx.faRefused.has(input.iface) ? input.fa : undefined;
        return fa ? goTo(new InsideFState(fa)) : stay();
      }
      case 'vpn':
      case 'vpn-registration':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(timer: TimerName, ctx: MobilityContext, now: Instant): Transition {
    if (timer === 'monitor') {
      const reg = directRegistration(ctx, now, ctx.link!.addr);
      this.attempt = reg.attempt;
      return stay(reg);
    }
    if (timer === 'detect') return redetect(ctx, 'no reply to the T_MONITOR re-registration');
    return stay();
  }
}
