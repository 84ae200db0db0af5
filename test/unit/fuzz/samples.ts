/**
 * Genuine encodings shared by the fuzz targets: every one is built with our
 * own encoders, so a mutant of one is "a real message, slightly wrong".
 */
import { encodeDigitalSignatureData } from '../../../app/wire/ikev2/payloads/auth.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import { natDetectionNotify } from '../../../app/wire/ikev2/payloads/notify-data.ts';
import { ipv4Selector } from '../../../app/wire/ikev2/payloads/ts.ts';
import type { Payload } from '../../../app/wire/ikev2/payload.ts';
import {
  AuthMethod, CertEncoding, CfgAttr, CfgType, DhId, EncrId, IdType, IntegId, NotifyType, PayloadType, PrfId, ProtocolId, TransformType, TsType,
} from '../../../app/wire/ikev2/constants.ts';

export const fill = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

/** One genuine payload of every type we decode (all through our encoders). */
export const PAYLOADS: Payload[] = [
  { type: PayloadType.SA, proposals: [
    { number: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms: [
      { type: TransformType.ENCR, id: EncrId.AesGcm16, keyLength: 256 },
      { type: TransformType.PRF, id: PrfId.HmacSha2_256 },
      { type: TransformType.DH, id: DhId.Curve25519 },
      { type: TransformType.DH, id: DhId.Ecp256, otherAttributes: [{ type: 17, value: 5 }, { type: 18, value: fill(3) }] },
    ] },
    { number: 2, protocol: ProtocolId.ESP, spi: fill(4), transforms: [
      { type: TransformType.ENCR, id: EncrId.AesCbc, keyLength: 128 },
      { type: TransformType.INTEG, id: IntegId.HmacSha2_256_128 },
      { type: TransformType.ESN, id: 0 },
    ] },
  ] },
  { type: PayloadType.KE, group: DhId.Curve25519, data: fill(32) },
  { type: PayloadType.IDi, idType: IdType.Rfc822Addr, data: new TextEncoder().encode('mn@example') },
  { type: PayloadType.IDr, idType: IdType.Ipv4Addr, data: Uint8Array.of(192, 0, 2, 1) },
  { type: PayloadType.CERT, encoding: CertEncoding.X509Signature, data: fill(40) },
  { type: PayloadType.CERTREQ, encoding: CertEncoding.X509Signature, authority: fill(40, 3) },
  { type: PayloadType.AUTH, method: AuthMethod.SharedKeyMic, data: fill(32, 5) },
  { type: PayloadType.AUTH, method: 14 as AuthMethod, data: encodeDigitalSignatureData({ algorithmIdentifier: Uint8Array.of(0x30, 0x0a, 6, 8, 42, 134, 72, 206, 61, 4, 3, 2), signature: fill(64) }) },
  { type: PayloadType.Nonce, data: fill(32, 7) },
  makeNotify(NotifyType.MobikeSupported),
  makeNotify(NotifyType.RekeySa, undefined, ProtocolId.ESP, fill(4, 9)),
  natDetectionNotify(NotifyType.NatDetectionSourceIp, fill(20, 11)),
  { type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [fill(4, 1), fill(4, 2)] },
  { type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] },
  { type: PayloadType.VendorId, data: fill(16, 13) },
  { type: PayloadType.TSi, selectors: [ipv4Selector('10.10.100.1', '10.10.100.1')] },
  { type: PayloadType.TSr, selectors: [ipv4Selector('10.10.0.0', '10.10.255.255', 17, 500, 4500),
    { tsType: TsType.Ipv6AddrRange, ipProtocol: 0, startPort: 0, endPort: 65535, startAddr: fill(16), endAddr: fill(16, 2) }] },
  { type: PayloadType.CP, cfgType: CfgType.Reply, attributes: [
    { kind: 'ip4', type: CfgAttr.InternalIp4Address, address: '10.10.100.1' },
    { kind: 'ip4', type: CfgAttr.InternalIp4Dns },
    { kind: 'ip4-subnet', type: CfgAttr.InternalIp4Subnet, subnet: { address: '10.10.0.0', netmask: '255.255.0.0' } },
    { kind: 'raw', type: 8, value: fill(17) },
    { kind: 'raw', type: 0x1234, value: fill(3) },
  ] },
  { type: PayloadType.EAP, message: Uint8Array.of(1, 7, 0, 10, 1, 0x6d, 0x6e, 0x40, 0x65, 0x78) },
];

