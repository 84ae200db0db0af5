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
 *
 * Mode mc in one native pass (issue 17): when the data path is a VPN TUN whose
 * ESP runs in the addon (app/io/native-pipeline.ts), the binding is IP-in-IP
 * on raw IP (not RFC 3519), the traffic gate is open and the home-address TUN
 * has a descriptor, the tunnel is installed in that data plane: its threads
 * read this TUN, encapsulate and seal in one pass, and write the HA's tunnel
 * back here after the ESP open — with the same checks as below
 * (native-tunnel/src/mip_pass.h). JavaScript stops reading the TUN meanwhile
 * and takes over again the moment any of those conditions ends (a handover
 * holds the gate, the binding changes, the VPN's native path stops).
 * HOMEWARD_NATIVE_MIP=0 keeps everything here.
 */
import { encodeFragmentationNeeded } from '../wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../wire/ip/ipv4-header.ts';
import { outboundRoute, type DataBinding, type DataPath } from '../mip4/mn-binding.ts';
import {
  decapsulateIp, decapsulateUdp, encapsulateIp, encapsulateUdp, TUNNEL_PROTOCOL, tunnelOverhead, type Decapsulated, type TunnelFormat,
} from '../mip4/tunnel-format.ts';
import { checkTunnelPath, outerAddresses, worthReporting, type Arrival, type PathRefusal, type TunnelPath } from '../mip4/tunnel-path.ts';
import type { MipDataPathEvent, WarningEvent } from '../events.ts';
import { CAP_NET_ADMIN_HINT, NetConfigError } from './netconfig.ts';
import type { TunnelDataArrival } from './mip-registration.ts';
import { linuxPlatform } from './platform-linux.ts';
import type { Platform } from './platform.ts';
import type { RawSocket } from './raw-socket.ts';
import type { TunDevice, TunStats } from './tun-device.ts';
import { nativePipeline, type MipPassPort } from './native-pipeline.ts';
import type { NativeMipStats, NativeMipTunnel } from '../../native-tunnel/index.ts';

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
  onEvent(e: WarningEvent | MipDataPathEvent): void;
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

/** A TUN whose descriptor the native data plane can read (app/io/native-tun.ts). */
interface HandOverTun {
  readonly fd: number;
  setReading(on: boolean): void;
}

function handOver(tun: TunDevice | undefined): (TunDevice & HandOverTun) | undefined {
  const t = tun as (TunDevice & Partial<HandOverTun>) | undefined;
  return t && typeof t.fd === 'number' && t.fd >= 0 && typeof t.setReading === 'function' ? (t as TunDevice & HandOverTun) : undefined;
}

type MipCounts = Pick<NativeMipStats, 'tunIn' | 'out' | 'in' | 'tooBigIcmp'> & { drops: NativeMipStats['drops'] };
const NO_COUNTS: MipCounts = { tunIn: 0, out: 0, in: 0, tooBigIcmp: 0, drops: { malformed: 0, 'too-big': 0, 'wrong-destination': 0, 'tun-write': 0 } };

/** a + sign·b, counter by counter */
function combine(a: MipCounts, b: MipCounts, sign: 1 | -1): MipCounts {
  const d = { ...NO_COUNTS.drops };
  for (const k of Object.keys(d) as (keyof MipCounts['drops'])[]) d[k] = a.drops[k] + sign * b.drops[k];
  return { tunIn: a.tunIn + sign * b.tunIn, out: a.out + sign * b.out, in: a.in + sign * b.in, tooBigIcmp: a.tooBigIcmp + sign * b.tooBigIcmp, drops: d };
}
const plus = (a: MipCounts, b: MipCounts): MipCounts => combine(a, b, 1);
const minus = (a: MipCounts, b: MipCounts): MipCounts => combine(a, b, -1);

export class MipTunnel {
  /** the JavaScript path's counters; `stats` adds the native pass's */
  private readonly counts: MipTunnelStats = { tunnelledOut: 0, tunnelledIn: 0, droppedNoBinding: 0, tooBig: 0, droppedMalformed: 0, droppedWrongSource: 0, droppedWrongFormat: 0, droppedWrongPath: 0 };
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
  /** the traffic gate lets packets through (no gate: always) — the native pass runs only then */
  private trafficOpen: boolean;
  /** the tunnel installed in a VPN TUN's data plane (mode mc), and its counters when installed */
  private native?: { port: MipPassPort; key: string; base: MipCounts };
  /** the native pass's counts of earlier installations */
  private nativeDone: MipCounts = NO_COUNTS;
  private unwatch?: () => void;

  constructor(private readonly opts: MipTunnelOptions) {
    this.platform = opts.platform ?? linuxPlatform();
    this.trafficOpen = opts.gate === undefined;
  }

  /** Counters of both paths: the JavaScript one's and the native pass's. */
  get stats(): Readonly<MipTunnelStats> {
    const n = this.nativeCounts();
    const c = this.counts;
    return {
      ...c,
      tunnelledOut: c.tunnelledOut + n.out, tunnelledIn: c.tunnelledIn + n.in,
      tooBig: c.tooBig + n.drops['too-big'], droppedMalformed: c.droppedMalformed + n.drops.malformed,
      droppedWrongSource: c.droppedWrongSource + n.drops['wrong-destination'],
    };
  }

  /** The home-address TUN's counters: rx = packets users sent, tx = packets delivered to them (the native pass's included). */
  get tunStats(): Readonly<TunStats> | undefined {
    const s = this.tun?.stats;
    if (!s) return s;
    const n = this.nativeCounts();
    return { ...s, rxPackets: s.rxPackets + n.tunIn, txPackets: s.txPackets + n.in + n.tooBigIcmp, txDropped: s.txDropped + n.drops['tun-write'] };
  }

  /** Whether the native pass carries the tunnel now. */
  get nativePass(): boolean {
    return this.native !== undefined;
  }

  /** The traffic gate opened (true) or holds/drops (false): the native pass bypasses the gate, so it runs only while it is open. */
  setTrafficOpen(open: boolean): void {
    this.trafficOpen = open;
    this.syncNative();
  }

  private nativeCounts(): MipCounts {
    const n = this.native;
    const now = n?.port.stats();
    return n && now ? plus(this.nativeDone, minus(now, n.base)) : this.nativeDone;
  }

  /** The tunnel the native pass should carry now, or why not (undefined). */
  private nativeWanted(): { port: MipPassPort; t: NativeMipTunnel & { tunFd: number } } | undefined {
    const b = this.binding;
    const p = this.pinned;
    const tun = handOver(this.tun);
    if (process.env.HOMEWARD_NATIVE_MIP === '0' || !tun || !b || !p || !this.trafficOpen) return undefined;
    if (b.udpTunnel || b.format !== 'ip-in-ip' || p.path.direct === true) return undefined;
    const port = nativePipeline.portFor(p.path.device);
    if (!port) return undefined;
    return { port, t: { tunFd: tun.fd, hoa: this.opts.homeAddress, coa: b.coa, ha: this.opts.homeAgent, ...(p.mtu === undefined ? {} : { mtu: p.mtu }) } };
  }

  /** Installs, moves or removes the native pass to match the binding, the data path, the gate and the VPN's data plane. */
  private syncNative(): void {
    const want = this.nativeWanted();
    const key = want && JSON.stringify(want.t);
    const cur = this.native;
    if (cur && cur.port === want?.port && cur.key === key) return;
    if (cur) {
      const last = cur.port.stats();
      if (last) this.nativeDone = plus(this.nativeDone, minus(last, cur.base));
      cur.port.remove();
      this.native = undefined;
    }
    const tun = handOver(this.tun);
    if (!want || !key) {
      if (cur) {
        tun?.setReading(true);
        this.opts.onEvent({ type: 'mip-data-path', native: false });
      }
      return;
    }
    try {
      want.port.install(want.t);
      this.native = { port: want.port, key, base: want.port.stats() ?? NO_COUNTS };
      tun?.setReading(false);
      if (!cur) this.opts.onEvent({ type: 'mip-data-path', native: true, device: this.pinned!.path.device });
    } catch (e) {
      tun?.setReading(true);
      if (cur) this.opts.onEvent({ type: 'mip-data-path', native: false });
      this.opts.onEvent({ type: 'warning', code: 'DATA_PATH', message: `the native Mobile IP pass is not available: ${(e as Error).message}` });
    }
  }

  async start(): Promise<void> {
    const { platform: { net }, opts: o } = this;
    // IFF_VNET_HDR for the native pass's TSO and coalesced writes in mode mc (HOMEWARD_TUN_OFFLOADS=0: plain packets)
    const tun = this.platform.openTun(o.tunName, { offloads: process.env.HOMEWARD_TUN_OFFLOADS !== '0' });
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
    this.unwatch = nativePipeline.watch(() => this.syncNative());
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
    this.syncNative();
  }

  /** Outer packets leave only through `path.device` from now on (undefined: nowhere). */
  setDataPath(path: DataPath | undefined): void {
    const p = this.pinned?.path;
    if (p?.device === path?.device && (p?.direct === true) === (path?.direct === true)) return;
    this.pinned?.raw.close();
    this.pinned = undefined;
    this.syncNative();
    if (!path) return;
    try {
      // sends every format (IP_HDRINCL: the header says the protocol)
      const raw = this.platform.openRaw(IpProto.IpInIp, { hdrincl: true, device: path.device });
      const mtu = this.platform.linkInfo?.(path.device).mtu;
      this.pinned = { path, raw, ...(mtu === undefined ? {} : { mtu }) };
      this.syncNative();
    } catch (e) {
      this.opts.onEvent({ type: 'warning', code: 'DATA_PATH', message: `cannot pin the tunnel to ${path.device}: ${(e as Error).message}` });
    }
  }

  /** Sends a packet from the home address (or one the gate held) through the current binding, or counts it dropped. */
  send(pkt: Uint8Array): void {
    const b = this.binding;
    const route = outboundRoute(b, this.pinned?.path);
    if (!b || route === 'no-binding') return void this.counts.droppedNoBinding++;
    this.counts.tunnelledOut++;
    this.opts.registration.dataSent();
    const ep = { src: b.coa, dst: this.opts.homeAgent };
    if (route === 'udp') {
      let msg;
      try {
        msg = encapsulateUdp(pkt, b.format, ep);
      } catch {
        return void this.counts.droppedMalformed++;
      }
      return void this.opts.registration.sendToHa(msg);
    }
    let h;
    try {
      h = decodeIpv4Header(pkt, false);
    } catch {
      return void this.counts.droppedMalformed++;
    }
    if (route === 'direct') {
      // mode f: to the FA as the link's router, which reverse-tunnels it to the HA
      if (!this.pinned!.raw.send(pkt, h.dst)) this.counts.droppedNoBinding++;
      return;
    }
    const df = (h.flags & 0x2) !== 0;
    const mtu = this.pinned?.mtu;
    const overhead = tunnelOverhead(b.format);
    if (df && mtu !== undefined && pkt.length + overhead > mtu) {
      // RFC 2003 §5.1: the encapsulator answers a DF packet that does not fit the tunnel with
      // "fragmentation needed", next-hop MTU = tunnel MTU − the format's overhead, so the sender's
      // PMTU discovery shrinks its segments (mode mc: the IPsec TUN is the tunnel's path)
      this.counts.tooBig++;
      this.tun?.write(encodeIpv4({ src: b.coa, dst: h.src, protocol: IpProto.Icmp, tos: 0xc0 }, encodeFragmentationNeeded(pkt, mtu - overhead)));
      return;
    }
    // RFC 2003 §3.1 / RFC 2784: TOS and DF copied; RFC 2004: the inner header itself, modified
    let outer;
    try {
      outer = encapsulateIp(pkt, b.format, ep);
    } catch {
      return void this.counts.droppedMalformed++; // a fragment cannot be minimally encapsulated (RFC 2004 §3)
    }
    if (this.pinned) this.pinned.raw.send(outer, this.opts.homeAgent);
    else this.counts.droppedNoBinding++;
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
    this.unwatch?.();
    this.trafficOpen = false;
    this.syncNative();
    for (const r of this.opts.routes) await step(this.platform.net.delRule({ to: r, table: ROUTE_TABLE, pref: RULE_PREF_ROUTES }), true);
    await step(this.platform.net.flushTable(ROUTE_TABLE), true);
    for (const s of this.rawIn) s.close();
    this.pinned?.raw.close();
    await this.tun?.close();
  }

  /** true when it is a usable inner packet; the reason is counted otherwise */
  private opened(d: Decapsulated): d is Extract<Decapsulated, { ok: true }> {
    if (!d.ok) this.counts[d.reason === 'wrong-format' ? 'droppedWrongFormat' : 'droppedMalformed']++;
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
    this.counts[counter]++;
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
      if ((this.binding?.format ?? 'ip-in-ip') !== format) return void this.counts.droppedWrongFormat++;
      const d = decapsulateIp(pkt, format);
      if (this.opened(d)) this.deliver(d.inner);
    } catch (e) {
      this.countDrop('droppedMalformed', 'malformed', `protocol ${TUNNEL_PROTOCOL[format]}: ${(e as Error).message}`);
    }
  }

  private deliver(inner: Uint8Array): void {
    try {
      if (decodeIpv4Header(inner).dst !== this.opts.homeAddress) return void this.counts.droppedWrongSource++;
    } catch {
      return void this.counts.droppedMalformed++;
    }
    this.counts.tunnelledIn++;
    this.tun?.write(inner);
  }
}
