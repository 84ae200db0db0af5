/**
 * Agent discovery at the mobile node (RFC 5944 §2.4), sans-I/O, per interface.
 *
 *   inputs   handleInterfaceUp(iface, now, { solicit? }) / handleInterfaceDown(iface, now)
 *            setSoliciting(iface, allowed, now)
 *            handleAdvertisement(icmpBytes, fromAddr, iface, now)
 *            handleTimeout(now)
 *   outputs  pollTransmit() → Agent Solicitations (TTL 1, to 224.0.0.2)
 *            pollEvent()    → agent-up | agent-updated | agent-rebooted | agent-lost
 *            nextTimeout()
 *
 * An interface may listen without soliciting (the mobile node's engine
 * solicits only on a link the i-HA proved trusted: RFC 5266 leaves nothing
 * but IKE, ESP and keepalives on untrusted links); setSoliciting turns it
 * on and off. Solicitations go out only while an interface knows no agent: three at
 * 1 s, then the interval doubles up to a maximum (≥ 60 s); every interval is
 * randomised upwards by up to 25 % (never faster than nominal).
 *
 * An agent (interface + advertisement source) lives for the ICMP Lifetime
 * of its last advertisement. A sequence number that falls below its
 * predecessor into 0–255 means the agent rebooted and lost our
 * registration (§2.4.4): event agent-rebooted, the caller re-registers;
 * a fall to ≥ 256 is a rollover after 0xffff and means nothing.
 *
 * Bounded against a flood of spoofed sources: at most maxAgentsPerInterface
 * (8) agents per interface and maxAgents (32) in all; an advertisement from
 * a new source beyond that is counted (ignored.overflow) and dropped — the
 * agents already known stay. Agents are kept per interface, so the work per
 * advertisement does not grow with the number of sources heard.
 */
import { TimerTable, type Instant } from '../base/clock.ts';
import { ALL_ROUTERS, encodeAgentSolicitation } from '../wire/mip4/agent-solicitation.ts';
import { decodeAgentAdvertisement, type AgentAdvertisement } from '../wire/mip4/agent-advertisement.ts';
import { AdvFlag } from '../wire/mip4/constants.ts';
import { randomU32, type RandomBytes } from './identification.ts';

export interface AgentInfo {
  iface: string;
  /** The advertisement's IP source: where registrations through this FA go. */
  address: string;
  sequence: number;
  /** AdvFlag bits */
  flags: number;
  registrationLifetime: number;
  careOfAddresses: string[];
  routers: string[];
  prefixLengths?: number[];
  foreignAgent: boolean;
  homeAgent: boolean;
  busy: boolean;
  registrationRequired: boolean;
  reverseTunnel: boolean;
  udpTunnelling: boolean;
  lastHeard: Instant;
  expiresAt: Instant;
}

export type DiscoveryEvent =
  | { type: 'agent-up' | 'agent-updated' | 'agent-rebooted'; iface: string; agent: AgentInfo }
  | { type: 'agent-lost'; iface: string; address: string; reason: 'lifetime' | 'interface-down' };

export interface SolicitationTransmit {
  iface: string;
  to: string;
  ttl: 1;
  bytes: Uint8Array;
}

export interface DiscoveryConfig {
  rng: RandomBytes;
  initialSolicitations?: number;
  initialIntervalMs?: number;
  /** Maximum interval after back-off; raised to 60 s if set lower (RFC 5944 §2.4). */
  maxIntervalMs?: number;
  /** Agents kept per interface (default 8); further sources are ignored while it is full. */
  maxAgentsPerInterface?: number;
  /** Agents kept over all interfaces (default 32). */
  maxAgents?: number;
}

export interface DiscoveryStats {
  advertisements: number;
  ignored: { malformed: number; notAgent: number; invalid: number; overflow: number };
  solicitations: number;
}

const MIN_MAX_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_AGENTS_PER_INTERFACE = 8;
export const DEFAULT_MAX_AGENTS = 32;

function validity(adv: AgentAdvertisement): string | undefined {
  const m = adv.mobility!;
  const f = m.flags;
  if ((f & (AdvFlag.ForeignAgent | AdvFlag.HomeAgent)) === 0) return 'neither F nor H set';
  if ((f & AdvFlag.Busy) !== 0 && (f & AdvFlag.ForeignAgent) === 0) return 'B without F';
  if ((f & AdvFlag.ForeignAgent) !== 0 && m.careOfAddresses.length === 0) return 'F without a care-of address';
  return undefined;
}

export class AgentDiscovery {
  readonly stats: DiscoveryStats = { advertisements: 0, ignored: { malformed: 0, notAgent: 0, invalid: 0, overflow: 0 }, solicitations: 0 };
  /** interface → advertisement source → agent */
  private readonly agents = new Map<string, Map<string, AgentInfo>>();
  private agentCount = 0;
  private readonly solicit = new Map<string, { sent: number }>();
  /** interfaces on which soliciting is allowed */
  private readonly allowed = new Set<string>();
  private readonly timers = new TimerTable<string>();
  private readonly transmits: SolicitationTransmit[] = [];
  private readonly events: DiscoveryEvent[] = [];

  constructor(private readonly cfg: DiscoveryConfig) {}

  /** Agents currently known on an interface, most recently heard first. */
  agentsOn(iface: string): AgentInfo[] {
    return [...(this.agents.get(iface)?.values() ?? [])].sort((a, b) => b.lastHeard - a.lastHeard);
  }

  /** Agents known over all interfaces. */
  get size(): number {
    return this.agentCount;
  }

  handleInterfaceUp(iface: string, now: Instant, opts: { solicit?: boolean } = {}): void {
    this.setSoliciting(iface, opts.solicit ?? true, now);
  }

  /** Allow or forbid solicitations on an interface; allowing starts them at once if no agent is known there. */
  setSoliciting(iface: string, allowed: boolean, now: Instant): void {
    if (!allowed) {
      this.allowed.delete(iface);
      this.stopSoliciting(iface);
      return;
    }
    this.allowed.add(iface);
    if (!this.agents.get(iface)?.size) this.startSoliciting(iface, now);
  }

  handleInterfaceDown(iface: string, _now: Instant): void {
    this.allowed.delete(iface);
    this.stopSoliciting(iface);
    for (const a of this.agentsOn(iface)) this.lose(a, 'interface-down');
  }

  handleAdvertisement(bytes: Uint8Array, fromAddr: string, iface: string, now: Instant): void {
    let adv: AgentAdvertisement;
    try {
      adv = decodeAgentAdvertisement(bytes);
    } catch {
      this.stats.ignored.malformed++;
      return;
    }
    if (!adv.mobility) {
      this.stats.ignored.notAgent++;
      return;
    }
    if (validity(adv) !== undefined) {
      this.stats.ignored.invalid++;
      return;
    }
    let onIface = this.agents.get(iface);
    const prev = onIface?.get(fromAddr);
    if (!prev && ((onIface?.size ?? 0) >= (this.cfg.maxAgentsPerInterface ?? DEFAULT_MAX_AGENTS_PER_INTERFACE)
      || this.agentCount >= (this.cfg.maxAgents ?? DEFAULT_MAX_AGENTS))) {
      this.stats.ignored.overflow++;
      return;
    }
    this.stats.advertisements++;
    const key = `${iface}/${fromAddr}`;
    const agent = this.toInfo(adv, fromAddr, iface, now);
    if (!onIface) this.agents.set(iface, (onIface = new Map()));
    if (!prev) this.agentCount++;
    onIface.set(fromAddr, agent);
    this.timers.set(`expire:${key}`, agent.expiresAt);
    this.stopSoliciting(iface);
    if (!prev) this.events.push({ type: 'agent-up', iface, agent });
    else if (agent.sequence < prev.sequence && agent.sequence < 256) this.events.push({ type: 'agent-rebooted', iface, agent });
    else if (agent.flags !== prev.flags || agent.careOfAddresses.join() !== prev.careOfAddresses.join()) {
      this.events.push({ type: 'agent-updated', iface, agent });
    }
  }

  handleTimeout(now: Instant): void {
    for (const key of this.timers.expired(now)) {
      const [kind, rest] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      if (kind === 'expire') {
        const slash = rest.lastIndexOf('/');
        const a = this.agents.get(rest.slice(0, slash))?.get(rest.slice(slash + 1));
        if (a) this.lose(a, 'lifetime');
      } else if (kind === 'solicit') this.sendSolicitation(rest, now);
    }
  }

  pollTransmit(): SolicitationTransmit | undefined {
    return this.transmits.shift();
  }

  pollEvent(): DiscoveryEvent | undefined {
    return this.events.shift();
  }

  nextTimeout(): Instant | undefined {
    return this.timers.next();
  }

  private toInfo(adv: AgentAdvertisement, address: string, iface: string, now: Instant): AgentInfo {
    const m = adv.mobility!;
    const f = m.flags;
    return {
      iface, address, sequence: m.sequence, flags: f, registrationLifetime: m.registrationLifetime,
      careOfAddresses: m.careOfAddresses, routers: adv.routers.map((r) => r.address),
      ...(adv.prefixLengths ? { prefixLengths: adv.prefixLengths } : {}),
      foreignAgent: (f & AdvFlag.ForeignAgent) !== 0, homeAgent: (f & AdvFlag.HomeAgent) !== 0,
      busy: (f & AdvFlag.Busy) !== 0, registrationRequired: (f & AdvFlag.RegistrationRequired) !== 0,
      reverseTunnel: (f & AdvFlag.ReverseTunnel) !== 0, udpTunnelling: (f & AdvFlag.UdpTunnelling) !== 0,
      lastHeard: now, expiresAt: now + adv.lifetime * 1000,
    };
  }

  private lose(a: AgentInfo, reason: 'lifetime' | 'interface-down'): void {
    const key = `${a.iface}/${a.address}`;
    const onIface = this.agents.get(a.iface);
    if (onIface?.delete(a.address)) this.agentCount--;
    if (onIface?.size === 0) this.agents.delete(a.iface);
    this.timers.stop(`expire:${key}`);
    this.events.push({ type: 'agent-lost', iface: a.iface, address: a.address, reason });
    if (reason === 'lifetime' && !this.agents.get(a.iface)?.size) this.startSoliciting(a.iface, a.expiresAt);
  }

  private startSoliciting(iface: string, now: Instant): void {
    if (this.solicit.has(iface) || !this.allowed.has(iface)) return;
    this.solicit.set(iface, { sent: 0 });
    this.sendSolicitation(iface, now);
  }

  private stopSoliciting(iface: string): void {
    this.solicit.delete(iface);
    this.timers.stop(`solicit:${iface}`);
  }

  private sendSolicitation(iface: string, now: Instant): void {
    const s = this.solicit.get(iface);
    if (!s) return;
    this.transmits.push({ iface, to: ALL_ROUTERS, ttl: 1, bytes: encodeAgentSolicitation() });
    this.stats.solicitations++;
    s.sent++;
    this.timers.set(`solicit:${iface}`, now + this.interval(s.sent));
  }

  /** Nominal interval after the n-th solicitation, randomised by +0..25 %. */
  private interval(sent: number): number {
    const initial = this.cfg.initialIntervalMs ?? 1000;
    const count = this.cfg.initialSolicitations ?? 3;
    const max = Math.max(MIN_MAX_INTERVAL_MS, this.cfg.maxIntervalMs ?? MIN_MAX_INTERVAL_MS);
    const nominal = sent < count ? initial : Math.min(max, initial * 2 ** (sent - count + 1));
    return Math.round(nominal * (1 + 0.25 * (randomU32(this.cfg.rng) / 2 ** 32)));
  }
}
