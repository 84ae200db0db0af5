/**
 * The Mobile IPv4 data path's packet formats, chosen by what the home agent
 * accepted: the encapsulation the accepted request asked for (G or M bit,
 * RFC 5944 §3.3; the UDP Tunnel Request's Encapsulation field, RFC 3519 §3.1)
 * — IP-in-IP when it asked for neither.
 *
 *   format     raw IPv4 (protocol)                 RFC 3519 tunnel data (Next Header)
 *   ip-in-ip   outer header | inner       (4)      4 | inner
 *   gre        outer header | GRE | inner (47)     47 | GRE | inner
 *   minimal    inner header modified | fwd | data  55 | the same
 *              (protocol 55, RFC 2004)
 *
 * GRE is RFC 2784's basic header (Protocol Type 0x0800, no checksum sent);
 * a received packet with RFC 1701 key/sequence/routing bits is dropped (RFC
 * 2784 §2.5), since we never negotiate them. Minimal encapsulation always
 * carries the original source (S = 1): the encapsulator (CoA or HA) is never
 * the original sender (HoA or correspondent).
 *
 * Pure: whole packets in, whole packets out; malformed input comes back as
 * `{ ok: false }` with a reason for the caller's counters, never a throw.
 */
import { DecodeError } from '../base/bytes.ts';
import { decodeGre, encodeGre, GRE_PROTOCOL_IPV4 } from '../wire/ip/gre.ts';
import { ipInIpEncapsulate } from '../wire/ip/ip-in-ip.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../wire/ip/ipv4-header.ts';
import { minimalDecapsulate, minimalEncapsulate } from '../wire/ip/minimal-encap.ts';
import { Encapsulation } from '../wire/mip4/constants.ts';
import { decodeTunnelData, encodeTunnelData } from '../wire/mip4/tunnel-data.ts';
import type { EncapsulationPreference } from './registration-types.ts';

export type TunnelFormat = EncapsulationPreference;

export const TUNNEL_FORMATS: readonly TunnelFormat[] = ['ip-in-ip', 'gre', 'minimal'];

/** IP protocol number of the outer packet (and the RFC 3519 Next Header). */
export const TUNNEL_PROTOCOL: Readonly<Record<TunnelFormat, 4 | 47 | 55>> = {
  'ip-in-ip': IpProto.IpInIp, gre: IpProto.Gre, minimal: IpProto.MinEncap,
};

const NEXT_HEADER: Readonly<Record<TunnelFormat, Encapsulation.IpInIp | Encapsulation.Gre | Encapsulation.Minimal>> = {
  'ip-in-ip': Encapsulation.IpInIp, gre: Encapsulation.Gre, minimal: Encapsulation.Minimal,
};

/** The format for an IP protocol number / Next Header, if it is one of ours. */
export function formatOfProtocol(p: number): TunnelFormat | undefined {
  return TUNNEL_FORMATS.find((f) => TUNNEL_PROTOCOL[f] === p);
}

/** Bytes a raw-IP tunnel adds to an inner packet (minimal: forwarding header with the original source). */
export function tunnelOverhead(format: TunnelFormat): number {
  return format === 'ip-in-ip' ? 20 : format === 'gre' ? 24 : 12;
}

export interface TunnelEndpoints {
  /** tunnel entry: the care-of address (MN) or the home agent (HA) */
  src: string;
  /** tunnel exit */
  dst: string;
}

export type Decapsulated =
  | { ok: true; inner: Uint8Array; outerSrc?: string }
  | { ok: false; reason: 'malformed' | 'wrong-format'; detail: string };

/** The payload of the outer packet / tunnel data for this format (no outer IPv4 header). */
function tunnelPayload(inner: Uint8Array, format: TunnelFormat, ep: TunnelEndpoints): Uint8Array {
  if (format === 'ip-in-ip') return inner.subarray(0, decodeIpv4Header(inner, false).totalLength);
  if (format === 'gre') return encodeGre({ protocolType: GRE_PROTOCOL_IPV4, payload: inner.subarray(0, decodeIpv4Header(inner, false).totalLength) });
  return minimalEncapsulate(inner, { dst: ep.dst, src: ep.src });
}

/**
 * A whole IPv4 packet to send on a raw socket (IP_HDRINCL). TOS and DF are
 * copied from the inner header (RFC 2003 §3.1, RFC 2784 §2.4); minimal
 * encapsulation keeps the inner header's own. Throws RangeError for an inner
 * packet the format cannot carry (a fragment in minimal encapsulation).
 */
export function encapsulateIp(inner: Uint8Array, format: TunnelFormat, ep: TunnelEndpoints): Uint8Array {
  if (format === 'ip-in-ip') return ipInIpEncapsulate(inner, ep);
  if (format === 'minimal') return minimalEncapsulate(inner, { dst: ep.dst, src: ep.src });
  const h = decodeIpv4Header(inner, false);
  return encodeIpv4({ src: ep.src, dst: ep.dst, protocol: IpProto.Gre, tos: h.tos, dontFragment: (h.flags & 0x2) !== 0 }, tunnelPayload(inner, 'gre', ep));
}

/** An RFC 3519 tunnel data message (type 4) for the registration's UDP flow. */
export function encapsulateUdp(inner: Uint8Array, format: TunnelFormat, ep: TunnelEndpoints): Uint8Array {
  return encodeTunnelData({ nextHeader: NEXT_HEADER[format], payload: tunnelPayload(inner, format, ep) });
}

function open(format: TunnelFormat, payload: Uint8Array, whole: Uint8Array | undefined): Uint8Array {
  if (format === 'ip-in-ip') return payload;
  if (format === 'gre') {
    const g = decodeGre(payload);
    if (g.protocolType !== GRE_PROTOCOL_IPV4) throw new DecodeError(`GRE protocol type 0x${g.protocolType.toString(16)} is not IPv4`, 2);
    return g.payload;
  }
  return minimalDecapsulate(whole ?? payload);
}

function checked(inner: Uint8Array): Uint8Array {
  const h = decodeIpv4Header(inner);
  return inner.subarray(0, h.totalLength);
}

/** A packet from the raw socket of `format`'s protocol, outer header included. */
export function decapsulateIp(pkt: Uint8Array, format: TunnelFormat): Decapsulated {
  try {
    const outer = decodeIpv4Header(pkt);
    if (outer.protocol !== TUNNEL_PROTOCOL[format]) {
      return { ok: false, reason: 'wrong-format', detail: `protocol ${outer.protocol}, the binding uses ${TUNNEL_PROTOCOL[format]}` };
    }
    if (outer.fragOffset !== 0 || (outer.flags & 0x1) !== 0) return { ok: false, reason: 'malformed', detail: 'outer packet is a fragment' };
    return { ok: true, inner: checked(open(format, ipv4Payload(pkt, outer), pkt.subarray(0, outer.totalLength))), outerSrc: outer.src };
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message };
  }
}

/** An RFC 3519 tunnel data message; its Next Header must be the binding's format (RFC 3519 §3.3). */
export function decapsulateUdp(msg: Uint8Array, format: TunnelFormat): Decapsulated {
  try {
    const td = decodeTunnelData(msg);
    if (td.nextHeader !== NEXT_HEADER[format]) {
      return { ok: false, reason: 'wrong-format', detail: `Next Header ${td.nextHeader}, the binding uses ${NEXT_HEADER[format]}` };
    }
    return { ok: true, inner: checked(open(format, td.payload, undefined)) };
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message };
  }
}
