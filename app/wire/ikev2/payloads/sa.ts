/**
 * Security Association payload (RFC 7296 §3.3): a list of proposals, each a
 * list of transforms, each with optional attributes.
 *
 *   Proposal substructure (§3.3.1):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Last Substruc |   RESERVED    |         Proposal Length       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                        SPI (variable)                         ~
 *   ~                        <Transforms>                           ~
 *
 *   Transform substructure (§3.3.2):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Last Substruc |   RESERVED    |        Transform Length       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Transform Type |   RESERVED    |          Transform ID         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                      Transform Attributes                     ~
 *
 *   Attribute (§3.3.5): |A| Attribute Type (15) | Length or Value (2) | [Value]
 *   A=1 (TV): the 2-byte field is the value; A=0 (TLV): it is the length.
 *   Key Length (type 14) is TV only: 0x800E followed by the key size in bits.
 *
 * Last Substruc is 2 (more proposals) / 3 (more transforms) or 0 (last).
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { ATTRIBUTE_TV_BIT, ProtocolId, TransformAttr } from '../constants.ts';
import type { PayloadType, TransformType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

/** An attribute other than Key Length: a number is TV form, bytes are TLV form. */
export interface TransformAttribute {
  type: number;
  value: number | Uint8Array;
}

export interface Transform {
  type: TransformType;
  id: number;
  /** Key Length attribute in bits (AES-CBC/CTR/GCM/CCM); absent for fixed-size ciphers. */
  keyLength?: number;
  /** Attributes we do not interpret; a proposal carrying them should be rejected. */
  otherAttributes?: TransformAttribute[];
}

export interface Proposal {
  /** Proposal Num, from 1; a response carries the number it accepted. */
  number: number;
  protocol: ProtocolId;
  /** The sender's inbound SPI: empty in IKE_SA_INIT, 8 bytes for IKE rekey, 4 for ESP/AH. */
  spi: Uint8Array;
  transforms: Transform[];
}

export interface SaPayload {
  type: PayloadType.SA;
  critical?: boolean;
  proposals: Proposal[];
}

const LAST = 0;
const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;

export function encodeSaBody(p: SaPayload): Uint8Array {
  const w = new Writer();
  p.proposals.forEach((prop, i) => {
    const start = w.length;
    if (prop.transforms.length > 255) throw new RangeError('too many transforms in one proposal');
    w.u8(i === p.proposals.length - 1 ? LAST : MORE_PROPOSALS).u8(0).u16(0);
    w.u8(prop.number).u8(prop.protocol).u8(prop.spi.length).u8(prop.transforms.length).bytes(prop.spi);
    prop.transforms.forEach((t, j) => encodeTransform(w, t, j === prop.transforms.length - 1));
    w.patchU16(start + 2, w.length - start);
  });
  return w.finish();
}

function encodeTransform(w: Writer, t: Transform, last: boolean): void {
  const start = w.length;
  w.u8(last ? LAST : MORE_TRANSFORMS).u8(0).u16(0).u8(t.type).u8(0).u16(t.id);
  if (t.keyLength !== undefined) w.u16(ATTRIBUTE_TV_BIT | TransformAttr.KeyLength).u16(t.keyLength);
  for (const a of t.otherAttributes ?? []) {
    if (typeof a.value === 'number') w.u16(ATTRIBUTE_TV_BIT | a.type).u16(a.value);
    else w.u16(a.type & 0x7fff).u16(a.value.length).bytes(a.value);
  }
  w.patchU16(start + 2, w.length - start);
}

export function decodeSaBody(body: Uint8Array): Omit<SaPayload, 'type'> {
  const r = new Reader(body, 'SA payload');
  const proposals: Proposal[] = [];
  if (body.length === 0) throw syntaxError('SA payload has no proposals');
  while (r.remaining > 0) {
    const at = r.offset;
    const last = r.u8();
    r.skip(1);
    const length = r.u16();
    if (length < 8 || length > r.remaining + 4) throw syntaxError(`bad proposal length ${length}`, at);
    proposals.push(decodeProposal(new Reader(r.bytes(length - 4), 'proposal'), at));
    checkLast(last, MORE_PROPOSALS, r.remaining === 0, 'proposal', at);
  }
  return { proposals };
}

function checkLast(last: number, more: number, atEnd: boolean, what: string, at: number): void {
  if (last !== (atEnd ? LAST : more)) {
    throw syntaxError(`${what} Last Substruc ${last} disagrees with the payload length`, at);
  }
}

function decodeProposal(r: Reader, at: number): Proposal {
  const number = r.u8();
  const protocol = r.u8() as ProtocolId;
  const spiSize = r.u8();
  const count = r.u8();
  const spiOk = protocol === ProtocolId.IKE ? spiSize === 0 || spiSize === 8
    : (protocol === ProtocolId.ESP || protocol === ProtocolId.AH) && spiSize === 4;
  if (!spiOk) throw syntaxError(`proposal with protocol ${protocol} and SPI size ${spiSize}`, at);
  const spi = r.bytes(spiSize).slice();
  const transforms: Transform[] = [];
  while (r.remaining > 0) {
    const tAt = at + 4 + r.offset;
    const last = r.u8();
    r.skip(1);
    const length = r.u16();
    if (length < 8 || length > r.remaining + 4) throw syntaxError(`bad transform length ${length}`, tAt);
    transforms.push(decodeTransform(new Reader(r.bytes(length - 4), 'transform'), tAt));
    checkLast(last, MORE_TRANSFORMS, r.remaining === 0, 'transform', tAt);
  }
  if (transforms.length !== count) {
    throw syntaxError(`proposal announces ${count} transforms but holds ${transforms.length}`, at);
  }
  return { number, protocol, spi, transforms };
}

function decodeTransform(r: Reader, at: number): Transform {
  const type = r.u8() as TransformType;
  r.skip(1);
  const t: Transform = { type, id: r.u16() };
  while (r.remaining > 0) {
    const word = r.u16();
    const attrType = word & 0x7fff;
    const tv = (word & ATTRIBUTE_TV_BIT) !== 0;
    const value: number | Uint8Array = tv ? r.u16() : r.bytes(r.u16()).slice();
    if (attrType === TransformAttr.KeyLength) {
      if (typeof value !== 'number') throw syntaxError('Key Length attribute must use the TV format', at);
      if (t.keyLength !== undefined) throw syntaxError('duplicate Key Length attribute', at);
      t.keyLength = value;
    } else {
      (t.otherAttributes ??= []).push({ type: attrType, value });
    }
  }
  return t;
}
