/**
 * UDP header (RFC 768) with the IPv4 pseudo-header checksum.
 *
 *    0      7 8     15 16    23 24    31
 *   +--------+--------+--------+--------+
 *   |     Source      |   Destination   |
 *   |      Port       |      Port       |
 *   +--------+--------+--------+--------+
 *   |     Length      |    Checksum     |
 *   +--------+--------+--------+--------+
 *   |          data octets ...
 *
 *   Pseudo-header: source address, destination address, zero, protocol 17,
 *   UDP length. A computed checksum of 0 is sent as 0xffff; a received 0
 *   means "no checksum".
 */
import { DecodeError } from '../../base/bytes.ts';
import { ipv4ToBytes } from '../../base/ipv4.ts';
import { checksumValid, internetChecksum, onesSum } from './checksum.ts';
import { IpProto } from './ipv4-header.ts';

export const UDP_HEADER_LENGTH = 8;

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Addresses for the pseudo-header. */
export interface UdpEndpoints {
  src: string;
  dst: string;
}

function pseudoSum(ep: UdpEndpoints, length: number): number {
  const ph = new Uint8Array(12);
  ph.set(ipv4ToBytes(ep.src), 0);
  ph.set(ipv4ToBytes(ep.dst), 4);
  ph[9] = IpProto.Udp;
  ph[10] = length >> 8;
  ph[11] = length & 0xff;
  return onesSum(ph);
}

/** Checksum of a whole UDP segment whose checksum field is zero. */
export function udpChecksum(ep: UdpEndpoints, segment: Uint8Array): number {
  const c = internetChecksum(segment, 0, segment.length, pseudoSum(ep, segment.length));
  return c === 0 ? 0xffff : c;
}

/** With endpoints the checksum is computed, without them it is sent as 0. */
export function encodeUdp(d: UdpDatagram, ep?: UdpEndpoints): Uint8Array {
  const len = UDP_HEADER_LENGTH + d.payload.length;
  if (len > 0xffff) throw new RangeError(`UDP datagram too large: ${len}`);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint16(0, d.srcPort);
  v.setUint16(2, d.dstPort);
  v.setUint16(4, len);
  out.set(d.payload, UDP_HEADER_LENGTH);
  if (ep) v.setUint16(6, udpChecksum(ep, out));
  return out;
}

export interface DecodedUdp extends UdpDatagram {
  checksum: number;
}

/**
 * Decodes a UDP segment (length field bounds the payload). With endpoints a
 * non-zero checksum is verified; a bad one throws DecodeError.
 */
export function decodeUdp(seg: Uint8Array, ep?: UdpEndpoints): DecodedUdp {
  if (seg.length < UDP_HEADER_LENGTH) throw new DecodeError(`UDP datagram truncated: ${seg.length} bytes`, 0);
  const v = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
  const len = v.getUint16(4);
  if (len < UDP_HEADER_LENGTH || len > seg.length) throw new DecodeError(`bad UDP length ${len} (have ${seg.length})`, 4);
  const checksum = v.getUint16(6);
  if (ep && checksum !== 0 && !checksumValid(seg, 0, len, pseudoSum(ep, len))) throw new DecodeError('bad UDP checksum', 6);
  return { srcPort: v.getUint16(0), dstPort: v.getUint16(2), checksum, payload: seg.subarray(UDP_HEADER_LENGTH, len) };
}
