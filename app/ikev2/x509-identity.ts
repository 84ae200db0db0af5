/**
 * IKE identities (RFC 7296 §3.5) as configured strings, and how a certificate
 * proves one (RFC 4945 §3.1 for what each ID type must match):
 *
 *   configured string          ID type           certificate must hold
 *   "gw.example", "@gw.example" ID_FQDN (2)       subjectAltName dNSName
 *   "mn@example"               ID_RFC822_ADDR (3) subjectAltName rfc822Name
 *   "192.0.2.1"                ID_IPV4_ADDR (1)  subjectAltName iPAddress
 *   "C=CH, O=Lab, CN=gw"       ID_DER_ASN1_DN (9) subject equal to the DN
 *
 * strongSwan's explicit prefixes "fqdn:", "email:", "userfqdn:", "ipv4:" and
 * "asn1dn:" force a type. DNs are compared attribute by attribute (type OID
 * and value, case-insensitively), never by their string encodings' bytes.
 */
import type { X509Certificate } from 'node:crypto';
import { DecodeError, equalBytes, fromUtf8, utf8 } from '../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes, isIPv4 } from '../base/ipv4.ts';
import { IdType } from '../wire/ikev2/constants.ts';
import { certificateSubjectDer, decodeDn, encodeDn } from './x509-der.ts';
import type { DnAttribute } from './x509-der.ts';

/** An identity as it travels in an IDi/IDr payload body. */
export interface IkeIdentity {
  idType: IdType;
  data: Uint8Array;
}

/** DN attribute short names (RFC 4514 §3 plus the ones strongSwan and OpenSSL print). */
const DN_NAMES: Readonly<Record<string, string>> = {
  CN: '2.5.4.3', SN: '2.5.4.4', SERIALNUMBER: '2.5.4.5', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8',
  STREET: '2.5.4.9', O: '2.5.4.10', OU: '2.5.4.11', T: '2.5.4.12', TITLE: '2.5.4.12', GN: '2.5.4.42',
  E: '1.2.840.113549.1.9.1', EMAILADDRESS: '1.2.840.113549.1.9.1',
  DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1',
};

/** "C=CH, O=Lab\, Inc., CN=gw" → attributes, or null when it is not a DN. */
export function parseDnString(s: string): DnAttribute[] | null {
  const text = s.trim();
  // OpenSSL's one-line form "/C=CH/O=Lab/CN=gw" or RFC 4514-like "C=CH, O=Lab, CN=gw"
  const sep = text.startsWith('/') ? '/' : ',';
  const parts: string[] = [];
  let cur = '';
  for (let i = sep === '/' ? 1 : 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) cur += text[++i]!;
    else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  const attrs: DnAttribute[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const oid = DN_NAMES[part.slice(0, eq).trim().toUpperCase()];
    const value = part.slice(eq + 1).trim();
    if (oid === undefined || value === '') return null;
    attrs.push({ oid, value });
  }
  return attrs.length > 0 ? attrs : null;
}

const PREFIXES: ReadonlyArray<[string, IdType]> = [
  ['fqdn:', IdType.Fqdn], ['email:', IdType.Rfc822Addr], ['userfqdn:', IdType.Rfc822Addr],
  ['ipv4:', IdType.Ipv4Addr], ['asn1dn:', IdType.DerAsn1Dn],
];

function typedId(idType: IdType, s: string): IkeIdentity {
  switch (idType) {
    case IdType.Ipv4Addr:
      if (!isIPv4(s)) throw new RangeError(`identity ${JSON.stringify(s)} is not an IPv4 address`);
      return { idType, data: ipv4ToBytes(s) };
    case IdType.DerAsn1Dn: {
      const dn = parseDnString(s);
      if (dn === null) throw new RangeError(`identity ${JSON.stringify(s)} is not a distinguished name like "C=CH, O=Lab, CN=gw"`);
      return { idType, data: encodeDn(dn) };
    }
    default:
      if (s === '') throw new RangeError('empty identity');
      return { idType, data: utf8(s) };
  }
}

/**
 * A configured identity string → ID type and data: a DN ("C=…, CN=…") →
 * DER_ASN1_DN, "@host" → FQDN, "user@host" → RFC822_ADDR, dotted quad →
 * IPV4_ADDR, anything else → FQDN. Throws RangeError for an empty or
 * malformed string (configuration errors).
 */
export function idFromString(s: string): IkeIdentity {
  const t = s.trim();
  for (const [prefix, idType] of PREFIXES) {
    if (t.toLowerCase().startsWith(prefix)) return typedId(idType, t.slice(prefix.length));
  }
  if (t.includes('=') && parseDnString(t) !== null) return typedId(IdType.DerAsn1Dn, t);
  if (t.startsWith('@')) return typedId(IdType.Fqdn, t.slice(1));
  if (isIPv4(t)) return typedId(IdType.Ipv4Addr, t);
  return typedId(t.includes('@') ? IdType.Rfc822Addr : IdType.Fqdn, t);
}

/** A readable form for logs and error reasons; never throws. */
export function idToString(id: IkeIdentity): string {
  try {
    switch (id.idType) {
      case IdType.Ipv4Addr:
        return id.data.length === 4 ? bytesToIPv4(id.data) : `ipv4:<${id.data.length} bytes>`;
      case IdType.Fqdn:
      case IdType.Rfc822Addr:
        return fromUtf8(id.data);
      case IdType.DerAsn1Dn:
        return decodeDn(id.data).map((a) => `${shortName(a.oid)}=${a.value}`).join(', ');
      default:
        return `id-type-${id.idType}:<${id.data.length} bytes>`;
    }
  } catch {
    return `id-type-${id.idType}:<malformed>`;
  }
}

function shortName(oid: string): string {
  return Object.entries(DN_NAMES).find(([, o]) => o === oid)?.[0] ?? oid;
}

function dnEqual(a: DnAttribute[], b: DnAttribute[]): boolean {
  return a.length === b.length &&
    a.every((x, i) => x.oid === b[i]!.oid && x.value.toLowerCase() === b[i]!.value.toLowerCase());
}

/**
 * Whether two identities name the same thing: FQDN and RFC822 compare
 * case-insensitively, IPv4 byte for byte, DNs attribute by attribute.
 * Malformed DER gives false.
 */
export function idsEqual(a: IkeIdentity, b: IkeIdentity): boolean {
  if (a.idType !== b.idType) return false;
  switch (a.idType) {
    case IdType.Fqdn:
    case IdType.Rfc822Addr:
      return equalBytes(utf8(fromUtf8(a.data).toLowerCase()), utf8(fromUtf8(b.data).toLowerCase()));
    case IdType.DerAsn1Dn:
      try {
        return dnEqual(decodeDn(a.data), decodeDn(b.data));
      } catch (e) {
        if (e instanceof DecodeError) return false;
        throw e;
      }
    default:
      return equalBytes(a.data, b.data);
  }
}

/**
 * Whether the certificate proves the identity (RFC 4945 §3.1): the matching
 * subjectAltName entry, or for a DN the subject itself. Wildcards and the
 * subject CN are never used for FQDNs.
 */
export function certificateHasId(cert: X509Certificate, id: IkeIdentity): boolean {
  const text = fromUtf8(id.data);
  switch (id.idType) {
    case IdType.Fqdn:
      return text !== '' && cert.checkHost(text, { subject: 'never', wildcards: false }) !== undefined;
    case IdType.Rfc822Addr:
      return text !== '' && cert.checkEmail(text, { subject: 'never' }) !== undefined;
    case IdType.Ipv4Addr:
      return id.data.length === 4 && cert.checkIP(bytesToIPv4(id.data)) !== undefined;
    case IdType.DerAsn1Dn:
      return idsEqual(id, { idType: IdType.DerAsn1Dn, data: certificateSubjectDer(cert.raw) });
    default:
      return false;
  }
}
