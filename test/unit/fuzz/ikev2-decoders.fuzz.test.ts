/**
 * Fuzzing every IKEv2 decoder in app/wire/ikev2 (header, message, payload
 * chain, each payload body, the notify data and RFC 7427 helpers): random
 * bytes and mutations of genuine encodings either decode or throw a
 * DecodeError (IkeDecodeError for whole messages); canonical codecs
 * re-encode to a fixed point. See kit.ts for sizes and seeds.
 */
import { describe, it } from 'vitest';
import { Reader, Writer } from '../../../app/base/bytes.ts';
import { DhId, ExchangeType, HashAlgorithm, NotifyType, PayloadType } from '../../../app/wire/ikev2/constants.ts';
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
import { fill, PAYLOADS } from './samples.ts';

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
