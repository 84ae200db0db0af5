/**
 * Agent Advertisement (RFC 5944 §2.1): an ICMP Router Advertisement (RFC 1256)
 * followed by the Mobility Agent Advertisement extension (16) and the
 * Prefix-Lengths extension (19).
 *
 *  | Type=9 | Code | Checksum | Num Addrs | Addr Entry Size=2 | Lifetime |
 *  | Router Address[i] | Preference Level[i] | ...
 *  | Type=16 | Length=6+4N | Sequence Number | Registration Lifetime |
 *  |R|B|H|F|M|G|r|T|U|X|I| reserved | Care-of Address[1..N] |
 *  | Type=19 | Length=N | Prefix Length[1..N] |
 */
import { ipv4ToBytes } from '../../../app/base/ipv4.ts';
import { internetChecksum } from '../../../app/wire/ip/checksum.ts';

export const AdvFlag = { R: 0x8000, B: 0x4000, H: 0x2000, F: 0x1000, M: 0x0800, G: 0x0400, T: 0x0100, U: 0x0080 } as const;

export interface Advertisement {
  routerAddress: string;
  prefixLength: number;
  /** ICMP lifetime (seconds): how long this router entry is valid. */
  lifetime: number;
  sequence: number;
  registrationLifetime: number;
  flags: number;
  careOfAddresses: string[];
}

export function encodeAdvertisement(a: Advertisement): Uint8Array {
  const n = a.careOfAddresses.length;
  const out = new Uint8Array(16 + (6 + 4 * n + 2) + 3);
  const v = new DataView(out.buffer);
  out[0] = 9;
  out[4] = 1;
  out[5] = 2;
  v.setUint16(6, a.lifetime);
  out.set(ipv4ToBytes(a.routerAddress), 8);
  // preference 0 (bytes 12..15)
  let o = 16;
  out[o] = 16;
  out[o + 1] = 6 + 4 * n;
  v.setUint16(o + 2, a.sequence & 0xffff);
  v.setUint16(o + 4, a.registrationLifetime);
  v.setUint16(o + 6, a.flags);
  a.careOfAddresses.forEach((c, i) => out.set(ipv4ToBytes(c), o + 8 + 4 * i));
  o += 8 + 4 * n;
  out[o] = 19;
  out[o + 1] = 1;
  out[o + 2] = a.prefixLength;
  const c = internetChecksum(out);
  v.setUint16(2, c);
  return out;
}
