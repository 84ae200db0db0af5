/**
 * INSIDE-C — on a trusted subnet, mode c: co-located care-of address, Mobile
 * IP only, no VPN for data. Entered as soon as the i-HA proved the network
 * trusted: foreign agent discovery runs beside it (RFC 5266 §3.2), and an
 * agent advertising here moves the node to f. RFC 5265 T_MONITOR:
 * re-register with the i-HA at least every T_MONITOR; if that fails, stop
 * plaintext and detect again. The IKE SA may stay up (warm) meanwhile,
 * following the laptop by MOBIKE; losing it here only means a new IKE SA
 * when the laptop leaves.
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
    const out: MobilityEffect[] = [{ kind: 'data-path', mode: 'c', coa }, ...release(ctx, 'c', now, 'trusted'), modeEvent(ctx, 'c', true, coa)];
    if (ctx.boundCoa !== coa) {
      // a registration through the VPN raced the detection request: point the binding back here
      const reg = directRegistration(ctx, now, coa);
      this.attempt = reg.attempt;
      out.push(reg);
    }
    return out;
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'direct-registration': {
        if (input.attempt !== this.attempt) return stay();
        if (input.result.status === 'accepted' && input.result.tnc) {
          ctx.boundCoa = input.result.coa;
          ctx.timers.stop('detect');
          ctx.timers.set('monitor', now + ctx.cfg.tMonitorMs);
          return stay();
        }
        return redetect(ctx, 'i-HA re-registration failed', 'registration-lost');
      }
      case 'agent': {
        const fa = ctx.link && input.iface === ctx.link.iface && input.fa && !ctx.faRefused.has(input.iface) ? input.fa : undefined;
        // make-before-break: c carries the traffic until the FA relays the HA's reply
        return fa ? goTo(new InsideFState(fa, null, { fallback: () => new InsideCState() })) : stay();
      }
      case 'vpn':
        if (input.event === 'down' && ctx.cfg.keepVpnInside) {
          return stay({ kind: 'event', event: { type: 'log', level: 'warn', msg: `warm IKE SA lost inside (${input.reason}): a new IKE SA will be set up on leaving` } });
        }
        return stay();
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
    if (timer === 'detect') return redetect(ctx, 'no reply to the T_MONITOR re-registration', 'registration-lost');
    return stay();
  }
}
