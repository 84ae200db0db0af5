/**
 * The RFC 5266 engine: composes the sans-I/O mobility controller
 * (app/mobility) with the drivers and implements EngineSource for the UIs
 * (control socket, UI server, Electron). Everything outside the process comes
 * through one Platform (app/io/platform.ts; default linuxPlatform()).
 *
 *   LinkWatcher ───link───┐                         ┌── traffic   → TrafficGate (hold/release/drop)
 *   MipDriver, DetectionProbe ─results─► controller ─┼── register-* → MipDriver.register / DetectionProbe.start
 *   VpnLifecycle ─up/down─┤                         ├── vpn-*      → VpnLifecycle start / move / disconnect
 *   AgentDiscoveryDriver ─agent─┤                   ├── data-path  → MipDriver.setDataPath, PolicyRoutes
 *   commands ─────────────┘                         └── event      → JSON stream, snapshot, AccessServices
 *
 * The kernel stacks the tunnels and app/io/policy-routes.ts keeps each source
 * on its path (docs/ENGINE.md). Every input and effect runs in order on the
 * loop's one promise chain; its one timer serves every core (engine-loop.ts).
 */
import { applyEvent, emptySnapshot, type EngineSnapshot, type EngineSource } from '../engine-snapshot.ts';
import type { Resume } from '../base/liveness.ts';
import type { CountersEvent, EngineCommand, EngineEvent, RegistrationEvent } from '../events.ts';
import type { MobilityEffect } from '../mobility/effects.ts';
import type { Link, MobilityInput, RegistrationResult } from '../mobility/inputs.ts';
import type { RouteSpec } from '../net/iproute.ts';
import { TUNNEL_FORMATS } from '../mip4/tunnel-format.ts';
import { MobilityController } from '../mobility/machine.ts';
import { TrafficGate } from '../mobility/traffic-gate.ts';
import { AccessServices } from './access-services.ts';
import { AgentDiscoveryDriver, type AgentChange } from './agent-discovery-driver.ts';
import { DetectionProbe, isRegistrationEvent, registrationResult, type ProbeRun } from './detection-probe.ts';
import { engineCores, type EngineOptions, type MipEvent, type MipOptions, type MipPort } from './engine-config.ts';
import { EngineCounters } from './engine-counters.ts';
import { EngineLoop } from './engine-loop.ts';
import { MipDriver, type CoreFactory } from './mip-driver.ts';
import type { LinkWatcher, Platform } from './platform.ts';
import { linuxPlatform } from './platform-linux.ts';
import { PolicyRoutes, VPN_TUNS } from './policy-routes.ts';
import { ResumeWatch } from './resume-watch.ts';
import { flat, VpnLifecycle } from './vpn-lifecycle.ts';

export { engineCore, engineCores, type EngineOptions, type MipOptions, type MipPort } from './engine-config.ts';

type Pending = { kind: 'direct' | 'vpn'; attempt: number };

export class Engine implements EngineSource {
  private readonly platform: Platform;
  private readonly loop: EngineLoop;
  private readonly controller: MobilityController;
  private readonly gate = new TrafficGate();
  private readonly mip: MipPort;
  private readonly monitor: LinkWatcher;
  private readonly policy: PolicyRoutes;
  private readonly discovery: AgentDiscoveryDriver;
  private readonly probe: DetectionProbe;
  private readonly vpn: VpnLifecycle;
  /** intranet DNS, captive-portal checks and the intranet IPv6 block (issue 19) */
  private readonly access: AccessServices;
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly countersTick: EngineCounters;
  private readonly resumeWatch: ResumeWatch;
  private snap: EngineSnapshot = emptySnapshot();
  private link: Link | null = null;
  private pending?: Pending;
  /** settles when the policy rules of the current link are in place */
  private linkReady: Promise<void> = Promise.resolve();
  /** the queue of policy-rule changes (PolicyRoutes: link, FA, TIA) */
  private rules: Promise<void> = Promise.resolve();
  private connected = false;
  /** the mode of the last data-path effect, and the TIA and TUN of the last IKE SA that came up */
  private dataPathMode?: string;
  private lastSa?: { tia: string; dev: string };
  private stopped = false;

  constructor(private readonly opts: EngineOptions) {
    const p = opts.profile;
    const platform = this.platform = opts.platform ?? linuxPlatform();
    const clock = platform.clock;
    this.loop = new EngineLoop(clock, (e) => this.publish({ type: 'error', code: 'ENGINE', message: e.message }));
    this.controller = new MobilityController({
      hoa: p.homeAddress, homeAgent: p.homeAgent,
      detectionTimeoutMs: p.detection.timeoutMs, detectionRetransmits: p.detection.retransmits,
      tMonitorMs: p.detection.tMonitorSeconds * 1000, keepVpnInside: p.detection.keepVpnInside,
      holdUntilDecided: p.detection.holdUntilDecided, vpnConfigured: p.vpn !== undefined, retryBaseMs: 2000, retryMaxMs: 30_000,
    }, clock.now());
    this.loop.add({ nextTimeout: () => this.controller.nextTimeout(), handleTimeout: (now) => (this.controller.handleTimeout(now), this.drain()) });
    const mipTun = opts.mipTun ?? 'hwmip0';
    const intranet = opts.routes ?? (p.vpn?.remoteTs ?? []).map((r) => `${r.addr}/${r.len}`);
    this.policy = new PolicyRoutes({ hoa: p.homeAddress, homeAgent: p.homeAgent, intranet, tuns: [mipTun, ...VPN_TUNS], net: platform.net });
    const core: CoreFactory = opts.core ?? engineCores(p, (n) => platform.random(n));
    const mipOpts: MipOptions = {
      core, profile: p, tunName: mipTun, manual: true, platform,
      // the HA's own address goes through the tunnel like the intranet (never via main, RFC 5266 §3.4)
      routes: this.policy.blocked,
      gate: (pkt) => this.gate.offer(pkt, clock.now()) === 'pass',
      // the attempt a result belongs to is the one pending when the core reported it, not when the chain gets to it
      onEvent: (e) => {
        const attempt = this.pending;
        void this.loop.enqueue(() => this.onMipEvent(e, attempt));
      },
    };
    this.mip = opts.mipDriver ? opts.mipDriver(mipOpts) : new MipDriver(mipOpts);
    this.countersTick = new EngineCounters(this.mip, this.gate, (c) => this.publish(c));
    this.resumeWatch = new ResumeWatch(clock, (r, now) => this.onResume(r, now));
    this.monitor = platform.watchLinks((link, _at, routes) => void this.loop.enqueue(() => this.onLink(link, routes)), { exclude: [mipTun, ...VPN_TUNS] });
    const { loop } = this;
    this.discovery = new AgentDiscoveryDriver({
      platform, loop, known: (iface) => this.controller.context.agents.get(iface),
      onChange: (c) => this.onAgentChange(c), log: (level, msg) => this.publish({ type: 'log', level, msg }),
    });
    this.probe = new DetectionProbe({
      platform, loop, profile: p, core, linkReady: () => this.linkReady,
      warn: (msg) => this.publish({ type: 'log', level: 'warn', msg }), onResult: (run, e, result) => this.onProbeResult(run, e, result),
    });
    this.vpn = new VpnLifecycle({
      profile: p, platform, loop, link: () => this.link, input: (i) => this.input(i), publish: (ev) => this.publish(ev),
      // (called on the loop's chain: newSaReady is queued behind, never awaited)
      setTia: (info) => this.rulesDo(() => this.policy.setTia(info)).then(() => void this.loop.enqueue(() => this.newSaReady(info))),
      vpnReady: (dns) => this.access.vpnReady(dns),
    });
    this.access = new AccessServices({
      profile: p, net: platform.net, mipTun, stateDir: opts.stateDir ?? '/var/lib/homeward',
      ...(opts.resolvConf ? { resolvConf: opts.resolvConf } : {}),
      ...(opts.dnsBackend ? { backend: opts.dnsBackend } : {}), runTool: (cmd, args) => platform.runTool(cmd, args),
      publish: (ev) => this.publish(ev),
      // the portal let us through: a fresh IKE SA now rather than after the old one's backoff
      retryVpn: () => void this.loop.enqueue(() => {
        if (this.stopped || this.vpn.up) return;
        if (this.vpn.active) this.vpn.start('vpn-move');
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
    return this.loop.enqueue(() => {
      if (c.cmd === 'connect') this.connected = true;
      if (c.cmd === 'disconnect') this.connected = false;
      this.input({ kind: 'command', command: c });
    });
  }

  /** The user's view of the tunnel: packets/bytes in (delivered to the home address) and out, and drops by cause. */
  counters(): CountersEvent | undefined {
    return this.countersTick.counters();
  }

  get stats(): Record<string, unknown> {
    return { gate: { ...this.gate.stats }, mip: { ...this.mip.stats }, agentRxErrors: this.discovery.rxErrors, core: this.mip.coreStats, history: [...this.controller.history] };
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
    this.countersTick.start(this.platform.clock.now());
    this.loop.add(this.countersTick);
    this.resumeWatch.start(this.platform.clock.now());
    this.loop.add(this.resumeWatch);
    this.loop.add(this.vpn);
    const link = await this.monitor.start();
    await this.loop.enqueue(async () => {
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
    this.monitor.close();
    this.probe.stop();
    this.discovery.close();
    // no core is driven any more; the loop's timer still bounds the VPN's stop below
    this.loop.removeAll();
    await this.loop.idle().catch(() => undefined);
    await this.rules;
    await this.mip.stop();
    await this.vpn.stop(3000);
    await this.policy.remove();
    await this.access.stop();
    this.loop.close();
  }

  // the loop
  private input(i: MobilityInput): void {
    if (this.stopped) return;
    this.controller.handleInput(i, this.platform.clock.now());
    this.drain();
  }

  private drain(): void {
    for (let e = this.controller.pollEffect(); e; e = this.controller.pollEffect()) this.execute(e);
  }

  private execute(e: MobilityEffect): void {
    const now = this.platform.clock.now();
    switch (e.kind) {
      case 'traffic':
        // the MIP driver's native pass (mode mc) bypasses the gate: it runs only while the gate is open
        if (e.action !== 'release') this.mip.setTrafficOpen?.(false);
        if (e.action === 'hold') this.gate.hold();
        else if (e.action === 'drop') this.gate.drop();
        else {
          for (const pkt of this.gate.release(now)) this.mip.sendOut(pkt);
          this.mip.setTrafficOpen?.(true);
        }
        return;
      case 'register-direct': {
        if (e.detect && !e.via) {
          if (!this.stopped) this.probe.start(e.attempt, e.coa, this.link?.addr ?? e.coa);
          return;
        }
        this.pending = { kind: 'direct', attempt: e.attempt };
        // the FA's routing rules go in with the request, so that they are in place when the reply switches
        // the data path to f (only ever on a trusted link: the controller registers through an FA nowhere else)
        if (e.via) {
          const via = e.via;
          void this.rulesDo(() => this.policy.setFa(this.stopped || this.link?.iface !== via.iface ? null : via));
        }
        const source = e.via ? this.opts.profile.homeAddress : this.link?.addr ?? e.coa;
        this.mip.register({ coa: e.coa, source, ...(e.via ? { via: e.via.addr } : {}) });
        return;
      }
      case 'register-vpn':
        this.pending = { kind: 'vpn', attempt: e.attempt };
        this.mip.register({ coa: e.tia, source: e.tia });
        return;
      case 'deregister': return this.mip.deregister();
      case 'vpn-connect': return this.vpn.start('vpn-connect');
      case 'vpn-move': return this.vpn.move(e.local, now);
      case 'vpn-disconnect': return this.vpn.disconnect();
      case 'data-path': {
        this.dataPathMode = e.mode;
        const fa = e.mode === 'f' && this.link ? this.controller.context.agents.get(this.link.iface) : undefined;
        void this.rulesDo(() => this.policy.setFa(fa && !this.stopped ? fa : null));
        const up = this.vpn.up;
        if (e.mode === 'mc') this.mip.setDataPath(up ? { device: up.dev } : undefined);
        else if (e.mode === 'f') this.mip.setDataPath(fa ? { device: fa.iface, direct: true } : undefined);
        else this.mip.setDataPath(this.link ? { device: this.link.iface } : undefined);
        return;
      }
      case 'agent-solicit': return this.discovery.setSoliciting(e.iface, e.active);
      case 'event': return this.publish(e.event);
    }
  }

  private publish(ev: EngineEvent): void {
    const event: EngineEvent = ev.type === 'mode' ? { ...ev, policy: this.controller.context.policy, connected: this.connected } : ev;
    this.snap = applyEvent(this.snap, event, this.platform.clock.wallNow());
    for (const l of this.listeners) l(event);
    if (!this.stopped) this.access.onEvent(event);
  }

  /** Policy-rule changes run one after the other, beside the main chain; a failure is published. */
  private rulesDo(op: () => Promise<void>): Promise<void> {
    this.rules = this.rules.then(op).catch((e: unknown) => this.publish({ type: 'error', code: 'ENGINE', message: (e as Error).message }));
    return this.rules;
  }

  // inputs from the drivers
  /** `routes`: the link's routes as the watcher read them with it (none: the rules read them) */
  private onLink(link: Link | null, routes?: readonly RouteSpec[]): void {
    this.link = link;
    this.access.linkChanged(link ? { iface: link.iface, addr: link.addr } : null);
    // a detection request from an address we no longer use can prove nothing about the new link
    if (this.probe.source !== undefined && this.probe.source !== link?.addr) this.probe.stop();
    // the routing rules are rewritten on their own queue while the handover already runs: the MOBIKE
    // update and its answer do not wait for them; the detection request does (linkReady), so that it
    // leaves on the link
    // (a newer link queued behind this one already rewrites the rules in its own step: this one is skipped)
    const asked = this.platform.clock.now();
    this.linkReady = this.rulesDo(async () => {
      if (this.link !== link) return;
      const began = this.platform.clock.now();
      await this.policy.linkChanged(link && !this.stopped ? link : null, routes);
      // the detection request left no earlier than this: the queue's wait and the rewrite itself, for the timelines
      const now = this.platform.clock.now();
      this.publish({ type: 'log', level: 'debug', msg: 'link rules', ctx: { iface: link?.iface ?? '', waitedMs: Math.round(began - asked), tookMs: Math.round(now - began), routesRead: routes === undefined } });
    });
    // a link that appeared or went since: rule 993 (after the access link's own rules, which the detection request
    // waits for; skipped, like them, when a newer link is queued — its own sync follows its rules)
    void this.rulesDo(async () => this.stopped || this.link !== link ? undefined : this.policy.syncLinks());
    this.discovery.setLink(link);
    this.input({ kind: 'link', link });
  }

  /**
   * A new IKE SA is up. With another TIA the controller re-registers (the
   * `vpn up` input that follows). With the SAME TIA — a gateway that
   * restarted, or deleted our silent SA, hands the address out again — the
   * controller has nothing to do, but the SA is on the other TUN and the
   * binding at the HA may have expired meanwhile: in mc the outer packets
   * move to the new TUN and the binding is registered again at once.
   */
  private newSaReady(info: { tia: string; dev: string }): void {
    const prev = this.lastSa;
    this.lastSa = { tia: info.tia, dev: info.dev };
    if (this.stopped || !prev || prev.tia !== info.tia || prev.dev === info.dev || this.dataPathMode !== 'mc') return;
    this.publish({ type: 'log', level: 'info', msg: `new IKE SA with the same TIA ${info.tia} on ${info.dev}: the tunnel follows, the binding is registered again` });
    this.mip.setDataPath({ device: info.dev });
    // pinned to the new TUN by name: the old one holds the same address until its teardown
    this.mip.register({ coa: info.tia, source: info.tia, device: info.dev });
  }

  /**
   * The engine slept (suspend or SIGSTOP): the network may have changed, the
   * gateway may have deleted the IKE SA and the binding may have expired
   * meanwhile. The SA gets a quick check with a new one prepared beside it,
   * the MIP driver re-registers at once, and detection starts again.
   */
  private onResume(r: Resume, now: number): void {
    if (this.stopped) return;
    this.publish({ type: 'resume', sleptMs: r.sleptMs, kind: r.kind });
    this.vpn.resume(now);
    this.mip.refreshBinding?.('resume');
    this.input({ kind: 'resume', sleptMs: r.sleptMs });
  }

  private onAgentChange({ iface, fa, rebooted }: AgentChange): void {
    const input: MobilityInput = { kind: 'agent', iface, fa, ...(rebooted ? { rebooted: true } : {}) };
    if (!fa || iface !== this.link?.iface) return this.input(input);
    // the request through the FA leaves from the home address: let it out (rule 988) before the controller sends it
    void this.rulesDo(async () => {
      if (this.link?.iface === fa.iface) await this.policy.setFaRequest({ iface: fa.iface, addr: fa.addr });
    }).then(() => this.loop.enqueue(() => this.input(input)));
  }

  private onProbeResult(run: ProbeRun, e: RegistrationEvent, result: RegistrationResult): void {
    this.publish({ ...e, homeAgent: this.opts.profile.homeAgent });
    if (result.status === 'accepted' && result.tnc) {
      // the HA's binding now points at the link: the driver's client takes it over (and refreshes it) from here
      this.pending = { kind: 'direct', attempt: run.attempt };
      const format = TUNNEL_FORMATS.find((f) => f === e.encapsulation) ?? 'ip-in-ip';
      this.mip.register({ coa: run.coa, source: run.source, accepted: { udpTunnel: e.udpTunnel === true, format } });
    }
    this.input({ kind: 'direct-registration', attempt: run.attempt, result });
  }

  private onMipEvent(e: MipEvent, p: Pending | undefined): void {
    if (isRegistrationEvent(e)) {
      this.publish({ ...e, homeAgent: this.opts.profile.homeAgent });
      const result = registrationResult(e);
      if (result && p) {
        if (result.status !== 'accepted' && this.pending === p) this.pending = undefined;
        this.input({ kind: p.kind === 'direct' ? 'direct-registration' : 'vpn-registration', attempt: p.attempt, result });
      }
      return;
    }
    // the binding's liveness story (suspect → refresh → result) is part of the timeline as it is
    if (e.type === 'liveness') return this.publish(e);
    const f = flat(e);
    if (f.type === 'warning') this.publish({ type: 'log', level: 'warn', msg: String(f.message ?? f.code) });
    else this.publish({ type: 'log', level: 'debug', msg: String(f.type), ctx: f });
  }
}
