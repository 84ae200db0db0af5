/**
 * OUTSIDE-CONNECTING — the i-HA did not prove the network trusted but the
 * VPN is up: register through the tunnel with the VPN tunnel inner address
 * (TIA) as co-located care-of address, reverse tunnelling on (RFC 5266 §3.4.2
 * step 4). Traffic stays held until the home agent accepts.
 */
import type { Instant } from '../../base/clock.ts';
import { detectionWindowMs, nextAttempt, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { BlockedState } from './blocked.ts';
import { handleCommon, redetect } from './common.ts';
import { OfflineState } from './offline.ts';
import { OutsideMcState } from './outside-mc.ts';

/** Denials that retrying cannot fix: the user or IT must act. */
export const PERMANENT_DENIALS = new Set([129, 131, 136]);

export class OutsideConnectingState implements MobilityState {
  readonly name = 'outside-connecting';
  readonly mode = 'detecting';
  private attempt = 0;

  constructor(readonly tia: string) {}

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    this.attempt = nextAttempt(ctx);
    ctx.timers.set('detect', now + detectionWindowMs(ctx.cfg));
    const { detectionTimeoutMs: timeoutMs, detectionRetransmits: retransmits } = ctx.cfg;
    return [{ kind: 'register-vpn', attempt: this.attempt, tia: this.tia, timeoutMs, retransmits }];
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'vpn-registration': {
        if (input.attempt !== this.attempt) return stay();
        const r = input.result;
        if (r.status === 'accepted') {
          ctx.boundCoa = this.tia;
          return goTo(new OutsideMcState(this.tia));
        }
        if (r.status === 'denied' && PERMANENT_DENIALS.has(r.code)) return goTo(new BlockedState(`home agent denied the registration: ${r.codeName}`));
        return goTo(new OfflineState(r.status === 'denied' ? `home agent denied the registration: ${r.codeName}` : 'home agent unreachable through the VPN'));
      }
      case 'vpn':
        if (input.event === 'down') return redetect(ctx, `VPN lost: ${input.reason}`, 'vpn-lost');
        return input.tia !== this.tia ? goTo(new OutsideConnectingState(input.tia)) : stay();
      case 'agent':
      case 'direct-registration':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(timer: TimerName): Transition {
    return timer === 'detect' ? goTo(new OfflineState('home agent unreachable through the VPN')) : stay();
  }
}
