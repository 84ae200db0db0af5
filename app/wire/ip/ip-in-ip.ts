/**
 * IP in IP tunnelling (RFC 2003): a new IPv4 header (protocol 4) in front of
 * the unchanged inner packet.
 *
 *                                   +---------------------------+
 *                                   |      Outer IP Header      |
 *   +---------------------------+   +---------------------------+
 *   |         IP Header         |   |         IP Header         |
 *   +---------------------------+   +---------------------------+
 *   |         IP Payload        |   |         IP Payload        |
 *   +---------------------------+   +---------------------------+
 *
 *   §3.1: TOS copied from the inner header; DF set when the inner DF is set;
 *   outer TTL large enough to reach the exit; inner options not copied.
 *   Encapsulation leaves the inner TTL alone (a forwarding encapsulator
 *   decrements it first, which is the caller's job).
 */
import { DecodeError } from '../../base/bytes.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto, type Ipv4Header } from './ipv4-header.ts';

export const DEFAULT_TUNNEL_TTL = 64;

export interface TunnelEndpoints {
  /** Tunnel entry (outer source). */
  src: string;
  /** Tunnel exit (outer destination). */
  dst: string;
  ttl?: number;
  id?: number;
}

const DF = 0x2;

export function ipInIpEncapsulate(inner: Uint8Array, ep: TunnelEndpoints): Uint8Array {
  const h = decodeIpv4Header(inner, false);
  const packet = inner.subarray(0, h.totalLength);
  return encodeIpv4({
    src: ep.src, dst: ep.dst, protocol: IpProto.IpInIp, ttl: ep.ttl ?? DEFAULT_TUNNEL_TTL,
    tos: h.tos, dontFragment: (h.flags & DF) !== 0, ...(ep.id !== undefined ? { id: ep.id } : {}),
  }, packet);
}

export interface Decapsulated {
  outer: Ipv4Header;
  /** The inner packet, a view into the outer one (no copy). */
  inner: Uint8Array;
}

/** Checks the outer header (checksum, protocol 4) and that the inner packet is IPv4. */
export function ipInIpDecapsulate(packet: Uint8Array): Decapsulated {
  const outer = decodeIpv4Header(packet);
  if (outer.protocol !== IpProto.IpInIp) throw new DecodeError(`outer protocol ${outer.protocol} is not IP-in-IP (4)`, 9);
  if (outer.fragOffset !== 0 || (outer.flags & 0x1) !== 0) throw new DecodeError('outer packet is a fragment; reassemble first', 6);
  const inner = ipv4Payload(packet, outer);
  decodeIpv4Header(inner, false);
  return { outer, inner };
}
