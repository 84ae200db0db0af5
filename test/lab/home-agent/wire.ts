/**
 * The home agent's view of the wire: the few Mobile IPv4 message shapes it
 * needs, decoded strictly. This is the single place the reference agents
 * touch registration bytes, so it can sit on app/wire/mip4 once those codecs
 * are in the tree (see the report of helper H7).
 *
 * Registration Request (RFC 5944 §3.3)          Registration Reply (§3.4)
 *  | Type=1 |S|B|D|M|G|r|T|x| Lifetime |        | Type=3 | Code | Lifetime |
 *  | Home Address                      |        | Home Address             |
 *  | Home Agent                        |        | Home Agent               |
 *  | Care-of Address                   |        | Identification (64)      |
 *  | Identification (64)               |        | Extensions ...           |
 *  | Extensions ...                    |
 *
 * MN-HA Authentication (type 32): | 32 | Len=4+16 | SPI (4) | HMAC-MD5 (16) |,
 * covering everything from the Type byte through the SPI (§3.5.1).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { md5 } from '@noble/hashes/legacy.js';
import { concatBytes, DecodeError, equalBytes, fromUtf8, Reader, utf8, Writer } from '../../../app/base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../../app/base/ipv4.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';

export const NTP_UNIX_OFFSET = 2_208_988_800;
export const RrqFlag = { S: 0x80, B: 0x40, D: 0x20, M: 0x10, G: 0x08, r: 0x04, T: 0x02, x: 0x01 } as const;
export const Ext = { MnHaAuth: 32, MnFaAuth: 33, UdpTunnelReply: 44, Eds: 130, Nai: 131, UdpTunnelRequest: 144, Tnc: 149 } as const;
export const MipType = { RegistrationRequest: 1, RegistrationReply: 3, TunnelData: 4 } as const;

export function ntpSeconds(wallMs: number): number {
  return Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET;
}

export interface RawExtension {
  type: number;
  /** Offset of the Type byte in the message. */
  offset: number;
  data: Uint8Array;
}

/** Walks the extensions; an unknown type below 128 makes the whole message unacceptable (RFC 5944 §1.9). */
export function walkExtensions(msg: Uint8Array, start: number, known: readonly number[]): RawExtension[] {
  const out: RawExtension[] = [];
  const r = new Reader(msg.subarray(start), 'extension');
  while (r.remaining > 0) {
    const offset = start + r.offset;
    const type = r.u8();
    if (type === 0) continue; // one-byte pad
    const len = r.u8();
    const data = r.bytes(len);
    if (type < 128 && !known.includes(type)) throw new DecodeError(`unknown non-skippable extension ${type}`, offset);
    out.push({ type, offset, data });
  }
  return out;
}

export interface Rrq {
  flags: number;
  lifetime: number;
  homeAddress: string;
  homeAgent: string;
  careOfAddress: string;
  identification: bigint;
  nai?: string;
  udpTunnelRequest?: { force: boolean; r: boolean; encapsulation: number; reserved: number };
}

export function decodeRrq(msg: Uint8Array): { ok: true; rrq: Rrq } | { ok: false; reason: string } {
  try {
    const r = new Reader(msg, 'Registration Request');
    if (r.u8() !== MipType.RegistrationRequest) return { ok: false, reason: 'not a Registration Request' };
    const rrq: Rrq = {
      flags: r.u8(), lifetime: r.u16(),
      homeAddress: bytesToIPv4(r.bytes(4)), homeAgent: bytesToIPv4(r.bytes(4)), careOfAddress: bytesToIPv4(r.bytes(4)),
      identification: r.u64(),
    };
    for (const e of walkExtensions(msg, 24, [Ext.MnHaAuth, Ext.MnFaAuth])) {
      if (e.type === Ext.Nai) rrq.nai = fromUtf8(e.data);
      if (e.type === Ext.UdpTunnelRequest) {
        if (e.data.length !== 6 || e.data[0] !== 0) throw new DecodeError('bad UDP Tunnel Request extension', e.offset);
        const f = e.data[2]!;
        rrq.udpTunnelRequest = { force: (f & 0x80) !== 0, r: (f & 0x40) !== 0, encapsulation: e.data[3]!, reserved: (e.data[4]! << 8) | e.data[5]! };
      }
    }
    return { ok: true, rrq };
  } catch (e) {
    return { ok: false, reason: `malformed: ${(e as Error).message}` };
  }
}

export function mnHaAuthenticator(key: Uint8Array, covered: Uint8Array): Uint8Array {
  return hmac(md5, key, covered);
}

/** Exactly one MN-HA extension, with this SPI and a valid HMAC-MD5 (RFC 5944 §3.6.1.3, §3.8.2.1). */
export function verifyMnHa(msg: Uint8Array, spi: number, key: Uint8Array): { ok: true } | { ok: false; reason: string } {
  const start = msg[0] === MipType.RegistrationRequest ? 24 : 20;
  let exts: RawExtension[];
  try {
    exts = walkExtensions(msg, start, [Ext.MnHaAuth, Ext.MnFaAuth, Ext.UdpTunnelReply]);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const auths = exts.filter((e) => e.type === Ext.MnHaAuth);
  if (auths.length !== 1) return { ok: false, reason: `${auths.length} MN-HA extensions (exactly one required)` };
  const a = auths[0]!;
  if (a.data.length !== 20) return { ok: false, reason: `MN-HA authenticator length ${a.data.length - 4} (HMAC-MD5 needs 16)` };
  const gotSpi = new DataView(a.data.buffer, a.data.byteOffset, 4).getUint32(0);
  if (gotSpi !== spi) return { ok: false, reason: `SPI ${gotSpi} is not ours (${spi})` };
  const expected = mnHaAuthenticator(key, msg.subarray(0, a.offset + 6));
  return equalBytes(expected, a.data.subarray(4)) ? { ok: true } : { ok: false, reason: 'authenticator mismatch' };
}

export interface ReplyFields {
  code: number;
  lifetime: number;
  homeAddress: string;
  homeAgent: string;
  identification: bigint;
  nai?: string;
  udpTunnelReply?: { code: number; keepalive: number };
  tnc: boolean;
}

/** Builds a Registration Reply; NAI, UDP Tunnel Reply and TNC precede the MN-HA extension. */
export function buildReply(f: ReplyFields, spi: number | undefined, key: Uint8Array | undefined): Uint8Array {
  const w = new Writer(96);
  w.u8(MipType.RegistrationReply).u8(f.code).u16(f.lifetime);
  w.bytes(ipv4ToBytes(f.homeAddress)).bytes(ipv4ToBytes(f.homeAgent)).u64(f.identification);
  if (f.nai !== undefined) {
    const nai = utf8(f.nai);
    w.u8(Ext.Nai).u8(nai.length).bytes(nai);
  }
  if (f.udpTunnelReply) w.u8(Ext.UdpTunnelReply).u8(6).u8(0).u8(f.udpTunnelReply.code).u16(0).u16(f.udpTunnelReply.keepalive);
  if (f.tnc) w.u8(Ext.Tnc).u8(2).u8(0).u8(0);
  if (spi === undefined || key === undefined) return w.finish();
  w.u8(Ext.MnHaAuth).u8(20).u32(spi);
  const covered = w.finish();
  return concatBytes(covered, mnHaAuthenticator(key, covered));
}

/** RFC 3519 §3.3 tunnel data: | Type=4 | Next Header | Reserved (16) | payload |. */
export function encodeTunnelData(nextHeader: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[0] = MipType.TunnelData;
  out[1] = nextHeader;
  out.set(payload, 4);
  return out;
}

export function decodeTunnelData(msg: Uint8Array): { nextHeader: number; payload: Uint8Array } {
  if (msg.length < 4) throw new DecodeError(`tunnel data truncated: ${msg.length} bytes`);
  if (msg[0] !== MipType.TunnelData) throw new DecodeError(`not tunnel data (type ${msg[0]})`);
  return { nextHeader: msg[1]!, payload: msg.subarray(4) };
}

/** RFC 2003: outer header with TOS copied and DF copied from the inner one. */
export function ipInIpEncapsulate(inner: Uint8Array, src: string, dst: string): Uint8Array {
  const h = decodeIpv4Header(inner, false);
  return encodeIpv4({ src, dst, protocol: IpProto.IpInIp, tos: h.tos, dontFragment: (h.flags & 0x2) !== 0, ttl: 64 }, inner);
}
