/**
 * Authentication extensions (RFC 5944 §3.5.2–§3.5.4): Mobile-Home (32),
 * Mobile-Foreign (33) and Foreign-Home (34) share one layout.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Length    |         SPI  ....
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *          ... SPI (cont.)          |       Authenticator ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Length = 4 + length of the Authenticator (20 for HMAC-MD5).
 */
import { DecodeError } from '../../base/bytes.ts';
import { ExtensionType } from './constants.ts';
import { encodeTlv, type RawExtension } from './extensions.ts';

export type AuthExtensionType = ExtensionType.MnHaAuth | ExtensionType.MnFaAuth | ExtensionType.FaHaAuth;

export interface AuthExtension {
  kind: 'auth';
  type: AuthExtensionType;
  spi: number;
  authenticator: Uint8Array;
}

export function isAuthExtensionType(t: number): t is AuthExtensionType {
  return t === ExtensionType.MnHaAuth || t === ExtensionType.MnFaAuth || t === ExtensionType.FaHaAuth;
}

export function encodeAuthExtension(e: AuthExtension): Uint8Array {
  const data = new Uint8Array(4 + e.authenticator.length);
  new DataView(data.buffer).setUint32(0, e.spi >>> 0);
  data.set(e.authenticator, 4);
  return encodeTlv(e.type, data);
}

export function decodeAuthExtension(raw: RawExtension): AuthExtension {
  if (!isAuthExtensionType(raw.type)) throw new DecodeError(`extension ${raw.type} is not an authentication extension`, raw.offset);
  if (raw.data.length < 4) throw new DecodeError(`authentication extension ${raw.type}: Length ${raw.data.length} < 4 (no SPI)`, raw.offset);
  const spi = new DataView(raw.data.buffer, raw.data.byteOffset, 4).getUint32(0);
  return { kind: 'auth', type: raw.type, spi, authenticator: raw.data.slice(4) };
}
