/**
 * Minimal Encapsulation within IP (RFC 2004): the original IP header is
 * modified in place and this forwarding header is inserted after it.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Protocol    |S|  reserved   |        Header Checksum        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Original Destination Address                  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   :            (if present) Original Source Address               :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Encapsulating (§3): protocol → 55, destination → tunnel exit, source →
 *   encapsulator only when it is not the original sender (then S = 1 and
 *   the original source is kept here), Total Length += 8 or 12, header
 *   checksum recomputed, TTL unchanged. Fragments cannot be encapsulated.
 *   The checksum covers this forwarding header only.
 */
import { DecodeError } from '../../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../base/ipv4.ts';
import { checksumValid, internetChecksum } from './checksum.ts';
import { decodeIpv4Header, IpProto } from './ipv4-header.ts';

const S_BIT = 0x80;

export interface MinimalEncapOptions {
  /** Tunnel exit. */
  dst: string;
  /** The encapsulator's address when it is not the original sender. */
  src?: string;
}

function fixHeader(hdr: Uint8Array, totalLength: number): void {
  hdr[2] = totalLength >> 8;
  hdr[3] = totalLength & 0xff;
  hdr[10] = 0;
  hdr[11] = 0;
  const c = internetChecksum(hdr);
  hdr[10] = c >> 8;
  hdr[11] = c & 0xff;
}

export function minimalEncapsulate(packet: Uint8Array, opts: MinimalEncapOptions): Uint8Array {
  const h = decodeIpv4Header(packet, false);
  if (h.fragOffset !== 0 || (h.flags & 0x1) !== 0) throw new RangeError('minimal encapsulation cannot carry a fragment (RFC 2004 §3)');
  const fwdLen = opts.src !== undefined ? 12 : 8;
  const total = h.totalLength + fwdLen;
  if (total > 0xffff) throw new RangeError(`encapsulated packet too large: ${total}`);
  const out = new Uint8Array(total);
  const hdr = out.subarray(0, h.ihl);
  hdr.set(packet.subarray(0, h.ihl));
  hdr[9] = IpProto.MinEncap;
  hdr.set(ipv4ToBytes(opts.dst), 16);
  if (opts.src !== undefined) hdr.set(ipv4ToBytes(opts.src), 12);
  fixHeader(hdr, total);
  const fwd = out.subarray(h.ihl, h.ihl + fwdLen);
  fwd[0] = h.protocol;
  fwd[1] = opts.src !== undefined ? S_BIT : 0;
  fwd.set(ipv4ToBytes(h.dst), 4);
  if (opts.src !== undefined) fwd.set(ipv4ToBytes(h.src), 8);
  const c = internetChecksum(fwd);
  fwd[2] = c >> 8;
  fwd[3] = c & 0xff;
  out.set(packet.subarray(h.ihl, h.totalLength), h.ihl + fwdLen);
  return out;
}

/** Restores the original datagram; throws DecodeError on a malformed packet or checksum. */
export function minimalDecapsulate(packet: Uint8Array): Uint8Array {
  const h = decodeIpv4Header(packet);
  if (h.protocol !== IpProto.MinEncap) throw new DecodeError(`protocol ${h.protocol} is not minimal encapsulation (55)`, 9);
  if (h.totalLength < h.ihl + 8) throw new DecodeError('minimal forwarding header truncated', h.ihl);
  const hasSrc = (packet[h.ihl + 1]! & S_BIT) !== 0;
  const fwdLen = hasSrc ? 12 : 8;
  if (h.totalLength < h.ihl + fwdLen) throw new DecodeError('minimal forwarding header truncated (S set)', h.ihl);
  const fwd = packet.subarray(h.ihl, h.ihl + fwdLen);
  if (!checksumValid(fwd)) throw new DecodeError('bad minimal forwarding header checksum', h.ihl + 2);
  const total = h.totalLength - fwdLen;
  const out = new Uint8Array(total);
  const hdr = out.subarray(0, h.ihl);
  hdr.set(packet.subarray(0, h.ihl));
  hdr[9] = fwd[0]!;
  hdr.set(fwd.subarray(4, 8), 16);
  if (hasSrc) hdr.set(fwd.subarray(8, 12), 12);
  fixHeader(hdr, total);
  out.set(packet.subarray(h.ihl + fwdLen, h.totalLength), h.ihl);
  return out;
}

/** Original destination (and source when S is set) without decapsulating. */
export function peekMinimalHeader(packet: Uint8Array): { protocol: number; dst: string; src?: string } {
  const h = decodeIpv4Header(packet, false);
  if (h.totalLength < h.ihl + 8) throw new DecodeError('minimal forwarding header truncated', h.ihl);
  const p = packet[h.ihl]!;
  const s = (packet[h.ihl + 1]! & S_BIT) !== 0;
  if (s && h.totalLength < h.ihl + 12) throw new DecodeError('minimal forwarding header truncated (S set)', h.ihl);
  return { protocol: p, dst: bytesToIPv4(packet, h.ihl + 4), ...(s ? { src: bytesToIPv4(packet, h.ihl + 8) } : {}) };
}
