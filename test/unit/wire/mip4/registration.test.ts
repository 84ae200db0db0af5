/**
 * Registration messages and their extensions: hand-derived bytes from the
 * RFC figures, round trips, every truncation, the drop/skip rules for
 * unknown extensions, and HMAC-MD5 checked against node:crypto.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, DecodeError, hexToBytes } from '../../../../app/base/bytes.ts';
import { appendMnHaAuth, coveredBytes, mnHaAuthenticator, verifyMnHaAuth } from '../../../../app/wire/mip4/auth.ts';
import {
  ExtensionType, isAccepted, replyCodeName, replyCodeSource, RrqFlag,
} from '../../../../app/wire/mip4/constants.ts';
import {
  decodeExtensionList, encodeLong, encodePad, encodeShort, encodeTlv, UnknownExtensionError,
} from '../../../../app/wire/mip4/extensions.ts';
import { decodeRegistrationExtensions, type RegistrationExtension } from '../../../../app/wire/mip4/registration-extension.ts';
import { decodeRegistrationReply, encodeRegistrationReply } from '../../../../app/wire/mip4/registration-reply.ts';
import { decodeRegistrationRequest, encodeRegistrationRequest } from '../../../../app/wire/mip4/registration-request.ts';

const KEY = hexToBytes('000102030405060708090a0b0c0d0e0f');
const SPI = 0x1000;

function nodeHmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('md5', key).update(data).digest());
}

function expectDecodeError(f: () => unknown): DecodeError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DecodeError);
  return err as DecodeError;
}

const request = {
  flags: RrqFlag.Decapsulation | RrqFlag.ReverseTunnel,
  lifetime: 600,
  homeAddress: '10.1.0.10',
  homeAgent: '10.1.0.1',
  careOfAddress: '192.0.2.7',
  identification: 0xe1234567_89abcdefn,
  extensions: [
    { kind: 'nai', nai: 'mn@example.org' },
    { kind: 'udp-tunnel-request', force: true, registrationThroughFa: false, encapsulation: 4 },
  ] as RegistrationExtension[],
};

describe('Registration Request (RFC 5944 §3.3)', () => {
  it('lays out the fixed part exactly as the figure', () => {
    const b = encodeRegistrationRequest({ ...request, extensions: [] });
    expect(bytesToHex(b)).toBe('01' + '22' + '0258' + '0a01000a' + '0a010001' + 'c0000207' + 'e123456789abcdef');
  });

  it('writes NAI, UDP Tunnel Request and MN-HA in order and round-trips', () => {
    const bytes = appendMnHaAuth(encodeRegistrationRequest(request), SPI, KEY);
    const nai = bytesToHex(new TextEncoder().encode('mn@example.org'));
    expect(bytesToHex(bytes.subarray(24))).toMatch(new RegExp(`^830e${nai}9006000080040000201400001000[0-9a-f]{32}$`));
    const back = decodeRegistrationRequest(bytes);
    expect(back.extensions.map((e) => e.kind)).toEqual(['nai', 'udp-tunnel-request', 'auth']);
    expect(back.extensions[1]).toEqual({ kind: 'udp-tunnel-request', force: true, registrationThroughFa: false, encapsulation: 4, reserved3: 0 });
    const { extensions: _e, ...fixed } = back;
    const { extensions: _r, ...want } = request;
    expect(fixed).toEqual(want);
    expect(encodeRegistrationRequest(back)).toEqual(bytes);
  });

  it('rejects every truncation that cuts a field or an extension', () => {
    const bytes = appendMnHaAuth(encodeRegistrationRequest(request), SPI, KEY);
    const boundaries = new Set([24, 24 + 16, 24 + 16 + 8, bytes.length]);
    for (let n = 0; n < bytes.length; n++) {
      if (boundaries.has(n)) expect(() => decodeRegistrationRequest(bytes.subarray(0, n))).not.toThrow();
      else expectDecodeError(() => decodeRegistrationRequest(bytes.subarray(0, n)));
    }
  });

  it('refuses a wrong message type', () => {
    const b = encodeRegistrationRequest({ ...request, extensions: [] });
    b[0] = 3;
    expect(expectDecodeError(() => decodeRegistrationRequest(b)).message).toMatch(/not a Registration Request/);
  });
});

describe('Registration Reply (RFC 5944 §3.4)', () => {
  const reply = {
    code: 0, lifetime: 300, homeAddress: '10.1.0.10', homeAgent: '10.1.0.1', identification: 0x01020304_89abcdefn,
    extensions: [
      { kind: 'udp-tunnel-reply', code: 0, forced: true, keepaliveSeconds: 30 },
      { kind: 'tnc' },
    ] as RegistrationExtension[],
  };

  it('encodes UDP Tunnel Reply and TNC as RFC 3519 / RFC 5265 draw them', () => {
    const b = encodeRegistrationReply(reply);
    expect(bytesToHex(b)).toBe('03' + '00' + '012c' + '0a01000a' + '0a010001' + '0102030489abcdef' + '2c060000' + '8000001e' + '95020000');
    expect(decodeRegistrationReply(b)).toEqual(reply);
  });

  it('rejects truncations inside the fixed part and the extensions', () => {
    const b = appendMnHaAuth(encodeRegistrationReply(reply), SPI, KEY);
    const boundaries = new Set([20, 28, 32, b.length]);
    for (let n = 0; n < b.length; n++) {
      if (boundaries.has(n)) decodeRegistrationReply(b.subarray(0, n));
      else expectDecodeError(() => decodeRegistrationReply(b.subarray(0, n)));
    }
  });

  it('drops the whole message for an unknown extension 0–127 and skips ≥ 128 keeping its bytes', () => {
    const base = encodeRegistrationReply({ ...reply, extensions: [] });
    const err = expectDecodeError(() => decodeRegistrationReply(concatBytes(base, encodeTlv(100, Uint8Array.of(1, 2)))));
    expect(err).toBeInstanceOf(UnknownExtensionError);
    expect((err as UnknownExtensionError).extensionType).toBe(100);
    const skipped = decodeRegistrationReply(concatBytes(base, encodeTlv(200, Uint8Array.of(7)), encodePad(), hexToBytes('95020000')));
    expect(skipped.extensions).toEqual([{ kind: 'skipped', type: 200, raw: Uint8Array.of(200, 1, 7) }, { kind: 'pad' }, { kind: 'tnc' }]);
  });

  it('treats an unknown Sub-Type as unknown: skippable TNC/UDP request skipped, non-skippable UDP reply drops', () => {
    const base = encodeRegistrationReply({ ...reply, extensions: [] });
    expect(decodeRegistrationReply(concatBytes(base, hexToBytes('95020100'))).extensions[0]!.kind).toBe('skipped');
    expect(decodeRegistrationReply(concatBytes(base, hexToBytes('9006010000040000'))).extensions[0]!.kind).toBe('skipped');
    expect(expectDecodeError(() => decodeRegistrationReply(concatBytes(base, hexToBytes('2c06010000000000'))))).toBeInstanceOf(UnknownExtensionError);
  });

  it('rejects bad fixed lengths of the RFC 3519/5265/3024 extensions', () => {
    const base = encodeRegistrationReply({ ...reply, extensions: [] });
    for (const bad of ['2c05000000000000', '9005000000040000', '9503000000', '820100', '200300']) {
      const err = expectDecodeError(() => decodeRegistrationReply(concatBytes(base, hexToBytes(bad))));
      expect(err).not.toBeInstanceOf(UnknownExtensionError);
    }
  });

  it('reports a non-zero Reserved 3 of the UDP Tunnel Request and keeps EDS', () => {
    const exts = decodeRegistrationExtensions(concatBytes(new Uint8Array(24), hexToBytes('9006000040370001'), hexToBytes('8200')), 24);
    expect(exts).toEqual([{ kind: 'udp-tunnel-request', force: false, registrationThroughFa: true, encapsulation: 0x37, reserved3: 1 }, { kind: 'eds' }]);
  });
});

describe('generic extension formats (RFC 5944 §1.9–§1.11)', () => {
  it('splits TLV, short, long and pad, with offsets', () => {
    const buf = concatBytes(Uint8Array.of(9, 9), encodePad(), encodeShort(149, 0, Uint8Array.of(0)), encodeLong(36, 5, new Uint8Array(300).fill(1)));
    const list = decodeExtensionList(buf, 2, { recognised: new Set([149, 36]), long: new Set([36]) });
    expect(list.map((e) => [e.type, e.format, e.offset, e.data.length])).toEqual([[0, 'pad', 2, 0], [149, 'tlv', 3, 2], [36, 'long', 7, 300]]);
    expect(list[2]!.subType).toBe(5);
    expectDecodeError(() => decodeExtensionList(buf.subarray(0, buf.length - 1), 2, { recognised: new Set([149, 36]), long: new Set([36]) }));
  });

  it('refuses to encode what cannot be expressed', () => {
    expect(() => encodeTlv(131, new Uint8Array(256))).toThrow(RangeError);
    expect(() => encodeLong(144, 0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => encodeTlv(0, new Uint8Array(0))).toThrow(RangeError);
  });
});

describe('MN-HA authentication (RFC 5944 §3.5.1)', () => {
  const body = encodeRegistrationRequest(request);

  it('is HMAC-MD5 exactly as node:crypto computes it', () => {
    const data = new TextEncoder().encode('what do ya want for nothing?');
    const key = new TextEncoder().encode('Jefe');
    expect(bytesToHex(mnHaAuthenticator(key, data))).toBe(bytesToHex(nodeHmac(key, data)));
    expect(bytesToHex(nodeHmac(key, data))).toBe('750c783e6ab0b503eaa86e310a5db738'); // RFC 2104 test 2
  });

  it('covers the message from the Type byte through the SPI, and nothing after the authenticator', () => {
    const signed = appendMnHaAuth(body, SPI, KEY);
    expect(signed.length).toBe(body.length + 22);
    expect(bytesToHex(signed.subarray(body.length, body.length + 6))).toBe('201400001000');
    const expected = nodeHmac(KEY, signed.subarray(0, body.length + 6));
    expect(bytesToHex(signed.subarray(body.length + 6))).toBe(bytesToHex(expected));
    expect(coveredBytes(signed, body.length)).toEqual(signed.subarray(0, body.length + 6));
    const withFaPart = concatBytes(signed, hexToBytes('8200'));
    expect(verifyMnHaAuth(withFaPart, SPI, KEY).ok).toBe(true);
    withFaPart[withFaPart.length - 2] = 0xc8;
    expect(verifyMnHaAuth(withFaPart, SPI, KEY).ok).toBe(true);
  });

  it('fails for a changed byte, another SPI, a second MN-HA extension, none, or a short authenticator', () => {
    const signed = appendMnHaAuth(body, SPI, KEY);
    const flipped = signed.slice();
    flipped[2]! ^= 1;
    expect(verifyMnHaAuth(flipped, SPI, KEY)).toMatchObject({ ok: false, reason: 'authenticator' });
    expect(verifyMnHaAuth(signed, SPI + 1, KEY)).toMatchObject({ ok: false, reason: 'spi' });
    expect(verifyMnHaAuth(appendMnHaAuth(signed, SPI, KEY), SPI, KEY)).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(verifyMnHaAuth(body, SPI, KEY)).toMatchObject({ ok: false, reason: 'missing' });
    expect(verifyMnHaAuth(concatBytes(body, hexToBytes('2006000010000102')), SPI, KEY)).toMatchObject({ ok: false, reason: 'length' });
    expect(verifyMnHaAuth(concatBytes(signed, hexToBytes('0501')), SPI, KEY)).toMatchObject({ ok: false, reason: 'unknown-extension' });
    expect(verifyMnHaAuth(signed.subarray(0, signed.length - 1), SPI, KEY)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(ExtensionType.MnHaAuth).toBe(32);
  });
});

describe('reply codes', () => {
  it('names codes and classifies the ranges', () => {
    expect(replyCodeName(133)).toBe('registration Identification mismatch');
    expect(replyCodeName(142)).toBe('requested UDP tunnel encapsulation unavailable');
    expect(replyCodeName(150)).toMatch(/home agent.*150/);
    expect([0, 8, 64, 127, 128, 192, 193, 201].map(replyCodeSource)).toEqual(
      ['success', 'success', 'foreign-agent', 'foreign-agent', 'home-agent', 'home-agent', 'gateway-foreign-agent', 'unassigned']);
    expect(isAccepted(1)).toBe(true);
    expect(isAccepted(64)).toBe(false);
  });
});
