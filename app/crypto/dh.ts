/**
 * Diffie-Hellman groups for the KE payload (RFC 7296 §3.4) and their
 * encodings of the public value and of g^ir.
 *
 *   31  Curve25519 (RFC 8031, RFC 7748)  KE = 32-byte u; g^ir = X25519 output, all-zero rejected
 *   19  ECP-256 (RFC 5903)               KE = x ‖ y (no 0x04); g^ir = x; peer point checked on curve
 *   20  ECP-384 (RFC 5903)               as 19 with 48-byte coordinates
 *   14  MODP-2048 (RFC 3526)             KE = g^x mod p, 256 bytes; g^ir 256 bytes; 1 < y < p-1
 *
 * X25519 and MODP run in node:crypto (X25519 is ~30x faster there; X25519
 * keys are imported as JWK — OpenSSL's DER decoders are the slow part — and
 * exported only as DER, never as JWK, see LAB.md), the NIST curves on @noble/curves,
 * loaded on the first ECP key (./lazy-noble.ts).
 * A group's private key comes from a caller's random source, so tests can
 * inject deterministic keys.
 */
import type { p256 } from '@noble/curves/nist.js';
import { createDiffieHellman, createPrivateKey, createPublicKey, diffieHellman, randomBytes as nodeRandom } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { concatBytes, hexToBytes } from '../base/bytes.ts';
import { DhId } from '../wire/ikev2/constants.ts';
import { nobleNist } from './lazy-noble.ts';
import { UnsupportedAlgorithm } from './prf.ts';

// Specification (RFC 3526 §3: the 2048-bit MODP group, generator 2)

export const MODP2048_PRIME = hexToBytes(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD'
  + 'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED'
  + 'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F'
  + '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B'
  + 'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510'
  + '15728E5A8AACAA68FFFFFFFFFFFFFFFF');

// Implementation

/** Bytes of a MODP private exponent: 256 bits, twice the group's ~112-bit strength. */
const MODP_PRIVATE_LENGTH = 32;
const X25519_PKCS8 = hexToBytes('302e020100300506032b656e04220420');

export type RandomBytes = (n: number) => Uint8Array;

export class DhError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DhError';
  }
}

export interface DhKeyPair {
  readonly group: DhId;
  /** KE payload data after Group and Reserved. */
  readonly publicValue: Uint8Array;
  /** g^ir in the IKEv2 encoding; throws DhError on a malformed or degenerate peer value. */
  computeShared(peerKeData: Uint8Array): Uint8Array;
}

export interface DhGroup {
  readonly id: DhId;
  /** KE data length, also the length of g^ir except for ECP (half). */
  readonly publicLength: number;
  /** A fresh key pair; randomBytes defaults to node:crypto. */
  generate(randomBytes?: RandomBytes): DhKeyPair;
  /** The key pair of a given private key (test vectors, deterministic runs). */
  fromPrivate(privateKey: Uint8Array): DhKeyPair;
}

/**
 * An X25519 private key as a KeyObject. Imported as a JWK: OpenSSL 3's
 * PKCS#8 decoder costs ~0.5 ms a key here, the JWK import ~40 µs (Node
 * takes the private key from `d` alone and only checks that `x` is a
 * string, so `x` stays empty — the public value is derived below). Should
 * a later Node insist on `x`, the PKCS#8 import still works.
 */
function x25519PrivateKey(priv: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(priv).toString('base64url'), x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.from(concatBytes(X25519_PKCS8, priv)), format: 'der', type: 'pkcs8' });
  }
}

/** A peer's X25519 public value as a KeyObject (JWK import: ~6x faster than SPKI DER here). */
function x25519PublicKey(peer: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peer).toString('base64url') }, format: 'jwk' });
}

function x25519Pair(priv: Uint8Array): DhKeyPair {
  if (priv.length !== 32) throw new DhError(`X25519 private key of ${priv.length} bytes`);
  const key = x25519PrivateKey(priv);
  // exported as DER, never as JWK (a JWK export hung Node 20 here, LAB.md)
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return {
    group: DhId.Curve25519,
    publicValue: new Uint8Array(spki.subarray(spki.length - 32)),
    computeShared(peer) {
      if (peer.length !== 32) throw new DhError(`Curve25519 KE data of ${peer.length} bytes, want 32`);
      let s: Uint8Array;
      try {
        s = new Uint8Array(diffieHellman({ privateKey: key, publicKey: x25519PublicKey(peer) }));
      } catch {
        throw new DhError('X25519 derivation failed (small-order peer value)');
      }
      if (s.every((b) => b === 0)) throw new DhError('X25519 shared secret is all zero');
      return s;
    },
  };
}

const x25519Group: DhGroup = {
  id: DhId.Curve25519,
  publicLength: 32,
  generate: (random = nodeRandom) => x25519Pair(random(32)),
  fromPrivate: x25519Pair,
};

function ecpGroup(id: DhId, nistCurve: () => typeof p256, size: number): DhGroup {
  const pair = (priv: Uint8Array): DhKeyPair => {
    const curve = nistCurve();
    if (priv.length !== size || !curve.utils.isValidSecretKey(priv)) throw new DhError(`invalid ECP-${size * 8} private key`);
    return {
      group: id,
      publicValue: curve.getPublicKey(priv, false).slice(1),
      computeShared(peer) {
        if (peer.length !== 2 * size) throw new DhError(`ECP-${size * 8} KE data of ${peer.length} bytes, want ${2 * size}`);
        let point;
        try {
          point = curve.Point.fromBytes(concatBytes(Uint8Array.of(4), peer));
          point.assertValidity();
        } catch {
          throw new DhError(`ECP-${size * 8} peer value is not a point on the curve`);
        }
        return curve.getSharedSecret(priv, point.toBytes(false), true).slice(1);
      },
    };
  };
  return {
    id, publicLength: 2 * size, fromPrivate: pair,
    // a seed of 1.5x the order size reduced mod n (FIPS 186-5 A.2.1), never zero
    generate: (random = nodeRandom) => pair(nistCurve().utils.randomSecretKey(random(size + size / 2))),
  };
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length === n) return b;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

/** Big-endian compare of equal-length byte strings. */
function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

const PRIME_MINUS_1 = MODP2048_PRIME.slice();
PRIME_MINUS_1[255]! -= 1;
const ONE = leftPad(Uint8Array.of(1), 256);

function modpPair(priv: Uint8Array): DhKeyPair {
  const dh = createDiffieHellman(Buffer.from(MODP2048_PRIME), Buffer.of(2));
  dh.setPrivateKey(Buffer.from(priv));
  dh.generateKeys();
  return {
    group: DhId.Modp2048,
    publicValue: leftPad(new Uint8Array(dh.getPublicKey()), 256),
    computeShared(peer) {
      if (peer.length !== 256) throw new DhError(`MODP-2048 KE data of ${peer.length} bytes, want 256`);
      if (compare(peer, ONE) <= 0 || compare(peer, PRIME_MINUS_1) >= 0) throw new DhError('MODP-2048 peer value outside 1 < y < p-1');
      try {
        return leftPad(new Uint8Array(dh.computeSecret(Buffer.from(peer))), 256);
      } catch {
        throw new DhError('MODP-2048 derivation failed');
      }
    },
  };
}

const modp2048Group: DhGroup = {
  id: DhId.Modp2048,
  publicLength: 256,
  generate: (random = nodeRandom) => modpPair(random(MODP_PRIVATE_LENGTH)),
  fromPrivate: modpPair,
};

const GROUPS: Partial<Record<DhId, DhGroup>> = {
  [DhId.Curve25519]: x25519Group,
  [DhId.Ecp256]: ecpGroup(DhId.Ecp256, () => nobleNist().p256, 32),
  [DhId.Ecp384]: ecpGroup(DhId.Ecp384, () => nobleNist().p384 as typeof p256, 48),
  [DhId.Modp2048]: modp2048Group,
};

export function isSupportedDhGroup(id: number): boolean {
  return GROUPS[id as DhId] !== undefined;
}

export function dhGroup(id: DhId): DhGroup {
  const g = GROUPS[id];
  if (!g) throw new UnsupportedAlgorithm(`DH group ${id}`);
  return g;
}
