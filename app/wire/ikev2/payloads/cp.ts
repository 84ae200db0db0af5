/**
 * Configuration payload (RFC 7296 §3.15):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C| RESERVED    |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   CFG Type    |                    RESERVED                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                   Configuration Attributes                    ~
 *
 *   Attribute (§3.15.1):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |R|         Attribute Type      |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                             Value                             ~
 *
 * IPv4 attributes (ADDRESS, NETMASK, DNS, NBNS, DHCP) hold 0 or 4 bytes,
 * INTERNAL_IP4_SUBNET 0 or 8 (address | netmask); a REQUEST sends them empty.
 * Other attributes are kept raw; the IPv6 ones get their lengths checked.
 * INTERNAL_DNS_DOMAIN (RFC 8598 §4, type 25) is kept raw too and read with
 * cpDnsDomains(): ASCII labels separated by dots, no trailing dot, no NUL.
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../../base/ipv4.ts';
import { CfgAttr } from '../constants.ts';
import type { CfgType, PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export type Ip4CfgAttr =
  | CfgAttr.InternalIp4Address | CfgAttr.InternalIp4Netmask | CfgAttr.InternalIp4Dns
  | CfgAttr.InternalIp4Nbns | CfgAttr.InternalIp4Dhcp;

export type CpAttribute =
  /** address absent = empty value (a request). */
  | { kind: 'ip4'; type: Ip4CfgAttr; address?: string }
  | { kind: 'ip4-subnet'; type: CfgAttr.InternalIp4Subnet; subnet?: { address: string; netmask: string } }
  | { kind: 'raw'; type: number; value: Uint8Array };

export interface CpPayload {
  type: PayloadType.CP;
  critical?: boolean;
  cfgType: CfgType;
  attributes: CpAttribute[];
}

const IP4_ATTRS: ReadonlySet<number> = new Set([
  CfgAttr.InternalIp4Address, CfgAttr.InternalIp4Netmask, CfgAttr.InternalIp4Dns,
  CfgAttr.InternalIp4Nbns, CfgAttr.InternalIp4Dhcp,
]);

/** Allowed value lengths of the fixed-size IPv6 attributes. */
const IP6_LENGTHS: ReadonlyMap<number, number> = new Map([
  [CfgAttr.InternalIp6Address, 17], [CfgAttr.InternalIp6Dns, 16],
  [CfgAttr.InternalIp6Dhcp, 16], [CfgAttr.InternalIp6Subnet, 17],
]);

function attributeValue(a: CpAttribute): Uint8Array {
  switch (a.kind) {
    case 'ip4':
      return a.address === undefined ? new Uint8Array(0) : ipv4ToBytes(a.address);
    case 'ip4-subnet':
      return a.subnet === undefined ? new Uint8Array(0)
        : new Writer(8).bytes(ipv4ToBytes(a.subnet.address)).bytes(ipv4ToBytes(a.subnet.netmask)).finish();
    case 'raw':
      return a.value;
  }
}

export function encodeCpBody(p: CpPayload): Uint8Array {
  const w = new Writer().u8(p.cfgType).zeros(3);
  for (const a of p.attributes) {
    const value = attributeValue(a);
    w.u16(a.type & 0x7fff).u16(value.length).bytes(value);
  }
  return w.finish();
}

export function decodeCpBody(body: Uint8Array): Omit<CpPayload, 'type'> {
  const r = new Reader(body, 'CP payload');
  const cfgType = r.u8() as CfgType;
  r.skip(3);
  const attributes: CpAttribute[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u16() & 0x7fff; // the R bit is ignored on receipt
    const length = r.u16();
    if (length > r.remaining) throw syntaxError(`CP attribute ${type} length ${length} runs past the payload`, at);
    attributes.push(decodeAttribute(type, r.bytes(length), at));
  }
  return { cfgType, attributes };
}

function decodeAttribute(type: number, value: Uint8Array, at: number): CpAttribute {
  if (IP4_ATTRS.has(type)) {
    if (value.length !== 0 && value.length !== 4) throw syntaxError(`CP attribute ${type} of ${value.length} bytes`, at);
    const a: CpAttribute = { kind: 'ip4', type: type as Ip4CfgAttr };
    if (value.length === 4) a.address = bytesToIPv4(value);
    return a;
  }
  if (type === CfgAttr.InternalIp4Subnet) {
    if (value.length !== 0 && value.length !== 8) throw syntaxError(`INTERNAL_IP4_SUBNET of ${value.length} bytes`, at);
    const a: CpAttribute = { kind: 'ip4-subnet', type: CfgAttr.InternalIp4Subnet };
    if (value.length === 8) a.subnet = { address: bytesToIPv4(value, 0), netmask: bytesToIPv4(value, 4) };
    return a;
  }
  const want = IP6_LENGTHS.get(type);
  if (want !== undefined && value.length !== 0 && value.length !== want) {
    throw syntaxError(`CP attribute ${type} of ${value.length} bytes (want 0 or ${want})`, at);
  }
  return { kind: 'raw', type, value: value.slice() };
}

/** The addresses of every attribute of one IPv4 type, in order (e.g. all DNS servers). */
export function cpIp4Values(p: Pick<CpPayload, 'attributes'>, type: Ip4CfgAttr): string[] {
  const out: string[] = [];
  for (const a of p.attributes) if (a.kind === 'ip4' && a.type === type && a.address !== undefined) out.push(a.address);
  return out;
}

const LABEL_RE = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * An INTERNAL_DNS_DOMAIN value (RFC 8598 §4) as a lower-case domain name, or
 * undefined when it is empty or not a valid name (IDNA names arrive as their
 * ASCII "xn--" form, so non-ASCII bytes are invalid too).
 */
export function decodeDnsDomain(value: Uint8Array): string | undefined {
  if (value.length === 0 || value.length > 253) return undefined;
  let s = '';
  for (const b of value) {
    if (b < 0x21 || b > 0x7e) return undefined;
    s += String.fromCharCode(b);
  }
  const labels = s.split('.');
  return labels.every((l) => LABEL_RE.test(l)) ? s.toLowerCase() : undefined;
}

/** The valid INTERNAL_DNS_DOMAIN values of a CP, in order, without duplicates; invalid ones are left out. */
export function cpDnsDomains(p: Pick<CpPayload, 'attributes'>): string[] {
  const out: string[] = [];
  for (const a of p.attributes) {
    if (a.kind !== 'raw' || a.type !== CfgAttr.InternalDnsDomain) continue;
    const d = decodeDnsDomain(a.value);
    if (d !== undefined && !out.includes(d)) out.push(d);
  }
  return out;
}
