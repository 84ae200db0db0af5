/**
 * Registration Reply (RFC 5944 §3.4), UDP from port 434 back to the
 * request's source address and port.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |           Lifetime            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          Home Address                         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           Home Agent                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   +                         Identification                        +
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Extensions ...
 *   +-+-+-+-+-+-+-+-
 *
 *   Type 3. Lifetime is meaningless on a denial. The low 32 bits of
 *   Identification echo the request's; after code 133 the high 32 bits
 *   carry the home agent's clock (§5.7).
 */
import { bytesToIPv4, ipv4ToBytes } from '../../base/ipv4.ts';
import { DecodeError, Reader, Writer } from '../../base/bytes.ts';
import { MipMessageType, REGISTRATION_REPLY_FIXED_LENGTH } from './constants.ts';
import { decodeRegistrationExtensions, encodeRegistrationExtension, type RegistrationExtension } from './registration-extension.ts';

export interface RegistrationReply {
  code: number;
  lifetime: number;
  homeAddress: string;
  homeAgent: string;
  identification: bigint;
  extensions: RegistrationExtension[];
}

export function encodeRegistrationReply(m: RegistrationReply): Uint8Array {
  if (m.code < 0 || m.code > 255) throw new RangeError(`code ${m.code} outside 0..255`);
  if (m.lifetime < 0 || m.lifetime > 0xffff) throw new RangeError(`lifetime ${m.lifetime} outside 0..65535`);
  const w = new Writer(64);
  w.u8(MipMessageType.RegistrationReply).u8(m.code).u16(m.lifetime);
  w.bytes(ipv4ToBytes(m.homeAddress)).bytes(ipv4ToBytes(m.homeAgent)).u64(m.identification);
  for (const e of m.extensions) w.bytes(encodeRegistrationExtension(e));
  return w.finish();
}

/** Throws DecodeError when malformed, UnknownExtensionError (a DecodeError) when it must be dropped. */
export function decodeRegistrationReply(msg: Uint8Array): RegistrationReply {
  const r = new Reader(msg, 'Registration Reply');
  const type = r.u8();
  if (type !== MipMessageType.RegistrationReply) throw new DecodeError(`not a Registration Reply (type ${type})`, 0);
  const code = r.u8();
  const lifetime = r.u16();
  const homeAddress = bytesToIPv4(r.bytes(4));
  const homeAgent = bytesToIPv4(r.bytes(4));
  const identification = r.u64();
  const extensions = decodeRegistrationExtensions(msg, REGISTRATION_REPLY_FIXED_LENGTH);
  return { code, lifetime, homeAddress, homeAgent, identification, extensions };
}
