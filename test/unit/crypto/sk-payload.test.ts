import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../app/base/bytes.ts';
import { EncrId, IntegId } from '../../../app/wire/ikev2/constants.ts';
import { createSkCipher, skBodyLength } from '../../../app/crypto/sk-payload.ts';
import { createAead } from '../../../app/crypto/aead.ts';
import { createIntegKey } from '../../../app/crypto/prf.ts';
import type { AeadBackend } from '../../../app/crypto/aead.ts';
import { encrKeyLength, integKeyLength } from '../../../app/crypto/suite.ts';
import type { CipherSuite } from '../../../app/crypto/suite.ts';
import { loadVectors } from './vectors.ts';

interface Rfc7634 { esp: { keymat: string }; ike: { notify: string; aad: string; ciphertext: string; tag: string; encrypted_payload: string; message: string; iv: string } }
const v = loadVectors<Rfc7634>('rfc7634.json');
const BACKENDS: AeadBackend[] = ['node', 'noble'];

const SUITES: [string, CipherSuite][] = [
  ['aes128gcm16', { encr: EncrId.AesGcm16, keyLength: 128 }],
  ['aes256gcm16', { encr: EncrId.AesGcm16, keyLength: 256 }],
  ['chacha20poly1305', { encr: EncrId.ChaCha20Poly1305 }],
  ['aes128-sha256', { encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha2_256_128 }],
  ['aes256-sha512', { encr: EncrId.AesCbc, keyLength: 256, integ: IntegId.HmacSha2_512_256 }],
  ['aes192-sha1', { encr: EncrId.AesCbc, keyLength: 192, integ: IntegId.HmacSha1_96 }],
];

/** A message: a 28-byte stand-in header, a 4-byte SK header, then the body. */
function layout(suite: CipherSuite, inner: Uint8Array): { message: Uint8Array; bodyOffset: number } {
  const bodyOffset = 32;
  const message = new Uint8Array(bodyOffset + skBodyLength(suite, inner.length));
  message.fill(0x5c, 0, bodyOffset);
  return { message, bodyOffset };
}

function keysFor(suite: CipherSuite) {
  return { encr: new Uint8Array(encrKeyLength(suite)).map((_, i) => i + 1), integ: new Uint8Array(integKeyLength(suite)).fill(0x33) };
}

describe('SK payload, RFC 7634 Appendix B (INFORMATIONAL with SET_WINDOW_SIZE)', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: reproduces the IKE message byte for byte and opens it`, () => {
      const suite: CipherSuite = { encr: EncrId.ChaCha20Poly1305 };
      const sk = createSkCipher(suite, { encr: hexToBytes(v.esp.keymat), integ: new Uint8Array(0) }, {
        backend, fillIv: (iv) => iv.set(hexToBytes(v.ike.iv)),
      });
      const inner = hexToBytes(v.ike.notify);
      expect(sk.bodyLength(inner.length)).toBe(hexToBytes(v.ike.encrypted_payload).length - 4);
      const message = new Uint8Array(32 + sk.bodyLength(inner.length));
      message.set(hexToBytes(v.ike.aad)); // header and SK header with their final lengths
      sk.seal(message, 32, inner);
      expect(bytesToHex(message)).toBe(v.ike.message);
      expect(bytesToHex(message.subarray(40, 53))).toBe(v.ike.ciphertext);
      expect(bytesToHex(message.subarray(53))).toBe(v.ike.tag);

      const opened = sk.open(hexToBytes(v.ike.message), 32);
      expect(opened.ok && bytesToHex(opened.inner)).toBe(v.ike.notify);
    });
  }
});

describe('SK payload round trips', () => {
  for (const [name, suite] of SUITES) {
    for (const backend of BACKENDS) {
      it(`${name} on ${backend}: seal/open, lengths, and tampering anywhere in the message`, () => {
        const keys = keysFor(suite);
        const tx = createSkCipher(suite, keys, { backend });
        const rx = createSkCipher(suite, keys, { backend: backend === 'node' ? 'noble' : 'node' });
        for (const n of [0, 1, 12, 15, 16, 100]) {
          const inner = new Uint8Array(n).map((_, i) => i ^ 0x5a);
          const { message, bodyOffset } = layout(suite, inner);
          tx.seal(message, bodyOffset, inner);
          const copy = message.slice();
          const r = rx.open(message, bodyOffset);
          expect(r.ok && bytesToHex(r.inner), `${name} n=${n}`).toBe(bytesToHex(inner));
          expect(bytesToHex(message)).toBe(bytesToHex(copy)); // open never changes the message
          for (const at of [0, bodyOffset - 1, bodyOffset, bodyOffset + 9, message.length - 1]) {
            const bad = message.slice();
            bad[at]! ^= 0x01;
            expect(rx.open(bad, bodyOffset), `flip at ${at}`).toEqual({ ok: false, reason: 'icv' });
          }
        }
      });
    }
  }

  it('body lengths: AEAD adds IV 8 + Pad Length 1 + ICV 16; CBC pads to 16 and adds its ICV', () => {
    expect(skBodyLength({ encr: EncrId.ChaCha20Poly1305 }, 13)).toBe(8 + 14 + 16);
    expect(skBodyLength({ encr: EncrId.AesGcm16, keyLength: 128 }, 13)).toBe(8 + 14 + 16);
    expect(skBodyLength({ encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha2_256_128 }, 15)).toBe(16 + 16 + 16);
    expect(skBodyLength({ encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha2_256_128 }, 16)).toBe(16 + 32 + 16);
    expect(skBodyLength({ encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha1_96 }, 0)).toBe(16 + 16 + 12);
  });

  it('AEAD IVs count up from 1 by default; CBC IVs are random', () => {
    const aead: CipherSuite = { encr: EncrId.AesGcm16, keyLength: 256 };
    const sk = createSkCipher(aead, keysFor(aead));
    const ivs = [0, 1].map(() => {
      const { message, bodyOffset } = layout(aead, new Uint8Array(4));
      sk.seal(message, bodyOffset, new Uint8Array(4));
      return bytesToHex(message.subarray(bodyOffset, bodyOffset + 8));
    });
    expect(ivs).toEqual(['0000000000000001', '0000000000000002']);
    const cbc = SUITES[3]![1];
    const sc = createSkCipher(cbc, keysFor(cbc));
    const a = layout(cbc, new Uint8Array(4));
    const b = layout(cbc, new Uint8Array(4));
    sc.seal(a.message, 32, new Uint8Array(4));
    sc.seal(b.message, 32, new Uint8Array(4));
    expect(bytesToHex(a.message.subarray(32, 48))).not.toBe(bytesToHex(b.message.subarray(32, 48)));
  });

  it('refuses a body region of the wrong size', () => {
    const suite = SUITES[0]![1];
    const sk = createSkCipher(suite, keysFor(suite));
    expect(() => sk.seal(new Uint8Array(40), 32, new Uint8Array(4))).toThrow(RangeError);
  });
});

describe('SK payload: malformed input gives a typed result, never a throw', () => {
  it('too short for IV + ICV', () => {
    for (const [, suite] of SUITES) {
      const sk = createSkCipher(suite, keysFor(suite));
      expect(sk.open(new Uint8Array(32 + 10), 32)).toEqual({ ok: false, reason: 'short' });
      expect(sk.open(new Uint8Array(10), 32)).toEqual({ ok: false, reason: 'short' });
    }
  });

  it('a Pad Length longer than the plaintext (authentic but malformed)', () => {
    const suite: CipherSuite = { encr: EncrId.ChaCha20Poly1305 };
    const keys = keysFor(suite);
    const message = new Uint8Array(32 + 8 + 1 + 16).fill(0x5c, 0, 32);
    message.fill(7, 32, 40); // IV
    createAead('chacha20poly1305', keys.encr).sealInto(message, 40, message.subarray(32, 40), message.subarray(0, 32), Uint8Array.of(5));
    expect(createSkCipher(suite, keys).open(message, 32)).toEqual({ ok: false, reason: 'padding' });
  });

  it('CBC ciphertext that is not whole blocks but carries a valid ICV', () => {
    const suite = SUITES[3]![1];
    const keys = keysFor(suite);
    const message = new Uint8Array(32 + 16 + 20 + 16).fill(0x11); // 20 bytes of "ciphertext"
    createIntegKey(IntegId.HmacSha2_256_128, keys.integ).computeInto(message.subarray(0, message.length - 16), message, message.length - 16);
    expect(createSkCipher(suite, keys).open(message, 32)).toEqual({ ok: false, reason: 'length' });
  });
});
