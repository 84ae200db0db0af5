/**
 * TRUSTED-PROBING — the i-HA has just proved the network trusted (MN-HA
 * verified reply with TNC) but no foreign agent is known on this link yet.
 * Agent solicitation is turned on now — never before: an untrusted link
 * must see nothing from the node but IKE, ESP and NAT keepalives besides the
 * detection request — and the node waits up to `agentWaitMs` for an
 * advertisement before settling (RFC 5266 §3.4: mode f where a foreign agent
 * serves the trusted subnet, mode c otherwise).
 *
 *   agent advertises on this link ───► INSIDE-F
 *   agentWaitMs passes ──────────────► INSIDE-C (an agent heard later still moves it to f)
 *
 * User traffic stays held; the mode shown is still `detecting`, so the UI
 * and the handover sequence never show a c that lasts one round trip.
 */
import type { Instant } from '../../base/clock.ts';
import { agentOnLink, type MobilityContext, type TimerName } from '../context.ts';
import type { MobilityEffect } from '../effects.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type MobilityState, type Transition } from '../state.ts';
import { handleCommon } from './common.ts';
import { InsideCState } from './inside-c.ts';
import { InsideFState } from './inside-f.ts';

export class TrustedProbingState implements MobilityState {
  readonly name = 'trusted-probing';
  readonly mode = 'detecting';

  enter(ctx: MobilityContext, now: Instant): MobilityEffect[] {
    ctx.timers.clear();
    ctx.timers.set('agents', now + ctx.cfg.agentWaitMs);
    return [];
  }

  handle(input: MobilityInput, ctx: MobilityContext, now: Instant): Transition {
    switch (input.kind) {
      case 'agent': {
        const fa = agentOnLink(ctx);
        return fa && input.iface === fa.iface ? goTo(new InsideFState(fa)) : stay();
      }
      case 'direct-registration':
      case 'vpn-registration':
      case 'vpn':
        return stay();
      default:
        return handleCommon(input, ctx, now);
    }
  }

  handleTimer(timer: TimerName): Transition {
    return timer === 'agents' ? goTo(new InsideCState()) : stay();
  }
}
