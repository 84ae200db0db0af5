import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../app/base/bytes.ts';
import { aeadBackends, createAead, fastestAead } from '../../../app/crypto/aead.ts';
import type { AeadBackend } from '../../../app/crypto/aead.ts';
import type { AeadAlg } from '../../../app/crypto/suite.ts';
import { loadVectors } from './vectors.ts';

interface Vec { name: string; alg: AeadAlg; key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string }
const vectors = loadVectors<{ vectors: Vec[] }>('aead.json').vectors;
const BACKENDS: AeadBackend[] = ['node', 'noble'];

/** KEYMAT = key ‖ salt where the 12-byte nonce = salt(4) ‖ IV(8). */
function setup(v: Vec, backend: AeadBackend) {
  const nonce = hexToBytes(v.nonce);
  const aead = createAead(v.alg, new Uint8Array([...hexToBytes(v.key), ...nonce.subarray(0, 4)]), backend);
  return { aead, iv: nonce.subarray(4), aad: hexToBytes(v.aad), pt: hexToBytes(v.plaintext) };
}

describe('AEAD vectors (GCM test cases 3, 4, 15, 16; RFC 8439 §2.8.2)', () => {
  it('node:crypto has every algorithm here and is the fastest choice', () => {
    for (const alg of ['aes128gcm16', 'aes256gcm16', 'chacha20poly1305'] as const) {
      expect(aeadBackends(alg)).toEqual(['node', 'noble']);
      expect(fastestAead(alg)).toBe('node');
    }
  });

  for (const v of vectors) {
    for (const backend of BACKENDS) {
      it(`${v.name} on ${backend}: seal, sealInto, sealInPlace, open`, () => {
        const { aead, iv, aad, pt } = setup(v, backend);
        expect(aead.backend).toBe(backend);
        expect([aead.saltLength, aead.ivLength, aead.icvLength]).toEqual([4, 8, 16]);
        const want = v.ciphertext + v.tag;
        expect(bytesToHex(aead.seal(iv, aad, pt))).toBe(want);

        const out = new Uint8Array(3 + pt.length + 16 + 5).fill(0xee);
        expect(aead.sealInto(out, 3, iv, aad, pt)).toBe(pt.length + 16);
        expect(bytesToHex(out.subarray(3, 3 + pt.length + 16))).toBe(want);
        expect([out[2], out[out.length - 5]]).toEqual([0xee, 0xee]); // nothing written outside

        const buf = new Uint8Array(7 + pt.length + 16);
        buf.set(pt, 7);
        aead.sealInPlace(buf, 7, pt.length, iv, aad);
        expect(bytesToHex(buf.subarray(7))).toBe(want);
        expect(aead.openInPlace(buf, 7, pt.length, iv, aad)).toBe(true);
        expect(bytesToHex(buf.subarray(7, 7 + pt.length))).toBe(v.plaintext);

        expect(bytesToHex(aead.open(iv, aad, hexToBytes(want))!)).toBe(v.plaintext);
      });

      it(`${v.name} on ${backend}: a flipped bit in ciphertext, tag, AAD or IV fails and leaves the buffer as it was`, () => {
        const { aead, iv, aad, pt } = setup(v, backend);
        const sealed = hexToBytes(v.ciphertext + v.tag);
        /** openInPlace on a copy changed by flip: must fail and write nothing. */
        const tamperedInPlace = (flip: (b: Uint8Array) => void): boolean => {
          const b = sealed.slice();
          flip(b);
          const before = bytesToHex(b);
          return !aead.openInPlace(b, 0, pt.length, iv, aad) && bytesToHex(b) === before;
        };
        expect(tamperedInPlace((b) => { b[0]! ^= 1; }), 'ciphertext').toBe(true);
        expect(tamperedInPlace((b) => { b[b.length - 1]! ^= 0x80; }), 'tag').toBe(true);
        expect(aead.open(iv, new Uint8Array([...aad, 0]), sealed), 'aad').toBeUndefined();
        const iv2 = iv.slice();
        iv2[7]! ^= 1;
        expect(aead.open(iv2, aad, sealed), 'iv').toBeUndefined();
        expect(aead.open(iv, aad, sealed.subarray(0, 15)), 'short').toBeUndefined();
        expect(bytesToHex(aead.open(iv, aad, sealed)!), 'untampered').toBe(v.plaintext);
      });
    }
  }

  it('backends agree on random inputs of many lengths, including empty', () => {
    for (const alg of ['aes128gcm16', 'aes192gcm16', 'aes256gcm16', 'chacha20poly1305'] as const) {
      const keyLen = alg === 'aes128gcm16' ? 16 : alg === 'aes192gcm16' ? 24 : 32;
      const keymat = new Uint8Array(keyLen + 4).map((_, i) => (i * 31 + 7) & 0xff);
      const a = createAead(alg, keymat, 'node');
      const b = createAead(alg, keymat, 'noble');
      for (const n of [0, 1, 15, 16, 17, 63, 64, 65, 1400]) {
        const pt = new Uint8Array(n).map((_, i) => (i * 13 + n) & 0xff);
        const iv = new Uint8Array(8).fill(n & 0xff);
        const aad = new Uint8Array(8).fill(3);
        const sa = a.seal(iv, aad, pt);
        expect(bytesToHex(sa), `${alg} ${n}`).toBe(bytesToHex(b.seal(iv, aad, pt)));
        expect(bytesToHex(b.open(iv, aad, sa)!)).toBe(bytesToHex(pt));
      }
    }
  });

  it('rejects KEYMAT of the wrong length and IVs that are not 8 bytes', () => {
    expect(() => createAead('aes256gcm16', new Uint8Array(32))).toThrow(RangeError);
    const a = createAead('chacha20poly1305', new Uint8Array(36));
    expect(() => a.seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(1))).toThrow(RangeError);
  });
});
