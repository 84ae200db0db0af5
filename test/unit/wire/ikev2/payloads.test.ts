import { describe, expect, it } from 'vitest';
import { DecodeError, bytesToHex, hexToBytes, utf8 } from '../../../../app/base/bytes.ts';
import {
  AuthMethod, CertEncoding, CfgAttr, CfgType, DhId, EncrId, HashAlgorithm, IdType, NotifyType, PayloadType,
  ProtocolId, TransformType, TsType,
} from '../../../../app/wire/ikev2/constants.ts';
import { IkeDecodeError } from '../../../../app/wire/ikev2/errors.ts';
import { decodePayloadChain, encodePayloadChain } from '../../../../app/wire/ikev2/message.ts';
import type { Payload } from '../../../../app/wire/ikev2/payload.ts';
import { decodeDigitalSignatureData, encodeDigitalSignatureData } from '../../../../app/wire/ikev2/payloads/auth.ts';
import { certAuthorityHashes } from '../../../../app/wire/ikev2/payloads/certreq.ts';
import { cpIp4Values, decodeCpBody } from '../../../../app/wire/ikev2/payloads/cp.ts';
import { decodeDeleteBody } from '../../../../app/wire/ikev2/payloads/delete.ts';
import { encodeIdBody } from '../../../../app/wire/ikev2/payloads/id.ts';
import { decodeNotifyBody, makeNotify } from '../../../../app/wire/ikev2/payloads/notify.ts';
import * as nd from '../../../../app/wire/ikev2/payloads/notify-data.ts';
import { decodeSaBody, encodeSaBody } from '../../../../app/wire/ikev2/payloads/sa.ts';
import type { SaPayload } from '../../../../app/wire/ikev2/payloads/sa.ts';
import { decodeTsBody } from '../../../../app/wire/ikev2/payloads/ts.ts';
import { seq } from './fixtures.ts';

function roundTrip(p: Payload): Payload {
  const chain = encodePayloadChain([p]);
  expect(chain.first).toBe(p.type);
  const [back, ...rest] = decodePayloadChain(chain.first, chain.bytes);
  expect(rest).toEqual([]);
  return back!;
}

/**
 * Body decoders throw DecodeError (plain on truncation, IkeDecodeError with
 * INVALID_SYNTAX on a bad structure); message-level decoders wrap the plain ones.
 */
function expectRejected(f: () => unknown, message?: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DecodeError);
  if (err instanceof IkeDecodeError) expect(err.notify).toBe(NotifyType.InvalidSyntax);
  if (message) expect((err as Error).message).toMatch(message);
}

const every: Payload[] = [
  {
    type: PayloadType.SA, proposals: [
      { number: 1, protocol: ProtocolId.ESP, spi: seq(4, 9), transforms: [
        { type: TransformType.ENCR, id: EncrId.AesCbc, keyLength: 256, otherAttributes: [{ type: 99, value: 7 }, { type: 100, value: seq(3) }] },
        { type: TransformType.ESN, id: 0 },
      ] },
      { number: 2, protocol: ProtocolId.IKE, spi: seq(8, 1), transforms: [{ type: TransformType.DH, id: DhId.Ecp256 }] },
    ],
  },
  { type: PayloadType.KE, group: DhId.Modp2048, data: seq(256) },
  { type: PayloadType.IDi, idType: IdType.Ipv4Addr, data: Uint8Array.of(10, 0, 0, 1) },
  { type: PayloadType.IDr, idType: IdType.Fqdn, data: utf8('gw.example'), critical: true },
  { type: PayloadType.CERT, encoding: CertEncoding.X509Signature, data: seq(100) },
  { type: PayloadType.CERTREQ, encoding: CertEncoding.X509Signature, authority: seq(40) },
  { type: PayloadType.AUTH, method: AuthMethod.DigitalSignature, data: seq(70) },
  { type: PayloadType.Nonce, data: seq(16) },
  makeNotify(NotifyType.RekeySa, seq(2), ProtocolId.ESP, seq(4)),
  { type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [seq(4), seq(4, 50)] },
  { type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] },
  { type: PayloadType.VendorId, data: utf8('homeward') },
  {
    type: PayloadType.TSi, selectors: [
      { tsType: TsType.Ipv4AddrRange, ipProtocol: 17, startPort: 434, endPort: 434, startAddr: '10.0.0.1', endAddr: '10.0.0.9' },
      { tsType: TsType.Ipv6AddrRange, ipProtocol: 0, startPort: 0, endPort: 65535, startAddr: seq(16), endAddr: seq(16, 16) },
    ],
  },
  { type: PayloadType.TSr, selectors: [{ tsType: TsType.Ipv4AddrRange, ipProtocol: 0, startPort: 0, endPort: 65535, startAddr: '0.0.0.0', endAddr: '255.255.255.255' }] },
  {
    type: PayloadType.CP, cfgType: CfgType.Reply, attributes: [
      { kind: 'ip4', type: CfgAttr.InternalIp4Address, address: '10.10.0.77' },
      { kind: 'ip4', type: CfgAttr.InternalIp4Netmask, address: '255.255.0.0' },
      { kind: 'ip4', type: CfgAttr.InternalIp4Dns, address: '10.10.0.1' },
      { kind: 'ip4', type: CfgAttr.InternalIp4Dns, address: '10.10.0.2' },
      { kind: 'ip4-subnet', type: CfgAttr.InternalIp4Subnet, subnet: { address: '10.10.0.0', netmask: '255.255.0.0' } },
      { kind: 'ip4', type: CfgAttr.InternalIp4Nbns },
      { kind: 'raw', type: CfgAttr.InternalIp6Dns, value: seq(16) },
      { kind: 'raw', type: 28675, value: utf8('vendor') },
    ],
  },
  { type: PayloadType.EAP, message: hexToBytes('01 07 0009 01 616c6963') },
];

describe('payload round trips', () => {
  for (const p of every) {
    it(`${PayloadType[p.type]} survives encode/decode`, () => {
      expect(roundTrip(p)).toEqual({ ...p, critical: p.critical ?? false });
    });
  }

  it('chains all of them in one go', () => {
    const chain = encodePayloadChain(every);
    expect(decodePayloadChain(chain.first, chain.bytes)).toEqual(every.map((p) => ({ ...p, critical: p.critical ?? false })));
  });

  it('an empty chain is NoNextPayload and no bytes', () => {
    const chain = encodePayloadChain([]);
    expect(chain).toEqual({ first: PayloadType.NoNextPayload, bytes: new Uint8Array(0) });
    expect(decodePayloadChain(PayloadType.NoNextPayload, chain.bytes)).toEqual([]);
  });
});

describe('SA payload', () => {
  const body = () => encodeSaBody(every[0] as SaPayload);

  it('writes the Key Length TV attribute and Last Substruc values', () => {
    const b = body();
    expect(b[0]).toBe(2); // more proposals
    expect(b[8 + 4]).toBe(3); // first transform of proposal 1 (after 4-byte SPI): more transforms
    expect(bytesToHex(b.subarray(12 + 8, 12 + 12))).toBe('800e0100');
  });

  it('rejects transform count, Last Substruc and length inconsistencies', () => {
    const count = body();
    count[7] = 3; // proposal 1 says 3 transforms, holds 2
    expectRejected(() => decodeSaBody(count), /announces 3 transforms but holds 2/);
    const last = body();
    last[0] = 0; // "last proposal" but another follows
    expectRejected(() => decodeSaBody(last), /Last Substruc/);
    const len = body();
    len[3] = 7; // proposal length below the minimum
    expectRejected(() => decodeSaBody(len), /bad proposal length/);
    expectRejected(() => decodeSaBody(new Uint8Array(0)), /no proposals/);
  });

  it('rejects a TLV Key Length, a duplicate one and a wrong SPI size', () => {
    const tlv = hexToBytes('00000016 01 01 00 01 0000000e 01 00 000c 000e 0002 0100');
    expectRejected(() => decodeSaBody(tlv), /TV format/);
    const dup = hexToBytes('00000018 01 01 00 01 00000010 01 00 000c 800e0080 800e0100');
    expectRejected(() => decodeSaBody(dup), /duplicate Key Length/);
    const spi = hexToBytes('00000010 01 03 00 01 00000008 01 00 000c'); // ESP with SPI size 0
    expectRejected(() => decodeSaBody(spi), /SPI size 0/);
    const ok = decodeSaBody(hexToBytes('00000018 01 01 00 01 00000010 01 00 000c 800e0080 0063 0000'));
    expect(ok.proposals[0]!.transforms[0]).toEqual({ type: 1, id: 12, keyLength: 128, otherAttributes: [{ type: 99, value: new Uint8Array(0) }] });
  });
});

describe('other payload checks', () => {
  it('encodeIdBody gives IDType | RESERVED | data, the bytes AUTH covers', () => {
    expect(bytesToHex(encodeIdBody({ idType: IdType.Fqdn, data: utf8('gw') }))).toBe('020000006777');
  });

  it('nonce length outside 16..256 is rejected both ways', () => {
    expectRejected(() => decodePayloadChain(PayloadType.Nonce, hexToBytes('0000 0013 00 0102030405060708090a0b0c0d0e')));
    expect(() => encodePayloadChain([{ type: PayloadType.Nonce, data: seq(15) }])).toThrow(RangeError);
    expect(() => encodePayloadChain([{ type: PayloadType.Nonce, data: seq(257) }])).toThrow(RangeError);
  });

  it('TS selectors need their exact length and a known type', () => {
    expectRejected(() => decodeTsBody(hexToBytes('01000000 07 00 0010 0000ffff 0a000001')));
    expectRejected(() => decodeTsBody(hexToBytes('01000000 07 00 0014 0000ffff 0a000001 0a0000ff 00000000')));
    expectRejected(() => decodeTsBody(hexToBytes('01000000 09 00 0010 0000ffff 0a000001 0a0000ff')));
    expectRejected(() => decodeTsBody(hexToBytes('00000000')));
    expectRejected(() => decodeTsBody(hexToBytes('01000000 07 00 0010 0000ffff 0a000001 0a0000ff 00')));
  });

  it('CP attribute lengths are checked; the R bit is ignored', () => {
    expectRejected(() => decodeCpBody(hexToBytes('02000000 0001 0003 0a0000')));
    expectRejected(() => decodeCpBody(hexToBytes('02000000 000d 0004 0a000000')));
    expectRejected(() => decodeCpBody(hexToBytes('02000000 0001 0008 0a000001')));
    expectRejected(() => decodeCpBody(hexToBytes('02000000 0008 0005 0000000000')));
    const cp = decodeCpBody(hexToBytes('02000000 8003 0004 01020304 0003 0004 05060708'));
    expect(cpIp4Values(cp, CfgAttr.InternalIp4Dns)).toEqual(['1.2.3.4', '5.6.7.8']);
  });

  it('Delete SPI sizes and counts must agree with the protocol', () => {
    expectRejected(() => decodeDeleteBody(hexToBytes('03 04 0002 00000001')));
    expectRejected(() => decodeDeleteBody(hexToBytes('01 08 0001 0000000000000001')));
    expectRejected(() => decodeDeleteBody(hexToBytes('01 00 0001')));
    expect(decodeDeleteBody(hexToBytes('02 04 0001 cafebabe')).spis.map(bytesToHex)).toEqual(['cafebabe']);
  });

  it('Notify SPI size is 0, 4 or 8', () => {
    expectRejected(() => decodeNotifyBody(hexToBytes('03 03 4009 000000')));
    expect(decodeNotifyBody(hexToBytes('03 04 4009 01020304')).spi).toEqual(Uint8Array.of(1, 2, 3, 4));
  });

  it('EAP length must match the payload', () => {
    expectRejected(() => decodePayloadChain(PayloadType.EAP, hexToBytes('0000 0009 01 07 0006 01')));
  });

  it('an ID_IPV4_ADDR must be 4 bytes', () => {
    expectRejected(() => decodePayloadChain(PayloadType.IDi, hexToBytes('0000 000b 01000000 0a0000')));
  });

  it('RFC 7427 signature data splits into AlgorithmIdentifier and signature', () => {
    const algId = hexToBytes('300a06082a8648ce3d040302'); // ecdsa-with-SHA256
    const data = encodeDigitalSignatureData({ algorithmIdentifier: algId, signature: seq(64) });
    expect(data[0]).toBe(12);
    expect(decodeDigitalSignatureData(data)).toEqual({ algorithmIdentifier: algId, signature: seq(64) });
    expectRejected(() => decodeDigitalSignatureData(Uint8Array.of(20, 0x30)));
    expectRejected(() => decodeDigitalSignatureData(Uint8Array.of(1, 0x02, 9)));
  });

  it('CERTREQ authority splits into 20-byte hashes', () => {
    expect(certAuthorityHashes(seq(40)).map((h) => h.length)).toEqual([20, 20]);
    expectRejected(() => certAuthorityHashes(seq(30)));
  });
});

describe('notify data helpers', () => {
  const bodyOf = (n: Payload) => decodePayloadChain(PayloadType.Notify, encodePayloadChain([n]).bytes)[0] as ReturnType<typeof makeNotify>;

  it('NAT detection: 20-byte hashes, type kept', () => {
    const n = bodyOf(nd.natDetectionNotify(NotifyType.NatDetectionDestinationIp, seq(20)));
    expect(n.notifyType).toBe(NotifyType.NatDetectionDestinationIp);
    expect(nd.decodeNatDetectionData(n.data)).toEqual(seq(20));
    expectRejected(() => nd.decodeNatDetectionData(seq(19)));
    expect(() => nd.natDetectionNotify(NotifyType.NatDetectionSourceIp, seq(21))).toThrow(RangeError);
  });

  it('COOKIE 1..64 and COOKIE2 8..64 bytes', () => {
    expect(nd.decodeCookieData(bodyOf(nd.cookieNotify(seq(64))).data)).toEqual(seq(64));
    expectRejected(() => nd.decodeCookieData(seq(0)));
    expectRejected(() => nd.decodeCookieData(seq(65)));
    expect(nd.decodeCookie2Data(bodyOf(nd.cookie2Notify(seq(8))).data)).toEqual(seq(8));
    expectRejected(() => nd.decodeCookie2Data(seq(7)));
  });

  it('INVALID_KE_PAYLOAD carries the 2-byte group', () => {
    const n = bodyOf(nd.invalidKeNotify(DhId.Ecp384));
    expect(bytesToHex(n.data)).toBe('0014');
    expect(nd.decodeInvalidKeData(n.data)).toBe(DhId.Ecp384);
    expectRejected(() => nd.decodeInvalidKeData(seq(3)));
  });

  it('SET_WINDOW_SIZE, ADDITIONAL_IP4_ADDRESS and REKEY_SA', () => {
    expect(nd.decodeSetWindowSizeData(bodyOf(nd.setWindowSizeNotify(0x01020304)).data)).toBe(0x01020304);
    expectRejected(() => nd.decodeSetWindowSizeData(seq(2)));
    const a = bodyOf(nd.additionalIp4Notify('192.0.2.7'));
    expect(a.notifyType).toBe(NotifyType.AdditionalIp4Address);
    expect(nd.decodeAdditionalIp4Data(a.data)).toBe('192.0.2.7');
    expectRejected(() => nd.decodeAdditionalIp4Data(seq(16)));
    const r = bodyOf(nd.rekeySaNotify(ProtocolId.ESP, hexToBytes('c0ffee01')));
    expect(r).toMatchObject({ notifyType: NotifyType.RekeySa, protocol: ProtocolId.ESP, data: new Uint8Array(0) });
    expect(bytesToHex(r.spi)).toBe('c0ffee01');
  });

  it('NO_NATS_ALLOWED: 12 bytes of addresses then ports', () => {
    const v = { srcAddr: '198.51.100.2', dstAddr: '192.0.2.1', srcPort: 4500, dstPort: 4501 };
    const n = bodyOf(nd.noNatsAllowedNotify(v));
    expect(bytesToHex(n.data)).toBe('c6336402' + 'c0000201' + '1194' + '1195');
    expect(nd.decodeNoNatsAllowedData(n.data)).toEqual(v);
    expectRejected(() => nd.decodeNoNatsAllowedData(seq(36)));
  });

  it('SIGNATURE_HASH_ALGORITHMS is a list of u16', () => {
    const n = bodyOf(nd.signatureHashAlgorithmsNotify([HashAlgorithm.Sha2_256, HashAlgorithm.Sha2_512]));
    expect(bytesToHex(n.data)).toBe('00020004');
    expect(nd.decodeSignatureHashAlgorithmsData(n.data)).toEqual([2, 4]);
    expectRejected(() => nd.decodeSignatureHashAlgorithmsData(seq(3)));
  });
});
