/**
 * Registration authentication (RFC 5944 §3.5.1, §3.6.2.1): HMAC-MD5 over
 *
 *   | Type ... fixed part | earlier extensions | Type | Length | SPI || Authenticator | later extensions |
 *   |<-------------------------- covered --------------------------->|
 *
 * i.e. from the MIP Type byte up to and including this extension's Type,
 * Length and SPI. Not the UDP header, not the authenticator, not anything
 * after it (extensions for the FA only, MN-FA auth).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { md5 } from '@noble/hashes/legacy.js';
import { concatBytes, DecodeError, equalBytes } from '../../base/bytes.ts';
import {
  ExtensionType, HMAC_MD5_LENGTH, MipMessageType, REGISTRATION_REPLY_FIXED_LENGTH, REGISTRATION_REQUEST_FIXED_LENGTH,
} from './constants.ts';
import { UnknownExtensionError, type RawExtension } from './extensions.ts';
import { splitRegistrationExtensions } from './registration-extension.ts';
import type { AuthExtensionType } from './auth-extension.ts';

/** HMAC-MD5(key, covered): the default MN-HA algorithm. */
export function mnHaAuthenticator(key: Uint8Array, covered: Uint8Array): Uint8Array {
  return hmac(md5, key, covered);
}

/** Offset of the extension list: 24 for a request, 20 for a reply. */
export function fixedPartLength(msg: Uint8Array): number {
  if (msg[0] === MipMessageType.RegistrationRequest) return REGISTRATION_REQUEST_FIXED_LENGTH;
  if (msg[0] === MipMessageType.RegistrationReply) return REGISTRATION_REPLY_FIXED_LENGTH;
  throw new DecodeError(`not a registration message (type ${msg[0] ?? 'none'})`, 0);
}

/** The covered bytes for the authentication extension that starts at `extOffset`. */
export function coveredBytes(msg: Uint8Array, extOffset: number): Uint8Array {
  if (extOffset + 6 > msg.length) throw new DecodeError('authentication extension truncated before its SPI ends', extOffset);
  return msg.subarray(0, extOffset + 6);
}

/** Appends an authentication extension (default MN-HA) computed over everything before it. */
export function appendAuthExtension(msg: Uint8Array, type: AuthExtensionType, spi: number, key: Uint8Array): Uint8Array {
  const head = new Uint8Array(6);
  head[0] = type;
  head[1] = 4 + HMAC_MD5_LENGTH;
  new DataView(head.buffer).setUint32(2, spi >>> 0);
  const covered = concatBytes(msg, head);
  return concatBytes(covered, mnHaAuthenticator(key, covered));
}

export function appendMnHaAuth(msgWithoutAuth: Uint8Array, spi: number, key: Uint8Array): Uint8Array {
  return appendAuthExtension(msgWithoutAuth, ExtensionType.MnHaAuth, spi, key);
}

export type AuthFailure = 'malformed' | 'unknown-extension' | 'missing' | 'duplicate' | 'spi' | 'length' | 'authenticator';

export type AuthVerdict = { ok: true; extension: RawExtension } | { ok: false; reason: AuthFailure; detail: string };

/**
 * Exactly one authentication extension of `type`, carrying our SPI and a
 * valid HMAC-MD5, compared in constant time.
 */
export function verifyAuthExtension(msg: Uint8Array, type: AuthExtensionType, spi: number, key: Uint8Array): AuthVerdict {
  let exts: RawExtension[];
  try {
    exts = splitRegistrationExtensions(msg, fixedPartLength(msg));
  } catch (e) {
    if (e instanceof UnknownExtensionError) return { ok: false, reason: 'unknown-extension', detail: e.message };
    if (e instanceof DecodeError) return { ok: false, reason: 'malformed', detail: e.message };
    throw e;
  }
  return verifyAuthOver(msg, exts, type, spi, key);
}

/** verifyAuthExtension over an extension list already split from `msg`. */
export function verifyAuthOver(msg: Uint8Array, exts: readonly RawExtension[], type: AuthExtensionType, spi: number, key: Uint8Array): AuthVerdict {
  const found = exts.filter((e) => e.type === type);
  if (found.length === 0) return { ok: false, reason: 'missing', detail: `no authentication extension ${type}` };
  if (found.length > 1) return { ok: false, reason: 'duplicate', detail: `${found.length} authentication extensions ${type}, exactly one allowed` };
  const ext = found[0]!;
  if (ext.data.length !== 4 + HMAC_MD5_LENGTH) {
    return { ok: false, reason: 'length', detail: `authenticator of ${ext.data.length - 4} bytes, HMAC-MD5 needs ${HMAC_MD5_LENGTH}` };
  }
  const got = new DataView(ext.data.buffer, ext.data.byteOffset, 4).getUint32(0);
  if (got !== spi >>> 0) return { ok: false, reason: 'spi', detail: `SPI ${got} is not ours (${spi >>> 0})` };
  const expected = mnHaAuthenticator(key, coveredBytes(msg, ext.offset));
  if (!equalBytes(expected, ext.data.subarray(4))) return { ok: false, reason: 'authenticator', detail: 'authenticator mismatch' };
  return { ok: true, extension: ext };
}

export function verifyMnHaAuth(msg: Uint8Array, spi: number, key: Uint8Array): AuthVerdict {
  return verifyAuthExtension(msg, ExtensionType.MnHaAuth, spi, key);
}
