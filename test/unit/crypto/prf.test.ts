import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../../../app/base/bytes.ts';
import { IntegId, PrfId } from '../../../app/wire/ikev2/constants.ts';
import { UnsupportedAlgorithm, createIntegKey, integAlgorithm, prfAlgorithm, prfPlus } from '../../../app/crypto/prf.ts';
import { loadVectors } from './vectors.ts';

interface Rfc4868 {
  prf: { name: string; key: string; data: string; sha256: string; sha384: string; sha512: string }[];
  auth: { name: string; hash: 'sha256' | 'sha384' | 'sha512'; key: string; data: string; icv: string }[];
}
const v = loadVectors<Rfc4868>('rfc4868.json');
const INTEG_OF = { sha256: IntegId.HmacSha2_256_128, sha384: IntegId.HmacSha2_384_192, sha512: IntegId.HmacSha2_512_256 } as const;

describe('PRF (RFC 4868 §2.7.1)', () => {
  it('has six vectors', () => expect(v.prf).toHaveLength(6));
  for (const c of v.prf) {
    it(`${c.name}: PRF-HMAC-SHA-256/384/512`, () => {
      const key = hexToBytes(c.key);
      const data = hexToBytes(c.data);
      expect(bytesToHex(prfAlgorithm(PrfId.HmacSha2_256).compute(key, data))).toBe(c.sha256);
      expect(bytesToHex(prfAlgorithm(PrfId.HmacSha2_384).compute(key, data))).toBe(c.sha384);
      expect(bytesToHex(prfAlgorithm(PrfId.HmacSha2_512).compute(key, data))).toBe(c.sha512);
    });
  }

  it('PRF_HMAC_SHA1 agrees with node:crypto and key sizes equal output sizes', () => {
    const key = utf8('key');
    const data = utf8('The quick brown fox jumps over the lazy dog');
    expect(bytesToHex(prfAlgorithm(PrfId.HmacSha1).compute(key, data))).toBe(createHmac('sha1', key).update(data).digest('hex'));
    expect([PrfId.HmacSha1, PrfId.HmacSha2_256, PrfId.HmacSha2_384, PrfId.HmacSha2_512].map((id) => prfAlgorithm(id).outputLength))
      .toEqual([20, 32, 48, 64]);
  });

  it('rejects XCBC/CMAC/MD5 PRFs with UnsupportedAlgorithm', () => {
    for (const id of [PrfId.HmacMd5, PrfId.AesXcbc128, PrfId.AesCmac128]) expect(() => prfAlgorithm(id)).toThrow(UnsupportedAlgorithm);
  });
});

describe('prf+ (RFC 7296 §2.13)', () => {
  const nodePrf = (key: Uint8Array, data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', key).update(data).digest());

  it('T1 = prf(K, S | 01), T2 = prf(K, T1 | S | 02), T3 = prf(K, T2 | S | 03), truncated', () => {
    const key = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const seed = utf8('Ni | Nr | SPIi | SPIr');
    const t1 = nodePrf(key, concatBytes(seed, Uint8Array.of(1)));
    const t2 = nodePrf(key, concatBytes(t1, seed, Uint8Array.of(2)));
    const t3 = nodePrf(key, concatBytes(t2, seed, Uint8Array.of(3)));
    const out = prfPlus(prfAlgorithm(PrfId.HmacSha2_256), key, seed, 80);
    expect(bytesToHex(out)).toBe(bytesToHex(concatBytes(t1, t2, t3).subarray(0, 80)));
  });

  it('allows 255 blocks and refuses the 256th', () => {
    const prf = prfAlgorithm(PrfId.HmacSha1);
    expect(prfPlus(prf, utf8('k'), utf8('s'), 255 * 20)).toHaveLength(5100);
    expect(() => prfPlus(prf, utf8('k'), utf8('s'), 255 * 20 + 1)).toThrow(RangeError);
  });

  it('the counter byte of the last block is 255 (checked against node:crypto)', () => {
    const prf = prfAlgorithm(PrfId.HmacSha1);
    const key = utf8('k');
    const seed = utf8('s');
    const out = prfPlus(prf, key, seed, 255 * 20);
    const t254 = out.subarray(253 * 20, 254 * 20);
    const t255 = createHmac('sha1', key).update(concatBytes(t254, seed, Uint8Array.of(255))).digest('hex');
    expect(bytesToHex(out.subarray(254 * 20))).toBe(t255);
  });
});

describe('integrity algorithms (RFC 4868 §2.7.2, RFC 2404)', () => {
  // AUTH512-4 in RFC 4868 uses an 80-byte key, which is not a valid HMAC-SHA-512-256 key size.
  const usable = v.auth.filter((c) => hexToBytes(c.key).length === integAlgorithm(INTEG_OF[c.hash]).keyLength);
  it('uses 11 of the 12 authenticator vectors', () => expect(usable).toHaveLength(11));
  for (const c of usable) {
    it(`${c.name}: compute and verify`, () => {
      const mac = createIntegKey(INTEG_OF[c.hash], hexToBytes(c.key));
      const data = hexToBytes(c.data);
      expect(bytesToHex(mac.compute(data))).toBe(c.icv);
      expect(mac.verify(data, hexToBytes(c.icv))).toBe(true);
      const bad = hexToBytes(c.icv);
      bad[bad.length - 1]! ^= 1;
      expect(mac.verify(data, bad)).toBe(false);
      expect(mac.verify(data, hexToBytes(c.icv).subarray(1))).toBe(false);
    });
  }

  it('HMAC-SHA1-96 is the first 12 bytes of HMAC-SHA1 (node:crypto)', () => {
    const key = hexToBytes('0b'.repeat(20));
    const mac = createIntegKey(IntegId.HmacSha1_96, key);
    const data = utf8('Hi There');
    expect(bytesToHex(mac.compute(data))).toBe(createHmac('sha1', key).update(data).digest('hex').slice(0, 24));
  });

  it('computeInto writes the ICV in place and compute is repeatable', () => {
    const mac = createIntegKey(IntegId.HmacSha2_256_128, new Uint8Array(32).fill(7));
    const buf = new Uint8Array(40).fill(0xaa);
    mac.computeInto(buf.subarray(0, 24), buf, 24);
    expect(bytesToHex(buf.subarray(24))).toBe(bytesToHex(mac.compute(buf.subarray(0, 24))));
    expect(bytesToHex(mac.compute(buf.subarray(0, 24)))).toBe(bytesToHex(mac.compute(buf.subarray(0, 24))));
  });

  it('rejects a key of the wrong size', () => {
    expect(() => createIntegKey(IntegId.HmacSha2_256_128, new Uint8Array(16))).toThrow(RangeError);
  });
});
