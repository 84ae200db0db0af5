/**
 * Whole IPv4 packets for the in-memory nodes (gateway, home agent, intranet
 * host): the nodes exchange what a wire would carry, so every hop can be
 * checked with the same codecs the product uses (app/wire/ip). Decoding
 * never throws: a packet that does not parse comes back as undefined.
 */
import { decodeIcmpEcho, encodeIcmpEcho, IcmpType, type IcmpEcho } from '../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto, type Ipv4Header } from '../../app/wire/ip/ipv4-header.ts';
import { decodeUdp, encodeUdp } from '../../app/wire/ip/udp.ts';

export interface UdpPacket {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** An IPv4/UDP packet with both checksums. */
export function udpPacket(p: UdpPacket): Uint8Array {
  const ep = { src: p.src, dst: p.dst };
  return encodeIpv4({ src: p.src, dst: p.dst, protocol: IpProto.Udp }, encodeUdp({ srcPort: p.srcPort, dstPort: p.dstPort, payload: p.payload }, ep));
}

/** The IPv4 header, or undefined when the packet does not parse. */
export function ipHeader(pkt: Uint8Array): Ipv4Header | undefined {
  try {
    return decodeIpv4Header(pkt);
  } catch {
    return undefined;
  }
}

/** The UDP datagram of an IPv4/UDP packet (checksum verified), or undefined. */
export function parseUdpPacket(pkt: Uint8Array): UdpPacket | undefined {
  const h = ipHeader(pkt);
  if (!h || h.protocol !== IpProto.Udp) return undefined;
  try {
    const u = decodeUdp(ipv4Payload(pkt, h), { src: h.src, dst: h.dst });
    return { src: h.src, dst: h.dst, srcPort: u.srcPort, dstPort: u.dstPort, payload: u.payload };
  } catch {
    return undefined;
  }
}

/** An ICMP echo request or reply in IPv4. */
export function icmpEchoPacket(src: string, dst: string, e: IcmpEcho): Uint8Array {
  return encodeIpv4({ src, dst, protocol: IpProto.Icmp }, encodeIcmpEcho(e));
}

/** The ICMP echo of an IPv4 packet, or undefined. */
export function parseIcmpEcho(pkt: Uint8Array): (IcmpEcho & { src: string; dst: string }) | undefined {
  const h = ipHeader(pkt);
  if (!h || h.protocol !== IpProto.Icmp) return undefined;
  try {
    return { ...decodeIcmpEcho(ipv4Payload(pkt, h)), src: h.src, dst: h.dst };
  } catch {
    return undefined;
  }
}

/** The echo reply a host sends to `pkt` when it is an echo request to `self` (undefined otherwise). */
export function echoReplyTo(pkt: Uint8Array, self: string): Uint8Array | undefined {
  const e = parseIcmpEcho(pkt);
  if (!e || e.type !== IcmpType.EchoRequest || e.dst !== self) return undefined;
  return icmpEchoPacket(self, e.src, { type: IcmpType.EchoReply, id: e.id, seq: e.seq, data: e.data });
}
