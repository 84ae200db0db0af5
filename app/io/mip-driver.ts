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
 *      data on the registration socket, or IP-in-IP / GRE / minimal
 *      encapsulation on a raw socket — the format the HA accepted, built by
 *      app/mip4/tunnel-format.ts; nothing leaves while there is no accepted
 *      binding (fail closed, counted).
 *   5. inbound: tunnel data / protocol 4, 47 or 55 from the HA, decapsulated
 *      (in the binding's format only) into the TUN when the inner destination
 *      is the home address; the rest is counted.
 *   6. stop: deregister (lifetime 0), wait briefly for the reply, undo set-up.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Instant } from '../base/clock.ts';
import type { Profile } from '../config/profile.ts';
import { encodeFragmentationNeeded } from '../wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../wire/ip/ipv4-header.ts';
import {
  decapsulateIp, decapsulateUdp, encapsulateIp, encapsulateUdp, TUNNEL_FORMATS, TUNNEL_PROTOCOL, tunnelOverhead, type Decapsulated, type TunnelFormat,
} from '../mip4/tunnel-format.ts';
import { openTun } from './native-tun.ts';
import { CAP_NET_ADMIN_HINT, NetConfig, NetConfigError } from './netconfig.ts';
import { checkTunnelPath, outerAddresses, worthReporting, type Arrival, type PathRefusal } from '../mip4/tunnel-path.ts';
import { bindSocketToDevice, openRawSocket, openUdpSocketFd, type RawSocket } from './raw-socket.ts';
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
  /** the accepted binding's packet format ('ip-in-ip' | 'gre' | 'minimal'; IP-in-IP when absent) */
  encapsulation?: string;
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
  /** tunnelled packets in another format than the binding's (RFC 3519 §3.3: a Next Header mismatch is dropped) */
  droppedWrongFormat: number;
  /**
   * tunnelled packets that did not travel the binding's path (app/mip4/tunnel-path.ts):
   * outer destination not our care-of address, arrived on another device, or no binding
   */
  droppedWrongPath: number;
  keepalivesSent: number;
}

const nowMs = () => performance.now();

/** A device's MTU from sysfs; undefined when it cannot be read. */
function deviceIndex(dev: string): number | undefined {
  try {
    const v = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8').trim());
    return Number.isInteger(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The device an address of ours lives on, or undefined. */
function deviceOf(addr: string): string | undefined {
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (list?.some((a) => a.family === 'IPv4' && a.address === addr)) return name;
  }
  return undefined;
}

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
  readonly stats: MipDriverStats = { tunnelledOut: 0, tunnelledIn: 0, droppedNoBinding: 0, tooBig: 0, droppedMalformed: 0, droppedWrongSource: 0, droppedWrongFormat: 0, droppedWrongPath: 0, keepalivesSent: 0 };
  private tun?: TunDevice;
  private readonly net = new NetConfig();
  private udp?: dgram.Socket;
  private raw?: RawSocket;
  /** receive-side raw sockets for GRE (47) and minimal encapsulation (55) */
  private readonly rawIn: RawSocket[] = [];
  private core!: RegistrationCoreLike;
  private timer?: NodeJS.Timeout;
  private watch?: NodeJS.Timeout;
  private coa?: string;
  /** `device`: the CLI's mode c only, the device the CoA lived on when the binding was accepted */
  private bound: { coa: string; udpTunnel: boolean; format: TunnelFormat; device?: string | undefined } | undefined;
  private stopped = false;
  private deregistered?: () => void;
  private readonly unverifiedCodes = new Set<number>();
  /** engine mode: registration sockets by source address (the co-located CoA or the TIA) */
  private readonly sockets = new Map<string, dgram.Socket>();
  /** engine mode: the descriptor and device (SO_BINDTODEVICE) of each registration socket that has one */
  private readonly socketDevices = new Map<string, { fd: number; device: string | undefined }>();
  /** the device tunnelled packets must arrive on, by name and (cached) ifindex */
  private arrivalDevice?: { name: string; ifindex: number | undefined; resolvedAt: number };
  private readonly dropCounts = new Map<string, number>();
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
    this.tun.onPacket((pkt) => {
      try {
        this.handleTunPacket(pkt);
      } catch (e) {
        // one packet the host wrote that we cannot handle is counted and dropped, never the end of the driver
        this.countDrop('droppedMalformed', 'malformed', `home-address TUN: ${(e as Error).message}`);
      }
    });
    this.udp = dgram.createSocket('udp4');
    // send errors (no route while moving, …) arrive here: the core retransmits, the data path counts
    this.udp.on('error', (e) => this.opts.onEvent({ type: 'warning', code: 'UDP_SEND', message: e.message }));
    this.udp.on('message', (m, r) => this.handleUdp(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), r));
    await new Promise<void>((res) => this.udp!.bind(0, res));
    // sends every format (IP_HDRINCL: the header says the protocol); receives protocol 4
    // IP_PKTINFO: each packet says which device it arrived on (checked against the binding's path)
    this.raw = openRawSocket(IpProto.IpInIp, { hdrincl: true, pktinfo: true });
    this.raw.onPacket((pkt, ifindex) => this.handleRawIn(pkt, ifindex, 'ip-in-ip'));
    for (const f of ['gre', 'minimal'] as const) {
      const s = openRawSocket(TUNNEL_PROTOCOL[f], { pktinfo: true });
      s.onPacket((pkt, ifindex) => this.handleRawIn(pkt, ifindex, f));
      this.rawIn.push(s);
    }
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
        this.socketDevices.delete(addr);
      }
    }
    this.rebindSocket(loc.source, loc.via !== undefined);
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

  /**
   * The registration socket of `source` receives only on the device that
   * address lives on (SO_BINDTODEVICE; RFC 3519 tunnel data arrives on it
   * too). Re-applied on every register(): the VPN's TUN may have been
   * re-created. Mode f (`via`): the source is the home address, the requests
   * go to the FA on the link: no device binding.
   */
  private rebindSocket(source: string, via: boolean): void {
    const sd = this.socketDevices.get(source);
    if (!sd) return;
    const device = via ? undefined : deviceOf(source);
    try {
      bindSocketToDevice(sd.fd, device ?? '');
      sd.device = device;
    } catch (e) {
      sd.device = undefined;
      this.opts.onEvent({ type: 'warning', code: 'DATA_PATH', message: `cannot bind ${source}'s socket to ${device ?? 'no device'}: ${(e as Error).message}` });
    }
  }

  private socketFor(source: string): dgram.Socket {
    let s = this.sockets.get(source);
    if (s) return s;
    const sock = dgram.createSocket('udp4');
    sock.on('error', (e) => {
      this.opts.onEvent({ type: 'warning', code: 'UDP_SEND', message: `${source}: ${e.message}` });
      if (this.sockets.get(source) === sock) {
        this.sockets.delete(source);
        this.socketDevices.delete(source);
      }
      sock.close();
    });
    sock.on('message', (m, r) => this.handleUdp(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), r, source));
    const device = this.via === undefined ? deviceOf(source) : undefined;
    let fd: number | undefined;
    try {
      fd = openUdpSocketFd(source, device);
    } catch {
      fd = undefined; // not (yet) our address, no device binding allowed: node's own bind reports it
    }
    if (fd === undefined) sock.bind(0, source); // sends are queued by node until the bind completes
    else {
      sock.bind({ fd });
      this.socketDevices.set(source, { fd, device });
    }
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

  // 3. registration
  /** `local`: engine mode's registration socket it arrived on (its bound address); undefined: the unbound socket */
  private handleUdp(msg: Uint8Array, from: dgram.RemoteInfo, local?: string): void {
    try {
      this.receiveUdp(msg, from, local);
    } catch (e) {
      // a guard, not a path: every step below counts what it refuses; an escape is a bug, reported once per message
      this.countDrop('droppedMalformed', 'malformed', `registration socket: ${(e as Error).message}`);
    }
  }

  private receiveUdp(msg: Uint8Array, from: dgram.RemoteInfo, local: string | undefined): void {
    // the HA, or (mode f) the foreign agent relaying its reply — the core still checks the MN-HA authenticator
    const relayed = this.via !== undefined && from.address === this.via && msg[0] === 3;
    if ((from.address !== this.ha && !relayed) || from.port !== MIP_PORT) {
      this.stats.droppedWrongSource++;
      return;
    }
    if (msg[0] === 4) this.handleTunnelData(msg, from.address, local);
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
      this.timer = setTimeout(() => {
        this.core.handleTimeout(nowMs(), Date.now());
        this.drain();
      }, Math.max(0, next - nowMs()));
    }
  }

  private handleEvent(e: CoreEvent): void {
    if (e.type === 'registration' && e.state === 'accepted') {
      const format = TUNNEL_FORMATS.find((f) => f === e.encapsulation) ?? 'ip-in-ip';
      const coa = e.coa ?? this.coa ?? '';
      this.bound = { coa, udpTunnel: e.udpTunnel === true, format, ...(this.opts.manual ? {} : { device: deviceOf(coa) }) };
    }
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
    const ep = { src: b.coa, dst: this.ha };
    if (b.udpTunnel) {
      let msg;
      try {
        msg = encapsulateUdp(pkt, b.format, ep);
      } catch {
        this.stats.droppedMalformed++;
        return;
      }
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
    const overhead = tunnelOverhead(b.format);
    if (df && mtu !== undefined && pkt.length + overhead > mtu) {
      // RFC 2003 §5.1: the encapsulator answers a DF packet that does not fit the tunnel with
      // "fragmentation needed", next-hop MTU = tunnel MTU − the format's overhead, so the sender's
      // PMTU discovery shrinks its segments (mode mc: the IPsec TUN is the tunnel's path)
      this.stats.tooBig++;
      this.tun?.write(encodeIpv4({ src: b.coa, dst: h.src, protocol: IpProto.Icmp, tos: 0xc0 }, encodeFragmentationNeeded(pkt, mtu - overhead)));
      return;
    }
    // RFC 2003 §3.1 / RFC 2784: TOS and DF copied; RFC 2004: the inner header itself, modified
    let outer;
    try {
      outer = encapsulateIp(pkt, b.format, ep);
    } catch {
      this.stats.droppedMalformed++; // a fragment cannot be minimally encapsulated (RFC 2004 §3)
      return;
    }
    if (!this.opts.manual) this.raw?.send(outer, this.ha);
    else if (this.pinned) this.pinned.raw.send(outer, this.ha);
    else this.stats.droppedNoBinding++;
  }

  // 5. inbound
  /** true when it is a usable inner packet; the reason is counted otherwise */
  private opened(d: Decapsulated): d is Extract<Decapsulated, { ok: true }> {
    if (!d.ok) this.stats[d.reason === 'wrong-format' ? 'droppedWrongFormat' : 'droppedMalformed']++;
    return d.ok;
  }

  /**
   * The path tunnelled packets must have taken: from the HA, to the accepted
   * binding's care-of address, arriving on the data path's device (engine
   * mode; the CLI's mode c: the device the CoA lives on).
   */
  private expectedPath(): { ha: string; coa: string; device: string } | undefined {
    const b = this.bound;
    if (!b) return undefined;
    const device = this.opts.manual ? this.pinned?.device : b.device;
    return device === undefined ? { ha: this.ha, coa: b.coa, device: '' } : { ha: this.ha, coa: b.coa, device };
  }

  /** The data path device's ifindex; re-read when it does not match (at most once a second: the TUN may be new). */
  private expectedIfindex(name: string, arrived: number): number | undefined {
    let a = this.arrivalDevice;
    const now = nowMs();
    if (!a || a.name !== name || (a.ifindex !== arrived && now - a.resolvedAt >= 1000)) {
      a = { name, ifindex: deviceIndex(name), resolvedAt: now };
      this.arrivalDevice = a;
    }
    return a.ifindex;
  }

  /** Counts a refused packet; the 1st, 10th, 100th… of each reason is reported (a flood stays a few events). */
  private countDrop(counter: 'droppedWrongPath' | 'droppedWrongSource' | 'droppedMalformed', reason: PathRefusal | 'malformed', detail: string): void {
    this.stats[counter]++;
    const n = (this.dropCounts.get(reason) ?? 0) + 1;
    this.dropCounts.set(reason, n);
    if (worthReporting(n)) this.opts.onEvent({ type: 'warning', code: 'TUNNEL_DROPPED', reason, count: n, message: `dropped a tunnelled packet (${reason}: ${detail}); ${n} so far` });
  }

  /** true when the verdict lets it through; the refusal is counted otherwise */
  private pathOk(arrival: Arrival | undefined, path: ReturnType<MipDriver['expectedPath']>, device: number | string | undefined, detail: () => string): boolean {
    const v = checkTunnelPath(arrival, path && { ...path, device });
    if (v.ok) return true;
    const counter = v.reason === 'wrong-source' ? 'droppedWrongSource' : v.reason === 'malformed' ? 'droppedMalformed' : 'droppedWrongPath';
    this.countDrop(counter, v.reason, detail());
    return false;
  }

  private handleTunnelData(msg: Uint8Array, from: string, local: string | undefined): void {
    // engine mode: the socket's bound address is the outer destination, its SO_BINDTODEVICE the arrival device;
    // the CLI's single socket (0.0.0.0, no device) keeps the source check of receiveUdp only
    if (this.opts.manual) {
      const path = this.expectedPath();
      const arrivedOn = local === undefined ? undefined : this.socketDevices.get(local)?.device;
      const arrival = { src: from, dst: local ?? '0.0.0.0', device: arrivedOn };
      if (!this.pathOk(arrival, path, path?.device, () => `UDP tunnel data from ${from} to ${local ?? '?'} on ${arrivedOn ?? 'no device'}`)) return;
    }
    const d = decapsulateUdp(msg, this.bound?.format ?? 'ip-in-ip');
    if (!this.opened(d)) return;
    if (this.core.handleKeepaliveReply?.(d.inner, nowMs())) return;
    this.deliver(d.inner);
  }

  /** A packet from the raw socket for `format`'s protocol (4, 47, 55), arrived on device `ifindex`. */
  private handleRawIn(pkt: Uint8Array, ifindex: number, format: TunnelFormat): void {
    try {
      this.receiveRaw(pkt, ifindex, format);
    } catch (e) {
      this.countDrop('droppedMalformed', 'malformed', `protocol ${TUNNEL_PROTOCOL[format]}: ${(e as Error).message}`);
    }
  }

  private receiveRaw(pkt: Uint8Array, ifindex: number, format: TunnelFormat): void {
    const outer = outerAddresses(pkt);
    const path = this.expectedPath();
    const expected = path?.device ? this.expectedIfindex(path.device, ifindex) : undefined;
    const arrival = outer && { ...outer, device: ifindex };
    if (!this.pathOk(arrival, path, expected, () => `protocol ${TUNNEL_PROTOCOL[format]} from ${outer?.src ?? '?'} to ${outer?.dst ?? '?'} on ifindex ${ifindex}, expected ${path?.coa ?? 'no binding'} on ${path?.device || 'no device'}`)) return;
    if ((this.bound?.format ?? 'ip-in-ip') !== format) {
      this.stats.droppedWrongFormat++;
      return;
    }
    const d = decapsulateIp(pkt, format);
    if (this.opened(d)) this.deliver(d.inner);
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
    for (const s of this.rawIn) s.close();
    this.pinned?.raw.close();
    this.udp?.close();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    this.socketDevices.clear();
    await this.tun?.close();
  }
}
