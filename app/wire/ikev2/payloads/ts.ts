/**
 * Traffic Selector payloads TSi / TSr (RFC 7296 §3.13):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Number of TSs |                 RESERVED                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                       <Traffic Selectors>                     ~
 *
 *   Traffic selector (§3.13.1):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   TS Type     |IP Protocol ID*|       Selector Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Start Port*         |           End Port*           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                         Starting Address*                     ~
 *   ~                         Ending Address*                       ~
 *
 * TS_IPV4_ADDR_RANGE (7) has length 16, TS_IPV6_ADDR_RANGE (8) length 40.
 * IP protocol 0 and ports 0..65535 mean "any". Other TS types are rejected.
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../../base/ipv4.ts';
import { TS_IPV4_SELECTOR_LENGTH, TS_IPV6_SELECTOR_LENGTH, TsType } from '../constants.ts';
import type { PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

interface SelectorCommon {
  ipProtocol: number;
  startPort: number;
  endPort: number;
}

export interface Ipv4Selector extends SelectorCommon {
  tsType: TsType.Ipv4AddrRange;
  startAddr: string;
  endAddr: string;
}

export interface Ipv6Selector extends SelectorCommon {
  tsType: TsType.Ipv6AddrRange;
  /** 16-byte addresses. */
  startAddr: Uint8Array;
  endAddr: Uint8Array;
}

export type TrafficSelector = Ipv4Selector | Ipv6Selector;

export interface TsPayload {
  type: PayloadType.TSi | PayloadType.TSr;
  critical?: boolean;
  selectors: TrafficSelector[];
}

/** An IPv4 selector for a whole range, any protocol and port by default. */
export function ipv4Selector(startAddr: string, endAddr: string, ipProtocol = 0, startPort = 0, endPort = 65535): Ipv4Selector {
  return { tsType: TsType.Ipv4AddrRange, ipProtocol, startPort, endPort, startAddr, endAddr };
}

export function encodeTsBody(p: TsPayload): Uint8Array {
  if (p.selectors.length === 0 || p.selectors.length > 255) throw new RangeError('TS payload needs 1..255 selectors');
  const w = new Writer().u8(p.selectors.length).zeros(3);
  for (const s of p.selectors) {
    const v4 = s.tsType === TsType.Ipv4AddrRange;
    w.u8(s.tsType).u8(s.ipProtocol).u16(v4 ? TS_IPV4_SELECTOR_LENGTH : TS_IPV6_SELECTOR_LENGTH);
    w.u16(s.startPort).u16(s.endPort);
    if (v4) w.bytes(ipv4ToBytes(s.startAddr)).bytes(ipv4ToBytes(s.endAddr));
    else {
      if (s.startAddr.length !== 16 || s.endAddr.length !== 16) throw new RangeError('IPv6 selector addresses are 16 bytes');
      w.bytes(s.startAddr).bytes(s.endAddr);
    }
  }
  return w.finish();
}

export function decodeTsBody(body: Uint8Array): Omit<TsPayload, 'type'> {
  const r = new Reader(body, 'TS payload');
  const count = r.u8();
  r.skip(3);
  if (count === 0) throw syntaxError('TS payload with no selectors');
  const selectors: TrafficSelector[] = [];
  for (let i = 0; i < count; i++) selectors.push(decodeSelector(r));
  if (r.remaining !== 0) throw syntaxError(`${r.remaining} bytes after the last traffic selector`, r.offset);
  return { selectors };
}

function decodeSelector(r: Reader): TrafficSelector {
  const at = r.offset;
  const tsType = r.u8();
  const ipProtocol = r.u8();
  const length = r.u16();
  const want = tsType === TsType.Ipv4AddrRange ? TS_IPV4_SELECTOR_LENGTH
    : tsType === TsType.Ipv6AddrRange ? TS_IPV6_SELECTOR_LENGTH : undefined;
  if (want === undefined) throw syntaxError(`unsupported traffic selector type ${tsType}`, at);
  if (length !== want) throw syntaxError(`traffic selector type ${tsType} with length ${length}`, at);
  const startPort = r.u16();
  const endPort = r.u16();
  if (tsType === TsType.Ipv4AddrRange) {
    const startAddr = bytesToIPv4(r.bytes(4));
    const endAddr = bytesToIPv4(r.bytes(4));
    return { tsType: TsType.Ipv4AddrRange, ipProtocol, startPort, endPort, startAddr, endAddr };
  }
  const startAddr = r.bytes(16).slice();
  const endAddr = r.bytes(16).slice();
  return { tsType: TsType.Ipv6AddrRange, ipProtocol, startPort, endPort, startAddr, endAddr };
}
