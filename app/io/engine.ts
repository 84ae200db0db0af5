/**
 * The RFC 5266 engine: the one loop that composes the sans-I/O mobility
 * controller (app/mobility) with the drivers — network monitor, Mobile IP
 * (app/io/mip-driver.ts) and VPN (app/io/vpn-driver.ts) — and implements
 * EngineSource for the UIs (control socket, UI server, Electron).
 *
 *   NetMonitor ──link──┐                         ┌── traffic  → TrafficGate (hold/release/drop)
 *   MipDriver ──registration results──► controller ── register-* → MipDriver.register(source = CoA | TIA)
 *   VpnDriver ──up (onReady) / down──┘           ├── vpn-*    → VpnDriver start / stop
 *   commands  ─────────────────────────┘          ├── data-path → MipDriver.setDataPath(device)
 *                                                └── event    → JSON stream, snapshot
 *
 * The kernel stacks the tunnels (docs/ENGINE.md): user traffic enters the MIP
 * TUN (home address), passes the gate and is IP-in-IP encapsulated to the HA
 * with outer source = the CoA, sent on a raw socket pinned to one device —
 * the access link in mode c, the VPN's TUN in mode mc (where the VPN driver
 * ESP-encapsulates it). app/io/policy-routes.ts keeps each source on its path
 * and holds the fail-closed rules that outlive the process (docs/ENGINE.md).
 * Agent discovery (RFC 5944 §2.4): a raw ICMP socket pinned to the access
 * link feeds advertisements to app/mip4/agent-discovery.ts, solicits on a
 * link change, and turns its agent-up / agent-lost into `agent` inputs.
 * The detection request of RFC 5266 §3.4 runs on a registration client of
 * its own (startProbe) beside a registration through the VPN.
 * Every input and effect runs in order on one promise chain.
 */
import dgram from 'node:dgram';
import type { Profile } from '../config/profile.ts';
import { applyEvent, emptySnapshot, type EngineSnapshot, type EngineSource } from '../engine-snapshot.ts';
import type { CountersEvent, EngineCommand, EngineEvent, Policy } from '../events.ts';
import { AgentDiscovery, type DiscoveryEvent } from '../mip4/agent-discovery.ts';
import { RegistrationClient } from '../mip4/registration.ts';
import type { MobilityEffect } from '../mobility/effects.ts';
import type { ForeignAgent, Link, MobilityInput, RegistrationResult } from '../mobility/inputs.ts';
import { MobilityController } from '../mobility/machine.ts';
import { TrafficGate } from '../mobility/traffic-gate.ts';
import { AccessServices } from './access-services.ts';
import { MipDriver, type CoreEvent, type CoreFactory, type RegistrationCoreLike } from './mip-driver.ts';
import { NetConfig } from './netconfig.ts';
import { NetMonitor } from './net-monitor.ts';
import { PolicyRoutes, VPN_TUNS } from './policy-routes.ts';
import { RxGuard } from './rx-guard.ts';
import { openRawSocket, type RawSocket } from './raw-socket.ts';
import { decodeIpv4Header, ipv4Payload, IpProto } from '../wire/ip/ipv4-header.ts';
import { DriverTimer, monotonicNow } from './system-clock.ts';
import { VpnDriver } from './vpn-driver.ts';

export { FA_TABLE, PHYS_TABLE, VPN_TABLE } from './policy-routes.ts';

// Implementation
const ICMP_AGENT_ADVERTISEMENT = 9;
const VPN_STOP_MS = 1500;
/**
 * IKE and MOBIKE requests (new IKE SA, UPDATE_SA_ADDRESSES) are first
 * retransmitted after this long, then backed off by 2: a first message lost
 * on a fresh link must not cost a whole profile base interval (docs/MOBILITY.md).
 */
export const IKE_FIRST_RETRANSMIT_MS = 200;
/** tries added to the profile's so that the total retransmission budget stays about as long */
const IKE_EXTRA_TRIES = 2;
/** a MOBIKE move that fails before it could send (no route to the gateway yet) is tried again: 25, 50, 100, 200 ms */
const ROAM_RETRIES = 4;
const ROAM_RETRY_MS = 25;

export interface EngineOptions {
  profile: Profile;
  mipTun?: string;
  /** prefixes reached through the home network (default: the profile's vpn.remoteTs) */
  routes?: string[];
  policy?: Policy;
  /** the registration client (default: app/mip4/registration.ts with the profile's detection timing) */
  core?: CoreFactory;
  /** state that outlives a crash (the resolver file's original); default /var/lib/homeward */
  stateDir?: string;
  /** the resolver file (default /etc/resolv.conf) */
  resolvConf?: string;
}

interface VpnHandle {
  driver: VpnDriver;
  dev: string;
  stopping: boolean;
  /** the TIA of the IKE SA once it is ready (kept across MOBIKE moves) */
  tia?: string;
  /** our address on the SA's current path */
  local?: string;
  /** the address a MOBIKE move was last asked for, until the gateway confirms it */
  target?: string;
}

/** The registration client with RFC 5266 detection timing: first retransmission after detection.timeoutMs (≥ 1 s). */
export function engineCore(profile: Profile): RegistrationCoreLike {
  if (!profile.mnHaAuth) throw new Error('profile has no mnHaAuth: Mobile IP needs the MN-HA key (RFC 5944 §3.5)');
  const m = profile.mip;
  return new RegistrationClient({
    homeAddress: profile.homeAddress, homeAgent: profile.homeAgent, ...(profile.nai !== undefined ? { nai: profile.nai } : {}),
    spi: profile.mnHaAuth.spi, key: profile.mnHaAuth.key, lifetimeSeconds: m.lifetimeSeconds, reverseTunnel: true,
    encapsulation: m.encapsulation === 'ipip' ? 'ip-in-ip' : m.encapsulation,
    udpTunnel: m.udpTunnel === 'auto' ? 'request' : m.udpTunnel, keepaliveSeconds: m.keepaliveSeconds, replayProtection: m.replayProtection,
    retransmitInitialMs: Math.max(1000, profile.detection.timeoutMs), maxTries: profile.detection.retransmits + 1,
    rng: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
  }) as unknown as RegistrationCoreLike;
}

export class Engine implements EngineSource {
  private readonly controller: MobilityController;
  private readonly gate = new TrafficGate();
  private readonly mip: MipDriver;
  private readonly monitor: NetMonitor;
  private readonly policy: PolicyRoutes;
  private readonly timer = new DriverTimer(() => void this.enqueue(() => {
    if (this.stopped) return;
    this.controller.handleTimeout(monotonicNow());
    this.drain();
  }));
  private readonly discovery = new AgentDiscovery({ rng: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)) });
  private readonly discoveryTimer = new DriverTimer(() => void this.enqueue(() => {
    if (this.stopped) return;
    this.discovery.handleTimeout(monotonicNow());
    this.drainDiscovery();
  }));
  /** the raw ICMP socket of agent discovery, pinned to the access link */
  private icmp?: { iface: string; sock: RawSocket };
  /** the ICMP/agent receive path: one hostile advertisement is counted and dropped, never fatal */
  private readonly rxGuard = new RxGuard('an ICMP packet of agent discovery', (msg) => this.publish({ type: 'log', level: 'warn', msg }));
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private countersTimer?: NodeJS.Timeout;
  private lastCounters = '';
  private snap: EngineSnapshot = emptySnapshot();
  private chain: Promise<void> = Promise.resolve();
  private link: Link | null = null;
  private vpn?: VpnHandle;
  private vpnUp?: { tia: string; dev: string };
  private pending?: { kind: 'direct' | 'vpn'; attempt: number };
  /**
   * The detection request of RFC 5266 §3.4 on its own registration client and
   * socket (from the link's address), so that it runs beside a registration
   * through the VPN instead of replacing it. Closed at its first result.
   */
  private probe?: { attempt: number; coa: string; source: string; core: RegistrationCoreLike; sock: dgram.Socket; timer: DriverTimer };
  /** settles when the policy rules of the current link are in place */
  private linkReady: Promise<void> = Promise.resolve();
  /** the queue of policy-rule changes (PolicyRoutes: link, FA, TIA) */
  private rules: Promise<void> = Promise.resolve();
  private connected = false;
  private stopped = false;
  /** intranet DNS, captive-portal checks and the intranet IPv6 block (issue 19) */
  private readonly access: AccessServices;

  constructor(private readonly opts: EngineOptions) {
    const p = opts.profile;
    this.controller = new MobilityController({
      hoa: p.homeAddress, homeAgent: p.homeAgent,
      detectionTimeoutMs: p.detection.timeoutMs, detectionRetransmits: p.detection.retransmits,
      tMonitorMs: p.detection.tMonitorSeconds * 1000, keepVpnInside: p.detection.keepVpnInside,
      holdUntilDecided: p.detection.holdUntilDecided, vpnConfigured: p.vpn !== undefined, retryBaseMs: 2000, retryMaxMs: 30_000,
    }, monotonicNow());
    const mipTun = opts.mipTun ?? 'hwmip0';
    const intranet = opts.routes ?? (p.vpn?.remoteTs ?? []).map((r) => `${r.addr}/${r.len}`);
    this.policy = new PolicyRoutes({ hoa: p.homeAddress, homeAgent: p.homeAgent, intranet, tuns: [mipTun, ...VPN_TUNS] });
    this.mip = new MipDriver({
      core: opts.core ?? engineCore, profile: p, tunName: mipTun, manual: true,
      // the HA's own address goes through the tunnel like the intranet (never via main, RFC 5266 §3.4)
      routes: this.policy.blocked,
      gate: (pkt) => this.gate.offer(pkt, monotonicNow()) === 'pass',
      // the attempt a result belongs to is the one pending when the core reported it, not when the chain gets to it
      onEvent: (e) => {
        const attempt = this.pending;
        void this.enqueue(() => this.onMipEvent(e as CoreEvent, attempt));
      },
    });
    this.monitor = new NetMonitor((link) => this.enqueue(() => this.onLink(link)), { exclude: [mipTun, ...VPN_TUNS] });
    this.access = new AccessServices({
      profile: p, net: new NetConfig(), mipTun, stateDir: opts.stateDir ?? '/var/lib/homeward',
      ...(opts.resolvConf ? { resolvConf: opts.resolvConf } : {}),
      publish: (ev) => this.publish(ev),
      // the portal let us through: a fresh IKE SA now rather than after the old one's backoff
      retryVpn: () => void this.enqueue(() => {
        if (this.stopped || this.vpnUp) return;
        if (this.vpn) this.startVpn('vpn-move');
        else this.input({ kind: 'command', command: { cmd: 're-detect' } }); // the VPN gave up meanwhile: detect again now
      }),
    });
  }

  // EngineSource
  snapshot(): EngineSnapshot {
    return this.snap;
  }

  onEvent(cb: (event: EngineEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  command(c: EngineCommand): Promise<void> {
    if (c.cmd === 'snapshot') return Promise.resolve();
    return this.enqueue(() => {
      if (c.cmd === 'connect') this.connected = true;
      if (c.cmd === 'disconnect') this.connected = false;
      this.input({ kind: 'command', command: c });
    });
  }

  /** The user's view of the tunnel: packets/bytes in (delivered to the home address) and out, and drops by cause. */
  counters(): CountersEvent | undefined {
    const t = this.mip.tunStats;
    if (!t) return undefined;
    const g = this.gate.stats;
    const m = this.mip.stats;
    return {
      type: 'counters', tunIn: t.txPackets, tunOut: t.rxPackets, bytesIn: t.txBytes, bytesOut: t.rxBytes,
      dropped: { blocked: g.droppedBlocked, overflow: g.droppedOverflow, stale: g.droppedStale, noBinding: m.droppedNoBinding, malformed: m.droppedMalformed, wrongSource: m.droppedWrongSource, wrongPath: m.droppedWrongPath, tunWrite: t.txDropped },
    };
  }

  /** Publishes the counters once a second while they change (the UI's traffic card). */
  private publishCounters(): void {
    const c = this.counters();
    if (!c) return;
    const key = JSON.stringify(c);
    if (key === this.lastCounters) return;
    this.lastCounters = key;
    this.publish(c);
  }

  get stats(): Record<string, unknown> {
    return { gate: { ...this.gate.stats }, mip: { ...this.mip.stats }, agentRxErrors: this.rxGuard.dropped, core: this.mip.coreStats, history: [...this.controller.history] };
  }

  // lifecycle
  async start(): Promise<void> {
    // fail closed before anything can move: leftovers of a killed run go, the blocking rules come
    const left = await this.policy.install();
    if (left.rules > 0 || left.tuns.length > 0) {
      this.publish({ type: 'log', level: 'warn', msg: `removed what a previous run left: ${left.rules} rules, TUNs [${left.tuns.join(', ')}]` });
    }
    await this.access.start();
    await this.mip.start();
    this.countersTimer = setInterval(() => this.publishCounters(), 1000);
    this.countersTimer.unref();
    const link = await this.monitor.start();
    await this.enqueue(async () => {
      this.onLink(link);
      if (this.opts.policy === 'always-vpn') this.input({ kind: 'command', command: { cmd: 'set-policy', policy: 'always-vpn' } });
      this.connected = true;
      this.input({ kind: 'command', command: { cmd: 'connect' } });
    });
  }

  /** Deregisters, deletes the IKE SA, removes every route, rule and TUN set up. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.countersTimer) clearInterval(this.countersTimer);
    this.monitor.close();
    this.stopProbe();
    this.timer.stop();
    this.discoveryTimer.stop();
    this.icmp?.sock.close();
    this.icmp = undefined;
    await this.chain.catch(() => undefined);
    await this.rules;
    await this.mip.stop();
    const vpn = this.vpn;
    this.vpn = undefined;
    if (vpn) await this.stopVpn(vpn, 3000);
    await this.policy.remove();
    await this.access.stop();
  }

  // the loop
  private enqueue(op: () => void | Promise<void>): Promise<void> {
    const next = this.chain.then(op).catch((e: unknown) => this.publish({ type: 'error', code: 'ENGINE', message: (e as Error).message }));
    this.chain = next;
    return next;
  }

  private input(i: MobilityInput): void {
    if (this.stopped) return;
    this.controller.handleInput(i, monotonicNow());
    this.drain();
  }

  private drain(): void {
    for (let e = this.controller.pollEffect(); e; e = this.controller.pollEffect()) this.execute(e);
    this.timer.arm(this.controller.nextTimeout());
  }

  private execute(e: MobilityEffect): void {
    const now = monotonicNow();
    switch (e.kind) {
      case 'traffic':
        if (e.action === 'hold') this.gate.hold();
        else if (e.action === 'drop') this.gate.drop();
        else for (const pkt of this.gate.release(now)) this.mip.sendOut(pkt);
        return;
      case 'register-direct': {
        if (e.detect && !e.via) return this.startProbe(e.attempt, e.coa, this.link?.addr ?? e.coa);
        this.pending = { kind: 'direct', attempt: e.attempt };
        const source = e.via ? this.opts.profile.homeAddress : this.link?.addr ?? e.coa;
        this.mip.register({ coa: e.coa, source, ...(e.via ? { via: e.via.addr } : {}) });
        return;
      }
      case 'register-vpn':
        this.pending = { kind: 'vpn', attempt: e.attempt };
        this.mip.register({ coa: e.tia, source: e.tia });
        return;
      case 'deregister': return this.mip.deregister();
      case 'vpn-connect': return this.startVpn('vpn-connect');
      case 'vpn-move': return this.moveVpn(e.local, now);
      case 'vpn-disconnect': {
        const v = this.vpn;
        this.vpn = undefined;
        this.vpnUp = undefined;
        if (v) void this.stopVpn(v, VPN_STOP_MS);
        return;
      }
      case 'data-path': {
        const fa = e.mode === 'f' && this.link ? this.controller.context.agents.get(this.link.iface) : undefined;
        void this.rulesDo(() => this.policy.setFa(fa && !this.stopped ? fa : null));
        if (e.mode === 'mc') this.mip.setDataPath(this.vpnUp ? { device: this.vpnUp.dev } : undefined);
        else if (e.mode === 'f') this.mip.setDataPath(fa ? { device: fa.iface, direct: true } : undefined);
        else this.mip.setDataPath(this.link ? { device: this.link.iface } : undefined);
        return;
      }
      case 'agent-solicit':
        // only the access link's discovery can solicit; a stale iface means the link moved on already
        this.discovery.setSoliciting(e.iface, e.active && this.icmp?.iface === e.iface, now);
        this.drainDiscovery();
        return;
      case 'event': return this.publish(e.event);
    }
  }

  private publish(ev: EngineEvent): void {
    const event: EngineEvent = ev.type === 'mode' ? { ...ev, policy: this.controller.context.policy, connected: this.connected } : ev;
    this.snap = applyEvent(this.snap, event, Date.now());
    for (const l of this.listeners) l(event);
    if (!this.stopped) this.access.onEvent(event);
  }

  // inputs from the drivers
  private onLink(link: Link | null): void {
    this.link = link;
    this.access.linkChanged(link ? { iface: link.iface, addr: link.addr } : null);
    // a detection request from an address we no longer use can prove nothing about the new link
    if (this.probe && this.probe.source !== link?.addr) this.stopProbe();
    // the routing rules are rewritten on their own queue while the handover already runs: the MOBIKE
    // update and its answer do not wait for them; the detection request does (linkReady), so that it
    // leaves on the link
    this.linkReady = this.rulesDo(async () => {
      // a newer link is queued behind this one already: its own step rewrites the rules, skip this one
      if (this.link !== link) return;
      await this.policy.setLink(link && !this.stopped ? link : null);
      if (this.policy.faIface !== undefined && this.policy.faIface !== link?.iface) await this.policy.setFa(null);
      await this.policy.setFaRequest(null);
    });
    this.watchAgents(link);
    this.input({ kind: 'link', link });
  }

  /** Policy-rule changes run one after the other, beside the main chain; a failure is published. */
  private rulesDo(op: () => Promise<void>): Promise<void> {
    this.rules = this.rules.then(op).catch((e: unknown) => this.publish({ type: 'error', code: 'ENGINE', message: (e as Error).message }));
    return this.rules;
  }

  // agent discovery (RFC 5944 §2.4) on the access link
  private watchAgents(link: Link | null): void {
    const now = monotonicNow();
    if (this.icmp && this.icmp.iface !== link?.iface) {
      this.icmp.sock.close();
      this.discovery.handleInterfaceDown(this.icmp.iface, now);
      this.icmp = undefined;
    }
    if (link && !this.icmp && !this.stopped) {
      const iface = link.iface;
      try {
        const sock = openRawSocket(IpProto.Icmp, { device: iface, ttl: 1, multicastTtl: 1 });
        sock.onPacket((pkt) => this.rxGuard.run(() => {
          // every ICMP packet of the link arrives here: only advertisements go on the chain
          const h = agentAdvertisement(pkt);
          if (h) void this.enqueue(() => this.rxGuard.run(() => this.onAdvertisement(iface, h.icmp, h.src)));
        }));
        this.icmp = { iface, sock };
      } catch (e) {
        this.publish({ type: 'log', level: 'warn', msg: `agent discovery off on ${iface}: ${(e as Error).message}` });
      }
      // listen only: solicitations wait until the controller knows the link is trusted
      this.discovery.handleInterfaceUp(iface, now, { solicit: false });
    }
    this.drainDiscovery();
  }

  private onAdvertisement(iface: string, icmp: Uint8Array, src: string): void {
    if (this.stopped || this.icmp?.iface !== iface) return;
    this.discovery.handleAdvertisement(icmp, src, iface, monotonicNow());
    this.drainDiscovery();
  }

  private drainDiscovery(): void {
    for (let t = this.discovery.pollTransmit(); t; t = this.discovery.pollTransmit()) {
      if (this.icmp?.iface === t.iface) this.icmp.sock.send(t.bytes, t.to);
    }
    for (let e = this.discovery.pollEvent(); e; e = this.discovery.pollEvent()) this.onAgentEvent(e);
    this.discoveryTimer.arm(this.discovery.nextTimeout());
  }

  private onAgentEvent(e: DiscoveryEvent): void {
    // a foreign agent that offers a care-of address and reverse tunnelling (we always ask for T)
    const usable = this.discovery.agentsOn(e.iface).find((a) => a.foreignAgent && !a.busy && a.reverseTunnel && a.careOfAddresses.length > 0);
    const fa: ForeignAgent | null = usable ? { iface: e.iface, addr: usable.address, coa: usable.careOfAddresses[0]! } : null;
    const known = this.controller.context.agents.get(e.iface);
    // the agent we use restarted (RFC 5944 §2.3.1): the core registers through it again
    const rebooted = e.type === 'agent-rebooted' && fa !== null && e.agent.address === fa.addr && known?.addr === fa.addr;
    if (!rebooted && known?.addr === fa?.addr && known?.coa === fa?.coa) return;
    const msg = rebooted ? `foreign agent ${fa.addr} on ${e.iface} rebooted` : fa ? `foreign agent ${fa.addr} on ${e.iface} offers ${fa.coa}` : `no foreign agent on ${e.iface}`;
    this.publish({ type: 'log', level: 'info', msg });
    const input: MobilityInput = { kind: 'agent', iface: e.iface, fa, ...(rebooted ? { rebooted: true } : {}) };
    if (!fa || e.iface !== this.link?.iface) return this.input(input);
    // the request through the FA leaves from the home address: let it out (rule 988) before the controller sends it
    void this.rulesDo(async () => {
      if (this.link?.iface === fa.iface) await this.policy.setFaRequest({ iface: fa.iface, addr: fa.addr });
    }).then(() => this.enqueue(() => this.input(input)));
  }

  // the detection request (RFC 5266 §3.4) on its own registration client
  private startProbe(attempt: number, coa: string, source: string): void {
    this.stopProbe();
    if (this.stopped) return;
    const core = (this.opts.core ?? engineCore)(this.opts.profile, { localPort: 0 });
    const sock = dgram.createSocket('udp4');
    const probe = {
      attempt, coa, source, core, sock,
      timer: new DriverTimer(() => void this.enqueue(() => {
        if (this.probe !== probe) return;
        core.handleTimeout(monotonicNow(), Date.now());
        this.drainProbe();
      })),
    };
    this.probe = probe;
    sock.on('error', (err) => void this.enqueue(() => {
      if (this.probe !== probe) return;
      this.publish({ type: 'log', level: 'warn', msg: `detection request from ${source}: ${err.message}` });
    }));
    sock.on('message', (m, r) => void this.enqueue(() => {
      if (this.probe !== probe) return;
      core.handleDatagram(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), { address: r.address, port: r.port }, monotonicNow(), Date.now());
      this.drainProbe();
    }));
    sock.bind(0, source); // node queues the first send until the bind completes
    // the first request leaves once the link's rule (pref 990) keeps it off the VPN
    void this.linkReady.then(() => {
      if (this.probe !== probe) return;
      core.handleCommand({ type: 'register', coa }, monotonicNow(), Date.now());
      // only transmits can come out of a request just sent; results go through the chain
      for (let t = core.pollTransmit(); t; t = core.pollTransmit()) if (!t.keepalive) sock.send(t.bytes, t.to.port, t.to.address);
      void this.enqueue(() => this.drainProbe());
    });
  }

  private drainProbe(): void {
    const p = this.probe;
    if (!p) return;
    for (let t = p.core.pollTransmit(); t; t = p.core.pollTransmit()) {
      if (!t.keepalive) p.sock.send(t.bytes, t.to.port, t.to.address);
    }
    for (let e = p.core.pollEvent(); e; e = p.core.pollEvent()) {
      if (e.type !== 'registration') continue;
      const result = registrationResult(e);
      if (!result) continue;
      this.publish({ ...(e as unknown as EngineEvent & { type: 'registration' }), homeAgent: this.opts.profile.homeAgent });
      this.stopProbe();
      if (result.status === 'accepted' && result.tnc) {
        // the HA's binding now points at the link: the driver's client takes it over (and refreshes it) from here
        this.pending = { kind: 'direct', attempt: p.attempt };
        this.mip.register({ coa: p.coa, source: p.source });
      }
      this.input({ kind: 'direct-registration', attempt: p.attempt, result });
      return;
    }
    p.timer.arm(p.core.nextTimeout());
  }

  private stopProbe(): void {
    const p = this.probe;
    if (!p) return;
    this.probe = undefined;
    p.timer.stop();
    try {
      p.sock.close();
    } catch {
      // already closed
    }
  }

  private onMipEvent(e: CoreEvent, p: { kind: 'direct' | 'vpn'; attempt: number } | undefined): void {
    if (e.type === 'registration') {
      this.publish({ ...(e as unknown as EngineEvent & { type: 'registration' }), homeAgent: this.opts.profile.homeAgent });
      const result = registrationResult(e);
      if (result && p) {
        if (result.status !== 'accepted' && this.pending === p) this.pending = undefined;
        this.input({ kind: p.kind === 'direct' ? 'direct-registration' : 'vpn-registration', attempt: p.attempt, result });
      }
      return;
    }
    if (e.type === 'warning') this.publish({ type: 'log', level: 'warn', msg: String(e.message ?? e.code) });
    else this.publish({ type: 'log', level: 'debug', msg: e.type, ctx: flat(e) });
  }

  private startVpn(why: 'vpn-connect' | 'vpn-move'): void {
    const profile = this.opts.profile;
    if (!profile.vpn) return;
    const old = this.vpn;
    if (old) void this.stopVpn(old, why === 'vpn-move' ? 300 : VPN_STOP_MS);
    this.vpnUp = undefined;
    const dev = VPN_TUNS.find((d) => d !== old?.dev) ?? VPN_TUNS[0]!;
    const handle: VpnHandle = { dev, stopping: false, driver: undefined as unknown as VpnDriver };
    handle.driver = new VpnDriver({
      // the controller decides about reconnecting (vpn down → detect again); a lost first message costs 200 ms
      profile: {
        ...profile,
        vpn: {
          ...profile.vpn, reconnect: false, retransmitBaseMs: Math.min(profile.vpn.retransmitBaseMs, IKE_FIRST_RETRANSMIT_MS),
          retransmitTries: profile.vpn.retransmitTries + IKE_EXTRA_TRIES,
        },
      },
      tunName: dev, stopTimeoutMs: VPN_STOP_MS,
      emit: (ev) => void this.enqueue(() => this.onVpnEvent(handle, ev as unknown as EngineEvent)),
      onReady: (info) => this.enqueue(() => this.onVpnReady(handle, info)),
    });
    this.vpn = handle;
    void handle.driver.start().then(
      (r) => this.enqueue(() => this.onVpnClosed(handle, r.error?.code ?? 'closed')),
      (err: Error) => this.enqueue(() => this.onVpnClosed(handle, err.message)),
    );
  }

  /**
   * MOBIKE (RFC 4555): the same IKE SA, TIA and TUN move to the new local
   * address; the binding at the HA (CoA = TIA) stays. Without a live SA — or
   * when the driver cannot roam — a new IKE SA from the new address instead.
   */
  private moveVpn(local: string, eventAt: number): void {
    const h = this.vpn;
    if (!h || h.stopping || !h.tia) return this.startVpn('vpn-move');
    // already there (a re-detection on the same link): nothing to update, the SA is up as it is
    const tia = h.tia;
    // (not when a move elsewhere is still unanswered: the SA's path is then that one, not this)
    if (h.local === local && (h.target === undefined || h.target === local)) return void this.enqueue(() => this.input({ kind: 'vpn', event: 'up', tia, local }));
    h.target = local;
    this.roam(h, local, eventAt, 0);
  }

  /**
   * One MOBIKE move; a failure while the new link is still being set up (no
   * route to the gateway yet) is tried again shortly, on the same SA, before
   * the fallback to a new IKE SA — which costs a new TIA and registration.
   */
  private roam(h: VpnHandle, local: string, eventAt: number, tries: number): void {
    h.driver.roam(local, eventAt).catch((err: Error) => this.enqueue(() => {
      if (this.vpn !== h || h.stopping || this.link?.addr !== local) return;
      if (tries < ROAM_RETRIES) {
        setTimeout(() => void this.enqueue(() => {
          if (this.vpn === h && !h.stopping && this.link?.addr === local) this.roam(h, local, eventAt, tries + 1);
        }), ROAM_RETRY_MS * 2 ** tries).unref();
        return;
      }
      this.publish({ type: 'log', level: 'warn', msg: `MOBIKE move to ${local} failed (${err.message}): new IKE SA` });
      this.startVpn('vpn-move');
    }));
  }

  private onVpnEvent(h: VpnHandle, ev: EngineEvent): void {
    this.publish(ev);
    // a confirmed MOBIKE update: the VPN is up again, from its new address, with the same TIA
    if (ev.type === 'mobike-update' && this.vpn === h && !h.stopping && h.tia) {
      h.local = ev.to;
      if (h.target === ev.to) h.target = undefined;
      // an answer for an address we have left already confirms nothing about the current link
      if (this.link?.addr !== ev.to) return;
      this.access.vpnReady(undefined);
      this.input({ kind: 'vpn', event: 'up', tia: h.tia, local: ev.to });
    }
  }

  private async onVpnReady(h: VpnHandle, info: { tia: string; local: string; dev: string; dns?: { servers: string[]; domains: string[] } }): Promise<void> {
    if (this.vpn !== h || h.stopping) return;
    h.tia = info.tia;
    h.local = info.local;
    await this.rulesDo(() => this.policy.setTia(info));
    this.vpnUp = { tia: info.tia, dev: info.dev };
    this.access.vpnReady(info.dns);
    this.input({ kind: 'vpn', event: 'up', tia: info.tia, local: info.local });
  }

  private onVpnClosed(h: VpnHandle, reason: string): void {
    if (this.vpn !== h || h.stopping) return;
    this.vpn = undefined;
    this.vpnUp = undefined;
    this.input({ kind: 'vpn', event: 'down', reason });
  }

  private async stopVpn(h: VpnHandle, timeoutMs: number): Promise<void> {
    h.stopping = true;
    await Promise.race([h.driver.stop(), new Promise((r) => setTimeout(r, timeoutMs + 1000))]).catch(() => undefined);
  }
}

/** An ICMP Agent Advertisement (type 9) in a raw IPv4 packet: its ICMP bytes and IP source, or undefined. */
export function agentAdvertisement(pkt: Uint8Array): { icmp: Uint8Array; src: string } | undefined {
  try {
    const h = decodeIpv4Header(pkt);
    if (h.protocol !== IpProto.Icmp) return undefined;
    const icmp = ipv4Payload(pkt, h);
    return icmp[0] === ICMP_AGENT_ADVERTISEMENT ? { icmp, src: h.src } : undefined;
  } catch {
    return undefined;
  }
}

/** A registration event of the core as the controller's result (undefined: not a result). */
export function registrationResult(e: CoreEvent): RegistrationResult | undefined {
  switch (e.state) {
    case 'accepted': return { status: 'accepted', tnc: e.tnc === true, coa: String(e.coa ?? ''), lifetime: Number(e.lifetime ?? 0) };
    case 'denied': return { status: 'denied', code: Number(e.code ?? 0), codeName: String(e.codeName ?? '') };
    case 'timeout': case 'expired': return { status: 'timeout' };
    default: return undefined;
  }
}

function flat(e: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}
