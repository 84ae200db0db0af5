import { getDiffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../app/base/bytes.ts';
import { DhId } from '../../../app/wire/ikev2/constants.ts';
import { DhError, MODP2048_PRIME, dhGroup, isSupportedDhGroup } from '../../../app/crypto/dh.ts';
import { UnsupportedAlgorithm } from '../../../app/crypto/prf.ts';
import { loadVectors } from './vectors.ts';

interface Ecp { group: number; i: string; r: string; gix: string; giy: string; grx: string; gry: string; girx: string; kei: string; ker: string }
const ecp = loadVectors<{ vectors: Ecp[] }>('rfc5903.json').vectors;

describe('ECP groups 19 and 20 (RFC 5903 §8)', () => {
  for (const c of ecp) {
    it(`group ${c.group}: KE payload data and g^ir both ways`, () => {
      const g = dhGroup(c.group as DhId);
      const i = g.fromPrivate(hexToBytes(c.i));
      const r = g.fromPrivate(hexToBytes(c.r));
      // KEi = generic header (4) | group (2) | reserved (2) | x | y
      expect(bytesToHex(i.publicValue)).toBe(c.kei.slice(16));
      expect(bytesToHex(r.publicValue)).toBe(c.ker.slice(16));
      expect(c.kei.slice(8, 12)).toBe(g.id.toString(16).padStart(4, '0'));
      expect(g.publicLength).toBe(i.publicValue.length);
      expect(bytesToHex(i.computeShared(r.publicValue))).toBe(c.girx);
      expect(bytesToHex(r.computeShared(i.publicValue))).toBe(c.girx);
    });

    it(`group ${c.group}: rejects a point off the curve and a wrong length`, () => {
      const g = dhGroup(c.group as DhId);
      const i = g.fromPrivate(hexToBytes(c.i));
      const bad = hexToBytes(c.ker.slice(16));
      bad[bad.length - 1]! ^= 1; // y no longer matches x
      expect(() => i.computeShared(bad)).toThrow(DhError);
      expect(() => i.computeShared(new Uint8Array(g.publicLength))).toThrow(DhError);
      expect(() => i.computeShared(bad.subarray(1))).toThrow(DhError);
    });
  }

  it('generate() takes its private key from the injected random source', () => {
    const g = dhGroup(DhId.Ecp256);
    const seed = (n: number): Uint8Array => new Uint8Array(n).fill(0x42);
    expect(bytesToHex(g.generate(seed).publicValue)).toBe(bytesToHex(g.generate(seed).publicValue));
    const a = g.generate();
    const b = g.generate();
    expect(bytesToHex(a.computeShared(b.publicValue))).toBe(bytesToHex(b.computeShared(a.publicValue)));
  });
});

describe('Curve25519, group 31 (RFC 7748)', () => {
  const g = dhGroup(DhId.Curve25519);
  const x25519 = (k: string, u: string): string => bytesToHex(g.fromPrivate(hexToBytes(k)).computeShared(hexToBytes(u)));

  it('§5.2 test vectors (the second has the u high bit set, which must be masked)', () => {
    expect(x25519('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'))
      .toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    expect(x25519('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'))
      .toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
  });

  it('§5.2 iterated: after 1 and 1,000 iterations', () => {
    let k = '09' + '00'.repeat(31);
    let u = k;
    for (let n = 1; n <= 1000; n++) {
      [k, u] = [x25519(k, u), k];
      if (n === 1) expect(k).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    }
    expect(k).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });

  it('§6.1 Alice and Bob: public values and the shared secret', () => {
    const alice = g.fromPrivate(hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = g.fromPrivate(hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(bytesToHex(alice.publicValue)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(bytesToHex(bob.publicValue)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(bytesToHex(alice.computeShared(bob.publicValue))).toBe(k);
    expect(bytesToHex(bob.computeShared(alice.publicValue))).toBe(k);
  });

  it('rejects small-order peer values (all-zero output) and wrong lengths', () => {
    const me = g.generate();
    expect(() => me.computeShared(new Uint8Array(32))).toThrow(DhError); // u = 0
    expect(() => me.computeShared(hexToBytes('01' + '00'.repeat(31)))).toThrow(DhError); // u = 1
    expect(() => me.computeShared(new Uint8Array(31))).toThrow(DhError);
    expect(() => g.fromPrivate(new Uint8Array(16))).toThrow(DhError);
  });

  it('generate() uses the injected random bytes as the private key', () => {
    const priv = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    expect(bytesToHex(g.generate(() => priv).publicValue)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });
});

describe('MODP-2048, group 14 (RFC 3526)', () => {
  const g = dhGroup(DhId.Modp2048);
  const big = (b: Uint8Array): bigint => BigInt('0x' + (bytesToHex(b) || '0'));
  const p = big(MODP2048_PRIME);
  const modpow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    for (b %= p; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
    return r;
  };
  const toBytes = (x: bigint): Uint8Array => hexToBytes(x.toString(16).padStart(512, '0'));

  it('our prime is node:crypto modp14 (RFC 3526 §3)', () => {
    expect(bytesToHex(MODP2048_PRIME)).toBe(getDiffieHellman('modp14').getPrime('hex'));
  });

  it('public value = 2^x mod p, 256 bytes, and g^ir = (g^y)^x, both checked with BigInt', () => {
    const x = new Uint8Array(32).fill(0x11);
    const y = new Uint8Array(32).fill(0x22);
    const a = g.fromPrivate(x);
    const b = g.generate(() => y);
    expect(a.publicValue).toHaveLength(256);
    expect(bytesToHex(a.publicValue)).toBe(bytesToHex(toBytes(modpow(2n, big(x)))));
    const want = bytesToHex(toBytes(modpow(modpow(2n, big(y)), big(x))));
    expect(bytesToHex(a.computeShared(b.publicValue))).toBe(want);
    expect(bytesToHex(b.computeShared(a.publicValue))).toBe(want);
  });

  it('pads a short public value and a short shared secret to 256 bytes', () => {
    const a = g.fromPrivate(Uint8Array.of(1)); // 2^1 = 2: a one-byte value
    expect(a.publicValue).toHaveLength(256);
    expect(bytesToHex(a.publicValue)).toBe('00'.repeat(255) + '02');
    const b = g.fromPrivate(Uint8Array.of(3));
    expect(bytesToHex(b.computeShared(a.publicValue))).toBe('00'.repeat(255) + '08');
  });

  it('rejects peer values 0, 1, p-1, p and wrong lengths', () => {
    const a = g.generate();
    for (const bad of [0n, 1n, p - 1n]) expect(() => a.computeShared(toBytes(bad))).toThrow(DhError);
    expect(() => a.computeShared(MODP2048_PRIME)).toThrow(DhError);
    expect(() => a.computeShared(new Uint8Array(255).fill(5))).toThrow(DhError);
    expect(() => a.computeShared(toBytes(2n))).not.toThrow();
  });
});

it('unsupported groups throw UnsupportedAlgorithm', () => {
  expect(isSupportedDhGroup(DhId.Modp1024)).toBe(false);
  expect([31, 19, 20, 14].every(isSupportedDhGroup)).toBe(true);
  expect(() => dhGroup(DhId.Curve448)).toThrow(UnsupportedAlgorithm);
});
