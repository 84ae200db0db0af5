/**
 * DETECTING — RFC 5266 §3.4, §3.4.1 and §3.4.2. Entered on every change of
 * connectivity. At the same time:
 *   - a Registration Request straight to the i-HA (never through the VPN),
 *     with the profile's detection timeout and retransmissions (`detect`);
 *   - a MOBIKE update of the existing IKE SA from the new address, or a new
 *     IKE SA when there is none.
 * User traffic is held at first (nothing leaves in clear).
 *
 * While the i-HA is being asked (the default; docs/MOBILITY.md "Traffic while
 * trust is decided"): as soon as the VPN path is confirmed on the new address,
 * home-address traffic flows through it — at once when the binding at the HA
 * already points at the TIA (mode mc, e.g. a MOBIKE move between untrusted
 * networks), otherwise after registering the TIA through the tunnel, sent in
 * parallel with the direct request. Only IPsec-protected traffic flows;
 * clear-text (mode c / f) waits for the i-HA's proof. With
 * `holdUntilDecided` (the strict reading) nothing flows before the decision.
 *
 *   i-HA reply, MN-HA verified, with TNC ──► INSIDE-F if an FA advertises here, else INSIDE-C
 *   no such reply in the window, VPN up ───► OUTSIDE-MC when traffic already flows through
 *                                            the VPN, else OUTSIDE-CONNECTING
 *   no such reply, VPN failed or absent ───► OFFLINE (retry with back-off)
 *
 * An accepted reply WITHOUT the TNC extension, a denial or a timeout only
 * means "not inside": it never makes the node trust the network.
 */
import type { Instant } from '../../base/clock.ts';
import type { HandoverTrigger } from '../../events.ts';
import { agentOnLink, detectionWindowMs, hold, modeEvent, nextAttempt, release, startSoliciting, stopSoliciting, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { BlockedState } from './blocked.ts';
import { handleCommon } from './common.ts';
import { InsideCState } from './inside-c.ts';
import { InsideFState } from './inside-f.ts';
import { OfflineState } from './offline.ts';
import { OutsideConnectingState, PERMANENT_DENIALS } from './outside-connecting.ts';
import { OutsideMcState } from './outside-mc.ts';

export class DetectingState implements MobilityState {
  readonly name = 'detecting';
  readonly mode = 'detecting';
  /** the i-HA did not prove we are inside (no reply in time, denied, or no TNC) */
  private notInside = false;
  private vpnFailed = false;
  private attempt = 0;
  /** the registration of the TIA through the VPN sent from here, while the i-HA is asked (0: none in flight) */
  private vpnAttempt = 0;
  private vpnRegFailed = false;
  /** the i-HA accepted the direct request while the VPN's was out: which the HA took last is unknown */
  private raced = false;
  /** home-address traffic already flows through the VPN (mc) while trust is decided — with this TIA */
  private flowing = false;
  private flowTia?: string;

  constructor(readonly reason: string, readonly trigger: HandoverTrigger = 'link') {}

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    const link = ctx.link!;
    ctx.timers.clear();
    this.attempt = nextAttempt(ctx);
    // not known to be trusted any more: no agent solicitation until the i-HA says so
    const out: MobilityEffect[] = [hold(ctx, now, this.trigger), ...stopSoliciting(ctx), modeEvent(ctx, 'detecting', false, null, this.reason)];
    if (ctx.policy === 'always-vpn') {
      // Always VPN: the i-HA is not asked; decide as soon as the VPN answers.
      this.notInside = true;
    } else {
      const { detectionTimeoutMs: timeoutMs, detectionRetransmits: retransmits } = ctx.cfg;
      out.push({ kind: 'register-direct', attempt: this.attempt, coa: link.addr, timeoutMs, retransmits, detect: true });
    }
    if (!ctx.cfg.vpnConfigured) {
      this.vpnFailed = true;
    } else if (ctx.vpn.state === 'up' || ctx.vpn.state === 'moving') {
      ctx.vpn = { ...ctx.vpn, state: 'moving' };
      out.push({ kind: 'vpn-move', local: link.addr });
    } else if (ctx.vpn.state === 'connecting' && ctx.vpn.local === link.addr) {
      // the same address again (its default route arrived after it, say): the IKE SA being set up from
      // it goes on; a new one would throw away its exchanges and start the gateway's answer over
    } else {
      if (ctx.vpn.state === 'none' && ctx.cfg.keepVpnInside && (ctx.lastSettled === 'c' || ctx.lastSettled === 'f')) {
        out.push({ kind: 'event', event: { type: 'log', level: 'warn', msg: 'no warm IKE SA to move (the VPN gateway was unreachable from inside): setting up a new IKE SA' } });
      }
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
        // the HA moved the binding to the link's address: traffic must not follow it there
        if (r.status === 'accepted') ctx.boundCoa = r.coa;
        // a registration through the VPN is out too: the replies' order says nothing of the order the
        // HA took them in (the VPN's path is longer), so its acceptance cannot prove the binding is the TIA
        if (r.status === 'accepted' && this.vpnAttempt !== 0) this.raced = true;
        const why = r.status === 'accepted' ? 'i-HA reply without TNC: not a trusted network' : r.status === 'denied' ? `i-HA denied: ${r.codeName}` : 'no reply from the i-HA';
        const log: MobilityEffect = { kind: 'event', event: { type: 'log', level: r.status === 'denied' ? 'warn' : 'info', msg: why } };
        return this.decide(ctx, now, log);
      }
      case 'vpn':
        if (input.event === 'up') {
          this.vpnFailed = false;
          if (!this.flowing || input.tia === this.flowTia) return this.decide(ctx, now);
          // a new IKE SA with another TIA: the binding still points at the old one, hold until it is registered
          this.flowing = false;
          return this.decide(ctx, now, hold(ctx, now, 'vpn-lost'));
        }
        this.vpnFailed = true;
        this.vpnAttempt = 0;
        if (!this.flowing) return this.decide(ctx, now);
        // the path the traffic took is gone: hold again (a new gap) until something is decided
        this.flowing = false;
        return this.decide(ctx, now, hold(ctx, now, 'vpn-lost'));
      case 'vpn-registration': {
        if (this.vpnAttempt === 0 || input.attempt !== this.vpnAttempt) return stay();
        this.vpnAttempt = 0;
        const r = input.result;
        if (r.status === 'accepted') {
          const tia = ctx.vpn.state === 'up' ? ctx.vpn.tia : undefined;
          if (this.raced && tia) {
            // the HA accepted both; the one it took last is the binding. One more through the VPN: its
            // identification is the newest, so the HA keeps the TIA whatever order the two arrived in
            this.raced = false;
            return stay(this.registerVpn(ctx, tia));
          }
          ctx.boundCoa = ctx.vpn.tia ?? r.coa;
          return this.decide(ctx, now);
        }
        if (r.status === 'denied' && PERMANENT_DENIALS.has(r.code)) return goTo(new BlockedState(`home agent denied the registration: ${r.codeName}`));
        this.vpnRegFailed = true;
        return this.decide(ctx, now);
      }
      case 'agent':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(timer: TimerName, ctx: MobilityContext, now: Instant): Transition {
    if (timer !== 'detect') return stay();
    this.notInside = true;
    return this.decide(ctx, now);
  }

  private inside(ctx: MobilityContext): Transition {
    const effects: MobilityEffect[] = [];
    if (!ctx.cfg.keepVpnInside && ctx.vpn.state !== 'none') {
      effects.push({ kind: 'vpn-disconnect' });
      ctx.vpn = { state: 'none' };
    }
    // a registration through the VPN still in flight may yet move the binding to the TIA: register directly again
    if (this.vpnAttempt !== 0) ctx.boundCoa = null;
    effects.push(...startSoliciting(ctx));
    const fa = agentOnLink(ctx);
    // FA discovery runs beside mode c (RFC 5266 §3.2): settle on c now, move to f when an FA advertises
    // (the binding on this link already: c is settled on at once, and the FA registration runs beside it)
    const onLink = ctx.boundCoa !== null && ctx.boundCoa === ctx.link?.addr;
    const next = !fa ? new InsideCState()
      : this.flowing ? new InsideFState(fa, null)
        : onLink ? new InsideFState(fa, null, { fallback: () => new InsideCState(), settleOnC: true })
          : new InsideFState(fa, this.trigger);
    return goTo(next, ...effects);
  }

  /**
   * What the node can do now. While the i-HA is still asked (and not in
   * strict mode), a confirmed VPN path lets protected traffic flow; once the
   * i-HA has had its chance, outside or offline.
   */
  private decide(ctx: MobilityContext, now: Instant, ...effects: MobilityEffect[]): Transition {
    const tia = ctx.vpn.state === 'up' ? ctx.vpn.tia : undefined;
    if (!this.notInside) {
      if (tia && !ctx.cfg.holdUntilDecided && !this.flowing) {
        if (ctx.boundCoa === tia) {
          this.flowing = true;
          this.flowTia = tia;
          effects.push({ kind: 'data-path', mode: 'mc', coa: tia }, ...release(ctx, 'mc', now, 'deciding'));
        } else if (this.vpnAttempt === 0 && !this.vpnRegFailed) {
          effects.push(this.registerVpn(ctx, tia));
        }
      }
      return stay(...effects);
    }
    if (tia) {
      if (this.flowing && ctx.boundCoa === tia) return goTo(new OutsideMcState(tia, true), ...effects);
      if (this.vpnAttempt !== 0) return stay(...effects); // its answer decides
      if (this.vpnRegFailed && ctx.boundCoa !== tia) return goTo(new OfflineState('home agent unreachable through the VPN'), ...effects);
      if (ctx.boundCoa === tia && !ctx.cfg.holdUntilDecided) return goTo(new OutsideMcState(tia), ...effects);
      return goTo(new OutsideConnectingState(tia), ...effects);
    }
    if (this.vpnFailed) return goTo(new OfflineState(ctx.cfg.vpnConfigured ? 'neither the home agent nor the VPN gateway answered' : 'home agent unreachable and no VPN configured'), ...effects);
    return stay(...effects);
  }

  private registerVpn(ctx: MobilityContext, tia: string): MobilityEffect {
    this.vpnAttempt = nextAttempt(ctx);
    const { detectionTimeoutMs: timeoutMs, detectionRetransmits: retransmits } = ctx.cfg;
    return { kind: 'register-vpn', attempt: this.vpnAttempt, tia, timeoutMs, retransmits };
  }
}
