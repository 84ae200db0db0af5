/**
 * Registration Request (RFC 5944 §3.3), UDP to port 434.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |S|B|D|M|G|r|T|x|          Lifetime             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          Home Address                         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           Home Agent                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        Care-of Address                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   +                         Identification                        +
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Extensions ...
 *   +-+-+-+-+-+-+-+-
 *
 *   Type 1. Lifetime 0 = deregister, 0xffff = infinite. Care-of Address =
 *   Home Address deregisters every binding. Extensions in the order of
 *   §3.6.1.3: for the HA (NAI, UDP Tunnel Request) → MN-HA → FA only → MN-FA.
 */
import { bytesToIPv4, ipv4ToBytes } from '../../base/ipv4.ts';
import { DecodeError, Reader, Writer } from '../../base/bytes.ts';
import { MipMessageType, REGISTRATION_REQUEST_FIXED_LENGTH } from './constants.ts';
import { decodeRegistrationExtensions, encodeRegistrationExtension, type RegistrationExtension } from './registration-extension.ts';

export interface RegistrationRequest {
  /** RrqFlag bits */
  flags: number;
  lifetime: number;
  homeAddress: string;
  homeAgent: string;
  careOfAddress: string;
  identification: bigint;
  extensions: RegistrationExtension[];
}

export function encodeRegistrationRequest(m: RegistrationRequest): Uint8Array {
  if (m.lifetime < 0 || m.lifetime > 0xffff) throw new RangeError(`lifetime ${m.lifetime} outside 0..65535`);
  if (m.identification < 0n || m.identification > 0xffffffffffffffffn) throw new RangeError('identification must fit 64 bits');
  const w = new Writer(64);
  w.u8(MipMessageType.RegistrationRequest).u8(m.flags & 0xff).u16(m.lifetime);
  w.bytes(ipv4ToBytes(m.homeAddress)).bytes(ipv4ToBytes(m.homeAgent)).bytes(ipv4ToBytes(m.careOfAddress));
  w.u64(m.identification);
  for (const e of m.extensions) w.bytes(encodeRegistrationExtension(e));
  return w.finish();
}

/** Throws DecodeError when malformed, UnknownExtensionError (a DecodeError) when it must be dropped. */
export function decodeRegistrationRequest(msg: Uint8Array): RegistrationRequest {
  const r = new Reader(msg, 'Registration Request');
  const type = r.u8();
  if (type !== MipMessageType.RegistrationRequest) throw new DecodeError(`not a Registration Request (type ${type})`, 0);
  const flags = r.u8();
  const lifetime = r.u16();
  const homeAddress = bytesToIPv4(r.bytes(4));
  const homeAgent = bytesToIPv4(r.bytes(4));
  const careOfAddress = bytesToIPv4(r.bytes(4));
  const identification = r.u64();
  const extensions = decodeRegistrationExtensions(msg, REGISTRATION_REQUEST_FIXED_LENGTH);
  return { flags, lifetime, homeAddress, homeAgent, careOfAddress, identification, extensions };
}
