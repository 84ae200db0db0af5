/**
 * The home agent's data path, between the intranet and the tunnels.
 *
 *   intranet → MN: the kernel routes packets for a registered home address to
 *     the HA's TUN device (host route + proxy ARP, set up per binding); we read
 *     them and encapsulate to the binding's care-of address:
 *       udp     → MIP tunnel data (RFC 3519 §3.3) from port 434 to the CoA/NAT port,
 *                 Next Header = the binding's format (4, 47 or 55)
 *       ipip    → IP-in-IP (RFC 2003), outer source = the HA address
 *       gre     → GRE (RFC 2784 basic header, Protocol Type 0x0800, protocol 47)
 *       minimal → minimal encapsulation (RFC 2004, protocol 55, S set: the
 *                 correspondent is the original source, the HA the encapsulator)
 *   MN → intranet: reverse-tunnelled packets (RFC 3024) arrive as tunnel data on
 *     UDP 434 or as protocol 4, 47 or 55; they are accepted only in the binding's
 *     format and only from the endpoint of the inner source's binding (GRE with
 *     RFC 1701 key/sequence bits, a non-IPv4 protocol type, or a bad minimal
 *     forwarding-header checksum is malformed), decapsulated and written to the
 *     TUN device, and the kernel forwards them into the intranet.
 *   keepalives: an ICMP echo request to the HA inside UDP tunnel data is
 *     answered with an echo reply through the same tunnel (RFC 3519 §5.2).
 *   tunnel MTU (RFC 2003 §5.1): an ICMP "fragmentation needed" about one of our
 *     IP-in-IP packets sets the tunnel MTU towards that care-of address; an
 *     inner packet with DF that no longer fits is answered with "fragmentation
 *     needed" (tunnel MTU − 20) to its source instead of being sent.
 *
 * Per packet the IP-in-IP path makes no string, object or buffer: headers are
 * checked and read in place (the checks of decodeIpv4Header), bindings found by
 * the address as a number, and the outer packet written into a preallocated
 * slot when the caller offers one (`rawSlots`).
 *
 * Pure apart from the send functions it is given.
 */
import { DecodeError } from '../../../app/base/bytes.ts';
import { decodeIcmpEcho, encodeFragmentationNeeded, encodeIcmpEcho, IcmpType } from '../../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { bytesToIPv4, ipv4ToU32 } from '../../../app/base/ipv4.ts';
import { checksumValid, internetChecksum } from '../../../app/wire/ip/checksum.ts';
import type { BindingCache } from './binding-cache.ts';
import type { HomeAgentConfig } from './config.ts';
import { decodeGre, encodeGre, GRE_PROTOCOL_IPV4 } from '../../../app/wire/ip/gre.ts';
import { minimalDecapsulate, minimalEncapsulate } from '../../../app/wire/ip/minimal-encap.ts';
import type { Binding, TunnelFormat } from './binding-cache.ts';
import { decodeTunnelData, encodeTunnelData } from './wire.ts';

const PROTOCOL: Record<TunnelFormat, number> = { ipip: IpProto.IpInIp, gre: IpProto.Gre, minimal: IpProto.MinEncap };
const OVERHEAD: Record<TunnelFormat, number> = { ipip: 20, gre: 24, minimal: 12 };

/** The tunnel payload in `format` (what follows the outer header, or the tunnel data header). */
function wrap(format: TunnelFormat, pkt: Uint8Array, src: string, dst: string): Uint8Array {
  if (format === 'ipip') return pkt;
  if (format === 'gre') return encodeGre({ protocolType: GRE_PROTOCOL_IPV4, payload: pkt });
  return minimalEncapsulate(pkt, { src, dst });
}

/** The inner packet from a tunnel payload in `format`; throws DecodeError. `whole`: the outer packet (minimal). */
function unwrap(format: TunnelFormat, payload: Uint8Array, whole?: Uint8Array): Uint8Array {
  if (format === 'ipip') return payload;
  if (format === 'gre') {
    const g = decodeGre(payload);
    if (g.protocolType !== GRE_PROTOCOL_IPV4) throw new DecodeError(`GRE protocol type 0x${g.protocolType.toString(16)}`);
    return g.payload;
  }
  return minimalDecapsulate(whole ?? payload);
}

/** The header length of a well-formed IPv4 packet (decodeIpv4Header's checks, checksum included), −1 otherwise. */
function ipv4HeaderLength(pkt: Uint8Array): number {
  if (pkt.length < 20 || pkt[0]! >> 4 !== 4) return -1;
  const ihl = (pkt[0]! & 0x0f) * 4;
  const totalLength = (pkt[2]! << 8) | pkt[3]!;
  if (ihl < 20 || ihl > pkt.length || totalLength < ihl || totalLength > pkt.length || !checksumValid(pkt, 0, ihl)) return -1;
  return ihl;
}

const u32At = (b: Uint8Array, off: number): number => ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;

function putU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function formatOf(protocol: number): TunnelFormat | undefined {
  return protocol === IpProto.IpInIp ? 'ipip' : protocol === IpProto.Gre ? 'gre' : protocol === IpProto.MinEncap ? 'minimal' : undefined;
}

/**
 * Preallocated room for outgoing raw packets: reserve(n) gives the offset in
 * `slab` of a free slot of at least n bytes (−1 when n does not fit a slot; it
 * may send the slots already filled first), the packet is written there, and
 * commit(n) queues it. The caller sends the queued slots later (once a read
 * batch is handled).
 */
export interface RawSlots {
  readonly slab: Uint8Array;
  reserve(length: number): number;
  commit(length: number): void;
}

export interface ForwardingPorts {
  tunWrite(pkt: Uint8Array): void;
  udpSend(msg: Uint8Array, port: number, addr: string): void;
  /** Sends a whole IPv4 packet (outer header included) on the protocol 4 raw socket. */
  rawSend(pkt: Uint8Array, dst: string): void;
  /** Sends an ICMP message (no IP header: the kernel adds ours) to an intranet host. */
  icmpSend(msg: Uint8Array, dst: string): void;
  /** Optional: IP-in-IP packets are then built in these slots instead of a new buffer each, and not given to rawSend. */
  rawSlots?: RawSlots;
  /** Optional: the tunnel MTU towards a care-of address changed (the native fast path's table follows). */
  tunnelMtuChanged?(careOfAddress: string, mtu: number): void;
}

export interface ForwardingStats {
  toMn: number;
  fromMn: number;
  keepalives: number;
  noBinding: number;
  wrongEndpoint: number;
  malformed: number;
  /** inner packets answered with "fragmentation needed" (RFC 2003 §5.1) */
  tooBig: number;
}

export class Forwarder {
  readonly stats: ForwardingStats = { toMn: 0, fromMn: 0, keepalives: 0, noBinding: 0, wrongEndpoint: 0, malformed: 0, tooBig: 0 };
  /** tunnel MTU per care-of address, learned from ICMP fragmentation needed */
  readonly tunnelMtu = new Map<string, number>();
  private readonly address32: number;
  /** each binding's tunnel endpoint as a number (a new registration is a new Binding object) */
  private readonly endpoint32 = new WeakMap<Binding, number>();

  constructor(
    private readonly cfg: HomeAgentConfig,
    private readonly cache: BindingCache,
    private readonly ports: ForwardingPorts,
  ) {
    this.address32 = ipv4ToU32(cfg.address);
  }

  private endpointOf(b: Binding): number {
    let v = this.endpoint32.get(b);
    if (v === undefined) {
      v = ipv4ToU32(b.tunnelDst);
      this.endpoint32.set(b, v);
    }
    return v;
  }

  /** A packet the kernel routed to the TUN device (destined to a home address). */
  handleFromIntranet(pkt: Uint8Array): void {
    const ihl = ipv4HeaderLength(pkt);
    if (ihl < 0) {
      this.stats.malformed++;
      return;
    }
    const b = this.cache.getByAddress32(u32At(pkt, 16));
    if (!b) {
      this.stats.noBinding++;
      return;
    }
    const totalLength = (pkt[2]! << 8) | pkt[3]!;
    const tos = pkt[1]!;
    const dontFragment = (pkt[6]! & 0x40) !== 0;
    if (b.mode !== 'udp') {
      const mtu = this.tunnelMtu.get(b.tunnelDst);
      const overhead = OVERHEAD[b.format];
      if (mtu !== undefined && dontFragment && pkt.length + overhead > mtu) {
        this.stats.tooBig++;
        this.ports.icmpSend(encodeFragmentationNeeded(pkt, mtu - overhead), bytesToIPv4(pkt, 12));
        return;
      }
    }
    if (b.format === 'minimal' && (pkt[6]! & 0x3f) + pkt[7]! !== 0) {
      this.stats.malformed++; // RFC 2004 §3: a fragment (MF or an offset) cannot be minimally encapsulated
      return;
    }
    this.stats.toMn++;
    if (b.mode === 'ipip') return this.sendIpInIp(b, pkt.length === totalLength ? pkt : pkt.subarray(0, totalLength), tos, dontFragment);
    const payload = wrap(b.format, pkt, this.cfg.address, b.tunnelDst);
    if (b.mode === 'udp') this.ports.udpSend(encodeTunnelData(PROTOCOL[b.format], payload), b.tunnelPort, b.tunnelDst);
    else if (b.format === 'minimal') this.ports.rawSend(payload, b.tunnelDst);
    // RFC 2784 §2.4 does not say; as RFC 2003 §3.1: TOS and DF copied from the inner header
    else this.ports.rawSend(encodeIpv4({ src: this.cfg.address, dst: b.tunnelDst, protocol: IpProto.Gre, tos, dontFragment }, payload), b.tunnelDst);
  }

  /**
   * RFC 2003 §3.1: outer source = us, destination = the care-of address, TOS and
   * DF copied from the inner header, TTL 64, no options — encodeIpv4's bytes,
   * written into a preallocated slot when there is one.
   */
  private sendIpInIp(b: Binding, inner: Uint8Array, tos: number, dontFragment: boolean): void {
    const slots = this.ports.rawSlots;
    const length = 20 + inner.length;
    const at = slots ? slots.reserve(length) : -1;
    if (!slots || at < 0) {
      this.ports.rawSend(encodeIpv4({ src: this.cfg.address, dst: b.tunnelDst, protocol: IpProto.IpInIp, tos, dontFragment }, inner), b.tunnelDst);
      return;
    }
    const out = slots.slab;
    out[at] = 0x45;
    out[at + 1] = tos;
    out[at + 2] = length >> 8;
    out[at + 3] = length & 0xff;
    out[at + 4] = 0; // identification 0, as encodeIpv4 (the kernel fills one in for IP_HDRINCL)
    out[at + 5] = 0;
    out[at + 6] = dontFragment ? 0x40 : 0;
    out[at + 7] = 0;
    out[at + 8] = 64;
    out[at + 9] = IpProto.IpInIp;
    out[at + 10] = 0;
    out[at + 11] = 0;
    putU32(out, at + 12, this.address32);
    putU32(out, at + 16, this.endpointOf(b));
    const c = internetChecksum(out, at, at + 20);
    out[at + 10] = c >> 8;
    out[at + 11] = c & 0xff;
    out.set(inner, at + 20);
    slots.commit(length);
  }

  /**
   * An ICMP message from the raw ICMP socket: "fragmentation needed" quoting
   * one of our IP-in-IP packets (outer source = us) sets that tunnel's MTU.
   */
  handleIcmp(pkt: Uint8Array): void {
    try {
      const outer = decodeIpv4Header(pkt);
      const icmp = ipv4Payload(pkt, outer);
      if (icmp.length < 8 + 20 || icmp[0] !== IcmpType.DestinationUnreachable || icmp[1] !== 4) return;
      const q = icmp.subarray(8);
      const quotedSrc = `${q[12]}.${q[13]}.${q[14]}.${q[15]}`;
      const quotedDst = `${q[16]}.${q[17]}.${q[18]}.${q[19]}`;
      const mtu = (icmp[6]! << 8) | icmp[7]!;
      if (![IpProto.IpInIp, IpProto.Gre, IpProto.MinEncap].includes(q[9] as 4) || quotedSrc !== this.cfg.address || mtu < 68 + 20) return;
      const before = this.tunnelMtu.get(quotedDst);
      const now = Math.min(mtu, before ?? mtu);
      this.tunnelMtu.set(quotedDst, now);
      if (now !== before) this.ports.tunnelMtuChanged?.(quotedDst, now);
    } catch {
      this.stats.malformed++;
    }
  }

  /** A MIP tunnel data message (type 4) received on UDP 434; its Next Header must be the binding's format (RFC 3519 §3.3). */
  handleTunnelData(msg: Uint8Array, from: { address: string; port: number }): void {
    let inner: Uint8Array;
    let format: TunnelFormat;
    try {
      const td = decodeTunnelData(msg);
      const f = formatOf(td.nextHeader);
      if (!f) throw new DecodeError(`unsupported next header ${td.nextHeader}`);
      format = f;
      inner = unwrap(f, td.payload);
    } catch {
      this.stats.malformed++;
      return;
    }
    this.acceptFromMn(inner, format, 0, from);
  }

  /** A packet (outer header included) from the raw socket for protocol 4, 47 or 55. */
  handleRaw(pkt: Uint8Array): void {
    const ihl = ipv4HeaderLength(pkt);
    if (ihl < 0) {
      this.stats.malformed++;
      return;
    }
    const format = formatOf(pkt[9]!);
    if (!format) return;
    if ((pkt[6]! & 0x3f) + pkt[7]! !== 0) {
      this.stats.malformed++; // an outer fragment (MF or an offset)
      return;
    }
    const totalLength = (pkt[2]! << 8) | pkt[3]!;
    let inner: Uint8Array;
    try {
      inner = format === 'ipip' ? pkt.subarray(ihl, totalLength) : unwrap(format, pkt.subarray(ihl, totalLength), pkt.subarray(0, totalLength));
    } catch {
      this.stats.malformed++;
      return;
    }
    this.acceptFromMn(inner, format, u32At(pkt, 12), undefined);
  }

  /**
   * A decapsulated packet from a mobile node: its source must have a binding in
   * this format whose endpoint sent it — raw: the outer source `outerSrc`;
   * UDP tunnel data: `udpFrom`'s address and port.
   */
  private acceptFromMn(inner: Uint8Array, format: TunnelFormat, outerSrc: number, udpFrom: { address: string; port: number } | undefined): void {
    if (ipv4HeaderLength(inner) < 0) {
      this.stats.malformed++;
      return;
    }
    const b = this.cache.getByAddress32(u32At(inner, 12));
    if (!b) {
      this.stats.noBinding++;
      return;
    }
    const endpointOk = udpFrom
      ? b.mode === 'udp' && b.format === format && b.tunnelDst === udpFrom.address && b.tunnelPort === udpFrom.port
      : b.mode === format && this.endpointOf(b) === outerSrc;
    if (!endpointOk) {
      this.stats.wrongEndpoint++;
      return;
    }
    if (udpFrom && u32At(inner, 16) === this.address32 && inner[9] === IpProto.Icmp && this.answerKeepalive(inner, b.homeAddress, udpFrom)) return;
    this.stats.fromMn++;
    this.ports.tunWrite(inner);
  }

  private answerKeepalive(inner: Uint8Array, hoa: string, to: { address: string; port: number }): boolean {
    try {
      const echo = decodeIcmpEcho(ipv4Payload(inner, decodeIpv4Header(inner)));
      if (echo.type !== IcmpType.EchoRequest) return false;
      const reply = encodeIpv4({ src: this.cfg.address, dst: hoa, protocol: IpProto.Icmp }, encodeIcmpEcho({ ...echo, type: IcmpType.EchoReply }));
      const b = this.cache.get(hoa);
      const format = b?.format ?? 'ipip';
      this.ports.udpSend(encodeTunnelData(PROTOCOL[format], wrap(format, reply, this.cfg.address, to.address)), to.port, to.address);
      this.stats.keepalives++;
      return true;
    } catch {
      return false;
    }
  }
}
