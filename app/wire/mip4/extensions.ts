/**
 * Generic Mobile IPv4 extension list (RFC 5944 §1.8–§1.11, §2.1.3).
 *
 *   Simple TLV (§1.9), Length counts the data only:
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
 *   |     Type      |    Length     |    Data ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
 *
 *   Short (§1.11), Length = 1 + length of Data (a TLV whose data starts with Sub-Type):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |   Length      |    Sub-Type   |    Data ....
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Long (§1.10), non-skippable types only, Length excludes Type, Sub-Type, Length:
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |  Sub-Type     |           Length              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           Data      .....
 *
 *   One-byte padding (§2.1.3): Type 0 alone, no Length.
 *
 * The list ends with the message. An unrecognised type 0–127 means the
 * whole message must be dropped (UnknownExtensionError); an unrecognised
 * type 128–255 is skipped by its Length but kept as raw bytes.
 */
import { DecodeError, Reader } from '../../base/bytes.ts';
import { SKIPPABLE_EXTENSION_MIN } from './constants.ts';

export type ExtensionFormat = 'pad' | 'tlv' | 'long';

export interface RawExtension {
  type: number;
  format: ExtensionFormat;
  /** Offset of the Type byte within the message. */
  offset: number;
  /** The whole extension, header included. */
  raw: Uint8Array;
  /** After Type and Length (TLV/short: Sub-Type is data[0]), or after Type, Sub-Type, Length (long). */
  data: Uint8Array;
  /** Long format only. */
  subType?: number;
  /** False for a skipped unknown type 128–255. */
  recognised: boolean;
}

/** An unrecognised non-skippable extension (type 0–127): drop the whole message (RFC 5944 §1.8). */
export class UnknownExtensionError extends DecodeError {
  constructor(readonly extensionType: number, offset: number) {
    super(`unknown non-skippable extension type ${extensionType}: message must be dropped`, offset);
    this.name = 'UnknownExtensionError';
  }
}

export interface ExtensionListOptions {
  /** Types this receiver understands (Pad is always understood). */
  recognised: ReadonlySet<number>;
  /** Recognised types that use the long format. */
  long?: ReadonlySet<number>;
  /** What is being decoded, for error messages. */
  what?: string;
}

/** Splits buf[start..] into extensions; throws DecodeError on truncation, UnknownExtensionError on an unknown type < 128. */
export function decodeExtensionList(buf: Uint8Array, start: number, opts: ExtensionListOptions): RawExtension[] {
  const r = new Reader(buf, opts.what ?? 'extension list');
  r.skip(start);
  const out: RawExtension[] = [];
  while (r.remaining > 0) {
    const offset = r.offset;
    const type = r.u8();
    if (type === 0) {
      out.push({ type, format: 'pad', offset, raw: buf.subarray(offset, offset + 1), data: new Uint8Array(0), recognised: true });
      continue;
    }
    const known = opts.recognised.has(type);
    if (!known && type < SKIPPABLE_EXTENSION_MIN) throw new UnknownExtensionError(type, offset);
    if (known && opts.long?.has(type)) {
      const subType = r.u8();
      const data = r.bytes(r.u16());
      out.push({ type, format: 'long', offset, raw: buf.subarray(offset, r.offset), data, subType, recognised: true });
      continue;
    }
    const data = r.bytes(r.u8());
    out.push({ type, format: 'tlv', offset, raw: buf.subarray(offset, r.offset), data, recognised: known });
  }
  return out;
}

/** Simple TLV; throws RangeError when the data does not fit one length byte. */
export function encodeTlv(type: number, data: Uint8Array): Uint8Array {
  if (type === 0) throw new RangeError('type 0 is the one-byte pad; use encodePad()');
  if (data.length > 255) throw new RangeError(`extension ${type}: ${data.length} data bytes exceed 255`);
  const out = new Uint8Array(2 + data.length);
  out[0] = type;
  out[1] = data.length;
  out.set(data, 2);
  return out;
}

/** Short format: Length = 1 + len(data). */
export function encodeShort(type: number, subType: number, data: Uint8Array): Uint8Array {
  const body = new Uint8Array(1 + data.length);
  body[0] = subType;
  body.set(data, 1);
  return encodeTlv(type, body);
}

/** Long format; only for non-skippable types (RFC 5944 §1.10). */
export function encodeLong(type: number, subType: number, data: Uint8Array): Uint8Array {
  if (type >= SKIPPABLE_EXTENSION_MIN) throw new RangeError(`long format is not allowed for skippable type ${type}`);
  if (data.length > 0xffff) throw new RangeError(`extension ${type}: ${data.length} data bytes exceed 65535`);
  const out = new Uint8Array(4 + data.length);
  out[0] = type;
  out[1] = subType;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, 4);
  return out;
}

export function encodePad(): Uint8Array {
  return new Uint8Array(1);
}

/** Sub-Type and the data after it, for a short-format extension. */
export function shortBody(ext: RawExtension): { subType: number; data: Uint8Array } {
  if (ext.data.length < 1) throw new DecodeError(`extension ${ext.type}: short format needs a Sub-Type`, ext.offset);
  return { subType: ext.data[0]!, data: ext.data.subarray(1) };
}
