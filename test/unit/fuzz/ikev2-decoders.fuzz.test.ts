/**
 * Fuzzing every IKEv2 decoder in app/wire/ikev2 (header, message, payload
 * chain, each payload body, the notify data and RFC 7427 helpers): random
 * bytes and mutations of genuine encodings either decode or throw a
 * DecodeError (IkeDecodeError for whole messages); canonical codecs
 * re-encode to a fixed point. See kit.ts for sizes and seeds.
 */
import { describe, it } from 'vitest';
import { Reader, Writer } from '../../../app/base/bytes.ts';
import { ipv4Selector } from '../../../app/wire/ikev2/payloads/ts.ts';
import {
  AuthMethod, CertEncoding, CfgAttr, CfgType, DhId, EncrId, ExchangeType, HashAlgorithm, IdType, IntegId, NotifyType, PayloadType, PrfId,
  ProtocolId, TransformType, TsType,
} from '../../../app/wire/ikev2/constants.ts';
import { IkeDecodeError } from '../../../app/wire/ikev2/errors.ts';
import { decodeHeader, encodeHeader, type DecodedIkeHeader, type IkeHeader } from '../../../app/wire/ikev2/header.ts';
import { decodeMessage, decodePayloadChain, encodeMessage, encodeMessageWithSk, encodePayloadChain, peekHeader } from '../../../app/wire/ikev2/message.ts';
import { decodePayloadBody, encodePayloadBody, type Payload } from '../../../app/wire/ikev2/payload.ts';
import { decodeDigitalSignatureData, encodeDigitalSignatureData } from '../../../app/wire/ikev2/payloads/auth.ts';
import { certAuthorityHashes } from '../../../app/wire/ikev2/payloads/certreq.ts';
import {
  additionalIp4Notify, cookie2Notify, cookieNotify, decodeAdditionalIp4Data, decodeCookie2Data, decodeCookieData, decodeInvalidKeData,
  decodeNatDetectionData, decodeNoNatsAllowedData, decodeSetWindowSizeData, decodeSignatureHashAlgorithmsData, invalidKeNotify,
  natDetectionNotify, noNatsAllowedNotify, setWindowSizeNotify, signatureHashAlgorithmsNotify,
} from '../../../app/wire/ikev2/payloads/notify-data.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import { FUZZ_TIMEOUT_MS, fuzzDecoder, onlyThrows } from './kit.ts';

const fill = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

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

const HEADER: IkeHeader = { spiI: fill(8, 21), spiR: fill(8, 22), exchangeType: ExchangeType.IkeSaInit, initiator: true, response: false, messageId: 0 };

function headerOnly(h: DecodedIkeHeader): Uint8Array {
  const w = new Writer(28);
  encodeHeader(w, h, h.nextPayload, h.length);
  return w.finish();
}

const sealedShape = encodeMessageWithSk({ ...HEADER, exchangeType: ExchangeType.IkeAuth, messageId: 1 },
  [PAYLOADS[9]!], PayloadType.IDi, 64).bytes;
sealedShape.set(fill(64, 17), sealedShape.length - 64);

const MESSAGES = [
  encodeMessage(HEADER, [PAYLOADS[0]!, PAYLOADS[1]!, PAYLOADS[8]!, PAYLOADS[11]!, PAYLOADS[9]!]),
  encodeMessage({ ...HEADER, response: true, initiator: false }, [makeNotify(NotifyType.Cookie, fill(16))]),
  encodeMessage({ ...HEADER, exchangeType: ExchangeType.Informational, messageId: 7 }, []),
  sealedShape,
];

describe('fuzz: IKEv2 decoders (app/wire/ikev2)', () => {
  it('IKE header (peekHeader / decodeHeader): IkeDecodeError or a header', () => {
    fuzzDecoder({
      name: 'ikev2 header', genuine: MESSAGES.map((m) => m.subarray(0, 28)), maxRandomLength: 40,
      decode: (b) => {
        const h = peekHeader(b);
        // decodeHeader on a Reader throws the same typed errors
        try {
          decodeHeader(new Reader(b));
        } catch (e) {
          if (!(e instanceof IkeDecodeError)) onlyThrows(IkeDecodeError, e);
        }
        return h;
      },
      encode: headerOnly,
    });
  }, FUZZ_TIMEOUT_MS);

  it('whole message (decodeMessage): IkeDecodeError or a message', () => {
    fuzzDecoder({
      name: 'ikev2 message', genuine: MESSAGES, maxRandomLength: 160,
      decode: (b) => {
        try {
          return decodeMessage(b);
        } catch (e) {
          // every failure of a whole message names the notify to answer with
          onlyThrows(IkeDecodeError, e);
        }
      },
      encode: (m) => encodeMessage(m.header, m.payloads),
    });
  }, FUZZ_TIMEOUT_MS);

  it('inner payload chain (decodePayloadChain)', () => {
    const chain = encodePayloadChain(PAYLOADS);
    const small = encodePayloadChain([PAYLOADS[2]!, PAYLOADS[6]!, PAYLOADS[15]!, PAYLOADS[16]!]);
    fuzzDecoder({
      name: 'ikev2 payload chain', genuine: [Uint8Array.of(chain.first, ...chain.bytes), Uint8Array.of(small.first, ...small.bytes)],
      maxRandomLength: 160,
      decode: (b) => {
        try {
          return decodePayloadChain(b[0] ?? PayloadType.NoNextPayload, b.subarray(1));
        } catch (e) {
          onlyThrows(IkeDecodeError, e);
        }
      },
      encode: (ps) => {
        const c = encodePayloadChain(ps);
        return Uint8Array.of(c.first, ...c.bytes);
      },
    });
  }, FUZZ_TIMEOUT_MS);

  const byType = new Map<number, Payload[]>();
  for (const p of PAYLOADS) byType.set(p.type, [...(byType.get(p.type) ?? []), p]);
  for (const [type, samples] of byType) {
    it(`payload body ${PayloadType[type]} (${type})`, () => {
      fuzzDecoder({
        name: `ikev2 payload ${PayloadType[type]}`, genuine: samples.map(encodePayloadBody), maxRandomLength: 128,
        decode: (b) => decodePayloadBody(type, false, b)!,
        encode: encodePayloadBody,
      });
    }, FUZZ_TIMEOUT_MS);
  }

  const u16 = (v: number): Uint8Array => new Writer(2).u16(v).finish();
  const notifyData: [string, (b: Uint8Array) => unknown, Uint8Array[], ((v: never) => Uint8Array)?][] = [
    ['NAT_DETECTION', decodeNatDetectionData, [natDetectionNotify(NotifyType.NatDetectionDestinationIp, fill(20)).data], (v: Uint8Array) => v],
    ['COOKIE', decodeCookieData, [cookieNotify(fill(16)).data], (v: Uint8Array) => v],
    ['COOKIE2', decodeCookie2Data, [cookie2Notify(fill(8)).data], (v: Uint8Array) => v],
    ['INVALID_KE_PAYLOAD', decodeInvalidKeData, [invalidKeNotify(DhId.Ecp256).data], (v: DhId) => u16(v)],
    ['SET_WINDOW_SIZE', decodeSetWindowSizeData, [setWindowSizeNotify(4).data], (v: number) => setWindowSizeNotify(v).data],
    ['ADDITIONAL_IP4_ADDRESS', decodeAdditionalIp4Data, [additionalIp4Notify('198.51.100.7').data], (v: string) => additionalIp4Notify(v).data],
    ['NO_NATS_ALLOWED', decodeNoNatsAllowedData, [noNatsAllowedNotify({ srcAddr: '192.0.2.2', dstAddr: '192.0.2.1', srcPort: 4500, dstPort: 4500 }).data],
      (v: Parameters<typeof noNatsAllowedNotify>[0]) => noNatsAllowedNotify(v).data],
    ['SIGNATURE_HASH_ALGORITHMS', decodeSignatureHashAlgorithmsData, [signatureHashAlgorithmsNotify([HashAlgorithm.Sha2_256, HashAlgorithm.Sha2_384]).data],
      (v: HashAlgorithm[]) => signatureHashAlgorithmsNotify(v).data],
    ['RFC 7427 signature data', decodeDigitalSignatureData, [(PAYLOADS[7] as { data: Uint8Array }).data], encodeDigitalSignatureData as (v: never) => Uint8Array],
    ['CERTREQ authority hashes', certAuthorityHashes, [fill(40)], (v: Uint8Array[]) => Uint8Array.from(v.flatMap((h) => [...h]))],
  ];
  for (const [name, decode, genuine, encode] of notifyData) {
    it(`notify/auth data: ${name}`, () => {
      fuzzDecoder({ name: `ikev2 data ${name}`, genuine, maxRandomLength: 48, decode, ...(encode ? { encode: encode as (v: unknown) => Uint8Array } : {}) });
    }, FUZZ_TIMEOUT_MS);
  }
});
