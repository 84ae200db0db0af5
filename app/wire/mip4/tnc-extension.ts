/**
 * Trusted Networks Configured extension (RFC 5265 §3.4), skippable, short format.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type = 149   |  Length = 2   | Sub-Type = 0  |   Reserved    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   On the wire: 95 02 00 00. The i-HA adds it to replies for requests
 *   that came from a configured trusted network.
 */
import { DecodeError } from '../../base/bytes.ts';
import { ExtensionType } from './constants.ts';
import { encodeShort, shortBody, type RawExtension } from './extensions.ts';

export interface TncExtension {
  kind: 'tnc';
}

export function encodeTncExtension(): Uint8Array {
  return encodeShort(ExtensionType.TrustedNetworksConfigured, 0, Uint8Array.of(0));
}

/** undefined for an unknown Sub-Type: a skippable extension we do not understand. */
export function decodeTncExtension(raw: RawExtension): TncExtension | undefined {
  if (raw.data.length !== 2) throw new DecodeError(`TNC extension: Length ${raw.data.length}, expected 2`, raw.offset);
  return shortBody(raw).subType === 0 ? { kind: 'tnc' } : undefined;
}
