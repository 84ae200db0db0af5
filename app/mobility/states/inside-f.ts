/**
 * INSIDE-F — on a trusted subnet where a foreign agent advertises: register
 * through it and use its care-of address (mode f). Only ever entered after
 * the i-HA proved the network trusted: never use an FA care-of address on an
 * untrusted network. If the FA refuses or stays silent, fall back to mode c
 * on this link (detect again with the FA marked refused). An FA that
 * reboots (RFC 5944 §2.3.1 sequence numbers) is registered through again at
 * once.
 */
import type { Instant } from '../../base/clock.ts';
import type { HandoverTrigger } from '../../events.ts';
import { directRegistration, hold, modeEvent, release, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { ForeignAgent, MobilityInput } from '../inputs.ts';
import { stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon, redetect } from './common.ts';

export class InsideFState implements MobilityState {
  readonly name = 'inside-f';
  readonly mode = 'f';
  private attempt = 0;
  private registered = false;

  /**
   * `trigger`: hold traffic while registering through the FA (a move c → f,
   * or the end of a detection); null: traffic keeps flowing where it flows
   * (through the VPN while trust was decided) until the FA relays the reply.
   */
  constructor(readonly fa: ForeignAgent, readonly trigger: HandoverTrigger | null) {}

  private register(ctx: MobilityContext, now: Instant): MobilityEffect {
    const reg = directRegistration(ctx, now, this.fa.coa, this.fa);
    this.attempt = reg.attempt;
    return reg;
  }

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    return [...(this.trigger ? [hold(ctx, now, this.trigger)] : []), this.register(ctx, now)];
  }

  private failed(ctx: MobilityContext, why: string): Transition {
    if (!this.registered) ctx.faRefused.add(this.fa.iface);
    return redetect(ctx, why, 'registration-lost');
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'direct-registration': {
        if (input.attempt !== this.attempt) return stay();
        const r = input.result;
        if (r.status !== 'accepted' || !r.tnc) return this.failed(ctx, 'registration through the foreign agent failed');
        ctx.timers.stop('detect');
        ctx.timers.set('monitor', now + ctx.cfg.tMonitorMs);
        ctx.boundCoa = r.coa;
        if (this.registered) return stay();
        this.registered = true;
        return stay({ kind: 'data-path', mode: 'f', coa: this.fa.coa }, ...release(ctx, 'f', now, 'trusted'), modeEvent(ctx, 'f', true, this.fa.coa));
      }
      case 'agent':
        if (input.iface !== this.fa.iface) return stay();
        if (input.fa === null) return redetect(ctx, 'foreign agent lost', 'agent');
        // our FA restarted and lost its visitor entry: register through it again now, not at the next refresh
        if (input.rebooted && input.fa.addr === this.fa.addr) return stay(this.register(ctx, now));
        return stay();
      case 'vpn':
      case 'vpn-registration':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(timer: TimerName, ctx: MobilityContext, now: Instant): Transition {
    if (timer === 'monitor') return stay(this.register(ctx, now));
    if (timer === 'detect') return this.failed(ctx, 'no reply through the foreign agent');
    return stay();
  }
}
