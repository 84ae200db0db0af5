/**
 * Mobile Node NAI extension (RFC 2794 §2), skippable, simple TLV.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type = 131   |    Length     |   MN-NAI ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   The NAI bytes (RFC 4282), no NUL terminator. It precedes MN-HA so that
 *   the MN-HA authenticator covers it.
 */
import { DecodeError, fromUtf8, utf8 } from '../../base/bytes.ts';
import { ExtensionType } from './constants.ts';
import { encodeTlv, type RawExtension } from './extensions.ts';

export interface NaiExtension {
  kind: 'nai';
  nai: string;
}

export function encodeNaiExtension(e: NaiExtension): Uint8Array {
  const b = utf8(e.nai);
  if (b.length === 0) throw new RangeError('NAI must not be empty');
  return encodeTlv(ExtensionType.Nai, b);
}

export function decodeNaiExtension(raw: RawExtension): NaiExtension {
  if (raw.data.length === 0) throw new DecodeError('NAI extension is empty', raw.offset);
  return { kind: 'nai', nai: fromUtf8(raw.data) };
}
