/**
 * The crypto the IKE core needs, in one narrow interface (RFC 7296 §2.13,
 * §2.14, §2.15, §3.14; RFC 5282; RFC 7634). A stop-gap adapter on @noble
 * (and node:crypto for the MODP prime) while app/crypto/** lands: the core
 * only calls the functions below, so switching to app/crypto is local here.
 *
 *   prf / prfPlus            HMAC-SHA1/SHA2 PRFs and prf+ (§2.13)
 *   createDh                 groups 31 (x25519), 19/20 (ECP x‖y), 14 (MODP-2048)
 *   skSeal / skOpen          the SK payload body: IV | ciphertext | ICV
 *   encrKeyBytes etc.        key sizes of a negotiated suite
 */
import { cbc, gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { createDiffieHellman, getDiffieHellman } from 'node:crypto';
import { concatBytes, equalBytes } from '../base/bytes.ts';
import { DhId, EncrId, IntegId, PrfId } from '../wire/ikev2/constants.ts';

export type Random = (n: number) => Uint8Array;

type Hash = typeof sha256 | typeof sha1 | typeof sha384 | typeof sha512;

function prfHash(id: PrfId | IntegId, integ: boolean): Hash {
  if (integ) {
    switch (id) {
      case IntegId.HmacSha1_96: return sha1;
      case IntegId.HmacSha2_256_128: return sha256;
      case IntegId.HmacSha2_384_192: return sha384;
      case IntegId.HmacSha2_512_256: return sha512;
    }
  } else {
    switch (id) {
      case PrfId.HmacSha1: return sha1;
      case PrfId.HmacSha2_256: return sha256;
      case PrfId.HmacSha2_384: return sha384;
      case PrfId.HmacSha2_512: return sha512;
    }
  }
  throw new UnsupportedAlgorithm(`${integ ? 'integrity' : 'PRF'} algorithm ${id}`);
}

export class UnsupportedAlgorithm extends Error {
  constructor(what: string) {
    super(`unsupported ${what}`);
    this.name = 'UnsupportedAlgorithm';
  }
}

export function prf(id: PrfId, key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(prfHash(id, false), key, data);
}

/** Preferred key size = output size for HMAC PRFs (SK_d, SK_pi, SK_pr). */
export function prfKeyBytes(id: PrfId): number {
  return prfHash(id, false).outputLen;
}

/** prf+(K, S) = T1 | T2 | …; T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n) (§2.13). */
export function prfPlus(id: PrfId, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out: Uint8Array[] = [];
  let got = 0;
  let t: Uint8Array = new Uint8Array(0);
  for (let n = 1; got < length; n++) {
    if (n > 255) throw new RangeError('prf+ asked for more than 255 blocks');
    t = prf(id, key, concatBytes(t, seed, Uint8Array.of(n)));
    out.push(t);
    got += t.length;
  }
  return concatBytes(...out).slice(0, length);
}

export interface DhKey {
  readonly group: DhId;
  readonly publicKey: Uint8Array;
  /** g^ir in the IKEv2 encoding; throws on a malformed or degenerate peer value. */
  sharedSecret(peer: Uint8Array): Uint8Array;
}

export function isSupportedDh(group: number): boolean {
  return [DhId.Curve25519, DhId.Ecp256, DhId.Ecp384, DhId.Modp2048].includes(group);
}

export function createDh(group: DhId, random: Random): DhKey {
  switch (group) {
    case DhId.Curve25519: {
      const priv = random(32);
      return {
        group, publicKey: x25519.getPublicKey(priv),
        sharedSecret(peer) {
          if (peer.length !== 32) throw new RangeError(`x25519 KE of ${peer.length} bytes`);
          const s = x25519.getSharedSecret(priv, peer);
          if (s.every((b) => b === 0)) throw new RangeError('x25519 shared secret is all zero');
          return s;
        },
      };
    }
    case DhId.Ecp256:
    case DhId.Ecp384: {
      const curve = group === DhId.Ecp256 ? p256 : p384;
      const size = group === DhId.Ecp256 ? 32 : 48;
      const priv = curve.utils.randomSecretKey(random(size + size / 2));
      return {
        group, publicKey: curve.getPublicKey(priv, false).slice(1),
        sharedSecret(peer) {
          if (peer.length !== 2 * size) throw new RangeError(`ECP KE of ${peer.length} bytes, want ${2 * size}`);
          return curve.getSharedSecret(priv, concatBytes(Uint8Array.of(4), peer), true).slice(1);
        },
      };
    }
    case DhId.Modp2048: {
      const prime = getDiffieHellman('modp14').getPrime();
      const dh = createDiffieHellman(prime, Uint8Array.of(2));
      dh.setPrivateKey(random(32));
      dh.generateKeys();
      return {
        group, publicKey: leftPad(new Uint8Array(dh.getPublicKey()), 256),
        sharedSecret(peer) {
          if (peer.length !== 256) throw new RangeError(`MODP-2048 KE of ${peer.length} bytes`);
          return leftPad(new Uint8Array(dh.computeSecret(peer)), 256);
        },
      };
    }
    default:
      throw new UnsupportedAlgorithm(`DH group ${group}`);
  }
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

/** A negotiated cipher: AEAD (GCM, ChaCha20-Poly1305) or AES-CBC with an HMAC. */
export interface CipherSuite {
  encr: EncrId;
  /** bits, for AES */
  keyLength?: number;
  integ?: IntegId;
}

export function isAead(encr: EncrId): boolean {
  return encr === EncrId.AesGcm16 || encr === EncrId.ChaCha20Poly1305;
}

export function isSupportedCipher(s: CipherSuite): boolean {
  if (s.encr === EncrId.ChaCha20Poly1305) return s.keyLength === undefined && !s.integ;
  const aesOk = s.keyLength === 128 || s.keyLength === 192 || s.keyLength === 256;
  if (s.encr === EncrId.AesGcm16) return aesOk && !s.integ;
  if (s.encr === EncrId.AesCbc) {
    return aesOk && (s.integ === IntegId.HmacSha2_256_128 || s.integ === IntegId.HmacSha2_384_192
      || s.integ === IntegId.HmacSha2_512_256 || s.integ === IntegId.HmacSha1_96);
  }
  return false;
}

/** Bytes of encryption KEYMAT per direction (AEAD keys include the 4-byte salt). */
export function encrKeyBytes(s: CipherSuite): number {
  if (s.encr === EncrId.ChaCha20Poly1305) return 36;
  const key = (s.keyLength ?? 128) / 8;
  return s.encr === EncrId.AesGcm16 ? key + 4 : key;
}

export function integKeyBytes(s: CipherSuite): number {
  if (isAead(s.encr) || s.integ === undefined) return 0;
  return s.integ === IntegId.HmacSha1_96 ? 20 : prfHash(s.integ, true).outputLen;
}

function icvBytes(s: CipherSuite): number {
  if (isAead(s.encr)) return 16;
  switch (s.integ) {
    case IntegId.HmacSha1_96: return 12;
    case IntegId.HmacSha2_256_128: return 16;
    case IntegId.HmacSha2_384_192: return 24;
    case IntegId.HmacSha2_512_256: return 32;
    default: throw new UnsupportedAlgorithm(`integrity algorithm ${s.integ}`);
  }
}

function ivBytes(s: CipherSuite): number {
  return isAead(s.encr) ? 8 : 16;
}

export interface SkKeys {
  encr: Uint8Array;
  integ: Uint8Array;
}

/**
 * Length of the SK body for a plaintext (payload chain) of n bytes:
 * IV | payloads | padding | Pad Length | ICV. AEAD: no padding for ChaCha,
 * GCM pads to 4 bytes; CBC pads to the 16-byte block.
 */
export function skBodyLength(s: CipherSuite, n: number): number {
  return ivBytes(s) + paddedLength(s, n) + icvBytes(s);
}

function paddedLength(s: CipherSuite, n: number): number {
  const block = s.encr === EncrId.AesCbc ? 16 : s.encr === EncrId.AesGcm16 ? 4 : 1;
  return Math.ceil((n + 1) / block) * block;
}

/**
 * Fills the SK body inside `message` (at bodyOffset, length skBodyLength):
 * AAD (AEAD) / MAC input (CBC) is everything before the body, resp. the
 * whole message up to the ICV.
 */
export function skSeal(s: CipherSuite, k: SkKeys, message: Uint8Array, bodyOffset: number, plain: Uint8Array, random: Random): void {
  const iv = random(ivBytes(s));
  const padded = new Uint8Array(paddedLength(s, plain.length));
  padded.set(plain);
  padded[padded.length - 1] = padded.length - plain.length - 1;
  const aad = message.subarray(0, bodyOffset);
  let ct: Uint8Array;
  if (isAead(s.encr)) {
    const key = k.encr.subarray(0, k.encr.length - 4);
    const nonce = concatBytes(k.encr.subarray(k.encr.length - 4), iv);
    ct = s.encr === EncrId.ChaCha20Poly1305 ? chacha20poly1305(key, nonce, aad).encrypt(padded) : gcm(key, nonce, aad).encrypt(padded);
    message.set(iv, bodyOffset);
    message.set(ct, bodyOffset + iv.length);
    return;
  }
  ct = cbc(k.encr, iv, { disablePadding: true }).encrypt(padded);
  message.set(iv, bodyOffset);
  message.set(ct, bodyOffset + iv.length);
  const macEnd = bodyOffset + iv.length + ct.length;
  const mac = hmac(prfHash(s.integ!, true), k.integ, message.subarray(0, macEnd)).subarray(0, icvBytes(s));
  message.set(mac, macEnd);
}

/** The plaintext payload chain, or undefined when the ICV does not verify or the body is malformed. */
export function skOpen(s: CipherSuite, k: SkKeys, message: Uint8Array, bodyOffset: number): Uint8Array | undefined {
  const body = message.subarray(bodyOffset);
  const ivLen = ivBytes(s);
  const icv = icvBytes(s);
  if (body.length < ivLen + icv + 1) return undefined;
  const iv = body.subarray(0, ivLen);
  let padded: Uint8Array;
  try {
    if (isAead(s.encr)) {
      const key = k.encr.subarray(0, k.encr.length - 4);
      const nonce = concatBytes(k.encr.subarray(k.encr.length - 4), iv);
      const aad = message.subarray(0, bodyOffset);
      const ct = body.subarray(ivLen);
      padded = s.encr === EncrId.ChaCha20Poly1305 ? chacha20poly1305(key, nonce, aad).decrypt(ct) : gcm(key, nonce, aad).decrypt(ct);
    } else {
      const macEnd = message.length - icv;
      const want = hmac(prfHash(s.integ!, true), k.integ, message.subarray(0, macEnd)).subarray(0, icv);
      if (!equalBytes(want, message.subarray(macEnd))) return undefined;
      const ct = body.subarray(ivLen, body.length - icv);
      if (ct.length % 16 !== 0) return undefined;
      padded = cbc(k.encr, iv, { disablePadding: true }).decrypt(ct);
    }
  } catch {
    return undefined;
  }
  const padLen = padded[padded.length - 1]!;
  if (padLen + 1 > padded.length) return undefined;
  return padded.subarray(0, padded.length - padLen - 1);
}

/** NAT-D hash: SHA-1(SPIi | SPIr | IP | port) (§2.23). */
export function natdHash(spiI: Uint8Array, spiR: Uint8Array, addr: Uint8Array, port: number): Uint8Array {
  return sha1(concatBytes(spiI, spiR, addr, Uint8Array.of(port >> 8, port & 0xff)));
}

const KEY_PAD = new TextEncoder().encode('Key Pad for IKEv2');

/** PSK AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>) (§2.15). */
export function pskAuth(id: PrfId, psk: Uint8Array, signedOctets: Uint8Array): Uint8Array {
  return prf(id, prf(id, psk, KEY_PAD), signedOctets);
}
