/**
 * The Mobile IPv4 data path: the home-address TUN and the tunnel to the HA.
 *   set-up:   the TUN holds the home address; the prefixes are routed into it (policy table 434).
 *   outbound: TUN → reverse tunnel to the HA (RFC 3024): RFC 3519 tunnel data on the
 *             registration socket, or IP-in-IP / GRE / minimal encapsulation
 *             (app/mip4/tunnel-format.ts) on a raw socket pinned to the data path's
 *             device; mode f hands packets to the FA as they are. Nothing leaves
 *             without an accepted binding (app/mip4/mn-binding.ts outboundRoute).
 *   inbound:  tunnel data / protocol 4, 47, 55 that travelled the binding's path
 *             (app/mip4/tunnel-path.ts), in the binding's format only, into the TUN
 *             when the inner destination is the home address; the rest is counted.
 * The registration driver (app/io/mip-registration.ts) sets the binding and carries
 * the RFC 3519 traffic. Everything outside goes through the Platform.
 */
import { encodeFragmentationNeeded } from '../wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../wire/ip/ipv4-header.ts';
import { outboundRoute, type DataBinding, type DataPath } from '../mip4/mn-binding.ts';
import {
  decapsulateIp, decapsulateUdp, encapsulateIp, encapsulateUdp, TUNNEL_PROTOCOL, tunnelOverhead, type Decapsulated, type TunnelFormat,
} from '../mip4/tunnel-format.ts';
import { checkTunnelPath, outerAddresses, worthReporting, type Arrival, type PathRefusal, type TunnelPath } from '../mip4/tunnel-path.ts';
import type { WarningEvent } from '../events.ts';
import { CAP_NET_ADMIN_HINT, NetConfigError } from './netconfig.ts';
import type { TunnelDataArrival } from './mip-registration.ts';
import { linuxPlatform } from './platform-linux.ts';
import type { Platform } from './platform.ts';
import type { RawSocket } from './raw-socket.ts';
import type { TunDevice, TunStats } from './tun-device.ts';

export type { DataPath };

const ROUTE_TABLE = '434';
/** Leaves room for the outer IPv4 header (20), or UDP + tunnel data (32), and a NAT or a VPN on the way. */
export const TUN_MTU = 1400;
const RULE_PREF_ROUTES = 1002;

export interface MipTunnelStats {
  tunnelledOut: number;
  tunnelledIn: number;
  droppedNoBinding: number;
  /** DF packets too big for the tunnel: answered with ICMP fragmentation needed (RFC 2003 §5.1) */
  tooBig: number;
  droppedMalformed: number;
  droppedWrongSource: number;
  /** tunnelled packets in another format than the binding's (RFC 3519 §3.3: a Next Header mismatch is dropped) */
  droppedWrongFormat: number;
  /** tunnelled packets that did not travel the binding's path (app/mip4/tunnel-path.ts): wrong destination or device, no binding */
  droppedWrongPath: number;
}

/** What the data path needs from the registration driver. */
export interface RegistrationPort {
  /** RFC 3519 tunnel data to the HA on the registration socket; false when there is none */
  sendToHa(bytes: Uint8Array): boolean;
  /** user data went to the HA (the keepalive timer restarts) */
  dataSent(): void;
  /** true when the tunnelled packet answered a keepalive (consumed) */
  keepaliveReply(inner: Uint8Array): boolean;
}

export interface MipTunnelOptions {
  homeAddress: string;
  homeAgent: string;
  tunName: string;
  /** Prefixes routed into the TUN (policy table 434). */
  routes: string[];
  registration: RegistrationPort;
  onEvent(e: WarningEvent): void;
  /** Decides, before anything else, whether a packet from the TUN may go now (true) or is taken by the caller (held/dropped). */
  gate?(pkt: Uint8Array): boolean;
  platform?: Platform;
}

/** Runs a set-up step; clean-up steps pass `tolerate` (the thing may already be gone). */
export async function step(what: Promise<void>, tolerate = false): Promise<void> {
  try {
    await what;
  } catch (e) {
    if (tolerate) return;
    const hint = e instanceof NetConfigError && /not permitted/i.test(e.stderr) ? ` (${CAP_NET_ADMIN_HINT})` : '';
    throw new Error(`${(e as Error).message}${hint}`, { cause: e });
  }
}

export class MipTunnel {
  readonly stats: MipTunnelStats = { tunnelledOut: 0, tunnelledIn: 0, droppedNoBinding: 0, tooBig: 0, droppedMalformed: 0, droppedWrongSource: 0, droppedWrongFormat: 0, droppedWrongPath: 0 };
  private readonly platform: Platform;
  private tun?: TunDevice;
  /** receive sockets: IP-in-IP (4), GRE (47), minimal encapsulation (55) */
  private readonly rawIn: RawSocket[] = [];
  private binding?: DataBinding;
  /** the send-only raw socket pinned to the data path's device */
  private pinned?: { path: DataPath; raw: RawSocket; mtu?: number };
  /** the device tunnelled packets must arrive on, by name and (cached) ifindex */
  private arrivalDevice?: { name: string; ifindex: number | undefined; resolvedAt: number };
  private readonly dropCounts = new Map<string, number>();

  constructor(private readonly opts: MipTunnelOptions) {
    this.platform = opts.platform ?? linuxPlatform();
  }

  /** The home-address TUN's counters: rx = packets users sent, tx = packets delivered to them. */
  get tunStats(): Readonly<TunStats> | undefined {
    return this.tun?.stats;
  }

  async start(): Promise<void> {
    const { platform: { net }, opts: o } = this;
    const tun = this.platform.openTun(o.tunName);
    this.tun = tun;
    await step(net.addAddress(tun.name, `${o.homeAddress}/32`));
    await step(net.setMtu(tun.name, TUN_MTU));
    await step(net.linkUp(tun.name));
    for (const r of o.routes) {
      // scope global: the kernel never resolves a gateway through it (nexthop lookups skip routes
      // of scope universe), so a router on a trusted subnet inside these prefixes stays on its link
      await step(net.replaceRoute({ dst: r, dev: tun.name, src: o.homeAddress, table: ROUTE_TABLE, scope: 'global' }));
      await step(net.ensureRule({ to: r, table: ROUTE_TABLE, pref: RULE_PREF_ROUTES }));
    }
    tun.onPacket((pkt) => {
      try {
        if (o.gate && !o.gate(pkt)) return;
        this.send(pkt);
      } catch (e) {
        // one packet the host wrote that we cannot handle is counted and dropped, never the end of the driver
        this.countDrop('droppedMalformed', 'malformed', `home-address TUN: ${(e as Error).message}`);
      }
    });
    // IP_PKTINFO: each packet says which device it arrived on (checked against the binding's path)
    for (const f of ['ip-in-ip', 'gre', 'minimal'] as const) {
      const s = this.platform.openRaw(TUNNEL_PROTOCOL[f], f === 'ip-in-ip' ? { hdrincl: true, pktinfo: true } : { pktinfo: true });
      s.onPacket((pkt, ifindex) => this.handleRawIn(pkt, ifindex, f));
      this.rawIn.push(s);
    }
  }

  /** The binding the registration driver has (undefined: none — nothing leaves, nothing is taken in). */
  setBinding(b: DataBinding | undefined): void {
    this.binding = b;
  }

  /** Outer packets leave only through `path.device` from now on (undefined: nowhere). */
  setDataPath(path: DataPath | undefined): void {
    const p = this.pinned?.path;
    if (p?.device === path?.device && (p?.direct === true) === (path?.direct === true)) return;
    this.pinned?.raw.close();
    this.pinned = undefined;
    if (!path) return;
    try {
      // sends every format (IP_HDRINCL: the header says the protocol)
      const raw = this.platform.openRaw(IpProto.IpInIp, { hdrincl: true, device: path.device });
      const mtu = this.platform.linkInfo?.(path.device).mtu;
      this.pinned = { path, raw, ...(mtu === undefined ? {} : { mtu }) };
    } catch (e) {
      this.opts.onEvent({ type: 'warning', code: 'DATA_PATH', message: `cannot pin the tunnel to ${path.device}: ${(e as Error).message}` });
    }
  }

  /** Sends a packet from the home address (or one the gate held) through the current binding, or counts it dropped. */
  send(pkt: Uint8Array): void {
    const b = this.binding;
    const route = outboundRoute(b, this.pinned?.path);
    if (!b || route === 'no-binding') return void this.stats.droppedNoBinding++;
    this.stats.tunnelledOut++;
    this.opts.registration.dataSent();
    const ep = { src: b.coa, dst: this.opts.homeAgent };
    if (route === 'udp') {
      let msg;
      try {
        msg = encapsulateUdp(pkt, b.format, ep);
      } catch {
        return void this.stats.droppedMalformed++;
      }
      return void this.opts.registration.sendToHa(msg);
    }
    let h;
    try {
      h = decodeIpv4Header(pkt, false);
    } catch {
      return void this.stats.droppedMalformed++;
    }
    if (route === 'direct') {
      // mode f: to the FA as the link's router, which reverse-tunnels it to the HA
      if (!this.pinned!.raw.send(pkt, h.dst)) this.stats.droppedNoBinding++;
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
      return void this.stats.droppedMalformed++; // a fragment cannot be minimally encapsulated (RFC 2004 §3)
    }
    if (this.pinned) this.pinned.raw.send(outer, this.opts.homeAgent);
    else this.stats.droppedNoBinding++;
  }

  /** RFC 3519 tunnel data from a registration socket: the socket's bound address is the outer destination, its device the arrival device. */
  handleTunnelData(msg: Uint8Array, a: TunnelDataArrival): void {
    // the socket the registration left from (its address: the CoA, unless a fixed CoA is not ours)
    const b = this.binding;
    const path = b && { ha: this.opts.homeAgent, coa: b.source, device: this.pinned?.path.device ?? '' };
    if (!this.pathOk({ src: a.from, dst: a.local, device: a.device }, path, path?.device, () => `UDP tunnel data from ${a.from} to ${a.local} on ${a.device ?? 'no device'}`)) return;
    const d = decapsulateUdp(msg, this.binding?.format ?? 'ip-in-ip');
    if (!this.opened(d)) return;
    if (this.opts.registration.keepaliveReply(d.inner)) return;
    this.deliver(d.inner);
  }

  /** A registration socket's receive path failed on one datagram. */
  countMalformed(detail: string): void {
    this.countDrop('droppedMalformed', 'malformed', detail);
  }

  async stop(): Promise<void> {
    for (const r of this.opts.routes) await step(this.platform.net.delRule({ to: r, table: ROUTE_TABLE, pref: RULE_PREF_ROUTES }), true);
    await step(this.platform.net.flushTable(ROUTE_TABLE), true);
    for (const s of this.rawIn) s.close();
    this.pinned?.raw.close();
    await this.tun?.close();
  }

  /** true when it is a usable inner packet; the reason is counted otherwise */
  private opened(d: Decapsulated): d is Extract<Decapsulated, { ok: true }> {
    if (!d.ok) this.stats[d.reason === 'wrong-format' ? 'droppedWrongFormat' : 'droppedMalformed']++;
    return d.ok;
  }

  /** The path tunnelled packets must have taken: from the HA, to the accepted binding's CoA, arriving on the data path's device. */
  private expectedPath(): { ha: string; coa: string; device: string } | undefined {
    const b = this.binding;
    return b && { ha: this.opts.homeAgent, coa: b.coa, device: this.pinned?.path.device ?? '' };
  }

  /** The data path device's ifindex; re-read when it does not match (at most once a second: the TUN may be new). */
  private expectedIfindex(name: string, arrived: number): number | undefined {
    let a = this.arrivalDevice;
    const now = this.platform.clock.now();
    if (!a || a.name !== name || (a.ifindex !== arrived && now - a.resolvedAt >= 1000)) {
      a = { name, ifindex: this.platform.linkInfo?.(name).ifindex, resolvedAt: now };
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
  private pathOk(arrival: Arrival | undefined, path: Omit<TunnelPath, 'device'> | undefined, device: TunnelPath['device'], detail: () => string): boolean {
    const v = checkTunnelPath(arrival, path && { ...path, device });
    if (v.ok) return true;
    const counter = v.reason === 'wrong-source' ? 'droppedWrongSource' : v.reason === 'malformed' ? 'droppedMalformed' : 'droppedWrongPath';
    this.countDrop(counter, v.reason, detail());
    return false;
  }

  /** A packet from the raw socket for `format`'s protocol (4, 47, 55), arrived on device `ifindex`. */
  private handleRawIn(pkt: Uint8Array, ifindex: number, format: TunnelFormat): void {
    try {
      const outer = outerAddresses(pkt);
      const path = this.expectedPath();
      const expected = path?.device ? this.expectedIfindex(path.device, ifindex) : undefined;
      const arrival = outer && { ...outer, device: ifindex };
      if (!this.pathOk(arrival, path, expected, () => `protocol ${TUNNEL_PROTOCOL[format]} from ${outer?.src ?? '?'} to ${outer?.dst ?? '?'} on ifindex ${ifindex}, expected ${path?.coa ?? 'no binding'} on ${path?.device || 'no device'}`)) return;
      if ((this.binding?.format ?? 'ip-in-ip') !== format) return void this.stats.droppedWrongFormat++;
      const d = decapsulateIp(pkt, format);
      if (this.opened(d)) this.deliver(d.inner);
    } catch (e) {
      this.countDrop('droppedMalformed', 'malformed', `protocol ${TUNNEL_PROTOCOL[format]}: ${(e as Error).message}`);
    }
  }

  private deliver(inner: Uint8Array): void {
    try {
      if (decodeIpv4Header(inner).dst !== this.opts.homeAddress) return void this.stats.droppedWrongSource++;
    } catch {
      return void this.stats.droppedMalformed++;
    }
    this.stats.tunnelledIn++;
    this.tun?.write(inner);
  }
}
