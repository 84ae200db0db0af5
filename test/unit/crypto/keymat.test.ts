import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../../../app/base/bytes.ts';
import { EncrId, IntegId, PrfId } from '../../../app/wire/ikev2/constants.ts';
import {
  KEY_PAD, deriveChildKeys, deriveIkeKeys, natdHash, pskAuth, rekeySkeyseed, signedOctets, skeyseed,
} from '../../../app/crypto/keymat.ts';
import type { CipherSuite } from '../../../app/crypto/suite.ts';

/** An independent prf+ on node:crypto HMAC. */
function nodePrfPlus(hash: string, key: Uint8Array, seed: Uint8Array, len: number): Uint8Array {
  const out: Uint8Array[] = [];
  let t = new Uint8Array(0);
  for (let n = 1, got = 0; got < len; n++) {
    t = new Uint8Array(createHmac(hash, key).update(concatBytes(t, seed, Uint8Array.of(n))).digest());
    out.push(t);
    got += t.length;
  }
  return concatBytes(...out).subarray(0, len);
}
const hmac = (hash: string, key: Uint8Array, data: Uint8Array): string => createHmac(hash, key).update(data).digest('hex');

const ni = hexToBytes('00112233445566778899aabbccddeeff0011223344556677');
const nr = hexToBytes('ffeeddccbbaa99887766554433221100ffeeddccbbaa9988');
const spiI = hexToBytes('0102030405060708');
const spiR = hexToBytes('1112131415161718');
const gir = new Uint8Array(32).fill(0x77);

describe('IKE SA keys (RFC 7296 §2.14)', () => {
  it('SKEYSEED = prf(Ni | Nr, g^ir); rekey SKEYSEED = prf(SK_d, g^ir | Ni | Nr)', () => {
    expect(bytesToHex(skeyseed(PrfId.HmacSha2_256, ni, nr, gir))).toBe(hmac('sha256', concatBytes(ni, nr), gir));
    const skd = new Uint8Array(48).fill(3);
    expect(bytesToHex(rekeySkeyseed(PrfId.HmacSha2_384, skd, gir, ni, nr))).toBe(hmac('sha384', skd, concatBytes(gir, ni, nr)));
  });

  it('AES-GCM-256 + PRF-SHA256: SK_a* empty, SK_e* = key | salt (36), order d, ai, ar, ei, er, pi, pr', () => {
    const k = deriveIkeKeys({ encr: EncrId.AesGcm16, keyLength: 256, prf: PrfId.HmacSha2_256, shared: gir, ni, nr, spiI, spiR });
    const seed = hmac('sha256', concatBytes(ni, nr), gir);
    const km = nodePrfPlus('sha256', hexToBytes(seed), concatBytes(ni, nr, spiI, spiR), 32 * 3 + 36 * 2);
    expect([k.SK_d, k.SK_ai, k.SK_ar, k.SK_ei, k.SK_er, k.SK_pi, k.SK_pr].map((x) => x.length)).toEqual([32, 0, 0, 36, 36, 32, 32]);
    expect(bytesToHex(concatBytes(k.SK_d, k.SK_ei, k.SK_er, k.SK_pi, k.SK_pr))).toBe(bytesToHex(km));
  });

  it('AES-CBC-128 + HMAC-SHA2-256-128 + PRF-SHA384, from a given SKEYSEED', () => {
    const seed = new Uint8Array(48).fill(9);
    const k = deriveIkeKeys({ encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha2_256_128, prf: PrfId.HmacSha2_384, skeyseed: seed, ni, nr, spiI, spiR });
    expect([k.SK_d, k.SK_ai, k.SK_ar, k.SK_ei, k.SK_er, k.SK_pi, k.SK_pr].map((x) => x.length)).toEqual([48, 32, 32, 16, 16, 48, 48]);
    const km = nodePrfPlus('sha384', seed, concatBytes(ni, nr, spiI, spiR), 48 * 3 + 32 * 2 + 16 * 2);
    expect(bytesToHex(concatBytes(k.SK_d, k.SK_ai, k.SK_ar, k.SK_ei, k.SK_er, k.SK_pi, k.SK_pr))).toBe(bytesToHex(km));
  });

  it('needs either SKEYSEED or g^ir', () => {
    expect(() => deriveIkeKeys({ encr: EncrId.ChaCha20Poly1305, prf: PrfId.HmacSha2_256, ni, nr, spiI, spiR })).toThrow(TypeError);
  });
});

describe('Child SA keys (RFC 7296 §2.17)', () => {
  const skD = new Uint8Array(32).fill(0x44);
  it('ChaCha20-Poly1305 without PFS: encr_i (36) then encr_r (36)', () => {
    const suite: CipherSuite = { encr: EncrId.ChaCha20Poly1305 };
    const k = deriveChildKeys(PrfId.HmacSha2_256, skD, undefined, ni, nr, suite);
    const km = nodePrfPlus('sha256', skD, concatBytes(ni, nr), 72);
    expect(bytesToHex(k.i.encr)).toBe(bytesToHex(km.subarray(0, 36)));
    expect(bytesToHex(k.r.encr)).toBe(bytesToHex(km.subarray(36)));
    expect([k.i.integ.length, k.r.integ.length]).toEqual([0, 0]);
  });

  it('AES-CBC-256 + HMAC-SHA2-256-128 with PFS: encr_i, integ_i, encr_r, integ_r from g^ir | Ni | Nr', () => {
    const suite: CipherSuite = { encr: EncrId.AesCbc, keyLength: 256, integ: IntegId.HmacSha2_256_128 };
    const k = deriveChildKeys(PrfId.HmacSha2_256, skD, gir, ni, nr, suite);
    const km = nodePrfPlus('sha256', skD, concatBytes(gir, ni, nr), 128);
    expect(bytesToHex(concatBytes(k.i.encr, k.i.integ, k.r.encr, k.r.integ))).toBe(bytesToHex(km));
    expect([k.i.encr.length, k.i.integ.length]).toEqual([32, 32]);
  });
});

describe('AUTH and NAT-D', () => {
  it('PSK AUTH = prf(prf(PSK, "Key Pad for IKEv2"), octets) with the 17-byte pad', () => {
    expect(KEY_PAD).toHaveLength(17);
    const psk = utf8('correct horse battery staple');
    const octets = utf8('signed octets');
    const inner = createHmac('sha256', psk).update('Key Pad for IKEv2').digest();
    expect(bytesToHex(pskAuth(PrfId.HmacSha2_256, psk, octets))).toBe(hmac('sha256', inner, octets));
  });

  it('SignedOctets = message | peer nonce | prf(SK_p, IDtype | reserved | data)', () => {
    const msg = hexToBytes('aabbccdd');
    const skp = new Uint8Array(32).fill(1);
    const id = concatBytes(Uint8Array.of(3, 0, 0, 0), utf8('mn@example.org'));
    const out = signedOctets(msg, nr, PrfId.HmacSha2_256, skp, id);
    expect(bytesToHex(out)).toBe(bytesToHex(msg) + bytesToHex(nr) + hmac('sha256', skp, id));
  });

  it('NAT-D = SHA-1(SPIi | SPIr | IP | port), port big-endian', () => {
    const ip = hexToBytes('c0000201');
    const want = createHash('sha1').update(concatBytes(spiI, spiR, ip, hexToBytes('1194'))).digest('hex');
    expect(bytesToHex(natdHash(spiI, spiR, ip, 4500))).toBe(want);
    expect(bytesToHex(natdHash(spiI, new Uint8Array(8), ip, 500))).not.toBe(want);
    expect(() => natdHash(spiI, new Uint8Array(4), ip, 500)).toThrow(RangeError);
  });
});
