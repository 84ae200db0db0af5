/**
 * DETECTING — RFC 5266 §3.4, §3.4.1 and §3.4.2. Entered on every change of
 * connectivity. At the same time:
 *   - a Registration Request straight to the i-HA (never through the VPN),
 *     with the profile's detection timeout and retransmissions;
 *   - a MOBIKE update of the existing IKE SA from the new address, or a new
 *     IKE SA when there is none.
 * User traffic is held meanwhile (nothing leaves in clear).
 *
 *   i-HA reply, MN-HA verified, with TNC ─────────────► INSIDE-F if an FA advertises here, else
 *                                                        TRUSTED-PROBING (solicit, wait for an FA), or
 *                                                        INSIDE-C at once when agentWaitMs is 0
 *   no such reply in the window, VPN up ──────────────► OUTSIDE-CONNECTING (register through the VPN)
 *   no such reply, VPN failed or not configured ──────► OFFLINE (retry with back-off)
 *
 * An accepted reply WITHOUT the TNC extension, a denial or a timeout only
 * means "not inside": it never makes the node trust the network.
 */
import type { Instant } from '../../base/clock.ts';
import { agentOnLink, detectionWindowMs, hold, modeEvent, nextAttempt, startSoliciting, stopSoliciting, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon } from './common.ts';
import { InsideCState } from './inside-c.ts';
import { InsideFState } from './inside-f.ts';
import { OfflineState } from './offline.ts';
import { OutsideConnectingState } from './outside-connecting.ts';
import { TrustedProbingState } from './trusted-probing.ts';

export class DetectingState implements MobilityState {
  readonly name = 'detecting';
  readonly mode = 'detecting';
  /** the i-HA did not prove we are inside (no reply in time, denied, or no TNC) */
  private notInside = false;
  private vpnFailed = false;
  private attempt = 0;

  constructor(readonly reason: string) {}

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    const link = ctx.link!;
    ctx.timers.clear();
    this.attempt = nextAttempt(ctx);
    // not known to be trusted any more: no agent solicitation until the i-HA says so
    const out: MobilityEffect[] = [hold(ctx, now), ...stopSoliciting(ctx), modeEvent(ctx, 'detecting', false, null, this.reason)];
    if (ctx.policy === 'always-vpn') {
      // Always VPN: the i-HA is not asked; decide as soon as the VPN answers.
      this.notInside = true;
    } else {
      const { detectionTimeoutMs: timeoutMs, detectionRetransmits: retransmits } = ctx.cfg;
      out.push({ kind: 'register-direct', attempt: this.attempt, coa: link.addr, timeoutMs, retransmits });
    }
    if (!ctx.cfg.vpnConfigured) {
      this.vpnFailed = true;
    } else if (ctx.vpn.state === 'up' || ctx.vpn.state === 'moving') {
      ctx.vpn = { ...ctx.vpn, state: 'moving' };
      out.push({ kind: 'vpn-move', local: link.addr });
    } else {
      ctx.vpn = { state: 'connecting', local: link.addr };
      out.push({ kind: 'vpn-connect', local: link.addr });
    }
    // With nothing to wait for (always-VPN without a VPN), the timer fires at once.
    ctx.timers.set('detect', this.notInside ? now : now + detectionWindowMs(ctx.cfg));
    return out;
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'direct-registration': {
        if (input.attempt !== this.attempt) return stay();
        const r = input.result;
        if (r.status === 'accepted' && r.tnc) {
          ctx.boundCoa = r.coa;
          return this.inside(ctx);
        }
        this.notInside = true;
        if (r.status === 'accepted') ctx.boundCoa = r.coa;
        const why = r.status === 'accepted' ? 'i-HA reply without TNC: not a trusted network' : r.status === 'denied' ? `i-HA denied: ${r.codeName}` : 'no reply from the i-HA';
        const log: MobilityEffect = { kind: 'event', event: { type: 'log', level: r.status === 'denied' ? 'warn' : 'info', msg: why } };
        const t = this.decide(ctx);
        return { ...t, effects: [log, ...t.effects] };
      }
      case 'vpn':
        if (input.event === 'down') this.vpnFailed = true;
        else this.vpnFailed = false;
        return this.decide(ctx);
      case 'agent':
      case 'vpn-registration':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(timer: TimerName, ctx: MobilityContext): Transition {
    if (timer !== 'detect') return stay();
    this.notInside = true;
    return this.decide(ctx);
  }

  private inside(ctx: MobilityContext): Transition {
    const effects: MobilityEffect[] = [];
    if (!ctx.cfg.keepVpnInside && ctx.vpn.state !== 'none') {
      effects.push({ kind: 'vpn-disconnect' });
      ctx.vpn = { state: 'none' };
    }
    effects.push(...startSoliciting(ctx));
    const fa = agentOnLink(ctx);
    const next = fa ? new InsideFState(fa) : ctx.cfg.agentWaitMs > 0 ? new TrustedProbingState() : new InsideCState();
    return goTo(next, ...effects);
  }

  /** Outside or offline, once the i-HA has had its chance. */
  private decide(ctx: MobilityContext): Transition {
    if (!this.notInside) return stay();
    if (ctx.vpn.state === 'up' && ctx.vpn.tia) return goTo(new OutsideConnectingState(ctx.vpn.tia));
    if (this.vpnFailed) return goTo(new OfflineState(ctx.cfg.vpnConfigured ? 'neither the home agent nor the VPN gateway answered' : 'home agent unreachable and no VPN configured'));
    return stay();
  }
}
