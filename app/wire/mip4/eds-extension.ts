/**
 * Encapsulating Delivery Style extension (RFC 3024 §3.3), skippable, for
 * the foreign agent only: after MN-HA, before MN-FA, and only with T set.
 *
 *    0                   1
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type = 130   |  Length = 0   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { DecodeError } from '../../base/bytes.ts';
import { ExtensionType } from './constants.ts';
import { encodeTlv, type RawExtension } from './extensions.ts';

export interface EdsExtension {
  kind: 'eds';
}

export function encodeEdsExtension(): Uint8Array {
  return encodeTlv(ExtensionType.EncapsulatingDeliveryStyle, new Uint8Array(0));
}

export function decodeEdsExtension(raw: RawExtension): EdsExtension {
  if (raw.data.length !== 0) throw new DecodeError(`Encapsulating Delivery Style extension: Length ${raw.data.length}, expected 0`, raw.offset);
  return { kind: 'eds' };
}
