/**
 * The VPN's I/O shell: the ONLY loop around the sans-I/O IKE SA core
 * (js-quic's shape: feed an input, drain poll*, execute effects, re-arm one
 * timer). It owns the UDP sockets, the TUN and the ESP SAs.
 *
 * Packet path, in the order the methods below appear:
 *   1. start: local address = the kernel's source towards the gateway;
 *      sockets on 500/4500 (or ephemeral); the core is told `connect`.
 *   2. IKE: UDP → core.handleDatagram; transmits → UDP.
 *   3. effects: set-tia (TUN up with the TIA), install/remove-child-sa
 *      (ESP SAs; routes for the remote traffic selectors via the TUN, a host
 *      route keeping the gateway on the physical path), path, keylog, events.
 *   4. outbound: TUN → newest ESP SA → UDP 4500 (ESP always in UDP here:
 *      strongSwan's kernel-libipsec always encapsulates).
 *   5. inbound: UDP 4500 → keepalive | IKE (non-ESP marker) | ESP → SA by
 *      SPI → decapsulate → TUN.
 *   6. stop: `disconnect` (DELETE), wait for the core to close (bounded),
 *      then undo everything set up, in reverse.
 *   7. MOBIKE (RFC 4555): roam() (called by the engine, or by our own
 *      NetMonitor with `monitor`) opens sockets on the new local address,
 *      tells the core, and keeps the old sockets open for a grace period so
 *      packets still arriving on the old path are accepted.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadLocalCredential, loadTrustAnchor } from '../ikev2/cert-auth.ts';
import { backoff } from '../base/clock.ts';
import { inPrefix, ipv4ToU32, u32ToIPv4 } from '../base/ipv4.ts';
import type { Prefix } from '../base/ipv4.ts';
import type { Profile } from '../config/profile.ts';
import { InboundEspSa, OutboundEspSa } from '../esp/esp-sa.ts';
import { classifyUdp4500 } from '../esp/udp-encap.ts';
import { IkeSa } from '../ikev2/ike-sa.ts';
import type { ChildSaInfo, Command, Datagram, Effect, Endpoint, IkeEventJson, IkeSaConfig, Transmit, TsRange } from '../ikev2/types.ts';
import { KeyLog, espKeylogLines, ikeKeylogLine } from './keylog.ts';
import { netconfig } from './netconfig.ts';
import type { NetConfig } from './netconfig.ts';
import { openTun } from './native-tun.ts';
import { DriverTimer, monotonicNow } from './system-clock.ts';
import type { TunDevice } from './tun-device.ts';
import { openUdpTransport } from './udp-transport.ts';
import { RxGuard } from './rx-guard.ts';
import type { UdpTransport } from './udp-transport.ts';
import { NetMonitor } from './net-monitor.ts';
import { resolveSecret } from './secrets.ts';
import { NodeTlsEngine } from './eap-tls-engine.ts';
import type { TlsEngineOptions } from './eap-tls-engine.ts';
import { NativeEspPath } from './native-esp-path.ts';
import type { NattHandle } from './udp-transport.ts';

export interface VpnDriverOptions {
  profile: Profile;
  emit: (event: IkeEventJson) => void;
  keylog?: string;
  tunName?: string;
  /** ms to wait for the gateway's answer to our DELETE at stop */
  stopTimeoutMs?: number;
  /**
   * Called once the TUN holds the TIA and the routes for the traffic selectors
   * are installed — from then on a packet sent from the TIA enters the tunnel
   * (app/io/engine.ts registers with the home agent through it).
   */
  onReady?(info: { tia: string; local: string; dev: string; /** the gateway's DNS servers and split-DNS domains (RFC 8598) */ dns?: { servers: string[]; domains: string[] } }): void;
  /** Watch the kernel's links ourselves and roam on a change (`vpn up` standalone; the engine calls roam() itself). */
  monitor?: boolean;
}

/** ms the sockets of an address we left stay open (late packets on the old path are still accepted). */
const OLD_PATH_GRACE_MS = 5000;

/**
 * UDP sockets on every local address we may use (MOBIKE), looking like one
 * transport: a send goes out of the sockets bound to its `local.addr`;
 * datagrams are reported with the first address's port numbers.
 */
class UdpPool implements UdpTransport {
  private readonly byAddr = new Map<string, UdpTransport>();
  private readonly opening = new Map<string, Promise<void>>();
  private handler?: (d: Datagram) => void;
  readonly stats = { rx: 0, tx: 0, txErrors: 0 };

  constructor(private readonly first: UdpTransport) {
    this.adopt(first);
  }

  get localAddr(): string {
    return this.first.localAddr;
  }

  get ikePort(): number {
    return this.first.ikePort;
  }

  get nattPort(): number {
    return this.first.nattPort;
  }

  has(addr: string): boolean {
    return this.byAddr.has(addr);
  }

  addresses(): string[] {
    return [...this.byAddr.keys()];
  }

  async add(addr: string): Promise<void> {
    if (this.byAddr.has(addr)) return;
    const pending = this.opening.get(addr) ?? openUdpTransport(addr).then((t) => this.adopt(t));
    this.opening.set(addr, pending);
    try {
      await pending;
    } finally {
      this.opening.delete(addr);
    }
  }

  private adopt(t: UdpTransport): void {
    this.byAddr.set(t.localAddr, t);
    t.onDatagram((d) => {
      this.stats.rx++;
      const port = d.local.port === t.nattPort ? this.nattPort : this.ikePort;
      this.handler?.({ ...d, local: { addr: d.local.addr, port } });
    });
  }

  remove(addr: string): void {
    const t = this.byAddr.get(addr);
    if (!t || t === this.first) return;
    this.byAddr.delete(addr);
    t.close();
  }

  onDatagram(h: (d: Datagram) => void): void {
    this.handler = h;
  }

  send(t: Transmit): void {
    const u = this.byAddr.get(t.local.addr);
    if (!u) {
      this.stats.txErrors++;
      return;
    }
    this.stats.tx++;
    u.send({ ...t, local: { addr: t.local.addr, port: t.local.port === this.nattPort ? u.nattPort : u.ikePort } });
  }

  /** The NAT-T socket of one local address, for the native data plane. */
  nattOf(addr: string): NattHandle | undefined {
    return this.byAddr.get(addr)?.natt?.();
  }

  close(): void {
    for (const t of this.byAddr.values()) t.close();
    this.byAddr.clear();
  }
}

export interface VpnResult {
  error?: { code: string; message: string };
}

/**
 * The VPN's inner MTU. In mode mc the Mobile IP tunnel runs inside it: the
 * home-address TUN's 1400 plus the IP-in-IP header (20) must fit, and 1420
 * plus ESP-in-UDP (IP 20 + UDP 8 + ESP 8 + IV ≤ 16 + pad/trailer ≤ 17 + ICV ≤ 16)
 * still fits a 1500-byte link.
 */
const TUN_MTU = 1420;

export class VpnDriver {
  private core?: IkeSa;
  private udp?: UdpPool;
  private monitor?: NetMonitor;
  private readonly retiring = new Map<string, ReturnType<typeof setTimeout>>();
  private tun?: TunDevice;
  private readonly net: NetConfig = netconfig();
  /** one hostile or malformed datagram is counted (dropped['rx-error']) and reported, never fatal */
  private readonly rxGuard = new RxGuard('an IKE/ESP datagram or TUN packet', (msg) => this.opts.emit({ type: 'log', level: 'warn', msg }), () => this.count('rx-error'));
  private readonly timer = new DriverTimer(() => this.rxGuard.run(() => this.onTimeout()));
  private readonly espByInSpi = new Map<number, InboundEspSa>();
  private readonly outByInSpi = new Map<number, OutboundEspSa>();
  private outboundSa?: OutboundEspSa;
  /** The native ESP path of the TUN (undefined: the JavaScript path below carries the packets). */
  private native?: NativeEspPath;
  private readonly childByInSpi = new Map<number, ChildSaInfo>();
  private readonly childOfOut = new WeakMap<OutboundEspSa, ChildSaInfo>();
  private readonly rekeyAsked = new WeakSet<OutboundEspSa>();
  private path?: { local: Endpoint; remote: Endpoint };
  private tia?: string;
  /** INTERNAL_IP4_DNS and INTERNAL_DNS_DOMAIN of the CP reply */
  private dns?: { servers: string[]; domains: string[] };
  private readonly undo: (() => Promise<void>)[] = [];
  /** Network changes and events run in order on this chain, so "established" follows a configured TUN. */
  private chain: Promise<void> = Promise.resolve();
  private routed = false;
  private readonly keylog?: KeyLog;
  private finish!: (r: VpnResult) => void;
  private readonly done: Promise<VpnResult>;
  private closedResult?: VpnResult;
  private config?: IkeSaConfig;
  private stopping = false;
  private everEstablished = false;
  private reconnectAttempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  readonly counters = { tunIn: 0, tunOut: 0, espIn: 0, espOut: 0, dropped: {} as Record<string, number> };

  private get outbound(): OutboundEspSa | undefined {
    return this.outboundSa;
  }

  /** Every switch of the outbound SA reaches the native path too. */
  private set outbound(sa: OutboundEspSa | undefined) {
    this.outboundSa = sa;
    this.native?.setOutbound(sa && this.childOfOut.get(sa));
  }

  constructor(private readonly opts: VpnDriverOptions) {
    if (opts.keylog) this.keylog = new KeyLog(opts.keylog);
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  // 1. start
  async start(): Promise<VpnResult> {
    const vpn = this.opts.profile.vpn;
    if (!vpn) throw new Error('the profile has no "vpn" section');
    const cert = vpn.auth.kind === 'cert' ? {
      credential: loadLocalCredential({ certPem: readFileSync(vpn.auth.cert, 'utf8'), keyPem: readFileSync(vpn.auth.key, 'utf8') }),
      anchors: [loadTrustAnchor(readFileSync(vpn.ca!, 'utf8'))],
    } : undefined;
    const eap = await this.eapConfig();
    const route = await this.net.getRoute(vpn.gateway);
    const localAddr = route.prefsrc;
    if (!localAddr) throw new Error(`no local address towards ${vpn.gateway}`);
    this.udp = new UdpPool(await openUdpTransport(localAddr));
    this.undo.push(async () => {
      for (const t of this.retiring.values()) clearTimeout(t);
      this.udp?.close();
    });
    // stop() during the awaits above found nothing to undo yet: close what we just opened and never connect
    if (this.stopping) return this.abandonStart();
    const additionalAddrs = vpn.mobike ? await this.usableAddresses().catch(() => [localAddr]) : [];
    if (vpn.mobike) for (const a of additionalAddrs) await this.udp.add(a).catch(() => undefined);
    if (route.dev) this.hostRoute = { dst: `${vpn.gateway}/32`, dev: route.dev, ...(route.gateway ? { via: route.gateway } : {}) };
    this.config = {
      gateway: vpn.gateway, localAddr, ikePort: this.udp.ikePort, nattPort: this.udp.nattPort, remotePort: vpn.port,
      localId: vpn.localId, remoteId: vpn.remoteId, psk: vpn.auth.kind === 'psk' ? vpn.auth.psk : new Uint8Array(0),
      ...(cert ? { cert, wallOffsetMs: Date.now() - monotonicNow() } : {}),
      ...(eap ? { eap, wallOffsetMs: Date.now() - monotonicNow() } : {}), ike: vpn.ike, esp: vpn.esp, remoteTs: vpn.remoteTs,
      requestDns: vpn.requestDns, retransmitBaseMs: vpn.retransmitBaseMs, retransmitTries: vpn.retransmitTries,
      dpdSeconds: vpn.dpdSeconds, natKeepaliveSeconds: vpn.natKeepaliveSeconds, mobike: vpn.mobike,
      ...(vpn.noNatsAllowed ? { noNatsAllowed: true } : {}), ...(additionalAddrs.length > 1 ? { additionalAddrs } : {}),
      ...(vpn.rekeySeconds !== undefined ? { rekeySeconds: vpn.rekeySeconds } : {}),
    };
    if (this.stopping) return this.abandonStart();
    this.udp.onDatagram((d) => this.rxGuard.run(() => this.onDatagram(d)));
    this.connect();
    if (this.opts.monitor && vpn.mobike) await this.startMonitor();
    return this.done;
  }

  /** vpn.auth.eap → the core's EAP settings; stored secrets are looked up now (app/io/secrets.ts). */
  private async eapConfig(): Promise<IkeSaConfig['eap']> {
    const vpn = this.opts.profile.vpn!;
    if (vpn.auth.kind !== 'eap') return undefined;
    const a = vpn.auth.eap;
    const caPem = readFileSync(vpn.ca!, 'utf8');
    const anchors = [loadTrustAnchor(caPem)];
    const identity = a.identity ?? vpn.localId;
    if (a.method === 'tls') {
      const keyPem = typeof a.key === 'string' ? readFileSync(a.key, 'utf8') : await resolveSecret(a.key);
      const certPem = readFileSync(a.cert, 'utf8');
      loadLocalCredential({ certPem, keyPem }); // the same checks as certificate authentication: parses, matches, not encrypted
      this.tlsOptions = { certPem, keyPem, caPem, serverName: vpn.remoteId };
      return { method: { method: 'tls', identity }, anchors, eapOnly: a.eapOnly };
    }
    const password = await resolveSecret(a.password);
    return { method: { method: 'mschapv2', identity, password }, anchors, eapOnly: a.eapOnly };
  }

  private tlsOptions?: TlsEngineOptions;
  private tlsEngine?: NodeTlsEngine;

  /** EAP-TLS: the core's TLS bytes go through node:tls; its answer comes back as a command. */
  private runTls(input: Uint8Array | null): void {
    if (input === null || !this.tlsEngine) {
      this.tlsEngine?.close();
      this.tlsEngine = new NodeTlsEngine(this.tlsOptions!);
    }
    const engine = this.tlsEngine;
    void engine.step(input).then((r) => {
      if (this.tlsEngine !== engine) return;
      if (r.done || r.error) {
        this.tlsEngine = undefined;
        setTimeout(() => engine.close(), 100).unref();
      }
      this.command({ type: 'eap-tls-output', ...r });
    });
  }

  /** start() saw stop(): the sockets it opened meanwhile are closed, the result is stop()'s. */
  private abandonStart(): Promise<VpnResult> {
    for (const t of this.retiring.values()) clearTimeout(t);
    this.udp?.close();
    if (!this.closedResult) this.closedResult = {};
    this.finish(this.closedResult);
    return this.done;
  }

  // 7. MOBIKE
  private async startMonitor(): Promise<void> {
    const monitor = new NetMonitor((link, eventAt) => {
      if (link) void this.roam(undefined, eventAt).catch((e: Error) => this.opts.emit({ type: 'log', level: 'warn', msg: `roam failed: ${e.message}` }));
    }, { exclude: this.opts.tunName ? [this.opts.tunName] : [], quietMs: 20, maxDelayMs: 100, everyBurst: true });
    this.monitor = monitor;
    this.undo.push(async () => monitor.close());
    await monitor.start();
  }

  /** Our IPv4 addresses that could reach the gateway (not loopback, not our TUN). */
  private async usableAddresses(): Promise<string[]> {
    const all = await this.net.listAddresses();
    return all.filter((a) => a.family === 'inet' && a.up && a.scope !== 'host' && a.dev !== this.tun?.name && !a.dev.startsWith('hw'))
      .map((a) => a.address);
  }

  /**
   * Our address towards the gateway changed (or may have): sockets on the new
   * address, then the core moves the SAs and sends UPDATE_SA_ADDRESSES.
   * localAddr defaults to the kernel's source towards the gateway; eventAt
   * (monotonic ms) is when the change happened, for the `ms` of `mobike-update`.
   * Calls run one after another: each reads the kernel's view when its turn
   * comes, so two changes in quick succession cannot finish in reverse order
   * and leave the SA on the older address. A call like one still waiting its
   * turn joins it (keeping the earlier eventAt): a storm of notifications
   * queues at most one re-read.
   */
  roam(localAddr?: string, eventAt: number = monotonicNow()): Promise<void> {
    const waiting = this.roamWaiting;
    if (waiting && waiting.localAddr === localAddr) {
      waiting.eventAt = Math.min(waiting.eventAt, eventAt);
      return waiting.done;
    }
    const entry: { localAddr?: string; eventAt: number; done: Promise<void> } = { localAddr, eventAt, done: Promise.resolve() };
    entry.done = this.roamQueue.then(() => {
      if (this.roamWaiting === entry) this.roamWaiting = undefined;
      return this.roamNow(entry.localAddr, entry.eventAt);
    });
    this.roamWaiting = entry;
    this.roamQueue = entry.done.catch(() => undefined);
    return entry.done;
  }

  private roamQueue: Promise<void> = Promise.resolve();
  /** the roam() call queued behind the one running, not started yet */
  private roamWaiting?: { localAddr?: string; eventAt: number; done: Promise<void> };

  private async roamNow(localAddr: string | undefined, eventAt: number): Promise<void> {
    const gw = this.config?.gateway;
    if (!gw || !this.udp || this.closedResult) return;
    const route = await this.net.getRoute(gw);
    const addr = localAddr ?? route.prefsrc;
    if (!addr) return;
    const addresses = await this.usableAddresses().catch(() => [addr]);
    await this.udp.add(addr);
    for (const a of addresses) await this.udp.add(a).catch(() => undefined);
    this.retireOldSockets(new Set([...addresses, addr]));
    if (this.hostRoute && route.dev && this.routedGateway) {
      const hr = { dst: `${gw}/32`, dev: route.dev, ...(route.gateway ? { via: route.gateway } : {}) };
      await this.net.replaceRoute(hr).catch(() => undefined);
      this.hostRoute = hr;
    }
    this.config = { ...this.config!, localAddr: addr };
    if (this.core?.state !== 'established' || this.path?.local.addr === addr) {
      this.command({ type: 'addresses', addresses: [addr, ...addresses.filter((a) => a !== addr)] });
      return;
    }
    this.command({ type: 'roam', localAddr: addr, addresses, eventAt });
  }

  /** Sockets on addresses we no longer have close after a grace period. */
  private retireOldSockets(keep: Set<string>): void {
    for (const a of this.udp!.addresses()) {
      if (keep.has(a)) {
        const t = this.retiring.get(a);
        if (t) clearTimeout(t);
        this.retiring.delete(a);
      } else if (!this.retiring.has(a)) {
        this.retiring.set(a, setTimeout(() => {
          this.retiring.delete(a);
          if (this.path?.local.addr !== a) this.udp?.remove(a);
        }, OLD_PATH_GRACE_MS));
      }
    }
  }

  private connect(): void {
    this.core = new IkeSa(this.config!, (n) => new Uint8Array(randomBytes(n)));
    this.command({ type: 'connect' });
  }

  /** After the SA died (DPD, timeout, gateway DELETE) with reconnect on: keep TUN and routes, start a new SA. */
  private shouldReconnect(error?: { code: string }): boolean {
    const reconnectable = !error || error.code === 'DEAD_PEER' || error.code === 'TIMEOUT';
    return !this.stopping && this.opts.profile.vpn!.reconnect && this.everEstablished && reconnectable;
  }

  private scheduleReconnect(): void {
    this.espByInSpi.clear();
    this.outByInSpi.clear();
    this.childByInSpi.clear();
    this.native?.clear();
    this.outbound = undefined;
    const delay = backoff(this.reconnectAttempt++, 1000, 2, 30_000);
    this.opts.emit({ type: 'log', level: 'info', msg: `reconnecting to ${this.config!.gateway} in ${delay} ms` });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.connect();
    }, delay);
  }

  private hostRoute?: { dst: string; dev: string; via?: string };
  /** the host route keeping the gateway on the physical path is installed (it follows roams) */
  private routedGateway = false;

  command(c: Command): void {
    if (!this.core) return;
    this.core.handleCommand(c, monotonicNow());
    this.drain();
  }

  /** Sends DELETE, waits (bounded) for the core to close, then undoes everything. */
  async stop(): Promise<VpnResult> {
    if (this.closedResult) return this.done;
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (!this.core || this.core.state === 'closed') {
      await this.teardown({});
      return this.done;
    }
    this.command({ type: 'disconnect' });
    const limit = new Promise<void>((r) => setTimeout(r, this.opts.stopTimeoutMs ?? 3000).unref());
    await Promise.race([this.done, limit]);
    if (!this.closedResult) await this.teardown({});
    return this.done;
  }

  // 2. IKE in/out
  private onDatagram(d: Datagram): void {
    if (d.local.port === this.udp?.nattPort) {
      // RFC 3948 §2.2: IKE (the core strips the marker itself) | keepalive | ESP
      const c = classifyUdp4500(d.bytes);
      if (c.kind === 'keepalive') return;
      if (c.kind === 'esp' || (c.kind === 'invalid' && c.reason !== 'short-ike')) return this.onEsp(d.bytes);
    }
    this.core?.handleDatagram(d, monotonicNow());
    this.drain();
  }

  private onTimeout(): void {
    this.core?.handleTimeout(monotonicNow());
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
        if (ev.type === 'error' && typeof ev.code === 'string' && this.shouldReconnect({ code: ev.code })) ev = { ...ev, fatal: false };
        if (ev.type === 'ike-sa' && ev.state === 'established') {
          this.everEstablished = true;
          this.reconnectAttempt = 0;
        }
        this.chain = this.chain.then(() => this.opts.emit(ev));
        return;
      }
      case 'keylog-ike': return this.keylog?.write([ikeKeylogLine(e.keys)]);
      case 'eap-tls': return this.runTls(e.input);
      case 'path':
        this.path = { local: e.local, remote: e.remote };
        this.native?.setPath(this.udp?.nattOf(e.local.addr), e.remote);
        return;
      case 'set-tia':
        this.dns = { servers: e.dns, domains: e.domains };
        this.serial(() => this.setTia(e.address));
        return;
      case 'install-child-sa': return this.installChild(e.child, e.delayOutbound === true);
      case 'remove-child-sa': {
        if (this.pendingOutbound) this.switchOutbound();
        const out = this.outByInSpi.get(e.spiIn);
        this.native?.removeInbound(e.spiIn);
        this.childByInSpi.delete(e.spiIn);
        this.espByInSpi.delete(e.spiIn);
        this.outByInSpi.delete(e.spiIn);
        if (out && this.outbound === out) this.outbound = [...this.outByInSpi.values()].at(-1);
        return;
      }
      case 'closed':
        if (this.shouldReconnect(e.error)) {
          this.chain = this.chain.then(() => this.scheduleReconnect());
          return;
        }
        this.chain = this.chain.then(() => this.teardown(e.error ? { error: e.error } : {}));
    }
  }

  private serial(op: () => Promise<void>): void {
    this.chain = this.chain.then(() => this.guard(op));
  }

  private async guard(op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (err) {
      this.opts.emit({ type: 'error', code: 'NETCONFIG', message: (err as Error).message, fatal: true });
      this.command({ type: 'disconnect' });
    }
  }

  private openTunDevice(): TunDevice {
    return openTun(this.opts.tunName ?? 'hw%d');
  }

  private async setTia(address: string): Promise<void> {
    if (!this.tun) {
      const tun = this.openTunDevice();
      this.tun = tun;
      this.undo.push(async () => tun.close());
      if (!this.openNative(tun)) tun.onPacket((pkt) => this.rxGuard.run(() => this.onTunPacket(pkt)));
      await this.net.setMtu(tun.name, TUN_MTU);
      await this.net.linkUp(tun.name);
    }
    if (this.tia === address) return;
    const dev = this.tun.name;
    if (this.tia) {
      await this.net.delAddress(dev, `${this.tia}/32`).catch(() => undefined);
      this.routed = false;
    }
    await this.net.addAddress(dev, `${address}/32`);
    this.tia = address;
    this.undo.push(async () => this.net.delAddress(dev, `${address}/32`).catch(() => undefined));
    await this.addRoutes();
  }

  /** The native ESP path for this TUN, if the addon, the TUN and the suite allow it; false: the JavaScript path. */
  private openNative(tun: TunDevice): boolean {
    const udp = this.udp!;
    const vpn = this.opts.profile.vpn!;
    const local = this.path?.local.addr ?? udp.localAddr;
    const remote = this.path?.remote ?? { addr: vpn.gateway, port: 4500 };
    const fd = 'fd' in tun && typeof tun.fd === 'number' ? tun.fd : undefined;
    const native = NativeEspPath.open(fd, udp.nattOf(local), remote, vpn.esp, {
      onIke: (bytes, from) => this.onDatagram({ bytes, local: { addr: this.path?.local.addr ?? local, port: udp.nattPort }, remote: from }),
      onInbound: (spi) => {
        if (this.pendingOutbound?.spiIn === spi) this.switchOutbound();
        this.core?.handleInboundTraffic(monotonicNow());
      },
      onRekey: () => {
        const sa = this.outbound;
        if (sa && !this.rekeyAsked.has(sa)) {
          this.rekeyAsked.add(sa);
          this.command({ type: 'rekey-child' });
        }
      },
    });
    if (typeof native === 'string') {
      this.opts.emit({ type: 'log', level: 'info', msg: `ESP data path: JavaScript (${native})` });
      return false;
    }
    this.native = native;
    for (const c of this.childByInSpi.values()) native.addInbound(c);
    native.setOutbound(this.outbound && this.childOfOut.get(this.outbound));
    this.undo.push(async () => {
      native.close();
      const s = native.stats();
      if (s) {
        this.counters.tunIn += s.tunIn;
        this.counters.tunOut += s.tunOut;
        this.counters.espIn += s.espIn;
        this.counters.espOut += s.espOut;
      }
      this.native = undefined;
    });
    this.opts.emit({ type: 'log', level: 'info', msg: 'ESP data path: native (batched TUN and UDP, OpenSSL per-SA contexts)' });
    return true;
  }

  /** Counters of the native ESP path while it runs (undefined on the JavaScript path). */
  nativeStats(): ReturnType<NativeEspPath['stats']> {
    return this.native?.stats();
  }

  /** The new outbound SA of a rekey we answered, used once the peer shows it has it (types.ts). */
  private pendingOutbound?: { spiIn: number; out: OutboundEspSa };

  private switchOutbound(): void {
    const p = this.pendingOutbound;
    this.pendingOutbound = undefined;
    if (p && this.outByInSpi.get(p.spiIn) === p.out) this.outbound = p.out;
  }

  private installChild(c: ChildSaInfo, delayOutbound = false): void {
    this.espByInSpi.set(c.spiIn, new InboundEspSa({ spi: c.spiIn, suite: c.suite, keys: c.keysIn, selectors: { local: c.localTs, remote: c.remoteTs } }));
    const out = new OutboundEspSa({ spi: c.spiOut, suite: c.suite, keys: c.keysOut });
    this.childOfOut.set(out, c);
    this.childByInSpi.set(c.spiIn, c);
    if (this.native && !this.native.covers(c)) this.opts.emit({ type: 'log', level: 'warn', msg: `ESP suite ${c.suiteName} is not carried by the native data path` });
    this.native?.addInbound(c);
    this.outByInSpi.set(c.spiIn, out);
    if (delayOutbound && this.outbound) this.pendingOutbound = { spiIn: c.spiIn, out };
    else {
      this.pendingOutbound = undefined;
      this.outbound = out;
    }
    if (this.keylog && this.path) this.keylog.write(espKeylogLines(c, this.path.local.addr, this.path.remote.addr));
    else if (this.keylog) this.keylog.write(espKeylogLines(c, this.udp!.localAddr, this.opts.profile.vpn!.gateway));
    this.remoteTs = c.remoteTs;
    this.serial(() => this.addRoutes());
  }

  private remoteTs: TsRange[] = [];

  /** Routes for the negotiated TSr via the TUN (source = TIA), once TUN and child both exist. */
  private async addRoutes(): Promise<void> {
    if (this.routed || !this.tun || !this.tia || this.remoteTs.length === 0) return;
    this.routed = true;
    const dev = this.tun.name;
    const prefixes = this.remoteTs.flatMap(rangeToPrefixes);
    const gw = this.opts.profile.vpn!.gateway;
    if (this.hostRoute && prefixes.some((p) => inPrefix(gw, p))) {
      const hr = this.hostRoute;
      this.routedGateway = true;
      await this.net.replaceRoute(hr);
      this.undo.push(async () => this.net.delRoute(this.hostRoute ?? hr).catch(() => undefined));
    }
    for (const p of prefixes) {
      const dst = `${p.addr}/${p.len}`;
      const spec = p.len === 0 ? { dst: 'default', dev, src: this.tia } : { dst, dev, src: this.tia };
      await this.net.replaceRoute(spec);
      this.undo.push(async () => this.net.delRoute({ dst: spec.dst, dev }).catch(() => undefined));
    }
    this.opts.onReady?.({ tia: this.tia, local: this.path?.local.addr ?? this.udp?.localAddr ?? '', dev, ...(this.dns ? { dns: this.dns } : {}) });
  }

  // 4. outbound
  private onTunPacket(pkt: Uint8Array): void {
    this.counters.tunIn++;
    const sa = this.outbound;
    if (!sa || !this.path || !this.udp || (pkt[0]! >> 4) !== 4) return this.count('no-sa');
    const r = sa.encapsulate(pkt);
    if (!r.ok) return this.count(`esp-${r.reason}`);
    if (r.rekey && !this.rekeyAsked.has(sa)) {
      // sequence numbers running out: a fresh Child SA before they wrap (RFC 4303 §3.3.3)
      this.rekeyAsked.add(sa);
      this.command({ type: 'rekey-child' });
    }
    this.counters.espOut++;
    this.udp.send({ bytes: r.packet, local: this.path.local, remote: this.path.remote });
  }

  // 5. inbound
  private onEsp(b: Uint8Array): void {
    if (this.native) return this.native.inject(b); // one replay window per SA: the native one
    if (b.length < 8) return this.count('esp-short');
    const spi = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const sa = this.espByInSpi.get(spi);
    if (!sa) return this.count('esp-unknown-spi');
    const r = sa.decapsulate(b);
    if (!r.ok) return this.count(`esp-${r.reason}`);
    this.counters.espIn++;
    if (this.pendingOutbound?.spiIn === spi) this.switchOutbound();
    this.core?.handleInboundTraffic(monotonicNow());
    if (r.nextHeader !== 4) return this.count('esp-not-ipv4');
    this.tun?.write(r.inner);
    this.counters.tunOut++;
  }

  private count(reason: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
  }

  // 6. stop
  private async teardown(result: VpnResult): Promise<void> {
    if (this.closedResult) return;
    this.closedResult = result;
    this.tlsEngine?.close();
    this.timer.stop();
    // the core may still have a final transmit (the DELETE response) queued
    for (let t = this.core?.pollTransmit(); t; t = this.core?.pollTransmit()) this.udp?.send(t);
    await new Promise((r) => setTimeout(r, 50));
    for (const u of this.undo.reverse()) {
      try {
        await u();
      } catch {
        // best effort: keep undoing the rest
      }
    }
    this.espByInSpi.clear();
    this.finish(result);
  }
}

/** An address range as the fewest covering prefixes. */
export function rangeToPrefixes(r: TsRange): Prefix[] {
  const out: Prefix[] = [];
  let start = ipv4ToU32(r.start);
  const end = ipv4ToU32(r.end);
  while (start <= end) {
    let len = 32;
    while (len > 0) {
      const size = 2 ** (32 - (len - 1));
      if (start % size !== 0 || start + size - 1 > end) break;
      len--;
    }
    out.push({ addr: u32ToIPv4(start), len });
    start += 2 ** (32 - len);
    if (start > 0xffffffff) break;
  }
  return out;
}
