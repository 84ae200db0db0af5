/**
 * The VPN's I/O shell: the ONLY loop around the sans-I/O IKE SA core
 * (js-quic's shape: feed an input, drain poll*, execute effects, re-arm one
 * timer). Everything outside the process comes from its Platform (clock,
 * timers, random, TUN, UDP, network configuration, link events).
 *
 *   1. start: sockets on the kernel's source towards the gateway (udp-pool.ts);
 *      the core (configured by ikev2/profile-config.ts) is told `connect`.
 *   2. IKE: UDP → core.handleDatagram (port 4500 split by esp/udp-encap.ts); transmits → UDP.
 *   3. effects: set-tia and routes (vpn-tun.ts), install/remove-child-sa
 *      (vpn-data-path.ts: ESP in JavaScript or native, SAs in esp/sa-table.ts),
 *      path, keylog, EAP-TLS (vpn-credentials.ts), events.
 *   4. closed: a new SA (ikev2/reconnect-policy.ts) or the end.
 *   5. stop: `disconnect` (DELETE), wait for the core to close (bounded),
 *      then undo everything set up, in reverse.
 *   6. MOBIKE (RFC 4555): roam() → vpn-roam.ts → the core's `roam`.
 */
import type { Instant } from '../base/clock.ts';
import type { VpnProfile } from '../config/profile.ts';
import { classifyUdp4500 } from '../esp/udp-encap.ts';
import { IkeSa } from '../ikev2/ike-sa.ts';
import { firstDhGroup } from '../ikev2/tasks/ike-init.ts';
import { ikeSaConfig } from '../ikev2/profile-config.ts';
import { ReconnectPolicy } from '../ikev2/reconnect-policy.ts';
import type { Command, Datagram, Effect, Endpoint, IkeSaConfig } from '../ikev2/types.ts';
import { KeyLog, espKeylogLines, ikeKeylogLine } from './keylog.ts';
import { waitAtMost } from './platform-wait.ts';
import type { Platform, PlatformTimer } from './platform.ts';
import { linuxPlatform } from './platform-linux.ts';
import { RxGuard } from './rx-guard.ts';
import { UdpPool } from './udp-pool.ts';
import { EapTlsRunner, loadVpnCredentials } from './vpn-credentials.ts';
import { VpnDataPath } from './vpn-data-path.ts';
import type { VpnCounters } from './vpn-data-path.ts';
import type { VpnDriverOptions, VpnResult } from './vpn-options.ts';
import { VpnRoamer } from './vpn-roam.ts';
import { InitPreparer } from './ike-prepare.ts';
import { VpnTun } from './vpn-tun.ts';

export { rangeToPrefixes } from './vpn-tun.ts';
export type { VpnDriverOptions, VpnResult } from './vpn-options.ts';

export class VpnDriver {
  private core?: IkeSa;
  private udp?: UdpPool;
  private readonly platform: Platform;
  /** one hostile or malformed datagram is counted (dropped['rx-error']) and reported, never fatal */
  private readonly rxGuard: RxGuard;
  private readonly timer: PlatformTimer;
  private readonly data: VpnDataPath;
  private readonly tun: VpnTun;
  private readonly roamer: VpnRoamer;
  private readonly reconnect: ReconnectPolicy;
  private readonly reconnectTimer: PlatformTimer;
  private path?: { local: Endpoint; remote: Endpoint };
  /** INTERNAL_IP4_DNS and INTERNAL_DNS_DOMAIN of the CP reply */
  private dns?: { servers: string[]; domains: string[] };
  private readonly undo: (() => Promise<void>)[] = [];
  /** Network changes and events run in order on this chain, so "established" follows a configured TUN. */
  private chain: Promise<void> = Promise.resolve();
  private readonly keylog?: KeyLog;
  private tls?: EapTlsRunner;
  private finish!: (r: VpnResult) => void;
  private readonly done: Promise<VpnResult>;
  private closedResult?: VpnResult;
  private config?: IkeSaConfig;
  /** the next IKE_SA_INIT's key pair and nonce (the engine shares one between its drivers) */
  private readonly preparer: InitPreparer;
  private stopping = false;
  readonly counters: VpnCounters;

  constructor(private readonly opts: VpnDriverOptions) {
    const p = this.platform = opts.platform ?? linuxPlatform();
    if (opts.keylog) this.keylog = new KeyLog(opts.keylog);
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.rxGuard = new RxGuard('an IKE/ESP datagram or TUN packet', (msg) => this.log('warn', msg), () => this.data.count('rx-error'), 1000, () => p.clock.now());
    this.timer = p.clock.timer(() => this.rxGuard.run(() => this.onTimeout()));
    this.reconnect = new ReconnectPolicy(opts.profile.vpn?.reconnect ?? false);
    this.preparer = opts.preparer ?? new InitPreparer(p.clock, (n) => p.random(n));
    this.reconnectTimer = p.clock.timer(() => {
      if (!this.stopping) this.connect();
    });
    this.data = new VpnDataPath({
      send: (t) => this.udp?.send(t),
      path: () => this.path,
      onInboundTraffic: () => this.core?.handleInboundTraffic(p.clock.now()),
      rekey: () => this.command({ type: 'rekey-child' }),
      onIke: (bytes, from) => this.onDatagram({ bytes, local: { addr: this.path?.local.addr ?? this.udp!.localAddr, port: this.udp!.nattPort }, remote: from }),
      log: (level, msg) => this.log(level, msg),
    });
    this.counters = this.data.counters;
    this.tun = new VpnTun({
      platform: p, name: opts.tunName ?? 'hw%d', gateway: opts.profile.vpn?.gateway ?? '', undo: (step) => this.undo.push(step),
      onOpen: (tun) => {
        const local = this.path?.local.addr ?? this.udp!.localAddr;
        const closeNative = this.data.attach(tun, this.udp!.nattOf(local), this.path?.remote ?? { addr: this.vpn.gateway, port: 4500 }, this.vpn.esp, this.rxGuard);
        if (closeNative) this.undo.push(async () => closeNative());
      },
      onRouted: (tia, dev) => this.opts.onReady?.({ tia, local: this.path?.local.addr ?? this.udp?.localAddr ?? '', dev, ...(this.dns ? { dns: this.dns } : {}) }),
    });
    this.roamer = new VpnRoamer({
      platform: p, gateway: opts.profile.vpn?.gateway ?? '', udp: () => this.udp, inactive: () => this.closedResult !== undefined || this.config === undefined,
      established: () => this.core?.state === 'established', pathLocal: () => this.path?.local.addr, tunName: () => this.tun.tun?.name,
      followRoute: (route) => this.tun.followRoute(route), gatewayRouted: () => this.tun.gatewayRouted,
      setLocal: (addr) => {
        if (this.config) this.config = { ...this.config, localAddr: addr };
      },
      command: (c) => this.command(c),
    });
  }

  private get vpn(): VpnProfile {
    return this.opts.profile.vpn!;
  }

  private log(level: 'info' | 'warn', msg: string): void {
    this.opts.emit({ type: 'log', level, msg });
  }

  // 1. start
  async start(): Promise<VpnResult> {
    if (!this.opts.profile.vpn) throw new Error('the profile has no "vpn" section');
    const vpn = this.vpn;
    const clock = this.platform.clock;
    const creds = await loadVpnCredentials(vpn);
    if (creds.tls) this.tls = new EapTlsRunner(creds.tls, clock, (r) => this.command({ type: 'eap-tls-output', ...r }));
    const route = await this.platform.net.getRoute(vpn.gateway);
    const localAddr = route.prefsrc;
    if (!localAddr) throw new Error(`no local address towards ${vpn.gateway}`);
    const udp = this.udp = new UdpPool(await this.platform.openUdpTransport(localAddr), (a) => this.platform.openUdpTransport(a));
    this.undo.push(async () => this.closeSockets());
    // stop() during the awaits above found nothing to undo yet: close what we just opened and never connect
    if (this.stopping) return this.abandonStart();
    const addresses = vpn.mobike ? await this.roamer.usableAddresses().catch(() => [localAddr]) : [];
    for (const a of addresses) await udp.add(a).catch(() => undefined);
    this.tun.physicalRoute(route);
    this.config = ikeSaConfig(vpn, {
      localAddr, ikePort: udp.ikePort, nattPort: udp.nattPort, addresses, wallOffsetMs: clock.wallNow() - clock.now(), auth: creds.auth,
    });
    if (this.opts.retransmitCapMs !== undefined) this.config = { ...this.config, retransmitCapMs: this.opts.retransmitCapMs };
    if (this.stopping) return this.abandonStart();
    udp.onDatagram((d) => this.rxGuard.run(() => this.onDatagram(d)));
    this.connect();
    if (this.opts.monitor && vpn.mobike) {
      const close = await this.roamer.watch(this.opts.tunName ? [this.opts.tunName] : [], (msg) => this.log('warn', msg));
      this.undo.push(async () => close());
    }
    return this.done;
  }

  private closeSockets(): void {
    this.roamer.close();
    this.udp?.close();
  }

  /** start() saw stop(): the sockets it opened meanwhile are closed, the result is stop()'s. */
  private abandonStart(): Promise<VpnResult> {
    this.closeSockets();
    if (!this.closedResult) this.closedResult = {};
    this.finish(this.closedResult);
    return this.done;
  }

  private connect(): void {
    // the key pair and nonce prepared while idle, if any (used by this SA only: take() forgets them)
    const prepared = this.preparer.take(firstDhGroup(this.config!.ike));
    this.core = new IkeSa(this.config!, (n) => this.platform.random(n), prepared);
    this.command({ type: 'connect' });
  }

  command(c: Command): void {
    if (!this.core) return;
    this.core.handleCommand(c, this.platform.clock.now());
    this.drain();
  }

  /** Sends DELETE, waits (bounded) for the core to close, then undoes everything. */
  async stop(): Promise<VpnResult> {
    if (this.closedResult) return this.done;
    this.stopping = true;
    this.reconnectTimer.stop();
    if (!this.core || this.core.state === 'closed') {
      await this.teardown({});
      return this.done;
    }
    this.command({ type: 'disconnect' });
    await waitAtMost(this.platform.clock, this.opts.stopTimeoutMs ?? 3000, this.done);
    if (!this.closedResult) await this.teardown({});
    return this.done;
  }

  // 2. IKE in/out
  private onDatagram(d: Datagram): void {
    if (d.local.port === this.udp?.nattPort) {
      // RFC 3948 §2.2: IKE (the core strips the marker itself) | keepalive | ESP
      const c = classifyUdp4500(d.bytes);
      if (c.kind === 'keepalive') return;
      if (c.kind === 'esp' || (c.kind === 'invalid' && c.reason !== 'short-ike')) return this.data.onEsp(d.bytes);
    }
    this.core?.handleDatagram(d, this.platform.clock.now());
    this.drain();
  }

  private onTimeout(): void {
    this.core?.handleTimeout(this.platform.clock.now());
    this.drain();
  }

  private drain(): void {
    if (!this.core) return;
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) this.udp?.send(t);
    for (let e = this.core.pollEffect(); e; e = this.core.pollEffect()) this.execute(e);
    this.timer.arm(this.core.nextTimeout());
  }

  // 3. effects
  private execute(e: Effect): void {
    switch (e.type) {
      case 'event': {
        let ev = e.event;
        // an error we recover from by reconnecting is not fatal for the process
        if (ev.type === 'error' && this.reconnect.recovers({ code: ev.code }, this.stopping)) ev = { ...ev, fatal: false };
        if (ev.type === 'ike-sa' && ev.state === 'established') this.reconnect.established();
        // the SA is installed: the next IKE_SA_INIT's key pair and nonce are made meanwhile, off its path
        if (ev.type === 'child-sa' && ev.state === 'installed' && this.config) this.preparer.soon(firstDhGroup(this.config.ike));
        const out = ev;
        this.chain = this.chain.then(() => this.opts.emit(out));
        return;
      }
      case 'keylog-ike': return this.keylog?.write([ikeKeylogLine(e.keys)]);
      case 'eap-tls': return this.tls?.step(e.input);
      case 'path':
        this.path = { local: e.local, remote: e.remote };
        this.data.setPath(this.udp?.nattOf(e.local.addr), e.remote);
        return;
      case 'set-tia':
        this.dns = { servers: e.dns, domains: e.domains };
        this.serial(() => this.tun.setTia(e.address));
        return;
      case 'install-child-sa': {
        const c = e.child;
        this.data.install(c, e.delayOutbound === true);
        this.keylog?.write(espKeylogLines(c, this.path?.local.addr ?? this.udp!.localAddr, this.path?.remote.addr ?? this.vpn.gateway));
        this.tun.setRemoteTs(c.remoteTs);
        this.serial(() => this.tun.addRoutes());
        return;
      }
      case 'remove-child-sa': return this.data.remove(e.spiIn);
      case 'closed':
        if (this.reconnect.recovers(e.error, this.stopping)) {
          this.chain = this.chain.then(() => this.scheduleReconnect());
          return;
        }
        this.chain = this.chain.then(() => this.teardown(e.error ? { error: e.error } : {}));
    }
  }

  /** After the SA died (DPD, timeout, gateway DELETE) with reconnect on: keep TUN and routes, start a new SA. */
  private scheduleReconnect(): void {
    this.data.clear();
    const delay = this.reconnect.nextDelay();
    this.log('info', `reconnecting to ${this.config!.gateway} in ${delay} ms`);
    this.reconnectTimer.arm(this.platform.clock.now() + delay);
  }

  private serial(op: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      try {
        await op();
      } catch (err) {
        this.opts.emit({ type: 'error', code: 'NETCONFIG', message: (err as Error).message, fatal: true });
        this.command({ type: 'disconnect' });
      }
    });
  }

  /**
   * ESP packets sent and authentic ones received so far, both paths together:
   * the JavaScript path's counters and the native path's (read from the addon
   * on call, never per packet). The engine's one-sided liveness samples these.
   */
  espTotals(): { out: number; in: number } {
    const n = this.data.nativeStats();
    return { out: this.counters.espOut + (n?.espOut ?? 0), in: this.counters.espIn + (n?.espIn ?? 0) };
  }

  /** A liveness check now (an empty INFORMATIONAL, RFC 7296 §1.4), queued behind an exchange in flight. */
  checkLiveness(): void {
    this.command({ type: 'dpd-now' });
  }

  /** Counters of the native ESP path while it runs (undefined on the JavaScript path). */
  nativeStats(): ReturnType<VpnDataPath['nativeStats']> {
    return this.data.nativeStats();
  }

  // 6. stop
  private async teardown(result: VpnResult): Promise<void> {
    if (this.closedResult) return;
    this.closedResult = result;
    this.tls?.close();
    this.timer.stop();
    this.reconnectTimer.stop();
    // a key pair of our own prepared for a reconnect that will not come goes with us (a shared one stays for the next driver)
    if (!this.opts.preparer) this.preparer.clear();
    // the core may still have a final transmit (the DELETE response) queued
    for (let t = this.core?.pollTransmit(); t; t = this.core?.pollTransmit()) this.udp?.send(t);
    await waitAtMost(this.platform.clock, 50);
    for (const u of this.undo.reverse()) {
      try {
        await u();
      } catch {
        // best effort: keep undoing the rest
      }
    }
    this.data.table.clear();
    this.finish(result);
  }

  // 7. MOBIKE
  /** Our address towards the gateway changed (or may have): see VpnRoamer.roam (localAddr: default the kernel's source; eventAt: when, for `ms`). */
  roam(localAddr?: string, eventAt: Instant = this.platform.clock.now()): Promise<void> {
    return this.roamer.roam(localAddr, eventAt);
  }
}
