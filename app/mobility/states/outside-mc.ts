/**
 * OUTSIDE-MC — on an untrusted network: the MOBIKE VPN carries the Mobile IP
 * tunnel; the binding at the i-HA points at the TIA. A new TIA (new gateway,
 * reconnect) re-registers; losing the VPN or the binding detects again.
 */
import type { Instant } from '../../base/clock.ts';
import { modeEvent, release, type MobilityContext } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon, redetect } from './common.ts';
import { OutsideConnectingState } from './outside-connecting.ts';

export class OutsideMcState implements MobilityState {
  readonly name = 'outside-mc';
  readonly mode = 'mc';

  /** `flowing`: traffic already flows through the VPN (released while trust was decided) */
  constructor(readonly tia: string, readonly flowing = false) {}

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    const path: MobilityEffect[] = this.flowing ? [] : [{ kind: 'data-path', mode: 'mc', coa: this.tia }, ...release(ctx, 'mc', now, 'untrusted')];
    return [...path, modeEvent(ctx, 'mc', false, this.tia)];
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'vpn':
        if (input.event === 'down') return redetect(ctx, `VPN lost: ${input.reason}`, 'vpn-lost');
        return input.tia !== this.tia ? goTo(new OutsideConnectingState(input.tia)) : stay();
      case 'vpn-registration':
        // re-registrations run inside the registration core; only a failure matters here
        return input.result.status === 'accepted' ? stay() : redetect(ctx, 'binding through the VPN lost', 'registration-lost');
      case 'agent':
      case 'direct-registration':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(): Transition {
    return stay();
  }
}
