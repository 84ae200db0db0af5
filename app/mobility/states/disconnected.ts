/**
 * DISCONNECTED — the user turned Homeward off. Fail closed: traffic for the
 * home address is dropped, the binding is deregistered and the IKE SA deleted.
 * Only `connect` (or a policy change) leaves this state.
 */
import type { Instant } from '../../base/clock.ts';
import { drop, modeEvent, stopSoliciting, type MobilityContext } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { stay, type MobilityState, type Transition } from '../state.ts';
import { redetect } from './common.ts';

export class DisconnectedState implements MobilityState {
  readonly name = 'disconnected';
  readonly mode = 'offline';

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    ctx.attempt += 1; // late answers to anything in flight are ignored
    const out: MobilityEffect[] = [drop(ctx, now, 'user'), ...stopSoliciting(ctx)];
    if (ctx.boundCoa !== null) out.push({ kind: 'deregister' });
    if (ctx.vpn.state !== 'none') out.push({ kind: 'vpn-disconnect' });
    ctx.boundCoa = null;
    ctx.vpn = { state: 'none' };
    ctx.lastSettled = null;
    ctx.holdSince = null;
    out.push(modeEvent(ctx, 'offline', false, null, 'disconnected'));
    return out;
  }

  handle(input: MobilityInput, ctx: MobilityContext): Transition {
    if (input.kind === 'command' && input.command.cmd === 'connect') return redetect(ctx, 'user: connect', 'user');
    if (input.kind === 'command' && input.command.cmd === 'set-policy') ctx.policy = input.command.policy;
    return stay();
  }

  handleTimer(): Transition {
    return stay();
  }
}
