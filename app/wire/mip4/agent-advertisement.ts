/**
 * Agent Advertisement (RFC 5944 §2.1): an ICMP Router Advertisement
 * (RFC 1256) followed by extensions; the Mobility Agent Advertisement
 * extension (16) is what makes it an agent advertisement.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Type = 9    |  Code (0/16)  |           Checksum            |
 *   |   Num Addrs   |Addr Entry Size|           Lifetime            |
 *   |                      Router Address[i]                        |
 *   |                      Preference Level[i]                      |  × Num Addrs
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type = 16    |  6 + 4·N      |        Sequence Number        |
 *   |    Registration Lifetime      |R|B|H|F|M|G|r|T|U|X|I|reserved |
 *   |                  zero or more Care-of Addresses               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type = 19    | = Num Addrs   | Prefix Length | ...           |  (optional)
 *   |  Type = 0  (one-byte pad, optional, last)
 *
 *   The checksum covers the whole ICMP message. Reserved flag bits are
 *   kept, not rejected (§2.4).
 */
import { DecodeError, Reader, Writer } from '../../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../base/ipv4.ts';
import { checksumValid, internetChecksum } from '../ip/checksum.ts';
import { AdvExtensionType, IcmpRouterType } from './constants.ts';
import { decodeExtensionList, encodeTlv, type RawExtension } from './extensions.ts';

export interface RouterEntry {
  address: string;
  /** Signed 32-bit (RFC 1256). */
  preference: number;
}

export interface MobilityAgentExtension {
  sequence: number;
  /** Seconds; 0xffff = infinite. */
  registrationLifetime: number;
  /** AdvFlag bits */
  flags: number;
  careOfAddresses: string[];
}

export interface AgentAdvertisement {
  code: number;
  /** ICMP Lifetime, seconds the advertisement stays valid. */
  lifetime: number;
  routers: RouterEntry[];
  /** Absent in a plain Router Advertisement. */
  mobility?: MobilityAgentExtension;
  prefixLengths?: number[];
  /** Other recognised (24) or skipped (≥ 128) extensions, byte for byte. */
  others: { type: number; raw: Uint8Array }[];
  /** A trailing one-byte pad. */
  pad?: boolean;
}

const RECOGNISED: ReadonlySet<number> = new Set([AdvExtensionType.MobilityAgentAdvertisement, AdvExtensionType.PrefixLengths, AdvExtensionType.Challenge]);

export function encodeAgentAdvertisement(a: AgentAdvertisement): Uint8Array {
  const w = new Writer(64);
  w.u8(IcmpRouterType.Advertisement).u8(a.code).u16(0).u8(a.routers.length).u8(2).u16(a.lifetime);
  for (const r of a.routers) w.bytes(ipv4ToBytes(r.address)).u32(r.preference);
  if (a.mobility) {
    const m = a.mobility;
    const body = new Writer(6 + 4 * m.careOfAddresses.length).u16(m.sequence).u16(m.registrationLifetime).u16(m.flags);
    for (const c of m.careOfAddresses) body.bytes(ipv4ToBytes(c));
    w.bytes(encodeTlv(AdvExtensionType.MobilityAgentAdvertisement, body.finish()));
  }
  if (a.prefixLengths) {
    if (a.prefixLengths.length !== a.routers.length) throw new RangeError('one prefix length per router address');
    w.bytes(encodeTlv(AdvExtensionType.PrefixLengths, Uint8Array.from(a.prefixLengths)));
  }
  for (const o of a.others) w.bytes(o.raw);
  if (a.pad) w.u8(AdvExtensionType.Pad);
  const out = w.finish();
  const c = internetChecksum(out);
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}

function decodeMobility(e: RawExtension): MobilityAgentExtension {
  if (e.data.length < 6 || (e.data.length - 6) % 4 !== 0) {
    throw new DecodeError(`Mobility Agent Advertisement extension: Length ${e.data.length} is not 6 + 4·N`, e.offset);
  }
  const r = new Reader(e.data, 'Mobility Agent Advertisement extension');
  const sequence = r.u16();
  const registrationLifetime = r.u16();
  const flags = r.u16();
  const careOfAddresses: string[] = [];
  while (r.remaining > 0) careOfAddresses.push(bytesToIPv4(r.bytes(4)));
  return { sequence, registrationLifetime, flags, careOfAddresses };
}

/** Throws DecodeError (bad checksum, truncation), UnknownExtensionError for an unknown extension < 128. */
export function decodeAgentAdvertisement(msg: Uint8Array): AgentAdvertisement {
  const r = new Reader(msg, 'Router Advertisement');
  if (r.u8() !== IcmpRouterType.Advertisement) throw new DecodeError(`not a Router Advertisement (ICMP type ${msg[0]!})`, 0);
  const code = r.u8();
  r.skip(2);
  const num = r.u8();
  const entrySize = r.u8();
  const lifetime = r.u16();
  if (entrySize < 2) throw new DecodeError(`Router Advertisement Addr Entry Size ${entrySize} < 2`, 5);
  const routers: RouterEntry[] = [];
  for (let i = 0; i < num; i++) {
    const entry = new Reader(r.bytes(entrySize * 4), 'router entry');
    routers.push({ address: bytesToIPv4(entry.bytes(4)), preference: entry.u32() | 0 });
  }
  if (!checksumValid(msg)) throw new DecodeError('bad ICMP checksum', 2);
  const adv: AgentAdvertisement = { code, lifetime, routers, others: [] };
  for (const e of decodeExtensionList(msg, r.offset, { recognised: RECOGNISED, what: 'agent advertisement extensions' })) {
    if (e.format === 'pad') adv.pad = true;
    else if (e.type === AdvExtensionType.MobilityAgentAdvertisement) {
      if (adv.mobility) throw new DecodeError('two Mobility Agent Advertisement extensions', e.offset);
      adv.mobility = decodeMobility(e);
    } else if (e.type === AdvExtensionType.PrefixLengths) {
      if (e.data.length !== num) throw new DecodeError(`Prefix-Lengths extension: Length ${e.data.length}, Num Addrs ${num}`, e.offset);
      adv.prefixLengths = [...e.data];
    } else adv.others.push({ type: e.type, raw: e.raw.slice() });
  }
  return adv;
}
