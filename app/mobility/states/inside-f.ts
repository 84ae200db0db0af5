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
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon, redetect } from './common.ts';

export class InsideFState implements MobilityState {
  readonly name = 'inside-f';
  readonly mode = 'f';
  private attempt = 0;
  private registered = false;

  /**
   * `trigger`: hold traffic while registering through the FA (the end of a
   * detection whose binding is not on this link); null: traffic keeps flowing
   * where it flows (through the VPN while trust was decided, or in c on this
   * link) until the FA relays the reply.
   *
   * `seamless` (make-before-break from mode c, RFC 5266 §3.2: FA discovery
   * runs beside the co-located address): c keeps carrying the traffic while
   * the request goes through the FA — with `settleOnC`, c is first settled on
   * here (the detection just proved the link, the binding is on it) — the
   * switch is announced as a handover with no gap, and an FA that refuses or
   * stays silent sends the node back to c on this link (`fallback`, the
   * co-located address registered again), not into a new detection.
   */
  constructor(
    readonly fa: ForeignAgent,
    readonly trigger: HandoverTrigger | null,
    private readonly seamless?: { fallback: () => MobilityState; settleOnC?: boolean },
  ) {}

  private register(ctx: MobilityContext, now: Instant): MobilityEffect {
    const reg = directRegistration(ctx, now, this.fa.coa, this.fa);
    this.attempt = reg.attempt;
    return reg;
  }

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    const coa = ctx.link?.addr;
    const settle: MobilityEffect[] = this.seamless?.settleOnC && coa
      ? [{ kind: 'data-path', mode: 'c', coa }, ...release(ctx, 'c', now, 'trusted'), modeEvent(ctx, 'c', true, coa)]
      : [];
    return [...settle, ...(this.trigger ? [hold(ctx, now, this.trigger)] : []), this.register(ctx, now)];
  }

  private failed(ctx: MobilityContext, why: string): Transition {
    if (!this.registered) ctx.faRefused.add(this.fa.iface);
    if (this.seamless && !this.registered) {
      // c never stopped: stay on it, its binding registered again (the HA may have taken the FA's meanwhile)
      ctx.boundCoa = null;
      return goTo(this.seamless.fallback(), { kind: 'event', event: { type: 'log', level: 'warn', msg: `${why}: staying in mode c` } });
    }
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
        const from = ctx.lastSettled;
        const held = ctx.holdSince !== null;
        const out: MobilityEffect[] = [{ kind: 'data-path', mode: 'f', coa: this.fa.coa }, ...release(ctx, 'f', now, 'trusted')];
        // make-before-break: nothing was held, the move c → f is still one handover, with no gap
        if (this.seamless && !held && from !== null) out.push({ kind: 'event', event: { type: 'handover', from, to: 'f', gapMs: 0, trigger: 'agent', trust: 'trusted' } });
        return stay(...out, modeEvent(ctx, 'f', true, this.fa.coa));
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
