/**
 * What every mobility state can see and update: the configuration, the
 * current link, the foreign agents heard, the VPN's condition, the policy,
 * and the bookkeeping for detection, timers and handover gaps.
 */
import { TimerTable, backoff, type Instant } from '../base/clock.ts';
import type { HandoverTrigger, HandoverTrust, Mode } from '../events.ts';
import type { MobilityEffect } from './effects.ts';
import type { ForeignAgent, Link } from './inputs.ts';

export interface MobilityConfig {
  hoa: string;
  homeAgent: string;
  /** RFC 5266 §3.4: wait this long for the i-HA's reply before retransmitting… */
  detectionTimeoutMs: number;
  /** …and retransmit this many times before deciding "not inside". */
  detectionRetransmits: number;
  /** RFC 5265 T_MONITOR: inside, re-register at least this often. */
  tMonitorMs: number;
  /**
   * Keep the IKE SA up inside (RFC 5266 §3.4.2): it follows the laptop by
   * MOBIKE, so leaving is one MOBIKE round trip instead of a new IKE SA.
   */
  keepVpnInside: boolean;
  /**
   * The strict reading of RFC 5266 §3.4: hold all user traffic until the
   * i-HA has decided trust. false (default): home-address traffic flows
   * through the VPN as soon as the VPN path is confirmed on the new address.
   */
  holdUntilDecided: boolean;
  /** false when the profile has no `vpn` section: outside is then offline. */
  vpnConfigured: boolean;
  retryBaseMs: number;
  retryMaxMs: number;
}

export type TimerName = 'detect' | 'monitor' | 'retry';

export interface MobilityContext {
  readonly cfg: MobilityConfig;
  link: Link | null;
  agents: Map<string, ForeignAgent>;
  /** interfaces whose foreign agent refused us: use mode c there */
  faRefused: Set<string>;
  vpn: { state: 'none' | 'connecting' | 'moving' | 'up'; tia?: string; local?: string };
  policy: 'automatic' | 'always-vpn';
  /** generation of the current registration attempt; results for older ones are ignored */
  attempt: number;
  timers: TimerTable<TimerName>;
  /** the last mode in which user traffic flowed */
  lastSettled: Mode | null;
  /** when user traffic was last held (start of the current handover gap) */
  holdSince: Instant | null;
  /** what started the current handover (set with holdSince) */
  trigger: HandoverTrigger;
  /** consecutive offline retries, for back-off */
  retries: number;
  /** the care-of address of the binding the HA holds for us */
  boundCoa: string | null;
  /** the interface on which agent solicitation is on (only ever a trusted link) */
  soliciting: string | null;
}

export function createContext(cfg: MobilityConfig): MobilityContext {
  return {
    cfg,
    link: null,
    agents: new Map(),
    faRefused: new Set(),
    vpn: { state: 'none' },
    policy: 'automatic',
    attempt: 0,
    timers: new TimerTable<TimerName>(),
    lastSettled: null,
    holdSince: null,
    trigger: 'link',
    retries: 0,
    boundCoa: null,
    soliciting: null,
  };
}

/** Total time RFC 5266 detection waits for the i-HA: first try plus retransmissions. */
export function detectionWindowMs(cfg: MobilityConfig): number {
  return cfg.detectionTimeoutMs * (cfg.detectionRetransmits + 1);
}

export function nextAttempt(ctx: MobilityContext): number {
  ctx.attempt += 1;
  return ctx.attempt;
}

/**
 * A Registration Request straight to the i-HA (optionally via a foreign
 * agent) as a new attempt, with the detection window armed for its answer.
 */
export function directRegistration(ctx: MobilityContext, now: Instant, coa: string, via?: ForeignAgent): MobilityEffect & { attempt: number } {
  const attempt = nextAttempt(ctx);
  ctx.timers.set('detect', now + detectionWindowMs(ctx.cfg));
  const { detectionTimeoutMs: timeoutMs, detectionRetransmits: retransmits } = ctx.cfg;
  return { kind: 'register-direct', attempt, coa, timeoutMs, retransmits, ...(via ? { via } : {}) };
}

export function retryDelayMs(ctx: MobilityContext): number {
  return backoff(ctx.retries, ctx.cfg.retryBaseMs, 2, ctx.cfg.retryMaxMs);
}

export function modeEvent(ctx: MobilityContext, mode: Mode, trusted: boolean, coa: string | null, reason?: string): MobilityEffect {
  return { kind: 'event', event: { type: 'mode', mode, trusted, coa, hoa: ctx.cfg.hoa, ...(reason ? { reason } : {}) } };
}

/** Hold user traffic and start a handover gap (if one is not already running). */
export function hold(ctx: MobilityContext, now: Instant, trigger: HandoverTrigger): MobilityEffect {
  if (ctx.holdSince === null) {
    ctx.holdSince = now;
    ctx.trigger = trigger;
  }
  return { kind: 'traffic', action: 'hold' };
}

/** Drop user traffic (fail closed); the gap, if any, keeps running. */
export function drop(ctx: MobilityContext, now: Instant, trigger: HandoverTrigger): MobilityEffect {
  if (ctx.holdSince === null) {
    ctx.holdSince = now;
    ctx.trigger = trigger;
  }
  return { kind: 'traffic', action: 'drop' };
}

/**
 * Let traffic flow through `mode`; ends the handover gap with the one
 * `handover` event of the move (none when nothing was held, or on the first
 * connect). `trust` is what the node knows of the network at that moment:
 * traffic may flow through the VPN while the i-HA is still being asked.
 */
export function release(ctx: MobilityContext, mode: Extract<Mode, 'c' | 'f' | 'mc'>, now: Instant, trust: HandoverTrust): MobilityEffect[] {
  const out: MobilityEffect[] = [{ kind: 'traffic', action: 'release' }];
  if (ctx.holdSince !== null && ctx.lastSettled !== null) {
    out.push({ kind: 'event', event: { type: 'handover', from: ctx.lastSettled, to: mode, gapMs: now - ctx.holdSince, trigger: ctx.trigger, trust } });
  }
  ctx.holdSince = null;
  ctx.lastSettled = mode;
  ctx.retries = 0;
  return out;
}

/** Turn agent solicitation on for the current (trusted) link, if not on already. */
export function startSoliciting(ctx: MobilityContext): MobilityEffect[] {
  const iface = ctx.link?.iface;
  if (!iface || ctx.soliciting === iface) return [];
  const out = stopSoliciting(ctx);
  ctx.soliciting = iface;
  return [...out, { kind: 'agent-solicit', iface, active: true }];
}

/** Turn agent solicitation off (the network is no longer known to be trusted). */
export function stopSoliciting(ctx: MobilityContext): MobilityEffect[] {
  if (ctx.soliciting === null) return [];
  const iface = ctx.soliciting;
  ctx.soliciting = null;
  return [{ kind: 'agent-solicit', iface, active: false }];
}

/** The foreign agent usable on the current link, if any and not refused. */
export function agentOnLink(ctx: MobilityContext): ForeignAgent | undefined {
  if (!ctx.link) return undefined;
  const fa = ctx.agents.get(ctx.link.iface);
  return fa && !ctx.faRefused.has(ctx.link.iface) ? fa : undefined;
}
