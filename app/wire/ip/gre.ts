/**
 * Generic Routing Encapsulation, basic header (RFC 2784), IPv4 payloads.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |C|       Reserved0       | Ver |         Protocol Type         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Checksum (optional)      |       Reserved1 (Optional)    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Ver 0. A receiver that does not implement RFC 1701 drops packets with
 *   any of Reserved0 bits 1–5 set (key, sequence, routing, …); bits 6–12
 *   are ignored. The checksum covers the GRE header and payload.
 *   IPv4 payloads use Protocol Type 0x0800.
 */
import { DecodeError } from '../../base/bytes.ts';
import { checksumValid, internetChecksum } from './checksum.ts';

export const GRE_PROTOCOL_IPV4 = 0x0800;

const C_BIT = 0x8000;
/** Bits 1–5 of Reserved0: RFC 1701 routing, key, sequence, strict source route, recursion. */
const RFC1701_BITS = 0x7c00;
const VERSION_MASK = 0x0007;

export interface GrePacket {
  protocolType: number;
  /** Send (or received with) the optional checksum. */
  checksum?: boolean;
  payload: Uint8Array;
}

export function encodeGre(p: GrePacket): Uint8Array {
  const hlen = p.checksum ? 8 : 4;
  const out = new Uint8Array(hlen + p.payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, p.checksum ? C_BIT : 0);
  v.setUint16(2, p.protocolType);
  out.set(p.payload, hlen);
  if (p.checksum) v.setUint16(4, internetChecksum(out));
  return out;
}

/** The payload is a view (no copy). */
export function decodeGre(b: Uint8Array): GrePacket {
  if (b.length < 4) throw new DecodeError(`GRE header truncated: ${b.length} bytes`, 0);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const first = v.getUint16(0);
  if ((first & VERSION_MASK) !== 0) throw new DecodeError(`GRE version ${first & VERSION_MASK} is not 0`, 1);
  if ((first & RFC1701_BITS) !== 0) throw new DecodeError('GRE header uses RFC 1701 fields (key/sequence/routing)', 0);
  const checksum = (first & C_BIT) !== 0;
  const hlen = checksum ? 8 : 4;
  if (b.length < hlen) throw new DecodeError(`GRE header with checksum truncated: ${b.length} bytes`, 4);
  if (checksum && !checksumValid(b)) throw new DecodeError('bad GRE checksum', 4);
  return { protocolType: v.getUint16(2), checksum, payload: b.subarray(hlen) };
}
