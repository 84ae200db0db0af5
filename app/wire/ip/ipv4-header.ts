/**
 * IPv4 header (RFC 791), options preserved as bytes.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  |         Identification        |Flags|      Fragment Offset    |
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { DecodeError } from '../../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../base/ipv4.ts';
import { checksumValid, internetChecksum } from './checksum.ts';

export const IpProto = { Icmp: 1, IpInIp: 4, Tcp: 6, Udp: 17, Gre: 47, Esp: 50, MinEncap: 55 } as const;

export interface Ipv4Header {
  tos: number;
  totalLength: number;
  id: number;
  /** DF 0x2, MF 0x1 */
  flags: number;
  fragOffset: number;
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
  options: Uint8Array;
  /** header length in bytes */
  ihl: number;
}

export function decodeIpv4Header(pkt: Uint8Array, verifyChecksum = true): Ipv4Header {
  if (pkt.length < 20) throw new DecodeError(`IPv4 packet truncated: ${pkt.length} bytes`);
  const version = pkt[0]! >> 4;
  if (version !== 4) throw new DecodeError(`not IPv4 (version ${version})`);
  const ihl = (pkt[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > pkt.length) throw new DecodeError(`bad IPv4 header length ${ihl}`);
  const totalLength = (pkt[2]! << 8) | pkt[3]!;
  if (totalLength < ihl || totalLength > pkt.length) throw new DecodeError(`bad IPv4 total length ${totalLength} (have ${pkt.length})`);
  if (verifyChecksum && !checksumValid(pkt, 0, ihl)) throw new DecodeError('bad IPv4 header checksum');
  const ff = (pkt[6]! << 8) | pkt[7]!;
  return {
    tos: pkt[1]!,
    totalLength,
    id: (pkt[4]! << 8) | pkt[5]!,
    flags: ff >> 13,
    fragOffset: ff & 0x1fff,
    ttl: pkt[8]!,
    protocol: pkt[9]!,
    src: bytesToIPv4(pkt, 12),
    dst: bytesToIPv4(pkt, 16),
    options: pkt.slice(20, ihl),
    ihl,
  };
}

export interface Ipv4Build {
  src: string;
  dst: string;
  protocol: number;
  ttl?: number;
  tos?: number;
  id?: number;
  dontFragment?: boolean;
}

/** Builds header + payload with a correct header checksum. */
export function encodeIpv4(h: Ipv4Build, payload: Uint8Array): Uint8Array {
  const total = 20 + payload.length;
  if (total > 0xffff) throw new Error(`IPv4 packet too large: ${total}`);
  const out = new Uint8Array(total);
  out[0] = 0x45;
  out[1] = h.tos ?? 0;
  out[2] = total >> 8;
  out[3] = total & 0xff;
  const id = h.id ?? 0;
  out[4] = id >> 8;
  out[5] = id & 0xff;
  out[6] = h.dontFragment ? 0x40 : 0;
  out[8] = h.ttl ?? 64;
  out[9] = h.protocol;
  out.set(ipv4ToBytes(h.src), 12);
  out.set(ipv4ToBytes(h.dst), 16);
  const c = internetChecksum(out, 0, 20);
  out[10] = c >> 8;
  out[11] = c & 0xff;
  out.set(payload, 20);
  return out;
}

/** Payload of an IPv4 packet (after options, up to total length). */
export function ipv4Payload(pkt: Uint8Array, h: Ipv4Header): Uint8Array {
  return pkt.subarray(h.ihl, h.totalLength);
}
