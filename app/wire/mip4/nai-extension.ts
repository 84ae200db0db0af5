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
import { DecodeError, utf8 } from '../../base/bytes.ts';
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

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An NAI is UTF-8 (RFC 7542 §2.2): bytes that are not are a malformed
 * extension, not an identity to be rewritten with U+FFFD (which could no
 * longer be sent back: 86 bad bytes grow past the 255-byte Length).
 */
export function decodeNaiExtension(raw: RawExtension): NaiExtension {
  if (raw.data.length === 0) throw new DecodeError('NAI extension is empty', raw.offset);
  let nai: string;
  try {
    nai = STRICT_UTF8.decode(raw.data);
  } catch {
    throw new DecodeError('NAI extension is not UTF-8', raw.offset);
  }
  return { kind: 'nai', nai };
}
