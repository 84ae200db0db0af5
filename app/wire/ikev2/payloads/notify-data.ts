/**
 * Builders and parsers for the Notification Data of the notify types the
 * client sends or acts upon. Parsers throw an IkeDecodeError (INVALID_SYNTAX)
 * when the data has the wrong shape.
 *
 *   NAT_DETECTION_*_IP (RFC 7296 §2.23)  SHA-1(SPIi | SPIr | IP | port), 20 bytes
 *   COOKIE (§2.6)                       1..64 opaque bytes
 *   INVALID_KE_PAYLOAD (§1.3)           accepted DH group, 2 bytes
 *   SET_WINDOW_SIZE (§2.3)              window size, 4 bytes
 *   REKEY_SA (§1.3.3)                   no data; protocol + SPI in the header
 *   ADDITIONAL_IP4_ADDRESS (RFC 4555)   4 bytes
 *   COOKIE2 (RFC 4555 §4.8)             8..64 bytes
 *   NO_NATS_ALLOWED (RFC 4555 §4.9)     src IP | dst IP | src port | dst port
 *   SIGNATURE_HASH_ALGORITHMS (RFC 7427) list of 2-byte hash ids
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { bytesToIPv4, ipv4ToBytes } from '../../../base/ipv4.ts';
import { COOKIE_MAX_LENGTH, NotifyType } from '../constants.ts';
import type { DhId, HashAlgorithm, ProtocolId } from '../constants.ts';
import { syntaxError } from '../errors.ts';
import { makeNotify } from './notify.ts';
import type { NotifyPayload } from './notify.ts';

const SHA1_LENGTH = 20;

function exactLength(data: Uint8Array, n: number, what: string): void {
  if (data.length !== n) throw syntaxError(`${what} data must be ${n} bytes, got ${data.length}`);
}

function lengthBetween(data: Uint8Array, min: number, max: number, what: string): void {
  if (data.length < min || data.length > max) {
    throw syntaxError(`${what} data must be ${min}..${max} bytes, got ${data.length}`);
  }
}

export type NatDetectionType = NotifyType.NatDetectionSourceIp | NotifyType.NatDetectionDestinationIp;

export function natDetectionNotify(type: NatDetectionType, hash: Uint8Array): NotifyPayload {
  if (hash.length !== SHA1_LENGTH) throw new RangeError(`NAT detection hash must be ${SHA1_LENGTH} bytes`);
  return makeNotify(type, hash.slice());
}

export function decodeNatDetectionData(data: Uint8Array): Uint8Array {
  exactLength(data, SHA1_LENGTH, 'NAT_DETECTION');
  return data;
}

export function cookieNotify(cookie: Uint8Array): NotifyPayload {
  if (cookie.length < 1 || cookie.length > COOKIE_MAX_LENGTH) throw new RangeError('COOKIE must be 1..64 bytes');
  return makeNotify(NotifyType.Cookie, cookie.slice());
}

export function decodeCookieData(data: Uint8Array): Uint8Array {
  lengthBetween(data, 1, COOKIE_MAX_LENGTH, 'COOKIE');
  return data;
}

export function cookie2Notify(cookie: Uint8Array): NotifyPayload {
  if (cookie.length < 8 || cookie.length > COOKIE_MAX_LENGTH) throw new RangeError('COOKIE2 must be 8..64 bytes');
  return makeNotify(NotifyType.Cookie2, cookie.slice());
}

export function decodeCookie2Data(data: Uint8Array): Uint8Array {
  lengthBetween(data, 8, COOKIE_MAX_LENGTH, 'COOKIE2');
  return data;
}

export function invalidKeNotify(group: DhId): NotifyPayload {
  return makeNotify(NotifyType.InvalidKePayload, new Writer(2).u16(group).finish());
}

export function decodeInvalidKeData(data: Uint8Array): DhId {
  exactLength(data, 2, 'INVALID_KE_PAYLOAD');
  return new Reader(data).u16() as DhId;
}

export function setWindowSizeNotify(size: number): NotifyPayload {
  return makeNotify(NotifyType.SetWindowSize, new Writer(4).u32(size).finish());
}

export function decodeSetWindowSizeData(data: Uint8Array): number {
  exactLength(data, 4, 'SET_WINDOW_SIZE');
  return new Reader(data).u32();
}

/** REKEY_SA names the SA being rekeyed by protocol and (the sender's inbound) SPI. */
export function rekeySaNotify(protocol: ProtocolId, spi: Uint8Array): NotifyPayload {
  return makeNotify(NotifyType.RekeySa, undefined, protocol, spi.slice());
}

export function additionalIp4Notify(address: string): NotifyPayload {
  return makeNotify(NotifyType.AdditionalIp4Address, ipv4ToBytes(address));
}

export function decodeAdditionalIp4Data(data: Uint8Array): string {
  exactLength(data, 4, 'ADDITIONAL_IP4_ADDRESS');
  return bytesToIPv4(data);
}

/** NO_NATS_ALLOWED for IPv4: the addresses and ports of the IP/UDP headers as sent. */
export interface NoNatsAllowed {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
}

export function noNatsAllowedNotify(v: NoNatsAllowed): NotifyPayload {
  const data = new Writer(12).bytes(ipv4ToBytes(v.srcAddr)).bytes(ipv4ToBytes(v.dstAddr))
    .u16(v.srcPort).u16(v.dstPort).finish();
  return makeNotify(NotifyType.NoNatsAllowed, data);
}

export function decodeNoNatsAllowedData(data: Uint8Array): NoNatsAllowed {
  exactLength(data, 12, 'NO_NATS_ALLOWED (IPv4)');
  const r = new Reader(data);
  const srcAddr = bytesToIPv4(r.bytes(4));
  const dstAddr = bytesToIPv4(r.bytes(4));
  return { srcAddr, dstAddr, srcPort: r.u16(), dstPort: r.u16() };
}

export function signatureHashAlgorithmsNotify(algorithms: HashAlgorithm[]): NotifyPayload {
  const w = new Writer(2 * algorithms.length);
  for (const a of algorithms) w.u16(a);
  return makeNotify(NotifyType.SignatureHashAlgorithms, w.finish());
}

export function decodeSignatureHashAlgorithmsData(data: Uint8Array): HashAlgorithm[] {
  if (data.length % 2 !== 0) throw syntaxError(`SIGNATURE_HASH_ALGORITHMS data of odd length ${data.length}`);
  const r = new Reader(data);
  const out: HashAlgorithm[] = [];
  while (r.remaining > 0) out.push(r.u16() as HashAlgorithm);
  return out;
}
