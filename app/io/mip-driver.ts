/**
 * The Mobile IPv4 mobile node's I/O shell for mode `c` (co-located care-of
 * address): the only loop around the sans-I/O registration client.
 *
 * Packet path, in the order the functions below appear:
 *   1. set-up: TUN holds the home address; the intranet prefixes are routed
 *      into it through a policy table, while the HA itself stays on the main
 *      table (registrations and tunnelled packets never enter the TUN).
 *   2. care-of address: the source the kernel picks towards the HA (or fixed);
 *      re-checked every second, a change re-registers (the core's `move`).
 *   3. registration: the UDP socket (any port ↔ HA:434) feeds the core; its
 *      transmits and events are drained after every input; one timer.
 *   4. outbound: TUN → reverse tunnel to the HA (RFC 3024), as RFC 3519 tunnel
 *      data on the registration socket, or IP-in-IP on a raw socket; nothing
 *      leaves while there is no accepted binding (fail closed, counted).
 *   5. inbound: tunnel data / IP-in-IP from the HA, decapsulated into the TUN
 *      when the inner destination is the home address; the rest is counted.
 *   6. stop: deregister (lifetime 0), wait briefly for the reply, undo set-up.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { Instant } from '../base/clock.ts';
import type { Profile } from '../config/profile.ts';
import { encodeFragmentationNeeded } from '../wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../wire/ip/ipv4-header.ts';
import { openTun } from './native-tun.ts';
import { CAP_NET_ADMIN_HINT, NetConfig, NetConfigError } from './netconfig.ts';
import { openRawSocket, type RawSocket } from './raw-socket.ts';
import { RxGuard } from './rx-guard.ts';
import type { TunDevice, TunStats } from './tun-device.ts';

export const MIP_PORT = 434;
const ROUTE_TABLE = '434';
/** Leaves room for the outer IPv4 header (20), or UDP + tunnel data (32), and a NAT or a VPN on the way. */
export const TUN_MTU = 1400;
const RULE_PREF_HA = 1000;
const RULE_PREF_ROUTES = 1002;

/**
 * What the driver needs from the sans-I/O registration client
 * (app/mip4/registration.ts, quinn-style): inputs carry `now` (monotonic) and
 * `wallMs` (for NTP identifications); outputs are polled.
 */
export type CoreCommand = { type: 'register'; coa: string } | { type: 'move'; coa: string } | { type: 'deregister' };
export interface CoreTransmit {
  bytes: Uint8Array;
  to: { address: string; port: number };
  keepalive?: boolean;
}
export interface CoreEvent {
  type: string;
  state?: string;
  coa?: string;
  lifetime?: number;
  tnc?: boolean;
  code?: number;
  codeName?: string;
  /** true when the accepted binding uses RFC 3519 UDP tunnelling */
  udpTunnel?: boolean;
  [key: string]: unknown;
}
export interface RegistrationCoreLike {
  handleDatagram(bytes: Uint8Array, from: { address: string; port: number }, now: Instant, wallMs: number): void;
  handleCommand(cmd: CoreCommand, now: Instant, wallMs: number): void;
  handleTimeout(now: Instant, wallMs: number): void;
  pollTransmit(): CoreTransmit | undefined;
  pollEvent(): CoreEvent | undefined;
  nextTimeout(): Instant | undefined;
  /** User data went to the HA (restarts the RFC 3519 keepalive timer). */
  handleDataSent?(now: Instant): void;
  /** A tunnelled packet from the HA that may answer a keepalive; true when consumed. */
  handleKeepaliveReply?(inner: Uint8Array, now: Instant): boolean;
  readonly stats?: unknown;
}
export type CoreFactory = (profile: Profile, opts: { localPort: number }) => RegistrationCoreLike;

export interface MipDriverOptions {
  /** Builds the registration client; see RegistrationCoreLike. */
  core: CoreFactory;
  profile: Profile;
  /** Fixed care-of address; otherwise the kernel's source address towards the HA. */
  coa?: string;
  /** Prefixes reached through the home network (default: the profile's vpn.remoteTs). */
  routes: string[];
  tunName: string;
  onEvent(e: Record<string, unknown>): void;
  /**
   * Engine mode (app/io/engine.ts): no care-of watcher and no registration of
   * its own — the caller drives `register()`, `deregister()` and `setDataPath()`.
   */
  manual?: boolean;
  /** Decides, before anything else, whether a packet from the TUN may go now (true) or is taken by the caller (held/dropped). */
  gate?(pkt: Uint8Array): boolean;
}

/** Where outer packets may leave in engine mode: only through this device (SO_BINDTODEVICE), or nowhere. */
export interface DataPath {
  /** the access link (modes c, f) or the VPN's TUN (mode mc) */
  device: string;
  /**
   * Mode f: the foreign agent is the router — packets from the home address
   * leave on the link as they are and the FA reverse-tunnels them (RFC 3024
   * §5.2, direct delivery style); no IP-in-IP from us.
   */
  direct?: boolean;
}

export interface MipDriverStats {
  tunnelledOut: number;
  tunnelledIn: number;
  droppedNoBinding: number;
  /** DF packets too big for the tunnel: answered with ICMP fragmentation needed (RFC 2003 §5.1) */
  tooBig: number;
  droppedMalformed: number;
  droppedWrongSource: number;
  /** tunnel packets from the HA not addressed to the care-of address of our binding (or not on its socket) */
  droppedWrongDestination: number;
  /** packets whose handling threw (counted, reported, dropped) */
  droppedError: number;
  keepalivesSent: number;
}

const nowMs = () => performance.now();

/** A device's MTU from sysfs; undefined when it cannot be read. */
function deviceMtu(dev: string): number | undefined {
  try {
    const v = Number(readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8').trim());
    return Number.isInteger(v) && v >= 68 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a set-up step; clean-up steps pass `tolerate` (the thing may already be gone). */
async function step(what: Promise<void>, tolerate = false): Promise<void> {
  try {
    await what;
  } catch (e) {
    if (tolerate) return;
    const hint = e instanceof NetConfigError && /not permitted/i.test(e.stderr) ? ` (${CAP_NET_ADMIN_HINT})` : '';
    throw new Error(`${(e as Error).message}${hint}`, { cause: e });
  }
}

/** The source address the kernel would use towards `dst`, or undefined when it has no route. */
export function sourceAddressTowards(dst: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => { s.close(); resolve(undefined); });
    s.connect(MIP_PORT, dst, () => {
      const a = s.address().address;
      s.close();
      resolve(a === '0.0.0.0' ? undefined : a);
    });
  });
}

export class MipDriver {
  readonly stats: MipDriverStats = { tunnelledOut: 0, tunnelledIn: 0, droppedNoBinding: 0, tooBig: 0, droppedMalformed: 0, droppedWrongSource: 0, droppedWrongDestination: 0, droppedError: 0, keepalivesSent: 0 };
  private tun?: TunDevice;
  private readonly net = new NetConfig();
  private udp?: dgram.Socket;
  private raw?: RawSocket;
  private core!: RegistrationCoreLike;
  private timer?: NodeJS.Timeout;
  private watch?: NodeJS.Timeout;
  private coa?: string;
  private bound: { coa: string; udpTunnel: boolean } | undefined;
  private stopped = false;
  private deregistered?: () => void;
  private readonly unverifiedCodes = new Set<number>();
  /** engine mode: registration sockets by source address (the co-located CoA or the TIA) */
  private readonly sockets = new Map<string, dgram.Socket>();
  /** engine mode: the send-only raw socket pinned to the data path's device */
  private pinned?: { device: string; direct: boolean; raw: RawSocket; mtu?: number };
  /** engine mode: the foreign agent our requests go through (mode f): its replies are accepted too */
  private via?: string;

  constructor(private readonly opts: MipDriverOptions) {}

  /** The home-address TUN's counters: rx = packets users sent, tx = packets delivered to them. */
  get tunStats(): Readonly<TunStats> | undefined {
    return this.tun?.stats;
  }

  /** The registration client's own counters (dropped replies by reason, …), when it keeps any. */
  get coreStats(): unknown {
    return (this.core as RegistrationCoreLike | undefined)?.stats;
  }

  private get ha(): string {
    return this.opts.profile.homeAgent;
  }

  // 1. set-up
  async start(): Promise<void> {
    const p = this.opts.profile;
    if (!p.mnHaAuth) throw new Error('profile has no mnHaAuth: Mobile IP needs the MN-HA key (RFC 5944 §3.5)');
    const tun = openTun(this.opts.tunName);
    this.tun = tun;
    const net = this.net;
    await step(net.addAddress(tun.name, `${p.homeAddress}/32`));
    await step(net.setMtu(tun.name, TUN_MTU));
    await step(net.linkUp(tun.name));
    if (!this.opts.manual) {
      // standalone: the HA stays on the main table. The engine instead lets only the direct request out by
      // its source (policy-routes.ts) and sends everything else to the HA through the TUN and the gate
      await step(net.ensureRule({ to: `${this.ha}/32`, table: 'main', pref: RULE_PREF_HA }));
      await step(net.ensureRule({ to: `${this.ha}/32`, action: 'unreachable', pref: RULE_PREF_HA + 1 }));
    }
    for (const r of this.opts.routes) {
      // scope global: the kernel never resolves a gateway through it (nexthop lookups skip routes
      // of scope universe), so a router on a trusted subnet inside these prefixes stays on its link
      await step(net.replaceRoute({ dst: r, dev: tun.name, src: p.homeAddress, table: ROUTE_TABLE, scope: 'global' }));
      await step(net.ensureRule({ to: r, table: ROUTE_TABLE, pref: RULE_PREF_ROUTES }));
    }
    this.tun.onPacket((pkt) => this.guard(() => this.handleTunPacket(pkt)));
    this.udp = dgram.createSocket('udp4');
    // send errors (no route while moving, …) arrive here: the core retransmits, the data path counts
    this.udp.on('error', (e) => this.opts.onEvent({ type: 'warning', code: 'UDP_SEND', message: e.message }));
    this.udp.on('message', (m, r) => this.guard(() => this.handleUdp(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), r, undefined)));
    await new Promise<void>((res) => this.udp!.bind(0, res));
    this.raw = openRawSocket(IpProto.IpInIp, { hdrincl: true });
    // engine mode: tunnel packets are taken only from the socket pinned to the data path's device;
    // this one (every interface) only counts what does not match the binding
    this.raw.onPacket((pkt) => this.guard(() => (this.opts.manual ? this.countStrayIpInIp(pkt) : this.handleIpInIp(pkt))));
    this.core = this.opts.core(p, { localPort: this.udp.address().port });
    if (this.opts.manual) return;
    await this.checkCareOf();
    this.watch = setInterval(() => void this.checkCareOf(), 1000);
  }

  // engine mode: the caller drives the registration and the data path
  /**
   * Registers (or moves the binding) with requests sent from `source` — the
   * co-located CoA on the link, or the TIA so that the kernel routes them into
   * the VPN — instead of the socket the kernel would pick.
   */
  register(loc: { coa: string; source: string; via?: string }): void {
    if (this.stopped) return;
    this.source = loc.source;
    this.via = loc.via;
    for (const [addr, s] of this.sockets) {
      if (addr !== loc.source) {
        s.close();
        this.sockets.delete(addr);
      }
    }
    const cmd = { coa: loc.coa, ...(loc.via ? { via: loc.via } : {}) };
    this.core.handleCommand({ type: this.coa === undefined ? 'register' : 'move', ...cmd } as CoreCommand, nowMs(), Date.now());
    this.coa = loc.coa;
    this.drain();
  }

  /** Outer packets leave only through `path.device` from now on (undefined: nowhere). */
  setDataPath(path: DataPath | undefined): void {
    if (this.pinned?.device === path?.device && this.pinned?.direct === (path?.direct === true)) return;
    this.pinned?.raw.close();
    this.pinned = undefined;
    if (!path) return;
    try {
      const raw = openRawSocket(IpProto.IpInIp, { hdrincl: true, device: path.device });
      // the tunnel's receive side: only what arrives on the data path's device (SO_BINDTODEVICE)
      raw.onPacket((pkt) => this.guard(() => this.handleIpInIp(pkt)));
      const mtu = deviceMtu(path.device);
      this.pinned = { device: path.device, direct: path.direct === true, raw, ...(mtu === undefined ? {} : { mtu }) };
    } catch (e) {
      this.opts.onEvent({ type: 'warning', code: 'DATA_PATH', message: `cannot pin the tunnel to ${path.device}: ${(e as Error).message}` });
    }
  }

  /** Sends a packet that the gate held, through the current binding (or counts it dropped). */
  sendOut(pkt: Uint8Array): void {
    this.tunnelOut(pkt);
  }

  /** Deregisters (lifetime 0) without stopping; the result arrives as a `registration` event. */
  deregister(): void {
    if (!this.bound || this.stopped) return;
    this.core.handleCommand({ type: 'deregister' }, nowMs(), Date.now());
    this.drain();
  }

  private source?: string;

  private socketFor(source: string): dgram.Socket {
    let s = this.sockets.get(source);
    if (s) return s;
    const sock = dgram.createSocket('udp4');
    sock.on('error', (e) => {
      this.opts.onEvent({ type: 'warning', code: 'UDP_SEND', message: `${source}: ${e.message}` });
      if (this.sockets.get(source) === sock) this.sockets.delete(source);
      sock.close();
    });
    sock.on('message', (m, r) => this.guard(() => this.handleUdp(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), r, source)));
    sock.bind(0, source); // sends are queued by node until the bind completes
    this.sockets.set(source, sock);
    s = sock;
    return s;
  }

  private sendUdp(bytes: Uint8Array, port: number, address: string): void {
    if (this.opts.manual && this.source) this.socketFor(this.source).send(bytes, port, address);
    else this.udp?.send(bytes, port, address);
  }

  // 2. care-of address
  private async checkCareOf(): Promise<void> {
    if (this.stopped) return;
    const coa = this.opts.coa ?? (await sourceAddressTowards(this.ha));
    if (coa === undefined || coa === this.coa) return;
    const first = this.coa === undefined;
    this.coa = coa;
    this.opts.onEvent({ type: 'care-of', coa, moved: !first });
    this.core.handleCommand(first ? { type: 'register', coa } : { type: 'move', coa }, nowMs(), Date.now());
    this.drain();
  }

  /** One hostile or malformed packet never stops the driver: counted (`droppedError`) and reported, dropped. */
  private readonly rxGuard = new RxGuard('a Mobile IP packet', (msg) => this.opts.onEvent({ type: 'warning', code: 'RX_DROPPED', message: msg }), () => this.stats.droppedError++);

  private guard(fn: () => void): void {
    this.rxGuard.run(fn);
  }

  // 3. registration
  /** `socket`: the source address the receiving socket is bound to (engine mode), undefined for the unbound one */
  private handleUdp(msg: Uint8Array, from: dgram.RemoteInfo, socket: string | undefined): void {
    // the HA, or (mode f) the foreign agent relaying its reply — the core still checks the MN-HA authenticator
    const relayed = this.via !== undefined && from.address === this.via && msg[0] === 3;
    if ((from.address !== this.ha && !relayed) || from.port !== MIP_PORT) {
      this.stats.droppedWrongSource++;
      return;
    }
    if (msg[0] === 4) {
      // engine mode: RFC 3519 tunnel data only while the binding is a UDP-tunnel one (never in mode mc, where
      // the HA sees no NAT), and only on the socket bound to its care-of address. (node's dgram cannot pin a
      // socket to a device: the arrival device is not checked on this path — docs/ENGINE.md)
      if (this.opts.manual && (!this.bound?.udpTunnel || socket !== this.bound.coa)) {
        this.stats.droppedWrongDestination++;
        return;
      }
      this.handleTunnelData(msg);
    }
    else {
      const before = this.droppedForAuth();
      this.core.handleDatagram(msg, { address: from.address, port: from.port }, nowMs(), Date.now());
      if (msg[0] === 3 && msg.length > 1 && msg[1]! >= 128 && this.droppedForAuth() > before) this.reportUnverifiedDenial(msg[1]!);
    }
    this.drain();
  }

  private droppedForAuth(): number {
    const d = (this.coreStats as { dropped?: { auth?: number } } | undefined)?.dropped;
    return d?.auth ?? 0;
  }

  /**
   * A home-agent denial whose authenticator does not verify was dropped by the
   * core and changes nothing. Its code is still the best hint for the user (a
   * wrong MN-HA key shows up exactly like this: the HA answers 131 keyed with
   * the right key), so it is reported once per code, marked unauthenticated.
   */
  private reportUnverifiedDenial(code: number): void {
    if (this.unverifiedCodes.has(code)) return;
    this.unverifiedCodes.add(code);
    this.opts.onEvent({ type: 'registration', state: 'unverified-denial', code, authenticated: false });
  }

  private drain(): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) {
      if (t.keepalive) this.stats.keepalivesSent++;
      this.sendUdp(t.bytes, t.to.port, t.to.address);
    }
    for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) this.handleEvent(e);
    clearTimeout(this.timer);
    const next = this.core.nextTimeout();
    if (next !== undefined && !this.stopped) {
      this.timer = setTimeout(() => this.guard(() => {
        this.core.handleTimeout(nowMs(), Date.now());
        this.drain();
      }), Math.max(0, next - nowMs()));
    }
  }

  private handleEvent(e: CoreEvent): void {
    if (e.type === 'registration' && e.state === 'accepted') this.bound = { coa: e.coa ?? this.coa ?? '', udpTunnel: e.udpTunnel === true };
    // fail closed once the HA has no binding for us; a timed-out re-registration keeps the old one until it expires
    if (e.type === 'registration' && (e.state === 'denied' || e.state === 'expired')) this.bound = undefined;
    if (e.type === 'registration' && e.state === 'deregistered') {
      this.bound = undefined;
      this.deregistered?.();
    }
    this.opts.onEvent(e as unknown as Record<string, unknown>);
  }

  // 4. outbound
  private handleTunPacket(pkt: Uint8Array): void {
    if (this.opts.gate && !this.opts.gate(pkt)) return;
    this.tunnelOut(pkt);
  }

  private tunnelOut(pkt: Uint8Array): void {
    const b = this.bound;
    if (!b) {
      this.stats.droppedNoBinding++;
      return;
    }
    this.stats.tunnelledOut++;
    this.core.handleDataSent?.(nowMs());
    if (b.udpTunnel) {
      const msg = new Uint8Array(4 + pkt.length);
      msg[0] = 4;
      msg[1] = IpProto.IpInIp;
      msg.set(pkt, 4);
      this.sendUdp(msg, MIP_PORT, this.ha);
      return;
    }
    let h;
    try {
      h = decodeIpv4Header(pkt, false);
    } catch {
      this.stats.droppedMalformed++;
      return;
    }
    if (this.opts.manual && this.pinned?.direct) {
      // mode f: to the FA as the link's router, which reverse-tunnels it to the HA
      if (!this.pinned.raw.send(pkt, h.dst)) this.stats.droppedNoBinding++;
      return;
    }
    const df = (h.flags & 0x2) !== 0;
    const mtu = this.pinned?.mtu;
    if (df && mtu !== undefined && pkt.length + 20 > mtu) {
      // RFC 2003 §5.1: the encapsulator answers a DF packet that does not fit the tunnel with
      // "fragmentation needed", next-hop MTU = tunnel MTU − 20, so the sender's PMTU discovery
      // shrinks its segments (mode mc: the IPsec TUN is the tunnel's path)
      this.stats.tooBig++;
      this.tun?.write(encodeIpv4({ src: b.coa, dst: h.src, protocol: IpProto.Icmp, tos: 0xc0 }, encodeFragmentationNeeded(pkt, mtu - 20)));
      return;
    }
    // RFC 2003 §3.1: TOS copied, DF copied
    const outer = encodeIpv4({ src: b.coa, dst: this.ha, protocol: IpProto.IpInIp, tos: h.tos, dontFragment: df }, pkt);
    if (!this.opts.manual) this.raw?.send(outer, this.ha);
    else if (this.pinned) this.pinned.raw.send(outer, this.ha);
    else this.stats.droppedNoBinding++;
  }

  // 5. inbound
  private handleTunnelData(msg: Uint8Array): void {
    if (msg.length < 4 || msg[1] !== IpProto.IpInIp) {
      this.stats.droppedMalformed++;
      return;
    }
    const inner = msg.subarray(4);
    if (this.core.handleKeepaliveReply?.(inner, nowMs())) return;
    this.deliver(inner);
  }

  private handleIpInIp(pkt: Uint8Array): void {
    try {
      const outer = decodeIpv4Header(pkt);
      if (outer.src !== this.ha) {
        this.stats.droppedWrongSource++;
        return;
      }
      // engine mode: outer destination = the care-of address of our binding (the device is the socket's)
      if (this.opts.manual && (this.bound === undefined || outer.dst !== this.bound.coa || this.bound.udpTunnel)) {
        this.stats.droppedWrongDestination++;
        return;
      }
      this.deliver(ipv4Payload(pkt, outer));
    } catch {
      this.stats.droppedMalformed++;
    }
  }

  /**
   * Engine mode, the unpinned socket: an IP-in-IP packet that the pinned one
   * would take (HA → our CoA) is left to it; the rest is counted here.
   */
  private countStrayIpInIp(pkt: Uint8Array): void {
    let outer;
    try {
      outer = decodeIpv4Header(pkt);
    } catch {
      this.stats.droppedMalformed++;
      return;
    }
    if (outer.src !== this.ha) this.stats.droppedWrongSource++;
    else if (outer.dst !== this.bound?.coa || this.bound.udpTunnel) this.stats.droppedWrongDestination++;
  }

  private deliver(inner: Uint8Array): void {
    try {
      if (decodeIpv4Header(inner).dst !== this.opts.profile.homeAddress) {
        this.stats.droppedWrongSource++;
        return;
      }
    } catch {
      this.stats.droppedMalformed++;
      return;
    }
    this.stats.tunnelledIn++;
    this.tun?.write(inner);
  }

  // 6. stop
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.stopped) return;
    if (this.bound && (this.udp || this.sockets.size > 0)) {
      const done = new Promise<void>((res) => { this.deregistered = res; });
      this.core.handleCommand({ type: 'deregister' }, nowMs(), Date.now());
      this.drain();
      await Promise.race([done, new Promise((res) => setTimeout(res, timeoutMs))]);
    }
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watch);
    for (const r of this.opts.routes) await step(this.net.delRule({ to: r, table: ROUTE_TABLE, pref: RULE_PREF_ROUTES }), true);
    await step(this.net.delRule({ to: `${this.ha}/32`, action: 'unreachable', pref: RULE_PREF_HA + 1 }), true);
    await step(this.net.delRule({ to: `${this.ha}/32`, table: 'main', pref: RULE_PREF_HA }), true);
    await step(this.net.flushTable(ROUTE_TABLE), true);
    this.raw?.close();
    this.pinned?.raw.close();
    this.udp?.close();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    await this.tun?.close();
  }
}
