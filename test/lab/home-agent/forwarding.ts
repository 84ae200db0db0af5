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
 * Pure apart from the three send functions it is given.
 */
import { DecodeError } from '../../../app/base/bytes.ts';
import { decodeIcmpEcho, encodeFragmentationNeeded, encodeIcmpEcho, IcmpType } from '../../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
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

export interface ForwardingPorts {
  tunWrite(pkt: Uint8Array): void;
  udpSend(msg: Uint8Array, port: number, addr: string): void;
  /** Sends a whole IPv4 packet (outer header included) on the protocol 4 raw socket. */
  rawSend(pkt: Uint8Array, dst: string): void;
  /** Sends an ICMP message (no IP header: the kernel adds ours) to an intranet host. */
  icmpSend(msg: Uint8Array, dst: string): void;
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

  constructor(
    private readonly cfg: HomeAgentConfig,
    private readonly cache: BindingCache,
    private readonly ports: ForwardingPorts,
  ) {}

  /** A packet the kernel routed to the TUN device (destined to a home address). */
  handleFromIntranet(pkt: Uint8Array): void {
    let h;
    try {
      h = decodeIpv4Header(pkt);
    } catch {
      this.stats.malformed++;
      return;
    }
    const b = this.cache.get(h.dst);
    if (!b) {
      this.stats.noBinding++;
      return;
    }
    if (b.mode !== 'udp') {
      const mtu = this.tunnelMtu.get(b.tunnelDst);
      const overhead = OVERHEAD[b.format];
      if (mtu !== undefined && (h.flags & 0x2) !== 0 && pkt.length + overhead > mtu) {
        this.stats.tooBig++;
        this.ports.icmpSend(encodeFragmentationNeeded(pkt, mtu - overhead), h.src);
        return;
      }
    }
    if (b.format === 'minimal' && (h.fragOffset !== 0 || (h.flags & 0x1) !== 0)) {
      this.stats.malformed++; // RFC 2004 §3: a fragment cannot be minimally encapsulated
      return;
    }
    this.stats.toMn++;
    if (b.mode === 'ipip') {
      // RFC 2003 §3.1 with the header decoded above (ipInIpEncapsulate's bytes, one decode fewer per packet)
      const outer = encodeIpv4({ src: this.cfg.address, dst: b.tunnelDst, protocol: IpProto.IpInIp, tos: h.tos, dontFragment: (h.flags & 0x2) !== 0 }, pkt.subarray(0, h.totalLength));
      return this.ports.rawSend(outer, b.tunnelDst);
    }
    const payload = wrap(b.format, pkt, this.cfg.address, b.tunnelDst);
    if (b.mode === 'udp') this.ports.udpSend(encodeTunnelData(PROTOCOL[b.format], payload), b.tunnelPort, b.tunnelDst);
    else if (b.format === 'minimal') this.ports.rawSend(payload, b.tunnelDst);
    // RFC 2784 §2.4 does not say; as RFC 2003 §3.1: TOS and DF copied from the inner header
    else this.ports.rawSend(encodeIpv4({ src: this.cfg.address, dst: b.tunnelDst, protocol: IpProto.Gre, tos: h.tos, dontFragment: (h.flags & 0x2) !== 0 }, payload), b.tunnelDst);
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
      this.tunnelMtu.set(quotedDst, Math.min(mtu, this.tunnelMtu.get(quotedDst) ?? mtu));
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
      const f = (Object.keys(PROTOCOL) as TunnelFormat[]).find((k) => PROTOCOL[k] === td.nextHeader);
      if (!f) throw new DecodeError(`unsupported next header ${td.nextHeader}`);
      format = f;
      inner = unwrap(f, td.payload);
    } catch {
      this.stats.malformed++;
      return;
    }
    this.acceptFromMn(inner, (b) => b.mode === 'udp' && b.format === format && b.tunnelDst === from.address && b.tunnelPort === from.port, from);
  }

  /** A packet (outer header included) from the raw socket for protocol 4, 47 or 55. */
  handleRaw(pkt: Uint8Array): void {
    let outerSrc: string;
    let inner: Uint8Array;
    let format: TunnelFormat;
    try {
      const outer = decodeIpv4Header(pkt);
      const f = (Object.keys(PROTOCOL) as TunnelFormat[]).find((k) => PROTOCOL[k] === outer.protocol);
      if (!f) return;
      if (outer.fragOffset !== 0 || (outer.flags & 0x1) !== 0) throw new DecodeError('outer fragment');
      format = f;
      outerSrc = outer.src;
      inner = unwrap(f, ipv4Payload(pkt, outer), pkt.subarray(0, outer.totalLength));
    } catch {
      this.stats.malformed++;
      return;
    }
    this.acceptFromMn(inner, (b) => b.mode === format && b.tunnelDst === outerSrc, undefined);
  }

  private acceptFromMn(inner: Uint8Array, endpointOk: (b: Binding) => boolean, udpFrom: { address: string; port: number } | undefined): void {
    let h;
    try {
      h = decodeIpv4Header(inner);
    } catch {
      this.stats.malformed++;
      return;
    }
    const b = this.cache.get(h.src);
    if (!b) {
      this.stats.noBinding++;
      return;
    }
    if (!endpointOk(b)) {
      this.stats.wrongEndpoint++;
      return;
    }
    if (udpFrom && h.dst === this.cfg.address && h.protocol === IpProto.Icmp && this.answerKeepalive(inner, h.src, udpFrom)) return;
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
