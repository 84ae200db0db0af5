/**
 * Inputs every state (but `disconnected`) treats alike: a new link means
 * detect again (RFC 5266 §3.4: on every change of connectivity); losing the
 * link means offline; user commands; bookkeeping of agents and the VPN.
 * A state handles its own cases first and falls back to this.
 */
import type { Instant } from '../../base/clock.ts';
import type { HandoverTrigger } from '../../events.ts';
import type { MobilityContext } from '../context.ts';
import type { MobilityInput } from '../inputs.ts';
import { goTo, stay, type Transition } from '../state.ts';
import { DetectingState } from './detecting.ts';
import { DisconnectedState } from './disconnected.ts';
import { OfflineState } from './offline.ts';

/** Records what an input tells about the world; returns nothing. */
export function observe(input: MobilityInput, ctx: MobilityContext): void {
  if (input.kind === 'agent') {
    if (input.fa) ctx.agents.set(input.iface, input.fa);
    else ctx.agents.delete(input.iface);
  } else if (input.kind === 'vpn') {
    ctx.vpn = input.event === 'up' ? { state: 'up', tia: input.tia, local: input.local } : { state: 'none' };
  } else if (input.kind === 'link') {
    if (input.link?.iface !== ctx.link?.iface) ctx.faRefused.clear();
    ctx.link = input.link;
  }
}

/** Detect again from the current link, or go offline without one. */
export function redetect(ctx: MobilityContext, reason: string, trigger: HandoverTrigger): Transition {
  return ctx.link ? goTo(new DetectingState(reason, trigger)) : goTo(new OfflineState('no network', trigger));
}

export function handleCommon(input: MobilityInput, ctx: MobilityContext, _now: Instant): Transition {
  switch (input.kind) {
    case 'link':
      return redetect(ctx, 'network changed', 'link');
    case 'resume':
      // after a sleep nothing known about the network can be trusted: detect again (RFC 5266 §3.4)
      return redetect(ctx, `resumed after ${Math.round(input.sleptMs / 1000)} s`, 'resume');
    case 'command':
      switch (input.command.cmd) {
        case 'disconnect':
          return goTo(new DisconnectedState());
        case 'connect':
        case 're-detect':
          return redetect(ctx, `user: ${input.command.cmd}`, 'user');
        case 'set-policy':
          if (ctx.policy === input.command.policy) return stay();
          ctx.policy = input.command.policy;
          return redetect(ctx, `policy: ${input.command.policy}`, 'policy');
        case 'snapshot':
          return stay();
      }
      return stay();
    default:
      return stay();
  }
}
