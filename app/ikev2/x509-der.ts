/**
 * The few DER structures certificate authentication has to look inside and
 * node:crypto does not expose (X.690 §8, RFC 5280 §4.1):
 *
 *   TLV               | Tag (1) | Length (1, or 0x8n then n bytes) | Value ~ |
 *   Certificate       SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 *   tbsCertificate    SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
 *                                issuer Name, validity, subject Name, … }
 *   Name              SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }
 *   AlgorithmIdentifier SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
 *
 * Only definite lengths in minimal form are accepted (DER); anything else is
 * a DecodeError.
 */
import { DecodeError, Reader, Writer, concatBytes, fromUtf8, utf8 } from '../base/bytes.ts';

export enum Tag {
  Integer = 0x02,
  Null = 0x05,
  Oid = 0x06,
  Utf8String = 0x0c,
  PrintableString = 0x13,
  T61String = 0x14,
  Ia5String = 0x16,
  BmpString = 0x1e,
  Sequence = 0x30,
  Set = 0x31,
  ContextVersion = 0xa0,
}

export interface Tlv {
  tag: number;
  value: Uint8Array;
  /** Tag, length and value: the element's whole encoding. */
  whole: Uint8Array;
}

/** Reads one TLV at the reader's position. */
export function readTlv(r: Reader): Tlv {
  const start = r.offset;
  const tag = r.u8();
  if ((tag & 0x1f) === 0x1f) throw new DecodeError('DER high tag numbers are not supported', start);
  let len = r.u8();
  if (len === 0x80) throw new DecodeError('DER forbids indefinite lengths', start);
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 3) throw new DecodeError(`DER length of ${n} bytes is too long`, start);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8();
    if (len < 0x80 || len < 256 ** (n - 1)) throw new DecodeError('DER length not in minimal form', start);
  }
  const value = r.bytes(len);
  return { tag, value, whole: r.buf.subarray(start, r.offset) };
}

/** Reads one TLV and checks its tag. */
export function expectTlv(r: Reader, tag: Tag, what: string): Tlv {
  const t = readTlv(r);
  if (t.tag !== tag) throw new DecodeError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/** Parses exactly one TLV that fills `der`. */
export function parseOne(der: Uint8Array, tag: Tag, what: string): Tlv {
  const r = new Reader(der, what);
  const t = expectTlv(r, tag, what);
  if (r.remaining !== 0) throw new DecodeError(`${what}: ${r.remaining} trailing bytes`);
  return t;
}

/** The DER subject Name of a certificate (what ID_DER_ASN1_DN carries). */
export function certificateSubjectDer(certDer: Uint8Array): Uint8Array {
  const cert = new Reader(parseOne(certDer, Tag.Sequence, 'Certificate').value, 'Certificate');
  const tbs = new Reader(expectTlv(cert, Tag.Sequence, 'tbsCertificate').value, 'tbsCertificate');
  let t = readTlv(tbs);
  if (t.tag === Tag.ContextVersion) t = readTlv(tbs);
  if (t.tag !== Tag.Integer) throw new DecodeError('tbsCertificate: serialNumber missing');
  expectTlv(tbs, Tag.Sequence, 'signature');
  expectTlv(tbs, Tag.Sequence, 'issuer');
  expectTlv(tbs, Tag.Sequence, 'validity');
  return expectTlv(tbs, Tag.Sequence, 'subject').whole.slice();
}

export function decodeOid(value: Uint8Array): string {
  if (value.length === 0 || (value[value.length - 1]! & 0x80) !== 0) throw new DecodeError('malformed OID');
  const arcs: number[] = [];
  let v = 0;
  for (const b of value) {
    if (v === 0 && b === 0x80) throw new DecodeError('OID arc not in minimal form');
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DecodeError('OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new RangeError(`bad OID ${oid}`);
  const out: number[] = [];
  const body = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  for (const arc of body) {
    const chunk = [arc & 0x7f];
    for (let a = Math.floor(arc / 128); a > 0; a = Math.floor(a / 128)) chunk.unshift((a & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const n = value.length;
  const w = new Writer(value.length + 5).u8(tag);
  if (n < 0x80) w.u8(n);
  else if (n < 0x100) w.u8(0x81).u8(n);
  else if (n < 0x10000) w.u8(0x82).u16(n);
  else w.u8(0x83).u8(n >>> 16).u16(n & 0xffff);
  return w.bytes(value).finish();
}

/** One attribute of a distinguished name, e.g. { oid: '2.5.4.3', value: 'gw.example' }. */
export interface DnAttribute {
  oid: string;
  value: string;
}

function decodeString(t: Tlv): string {
  switch (t.tag) {
    case Tag.Utf8String:
    case Tag.PrintableString:
    case Tag.Ia5String:
      return fromUtf8(t.value);
    case Tag.T61String:
      return String.fromCharCode(...t.value);
    case Tag.BmpString: {
      if (t.value.length % 2 !== 0) throw new DecodeError('BMPString of odd length');
      const r = new Reader(t.value, 'BMPString');
      let s = '';
      while (r.remaining > 0) s += String.fromCharCode(r.u16());
      return s;
    }
    default:
      throw new DecodeError(`unsupported DN string tag 0x${t.tag.toString(16)}`);
  }
}

/** Name → flat attribute list in order (multi-valued RDNs are flattened). */
export function decodeDn(der: Uint8Array): DnAttribute[] {
  const name = new Reader(parseOne(der, Tag.Sequence, 'Name').value, 'Name');
  const out: DnAttribute[] = [];
  while (name.remaining > 0) {
    const rdn = new Reader(expectTlv(name, Tag.Set, 'RDN').value, 'RDN');
    if (rdn.remaining === 0) throw new DecodeError('empty RDN');
    while (rdn.remaining > 0) {
      const atv = new Reader(expectTlv(rdn, Tag.Sequence, 'AttributeTypeAndValue').value, 'AttributeTypeAndValue');
      const oid = decodeOid(expectTlv(atv, Tag.Oid, 'attribute type').value);
      const value = decodeString(readTlv(atv));
      if (atv.remaining !== 0) throw new DecodeError('trailing bytes in AttributeTypeAndValue');
      out.push({ oid, value });
    }
  }
  return out;
}

const PRINTABLE_ONLY = new Set(['2.5.4.6', '2.5.4.5']); // countryName, serialNumber (RFC 5280 App. A)
const IA5_ONLY = new Set(['1.2.840.113549.1.9.1', '0.9.2342.19200300.100.1.25']); // emailAddress, dc

/** Attribute list → Name, one attribute per RDN; UTF8String unless X.520 fixes the type. */
export function encodeDn(attrs: readonly DnAttribute[]): Uint8Array {
  const rdns = attrs.map(({ oid, value }) => {
    const tag = PRINTABLE_ONLY.has(oid) ? Tag.PrintableString : IA5_ONLY.has(oid) ? Tag.Ia5String : Tag.Utf8String;
    const atv = encodeTlv(Tag.Sequence, concatBytes(encodeTlv(Tag.Oid, encodeOid(oid)), encodeTlv(tag, utf8(value))));
    return encodeTlv(Tag.Set, atv);
  });
  return encodeTlv(Tag.Sequence, concatBytes(...rdns));
}
