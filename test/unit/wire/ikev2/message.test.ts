import { describe, expect, it } from 'vitest';
import { DecodeError, bytesToHex, concatBytes, hexToBytes } from '../../../../app/base/bytes.ts';
import {
  ExchangeType, IKE_HEADER_LENGTH, NotifyType, PayloadType,
} from '../../../../app/wire/ikev2/constants.ts';
import { IkeDecodeError } from '../../../../app/wire/ikev2/errors.ts';
import {
  decodeMessage, decodePayloadChain, encodeMessage, encodeMessageWithSk, encodePayloadChain, peekHeader,
} from '../../../../app/wire/ikev2/message.ts';
import { payloadsOf } from '../../../../app/wire/ikev2/payload.ts';
import { SPI_I, authInnerPayloads, initHeader, initPayloads, seq } from './fixtures.ts';

/** Hand-derived from RFC 7296 §3.1-3.10 (offsets in the comments). */
const EXPECTED_INIT = [
  // 0: header: SPIi, SPIr, next SA(33), ver 2.0, IKE_SA_INIT(34), flags I, msgid 0, length 244
  '0102030405060708 0000000000000000 21 20 22 08 00000000 000000f4',
  // 28: SA, next KE(34), length 84
  '22 00 0054',
  // 32: proposal 1 (more), length 36, #1, IKE, SPI size 0, 3 transforms
  '02 00 0024 01 01 00 03',
  '03 00 000c 01 00 0014 800e0100', // ENCR AES_GCM_16, Key Length 256
  '03 00 0008 02 00 0005', // PRF HMAC_SHA2_256
  '00 00 0008 04 00 001f', // DH 31 (Curve25519), last
  // 68: proposal 2 (last), length 44, #2, IKE, SPI size 0, 4 transforms
  '00 00 002c 02 01 00 04',
  '03 00 000c 01 00 000c 800e0080', // ENCR AES_CBC, Key Length 128
  '03 00 0008 03 00 000c', // INTEG HMAC_SHA2_256_128
  '03 00 0008 02 00 0005', // PRF HMAC_SHA2_256 (implied by sha256)
  '00 00 0008 04 00 000e', // DH 14, last
  // 112: KE, next Nonce(40), length 40, group 31
  '28 00 0028 001f 0000', bytesToHex(seq(32, 0xa0)),
  // 152: Nonce, next Notify(41), length 36
  '29 00 0024', bytesToHex(seq(32, 0x40)),
  // 188: N(NAT_DETECTION_SOURCE_IP 16388), next Notify, length 28
  '29 00 001c 00 00 4004', bytesToHex(seq(20, 0x10)),
  // 216: N(NAT_DETECTION_DESTINATION_IP 16389), last, length 28
  '00 00 001c 00 00 4005', bytesToHex(seq(20, 0x30)),
].join('').replace(/\s/g, '');

function initBytes(): Uint8Array {
  return encodeMessage(initHeader, initPayloads());
}

/** Runs f and returns what it threw (or undefined). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}

function setU32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(at, v);
}

describe('IKE_SA_INIT request layout', () => {
  it('encodes to the hand-derived byte layout', () => {
    const bytes = initBytes();
    expect(bytes.length).toBe(244);
    expect(bytesToHex(bytes)).toBe(EXPECTED_INIT);
  });

  it('has the next-payload chain, lengths and Key Length attribute at fixed offsets', () => {
    const b = initBytes();
    expect([b[16], b[28], b[112], b[152], b[188], b[216]]).toEqual([33, 34, 40, 41, 41, 0]);
    expect(bytesToHex(b.subarray(48, 52))).toBe('800e0100');
    expect(bytesToHex(b.subarray(84, 88))).toBe('800e0080');
    expect(bytesToHex(b.subarray(24, 28))).toBe('000000f4');
  });

  it('decodes back to the same model', () => {
    const m = decodeMessage(initBytes());
    expect(m.header).toMatchObject({
      spiI: SPI_I, exchangeType: ExchangeType.IkeSaInit, initiator: true, response: false,
      majorVersion: 2, minorVersion: 0, messageId: 0, length: 244, nextPayload: PayloadType.SA,
    });
    const want = initPayloads().map((p) => ({ ...p, critical: false }));
    expect(m.payloads).toEqual(want);
    expect(m.skBodyOffset).toBeUndefined();
    expect(payloadsOf(m.payloads, PayloadType.Notify).map((n) => n.notifyType))
      .toEqual([NotifyType.NatDetectionSourceIp, NotifyType.NatDetectionDestinationIp]);
  });
});

describe('IKE header', () => {
  it('encodes R and I flags and a response Message ID, and refuses bad SPIs', () => {
    const h = { ...initHeader, spiR: seq(8, 0x90), initiator: false, response: true, messageId: 0x01020304 };
    const b = encodeMessage(h, []);
    expect(bytesToHex(b)).toBe('0102030405060708' + '9091929394959697' + '00' + '20' + '22' + '20' + '01020304' + '0000001c');
    expect(decodeMessage(b).header).toMatchObject({ initiator: false, response: true, higherVersion: false, messageId: 0x01020304 });
    expect(() => encodeMessage({ ...initHeader, spiI: seq(4) }, [])).toThrow(RangeError);
    expect(() => encodeMessage({ ...initHeader, messageId: -1 }, [])).toThrow(RangeError);
  });

  it('peekHeader reads SPIs and Message ID of a message whose payloads are broken', () => {
    const b = initBytes();
    b[31] = 0; // SA payload length becomes 0xff00, past the end
    b[30] = 0xff;
    expect(thrown(() => decodeMessage(b))).toBeInstanceOf(IkeDecodeError);
    expect(peekHeader(b)).toMatchObject({ spiI: SPI_I, messageId: 0, exchangeType: ExchangeType.IkeSaInit });
    expect(thrown(() => peekHeader(b.slice(0, 27)))).toBeInstanceOf(IkeDecodeError);
  });
});

describe('strict decoding', () => {
  it('rejects every prefix of a valid message with a DecodeError', () => {
    const b = initBytes();
    for (let n = 0; n < b.length; n++) {
      const e = thrown(() => decodeMessage(b.slice(0, n)));
      expect(e, `prefix ${n}`).toBeInstanceOf(IkeDecodeError);
    }
  });

  it('rejects every prefix even when the header Length is patched to match', () => {
    const b = initBytes();
    for (let n = IKE_HEADER_LENGTH; n < b.length; n++) {
      const cut = b.slice(0, n);
      setU32(cut, 24, n);
      const e = thrown(() => decodeMessage(cut)) as IkeDecodeError;
      expect(e, `prefix ${n}`).toBeInstanceOf(IkeDecodeError);
      expect(e.notify).toBe(NotifyType.InvalidSyntax);
    }
  });

  it('rejects a header Length that disagrees with the datagram, including trailing bytes', () => {
    const b = initBytes();
    const long = concatBytes(b, Uint8Array.of(0));
    expect(thrown(() => decodeMessage(long))).toBeInstanceOf(IkeDecodeError);
    setU32(long, 24, long.length); // now the chain ends one byte early
    expect((thrown(() => decodeMessage(long)) as Error).message).toMatch(/1 bytes after the last payload/);
  });

  it('rejects a payload length pointing past the end and one below the header size', () => {
    const past = initBytes();
    setU16(past, 218, 29); // last notify claims one byte more than the message holds
    expect((thrown(() => decodeMessage(past)) as Error).message).toMatch(/does not fit/);
    const small = initBytes();
    setU16(small, 30, 3);
    expect(thrown(() => decodeMessage(small))).toBeInstanceOf(IkeDecodeError);
  });

  it('rejects an oversized SA payload length that swallows the next payloads', () => {
    const b = initBytes();
    setU16(b, 30, 84 + 40); // SA now covers KE as if it were a third proposal
    const e = thrown(() => decodeMessage(b)) as IkeDecodeError;
    expect(e).toBeInstanceOf(IkeDecodeError);
    expect(e.notify).toBe(NotifyType.InvalidSyntax);
  });

  it('rejects a wrong major version with INVALID_MAJOR_VERSION', () => {
    for (const v of [0x10, 0x30]) {
      const b = initBytes();
      b[17] = v;
      const e = thrown(() => decodeMessage(b)) as IkeDecodeError;
      expect(e).toBeInstanceOf(IkeDecodeError);
      expect(e.notify).toBe(NotifyType.InvalidMajorVersion);
    }
    const minor = initBytes();
    minor[17] = 0x21; // a higher minor version is accepted (RFC 7296 §2.5)
    expect(decodeMessage(minor).header.minorVersion).toBe(1);
  });

  it('fails on an unknown critical payload with UNSUPPORTED_CRITICAL_PAYLOAD and the type', () => {
    const unknown = hexToBytes('00 80 0008 deadbeef'); // type 200, critical, 4-byte body
    const b = splice(initBytes(), 200, unknown);
    const e = thrown(() => decodeMessage(b)) as IkeDecodeError;
    expect(e).toBeInstanceOf(IkeDecodeError);
    expect(e.notify).toBe(NotifyType.UnsupportedCriticalPayload);
    expect([...e.notifyData]).toEqual([200]);
  });

  it('skips an unknown non-critical payload', () => {
    const b = splice(initBytes(), 200, hexToBytes('00 00 0008 deadbeef'));
    const m = decodeMessage(b);
    expect(m.payloads.map((p) => p.type)).toEqual(initPayloads().map((p) => p.type));
  });

  it('ignores the critical bit on known payloads but reports it', () => {
    const b = initBytes();
    b[113] = 0x80; // C bit on KE
    const m = decodeMessage(b);
    expect(m.payloads[1]).toMatchObject({ type: PayloadType.KE, critical: true });
  });
});

/** Appends a payload of `type` after the last one of an encoded message. */
function splice(msg: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const out = concatBytes(msg, payload);
  out[216] = type; // the last notify's Next Payload
  setU32(out, 24, out.length);
  return out;
}

describe('SK payload container', () => {
  const authHeader = { ...initHeader, spiR: seq(8, 0x90), exchangeType: ExchangeType.IkeAuth, messageId: 1 };

  it('builds a message whose SK body is filled in later, with final lengths and AAD', () => {
    const inner = encodePayloadChain(authInnerPayloads());
    expect(inner.first).toBe(PayloadType.IDi);
    const bodyLength = 8 + inner.bytes.length + 1 + 16; // e.g. IV, plaintext, pad length, ICV
    const { bytes, skBodyOffset } = encodeMessageWithSk(authHeader, [], inner.first, bodyLength);
    expect(skBodyOffset).toBe(32);
    expect(bytes.length).toBe(32 + bodyLength);
    expect(bytes[16]).toBe(PayloadType.SK);
    expect(bytes[28]).toBe(PayloadType.IDi); // SK's Next Payload = first inner payload
    expect((bytes[30]! << 8) | bytes[31]!).toBe(4 + bodyLength);
    bytes.set(seq(bodyLength, 5), skBodyOffset);

    const m = decodeMessage(bytes);
    expect(m.skBodyOffset).toBe(skBodyOffset);
    expect(m.payloads).toEqual([{ type: PayloadType.SK, critical: false, firstInner: PayloadType.IDi, body: seq(bodyLength, 5) }]);
    expect(bytesToHex(bytes.subarray(0, m.skBodyOffset))).toBe(bytesToHex(bytes.subarray(0, 32)));
  });

  it('puts clear payloads before SK and covers them with the AAD', () => {
    const clear = [initPayloads()[3]!];
    const { bytes, skBodyOffset } = encodeMessageWithSk(authHeader, clear, PayloadType.NoNextPayload, 24);
    expect(skBodyOffset).toBe(28 + 28 + 4);
    const m = decodeMessage(bytes);
    expect(m.payloads.map((p) => p.type)).toEqual([PayloadType.Notify, PayloadType.SK]);
    expect(m.skBodyOffset).toBe(skBodyOffset);
  });

  it('round-trips the inner chain and rejects a nested SK or payloads after SK', () => {
    const inner = encodePayloadChain(authInnerPayloads());
    expect(decodePayloadChain(inner.first, inner.bytes)).toEqual(authInnerPayloads().map((p) => ({ ...p, critical: false })));
    expect(() => encodePayloadChain([{ type: PayloadType.SK, firstInner: 0, body: new Uint8Array(0) }])).toThrow(RangeError);
    const nested = hexToBytes('00 00 0008 00000000');
    expect(thrown(() => decodePayloadChain(PayloadType.SK, nested))).toBeInstanceOf(IkeDecodeError);
    const { bytes } = encodeMessageWithSk(authHeader, [], PayloadType.IDi, 8);
    const trailing = concatBytes(bytes, hexToBytes('00 00 0004'));
    setU32(trailing, 24, trailing.length);
    expect((thrown(() => decodeMessage(trailing)) as Error).message).toMatch(/SK payload is not the last/);
  });

  it('refuses to encode SK anywhere but last', () => {
    const sk = { type: PayloadType.SK as const, firstInner: PayloadType.IDi, body: seq(8) };
    expect(() => encodeMessage(authHeader, [sk, initPayloads()[3]!])).toThrow(/must be last/);
  });
});

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const b = src.slice();
  const int = (n: number) => Math.floor(rnd() * n);
  const edits = 1 + int(4);
  for (let i = 0; i < edits; i++) {
    const at = int(b.length);
    switch (int(4)) {
      case 0: b[at] = int(256); break;
      case 1: b[at] = b[at]! ^ (1 << int(8)); break;
      case 2: b[at] = [0, 1, 0xff, 0x80, 4, 8][int(6)]!; break;
      default: if (at + 1 < b.length) { b[at] = 0; b[at + 1] = int(256); }
    }
  }
  return b;
}

describe('fuzz-ish mutations', () => {
  it('never throw anything but DecodeError, and what decodes re-encodes to the same model', () => {
    const rnd = prng(0x1ce2);
    const sources = [initBytes(), encodeMessage({ ...initHeader, exchangeType: ExchangeType.IkeAuth }, authInnerPayloads())];
    let decoded = 0;
    for (let i = 0; i < 6000; i++) {
      const src = sources[i % sources.length]!;
      let b = mutate(src, rnd);
      if (rnd() < 0.5) setU32(b, 24, b.length); // keep the header length right half the time
      if (rnd() < 0.1) b = b.slice(0, Math.floor(rnd() * b.length));
      let m;
      try {
        m = decodeMessage(b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`iteration ${i}: ${String(e)} for ${bytesToHex(b)}`, { cause: e });
        continue;
      }
      decoded++;
      const again = decodeMessage(encodeMessage(m.header, m.payloads));
      expect(again.payloads).toEqual(m.payloads);
    }
    expect(decoded).toBeGreaterThan(100); // the mutations do reach the payload decoders
  });

  it('inner chains likewise', () => {
    const rnd = prng(7);
    const inner = encodePayloadChain(authInnerPayloads());
    for (let i = 0; i < 5000; i++) {
      const b = mutate(inner.bytes, rnd);
      try {
        decodePayloadChain(inner.first, b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`iteration ${i}: ${String(e)} for ${bytesToHex(b)}`, { cause: e });
      }
    }
  });
});
