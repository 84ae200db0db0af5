/**
 * A simulated IPv4 network for unit tests: hosts with interfaces on named
 * links (L2 segments), each host routing by its own MemoryNetConfig (rules,
 * tables, longest prefix), hosts marked `forwarding` acting as routers, an
 * optional masquerading NAT on a router's outside interface, and per-link
 * filters (drop or rewrite) and captures.
 *
 * Delivery is queued, never re-entrant: a send puts the packet on the net's
 * queue; `net.flush()` (or any MemoryClock advance, which calls it) carries
 * queued packets hop by hop until nothing is left. `settle()` also lets
 * promise chains run between flushes (for async drivers). No timers, no
 * sleeps: time is the MemoryClock's.
 *
 * Kernel behaviour kept: weak-host receive (any local address, any
 * interface), 255.255.255.255 / directed broadcast and 224.0.0.1 reach every
 * host on the link, other groups only hosts that joined them; TTL decrement
 * and ICMP time exceeded when forwarding; ICMP echo replies, port
 * unreachable for UDP nobody listens on, fragmentation needed for DF packets
 * over the MTU; raw sockets get a copy of every packet of their protocol
 * delivered to the host; a TUN device is an interface whose "wire" is the
 * MemoryTun reader (packets routed to it), and what is written into the
 * MemoryTun enters the host's routing as if received on it.
 * Not modelled: fragmentation, ARP timing, IPv6 (dropped and counted),
 * multicast loopback to the sending host.
 */
import { decodeIpv4Header, encodeIpv4, IpProto, type Ipv4Header } from '../../app/wire/ip/ipv4-header.ts';
import { decodeUdp, encodeUdp } from '../../app/wire/ip/udp.ts';
import { encodeFragmentationNeeded, encodeIcmpEcho, encodeIcmpError, decodeIcmpEcho, IcmpType } from '../../app/wire/ip/icmp.ts';
import { internetChecksum } from '../../app/wire/ip/checksum.ts';
import { ipv4ToBytes } from '../../app/base/ipv4.ts';
import type { DatagramPeer } from '../../app/io/platform.ts';
import { MemoryClock } from './memory-clock.ts';
import { isMulticast, MemoryNetConfig, type MemoryInterface } from './memory-netconfig.ts';
import type { MemoryTun } from './memory-tun.ts';

export const ALL_HOSTS = '224.0.0.1';

export interface Frame {
  from: string;
  iface: string;
  pkt: Uint8Array;
}

/** A link filter: undefined passes the packet unchanged, null drops it, bytes replace it. */
export type LinkFilter = (pkt: Uint8Array, from: { host: string; iface: string }) => Uint8Array | null | undefined;

/** A named L2 segment: every attached interface hears broadcasts; unicast goes to the interface holding the next hop. */
export class MemoryLink {
  readonly members: Array<{ host: MemoryHost; iface: string }> = [];
  filter: LinkFilter | undefined;
  /** keep a copy of every frame carried (see `frames`) */
  capture = false;
  readonly frames: Frame[] = [];
  readonly stats = { carried: 0, filtered: 0, noNeighbor: 0 };
  /** one-way delay on this link (0: delivered at the next flush; above 0: after that long on the clock) */
  delayMs = 0;
  constructor(
    readonly name: string,
    private readonly net: MemoryNet,
  ) {}

  /** @internal one frame from `sender` to the next hop (or everyone for broadcast/multicast) */
  carry(sender: MemoryHost, iface: string, pkt: Uint8Array, nextHop: string, everyone: boolean): void {
    let bytes: Uint8Array | null | undefined = pkt;
    if (this.filter) {
      const f = this.filter(pkt, { host: sender.name, iface });
      if (f === null) {
        this.stats.filtered++;
        return;
      }
      bytes = f ?? pkt;
    }
    if (this.capture) this.frames.push({ from: sender.name, iface, pkt: bytes.slice() });
    const receivers = this.members.filter((m) => (m.host !== sender || m.iface !== iface) && m.host.config.interfaces.get(m.iface)?.up);
    const targets = everyone ? receivers : receivers.filter((m) => m.host.config.interfaces.get(m.iface)!.addrs.some((a) => a.address === nextHop)).slice(0, 1);
    if (targets.length === 0 && !everyone) {
      this.stats.noNeighbor++;
      sender.drop('no-neighbor', bytes);
      return;
    }
    this.stats.carried++;
    for (const t of targets) {
      const copy = bytes.slice();
      const deliver = (): void => t.host.receive(copy, t.iface);
      if (this.delayMs > 0) this.net.clock.at(this.net.clock.now() + this.delayMs, deliver);
      else this.net.enqueue(deliver);
    }
  }
}

interface UdpBinding {
  addr: string;
  port: number;
  device: string | undefined;
  deliver(payload: Uint8Array, from: DatagramPeer, to: DatagramPeer, iface: string): void;
}

interface RawBinding {
  protocol: number;
  device: string | undefined;
  deliver(pkt: Uint8Array, iface: MemoryInterface): void;
}

export class SocketError extends Error {
  constructor(
    readonly code: 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'ENETUNREACH' | 'EMSGSIZE' | 'EPERM' | 'ENODEV' | 'EINVAL',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'SocketError';
  }
}

export interface SendResult {
  ok: boolean;
  error?: SocketError;
}

export interface AddInterfaceOptions {
  /** attach to this link (created if new) */
  link?: string;
  /** "a.b.c.d/n" (or a list) */
  address?: string | string[];
  /** default true */
  up?: boolean;
  mtu?: number;
  /** also add a default route via this gateway (metric `metric`) */
  gateway?: string;
  metric?: number;
}

/** A masquerading NAT on a router's outside interface (iptables MASQUERADE). */
export interface MasqueradeOptions {
  /** keep the inside source port when free (default false: ports from 40000 up, so a test sees them change) */
  preservePort?: boolean;
  /** a UDP mapping idle this long is forgotten (default: never) */
  idleTimeoutMs?: number;
}

interface NatMapping {
  proto: number;
  inAddr: string;
  inPort: number;
  outPort: number;
  remote: string;
  lastUsed: number;
}

export class Masquerade {
  readonly mappings: NatMapping[] = [];
  private nextPort = 40000;
  constructor(
    private readonly host: MemoryHost,
    readonly outside: string,
    private readonly opts: MasqueradeOptions,
  ) {}

  private publicAddr(): string | undefined {
    return this.host.config.interfaces.get(this.outside)?.addrs[0]?.address;
  }

  private expire(): void {
    const t = this.opts.idleTimeoutMs;
    if (t === undefined) return;
    const now = this.host.net.clock.now();
    for (let i = this.mappings.length - 1; i >= 0; i--) if (now - this.mappings[i]!.lastUsed > t) this.mappings.splice(i, 1);
  }

  /** a forwarded packet leaving through the outside interface: rewrite its source */
  outbound(pkt: Uint8Array, h: Ipv4Header): Uint8Array {
    const pub = this.publicAddr();
    if (!pub || h.src === pub) return pkt;
    this.expire();
    const now = this.host.net.clock.now();
    if (h.protocol !== IpProto.Udp) {
      let m = this.mappings.find((x) => x.proto === h.protocol && x.inAddr === h.src && x.remote === h.dst);
      if (!m) this.mappings.push((m = { proto: h.protocol, inAddr: h.src, inPort: 0, outPort: 0, remote: h.dst, lastUsed: now }));
      m.lastUsed = now;
      return rewrite(pkt, h, { src: pub });
    }
    const u = decodeUdp(pkt.subarray(h.ihl, h.totalLength));
    let m = this.mappings.find((x) => x.proto === IpProto.Udp && x.inAddr === h.src && x.inPort === u.srcPort);
    if (!m) {
      const free = (p: number): boolean => !this.mappings.some((x) => x.proto === IpProto.Udp && x.outPort === p);
      let port = this.opts.preservePort && free(u.srcPort) ? u.srcPort : this.nextPort++;
      while (!free(port)) port = this.nextPort++;
      m = { proto: IpProto.Udp, inAddr: h.src, inPort: u.srcPort, outPort: port, remote: h.dst, lastUsed: now };
      this.mappings.push(m);
    }
    m.lastUsed = now;
    return rewrite(pkt, h, { src: pub, sport: m.outPort });
  }

  /** a packet arriving on the outside interface for the public address: back to the inside host */
  inbound(pkt: Uint8Array, h: Ipv4Header): Uint8Array {
    const pub = this.publicAddr();
    if (h.dst !== pub) return pkt;
    this.expire();
    if (h.protocol !== IpProto.Udp) {
      const m = this.mappings.find((x) => x.proto === h.protocol && x.remote === h.src);
      if (!m) return pkt;
      m.lastUsed = this.host.net.clock.now();
      return rewrite(pkt, h, { dst: m.inAddr });
    }
    const u = decodeUdp(pkt.subarray(h.ihl, h.totalLength));
    const m = this.mappings.find((x) => x.proto === IpProto.Udp && x.outPort === u.dstPort);
    if (!m) return pkt;
    m.lastUsed = this.host.net.clock.now();
    return rewrite(pkt, h, { dst: m.inAddr, dport: m.inPort });
  }
}

/** A copy of `pkt` with new addresses/ports, checksums recomputed. */
export function rewrite(pkt: Uint8Array, h: Ipv4Header, to: { src?: string; dst?: string; sport?: number; dport?: number; ttl?: number }): Uint8Array {
  const out = pkt.slice(0, h.totalLength);
  if (to.src !== undefined) out.set(ipv4ToBytes(to.src), 12);
  if (to.dst !== undefined) out.set(ipv4ToBytes(to.dst), 16);
  if (to.ttl !== undefined) out[8] = to.ttl;
  out[10] = 0;
  out[11] = 0;
  const c = internetChecksum(out, 0, h.ihl);
  out[10] = c >> 8;
  out[11] = c & 0xff;
  if (h.protocol === IpProto.Udp && (to.src !== undefined || to.dst !== undefined || to.sport !== undefined || to.dport !== undefined)) {
    const seg = out.subarray(h.ihl);
    const v = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
    if (to.sport !== undefined) v.setUint16(0, to.sport);
    if (to.dport !== undefined) v.setUint16(2, to.dport);
    const u = decodeUdp(seg);
    const fresh = encodeUdp({ srcPort: u.srcPort, dstPort: u.dstPort, payload: u.payload }, { src: decodeIpv4Header(out, false).src, dst: decodeIpv4Header(out, false).dst });
    seg.set(fresh);
  }
  return out;
}

export function describePacket(pkt: Uint8Array): string {
  try {
    const h = decodeIpv4Header(pkt, false);
    let what = `proto ${h.protocol}`;
    if (h.protocol === IpProto.Udp) {
      const u = decodeUdp(pkt.subarray(h.ihl, h.totalLength));
      what = `udp ${u.srcPort} > ${u.dstPort} len ${u.payload.length}`;
    } else if (h.protocol === IpProto.Icmp) what = `icmp type ${pkt[h.ihl]} code ${pkt[h.ihl + 1]}`;
    return `${h.src} > ${h.dst} ${what}`;
  } catch {
    return `(${pkt.length} bytes, not IPv4)`;
  }
}

export class MemoryHost {
  readonly config = new MemoryNetConfig();
  /** forwarding: a router (net.ipv4.ip_forward=1) */
  forwarding: boolean;
  /** answer ICMP echo requests (default true) */
  answersPing = true;
  nat: Masquerade | undefined;
  readonly tuns = new Map<string, MemoryTun>();
  private readonly attached = new Map<string, MemoryLink>();
  private readonly udp: UdpBinding[] = [];
  private readonly raw: RawBinding[] = [];
  private readonly groups = new Set<string>();
  private nextEphemeral = 32768;
  readonly stats = { sent: 0, received: 0, forwarded: 0, delivered: 0, fragmented: 0 };
  readonly drops = new Map<string, number>();
  /** the last 100 drops, newest last: reason and packet summary */
  readonly dropLog: string[] = [];

  constructor(
    readonly name: string,
    readonly net: MemoryNet,
    opts: { forwarding?: boolean } = {},
  ) {
    this.forwarding = opts.forwarding === true;
  }

  // ---- set-up ----

  addInterface(name: string, opts: AddInterfaceOptions = {}): MemoryInterface {
    const i = this.config.createInterface(name, 'ether', opts.mtu !== undefined ? { mtu: opts.mtu } : {});
    if (opts.link !== undefined) this.attach(name, opts.link);
    for (const a of typeof opts.address === 'string' ? [opts.address] : opts.address ?? []) this.config.addAddressNow(name, a);
    if (opts.up !== false) this.config.linkUpNow(name);
    if (opts.gateway !== undefined) this.config.addRouteNow({ dst: 'default', via: opts.gateway, dev: name, ...(opts.metric !== undefined ? { metric: opts.metric } : {}) });
    return i;
  }

  /** plugs an interface into a link (moving it off any other) */
  attach(iface: string, link: string): void {
    if (!this.config.interfaces.has(iface)) throw new Error(`${this.name}: no interface ${iface}`);
    this.detach(iface);
    const l = this.net.link(link);
    l.members.push({ host: this, iface });
    this.attached.set(iface, l);
  }

  /** unplugs an interface (its configuration stays; packets out of it are lost) */
  detach(iface: string): void {
    const l = this.attached.get(iface);
    if (!l) return;
    const k = l.members.findIndex((m) => m.host === this && m.iface === iface);
    if (k >= 0) l.members.splice(k, 1);
    this.attached.delete(iface);
  }

  /**
   * Leaves the link as a DHCP client would on losing it: unplugged, its
   * addresses (and so their routes) gone, the interface left up. The link
   * watcher then sees the primary link change.
   */
  leave(iface: string): void {
    this.detach(iface);
    for (const a of [...(this.config.interfaces.get(iface)?.addrs ?? [])]) this.config.delAddressNow(iface, `${a.address}/${a.prefixLen}`);
    this.config.routes = this.config.routes.filter((r) => r.dev !== iface);
    this.config.touch(`left ${iface}`);
  }

  /** Joins a link as a DHCP client would: plugged in, up, the address, a default route via `gateway`. */
  join(iface: string, link: string, opts: { address: string; gateway?: string; metric?: number }): void {
    if (!this.config.interfaces.has(iface)) this.config.createInterface(iface, 'ether');
    this.attach(iface, link);
    this.config.linkUpNow(iface);
    this.config.addAddressNow(iface, opts.address);
    if (opts.gateway !== undefined) this.config.addRouteNow({ dst: 'default', via: opts.gateway, dev: iface, ...(opts.metric !== undefined ? { metric: opts.metric } : {}) });
  }

  linkOf(iface: string): MemoryLink | undefined {
    return this.attached.get(iface);
  }

  /** Makes a MemoryTun an interface of this host (down, no address, like a fresh TUN); closing it removes it. */
  addTun(tun: MemoryTun): void {
    this.config.createInterface(tun.name, 'tun');
    this.tuns.set(tun.name, tun);
    tun.kernel = (pkt) => {
      const copy = pkt.slice();
      this.net.enqueue(() => this.receive(copy, tun.name));
    };
    tun.onClosed = () => {
      if (this.tuns.get(tun.name) !== tun) return;
      this.tuns.delete(tun.name);
      this.config.removeInterface(tun.name);
    };
  }

  /** Masquerade what this router forwards out of `outside` (NAT: RFC 3948 tests). */
  masquerade(outside: string, opts: MasqueradeOptions = {}): Masquerade {
    this.forwarding = true;
    this.nat = new Masquerade(this, outside, opts);
    return this.nat;
  }

  joinGroup(group: string, iface: string): void {
    this.groups.add(`${iface}|${group}`);
  }

  // ---- sockets (used by memory-sockets.ts) ----

  /** binds a UDP port; port 0 takes an ephemeral one */
  bindUdp(addr: string, port: number, device: string | undefined, deliver: UdpBinding['deliver']): UdpBinding {
    if (addr !== '0.0.0.0' && this.config.deviceOf(addr) === undefined) throw new SocketError('EADDRNOTAVAIL', `${addr} is not an address of ${this.name}`);
    if (device !== undefined && !this.config.interfaces.has(device)) throw new SocketError('ENODEV', `no device ${device} on ${this.name}`);
    // Linux: the same port clashes unless the addresses differ (neither a wildcard) or both are bound to different devices
    const clash = (p: number): boolean => this.udp.some((b) => b.port === p && (b.addr === addr || b.addr === '0.0.0.0' || addr === '0.0.0.0') &&
      (b.device === undefined || device === undefined || b.device === device));
    if (port === 0) {
      do port = this.nextEphemeral++;
      while (clash(port));
    } else if (clash(port)) throw new SocketError('EADDRINUSE', `${addr}:${port} on ${this.name}`);
    const b: UdpBinding = { addr, port, device, deliver };
    this.udp.push(b);
    return b;
  }

  unbindUdp(b: UdpBinding): void {
    const k = this.udp.indexOf(b);
    if (k >= 0) this.udp.splice(k, 1);
  }

  addRaw(b: RawBinding): void {
    this.raw.push(b);
  }

  removeRaw(b: RawBinding): void {
    const k = this.raw.indexOf(b);
    if (k >= 0) this.raw.splice(k, 1);
  }

  /** sends one UDP datagram from a bound socket (source chosen by routing when bound to 0.0.0.0) */
  sendUdp(from: { addr: string; port: number; device?: string | undefined }, payload: Uint8Array, to: DatagramPeer, ttl?: number): SendResult {
    let src = from.addr;
    // the kernel refuses to send from a bound address the host no longer has (it moved, DHCP took it back)
    if (src !== '0.0.0.0' && this.config.deviceOf(src) === undefined) {
      return { ok: false, error: new SocketError('EINVAL', `${src} is no longer an address of ${this.name}`) };
    }
    if (src === '0.0.0.0') {
      const d = this.config.decide({ dst: to.address, proto: IpProto.Udp, dport: to.port, ...(from.device ? { oif: from.device } : {}) });
      if (d.kind === 'local') src = to.address;
      else if (d.kind === 'unicast' && d.prefsrc) src = d.prefsrc;
      else return { ok: false, error: new SocketError('ENETUNREACH', `no route to ${to.address}`) };
    }
    const seg = encodeUdp({ srcPort: from.port, dstPort: to.port, payload }, { src, dst: to.address });
    const pkt = encodeIpv4({ src, dst: to.address, protocol: IpProto.Udp, ...(ttl !== undefined ? { ttl } : {}) }, seg);
    return this.output(pkt, from.device);
  }

  // ---- the IP layer ----

  drop(reason: string, pkt: Uint8Array): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.dropLog.push(`${reason}: ${describePacket(pkt)}`);
    if (this.dropLog.length > 100) this.dropLog.shift();
  }

  /**
   * A packet this host originates (raw socket, UDP, ICMP replies): routed by
   * this host's rules and tables; `oif` is the socket's device binding.
   * A source of 0.0.0.0 is filled in from the route.
   */
  output(pkt: Uint8Array, oif?: string): SendResult {
    let h: Ipv4Header;
    try {
      h = decodeIpv4Header(pkt, false);
    } catch (e) {
      this.drop('malformed', pkt);
      return { ok: false, error: new SocketError('EPERM', (e as Error).message) };
    }
    const broadcastish = isMulticast(h.dst) || this.config.isBroadcast(h.dst, oif);
    const dport = h.protocol === IpProto.Udp && h.totalLength >= h.ihl + 4 ? (pkt[h.ihl + 2]! << 8) | pkt[h.ihl + 3]! : undefined;
    const d = this.config.decide({ dst: h.dst, ...(h.src !== '0.0.0.0' ? { src: h.src } : {}), proto: h.protocol, ...(dport !== undefined ? { dport } : {}), ...(oif ? { oif } : {}) });
    if (d.kind === 'blocked' || d.kind === 'unreachable') {
      if (!(broadcastish && oif)) {
        this.drop(d.kind === 'blocked' ? d.action : 'no-route', pkt);
        return { ok: false, error: new SocketError(d.kind === 'blocked' && d.action === 'prohibit' ? 'EPERM' : 'ENETUNREACH', `${h.dst}: ${d.kind === 'blocked' ? d.action : 'no route'}`) };
      }
    }
    let out: Uint8Array = pkt.slice(0, h.totalLength);
    if (h.src === '0.0.0.0') {
      const src = d.kind === 'local' ? h.dst : d.kind === 'unicast' ? d.prefsrc : oif ? this.config.sourceFor(oif, h.dst) : undefined;
      if (src) {
        out = rewrite(out, h, { src });
        h = decodeIpv4Header(out, false);
      }
    }
    this.stats.sent++;
    if (d.kind === 'local' && !broadcastish) {
      this.net.enqueue(() => this.deliverLocal(out, h, this.config.interfaces.get('lo')!));
      return { ok: true };
    }
    const dev = broadcastish && oif ? oif : d.kind === 'unicast' ? d.dev : undefined;
    if (dev === undefined) {
      this.drop('no-route', out);
      return { ok: false, error: new SocketError('ENETUNREACH', `${h.dst}: no route`) };
    }
    const mtu = this.config.interfaces.get(dev)?.mtu ?? Infinity;
    if (out.length > mtu && (h.flags & 0x2) !== 0) {
      this.drop('too-big', out);
      return { ok: false, error: new SocketError('EMSGSIZE', `${out.length} bytes with DF over ${dev}'s MTU ${mtu}`) };
    }
    // IP_MULTICAST_LOOP (on by default) and broadcasts: the sending host hears its own, if a member
    if (broadcastish && this.isForUs(h.dst, dev)) {
      const lo = out.slice();
      const arrival = this.config.interfaces.get(dev);
      if (arrival) this.net.enqueue(() => this.deliverLocal(lo, decodeIpv4Header(lo, false), arrival));
    }
    const gateway = d.kind === 'unicast' && d.dev === dev ? d.gateway : undefined;
    return this.transmit(out, h, dev, gateway ?? h.dst, broadcastish);
  }

  private transmit(pkt: Uint8Array, h: Ipv4Header, dev: string, nextHop: string, everyone: boolean): SendResult {
    const i = this.config.interfaces.get(dev);
    if (!i?.up) {
      this.drop('link-down', pkt);
      return { ok: false, error: new SocketError('ENETUNREACH', `${dev} is down`) };
    }
    // over the MTU: the sender fragments and the receiver reassembles (not modelled byte by byte: the
    // packet goes whole, and is counted); DF packets were refused before this (output, forwarding)
    if (pkt.length > i.mtu) this.stats.fragmented++;
    if (i.kind === 'loopback') {
      this.net.enqueue(() => this.deliverLocal(pkt, h, i));
      return { ok: true };
    }
    const tun = this.tuns.get(dev);
    if (tun) {
      this.net.trace(`${this.name}:${dev} (tun) < ${describePacket(pkt)}`);
      this.net.enqueue(() => {
        if (!tun.inject(pkt)) this.drop('tun-not-read', pkt);
      });
      return { ok: true };
    }
    const link = this.attached.get(dev);
    this.net.trace(`${this.name}:${dev} > ${link?.name ?? '(unplugged)'} ${describePacket(pkt)}`);
    if (!link) {
      this.drop('unplugged', pkt);
      return { ok: true }; // the kernel does not know the cable is out
    }
    link.carry(this, dev, pkt, nextHop, everyone);
    return { ok: true };
  }

  /** a packet arriving on `ifname` (from its link, or written into its TUN) */
  receive(pkt: Uint8Array, ifname: string): void {
    const i = this.config.interfaces.get(ifname);
    if (!i?.up) return this.drop('link-down', pkt);
    if (pkt.length > 0 && pkt[0]! >> 4 === 6) return this.drop('ipv6', pkt);
    let h: Ipv4Header;
    try {
      h = decodeIpv4Header(pkt);
    } catch {
      return this.drop('malformed', pkt);
    }
    this.stats.received++;
    if (this.nat && ifname === this.nat.outside) {
      pkt = this.nat.inbound(pkt, h);
      h = decodeIpv4Header(pkt, false);
    }
    if (this.isForUs(h.dst, ifname)) return this.deliverLocal(pkt, h, i);
    if (!this.forwarding) return this.drop('not-for-us', pkt);
    // no multicast routing: a group nobody here joined stays on its link
    if (isMulticast(h.dst)) return this.drop('multicast-not-joined', pkt);
    const dport = h.protocol === IpProto.Udp && h.totalLength >= h.ihl + 4 ? (pkt[h.ihl + 2]! << 8) | pkt[h.ihl + 3]! : undefined;
    const d = this.config.decide({ dst: h.dst, src: h.src, iif: ifname, proto: h.protocol, ...(dport !== undefined ? { dport } : {}) });
    if (d.kind !== 'unicast') {
      this.drop(d.kind === 'blocked' ? d.action : 'no-route', pkt);
      if (d.kind === 'unreachable' || (d.kind === 'blocked' && d.action !== 'blackhole')) this.icmpBack(pkt, h, IcmpType.DestinationUnreachable, d.kind === 'blocked' && d.action === 'prohibit' ? 13 : 0);
      return;
    }
    if (h.ttl <= 1) {
      this.drop('ttl', pkt);
      return this.icmpBack(pkt, h, 11, 0);
    }
    const out = this.config.interfaces.get(d.dev)!;
    if (h.totalLength > out.mtu && (h.flags & 0x2) !== 0) {
      this.drop('too-big', pkt);
      const icmp = encodeFragmentationNeeded(pkt.subarray(0, h.totalLength), out.mtu);
      return void this.sendIcmp(icmp, h.src);
    }
    let fwd = rewrite(pkt, h, { ttl: h.ttl - 1 });
    if (this.nat && d.dev === this.nat.outside && ifname !== this.nat.outside) fwd = this.nat.outbound(fwd, decodeIpv4Header(fwd, false));
    this.stats.forwarded++;
    this.transmit(fwd, decodeIpv4Header(fwd, false), d.dev, d.gateway ?? h.dst, false);
  }

  private isForUs(dst: string, ifname: string): boolean {
    if (this.config.isLocal(dst) || this.config.isBroadcast(dst, ifname)) return true;
    if (!isMulticast(dst)) return false;
    return dst === ALL_HOSTS || this.groups.has(`${ifname}|${dst}`);
  }

  private deliverLocal(pkt: Uint8Array, h: Ipv4Header, i: MemoryInterface): void {
    this.stats.delivered++;
    this.net.trace(`${this.name}:${i.name} < ${describePacket(pkt)}`);
    const whole = pkt.subarray(0, h.totalLength);
    let taken = false;
    for (const r of [...this.raw]) {
      if (r.protocol !== h.protocol || (r.device !== undefined && r.device !== i.name)) continue;
      r.deliver(whole.slice(), i);
      taken = true;
    }
    if (h.protocol === IpProto.Udp) return this.deliverUdp(whole, h, i);
    if (h.protocol === IpProto.Icmp) return this.answerIcmp(whole, h, i);
    if (!taken) this.drop('no-socket', pkt);
  }

  private deliverUdp(pkt: Uint8Array, h: Ipv4Header, i: MemoryInterface): void {
    let u;
    try {
      u = decodeUdp(pkt.subarray(h.ihl), { src: h.src, dst: h.dst });
    } catch {
      return this.drop('bad-udp', pkt);
    }
    const group = isMulticast(h.dst) || this.config.isBroadcast(h.dst, i.name);
    const fits = (b: UdpBinding): boolean =>
      b.port === u.dstPort && (b.addr === h.dst || b.addr === '0.0.0.0') && (b.device === undefined || b.device === i.name);
    const all = this.udp.filter(fits);
    // unicast: the most specific socket (bound address, then bound device); broadcast: every one
    const chosen = group ? all : all.sort((a, b) => Number(b.addr !== '0.0.0.0') - Number(a.addr !== '0.0.0.0') || Number(b.device !== undefined) - Number(a.device !== undefined)).slice(0, 1);
    if (chosen.length === 0) {
      this.drop('no-socket', pkt);
      if (!group) this.icmpBack(pkt, h, IcmpType.DestinationUnreachable, 3);
      return;
    }
    for (const b of chosen) b.deliver(u.payload.slice(), { address: h.src, port: u.srcPort }, { address: h.dst, port: u.dstPort }, i.name);
  }

  private answerIcmp(pkt: Uint8Array, h: Ipv4Header, _i: MemoryInterface): void {
    const msg = pkt.subarray(h.ihl);
    if (msg[0] !== IcmpType.EchoRequest || !this.answersPing || isMulticast(h.dst) || this.config.isBroadcast(h.dst)) return;
    try {
      const e = decodeIcmpEcho(msg);
      this.output(encodeIpv4({ src: h.dst, dst: h.src, protocol: IpProto.Icmp }, encodeIcmpEcho({ ...e, type: 0 })));
    } catch {
      this.drop('bad-icmp', pkt);
    }
  }

  /** an ICMP error about `pkt` back to its source (never about ICMP errors or broadcasts) */
  private icmpBack(pkt: Uint8Array, h: Ipv4Header, type: number, code: number): void {
    if (h.protocol === IpProto.Icmp && pkt[h.ihl] !== IcmpType.EchoRequest && pkt[h.ihl] !== IcmpType.EchoReply) return;
    if (isMulticast(h.dst) || this.config.isBroadcast(h.dst)) return;
    this.sendIcmp(encodeIcmpError(type, code, pkt.subarray(0, h.totalLength)), h.src);
  }

  private sendIcmp(icmp: Uint8Array, to: string): SendResult {
    return this.output(encodeIpv4({ src: '0.0.0.0', dst: to, protocol: IpProto.Icmp }, icmp));
  }
}

export class MemoryNet {
  readonly hosts = new Map<string, MemoryHost>();
  readonly links = new Map<string, MemoryLink>();
  private readonly queue: Array<() => void> = [];
  /** collect a line per hop in `traceLog` */
  tracing = false;
  readonly traceLog: string[] = [];

  constructor(readonly clock: MemoryClock = new MemoryClock()) {
    clock.onTick(() => this.flush());
  }

  host(name: string, opts: { forwarding?: boolean } = {}): MemoryHost {
    if (this.hosts.has(name)) throw new Error(`host ${name} exists`);
    const h = new MemoryHost(name, this, opts);
    this.hosts.set(name, h);
    return h;
  }

  link(name: string): MemoryLink {
    let l = this.links.get(name);
    if (!l) this.links.set(name, (l = new MemoryLink(name, this)));
    return l;
  }

  /** @internal */
  enqueue(task: () => void): void {
    this.queue.push(task);
  }

  /** @internal */
  trace(line: string): void {
    if (this.tracing) this.traceLog.push(line);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Delivers everything queued, and what that causes, hop by hop; returns how many steps ran. */
  flush(limit = 100_000): number {
    let n = 0;
    while (this.queue.length > 0) {
      if (++n > limit) throw new Error(`MemoryNet.flush: over ${limit} steps (a forwarding loop?)`);
      this.queue.shift()!();
    }
    return n;
  }

  /**
   * Lets promise chains and queued packets run until both are quiet (async
   * drivers: a packet handler awaits, then sends). Uses setImmediate to let
   * pending promise callbacks run; no time passes on the clock.
   */
  async settle(rounds = 100): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < rounds && quiet < 3; i++) {
      const ran = this.flush();
      await new Promise<void>((r) => setImmediate(r));
      quiet = ran === 0 && this.queue.length === 0 ? quiet + 1 : 0;
    }
  }

  /**
   * Runs the simulation deadline by deadline (settling after each) until
   * `pred` holds; false when no deadline is left within `limitMs`.
   */
  async runUntil(pred: () => boolean, limitMs: number): Promise<boolean> {
    const end = this.clock.now() + limitMs;
    for (;;) {
      await this.settle();
      if (pred()) return true;
      const next = this.clock.nextDeadline();
      if (next === undefined || next > end) return false;
      this.clock.advance(Math.max(0, next - this.clock.now()));
    }
  }

  /**
   * Runs the simulation `ms` forward for async drivers: advances the clock
   * deadline by deadline and settles after each (a timer callback's promise
   * chain runs before the next timer fires), then to the end.
   */
  async run(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await this.settle();
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = this.clock.nextDeadline();
      if (next === undefined || next > target) break;
      this.clock.advance(Math.max(0, next - this.clock.now()));
      await this.settle();
    }
    this.clock.advance(Math.max(0, target - this.clock.now()));
    await this.settle();
  }
}
