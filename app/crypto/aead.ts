/**
 * AEAD ciphers for ESP (RFC 4106, RFC 7634) and the IKE SK payload
 * (RFC 5282, RFC 7634), keyed once per SA, with two interchangeable
 * backends: node:crypto (OpenSSL; AES-NI) and @noble/ciphers (pure JS).
 *
 *   KEYMAT = key ‖ salt(4)       nonce = salt ‖ IV(8)       ICV 16 bytes
 *
 * The hot path is sealInPlace/openInPlace: the caller lays out
 * plaintext ‖ room-for-ICV inside the packet buffer and the cipher works
 * there, so a packet costs no copies beyond the backend's own output buffer
 * (node:crypto returns one Buffer per update; noble ChaCha works in place).
 * openInPlace verifies the ICV before it writes any plaintext, so a forged
 * packet leaves the buffer untouched.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { createCipheriv, createDecipheriv, createSecretKey, getCiphers } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { nobleAes } from './lazy-noble.ts';
import { AEAD_ICV_LENGTH, AEAD_IV_LENGTH, AEAD_SALT_LENGTH } from './suite.ts';
import type { AeadAlg } from './suite.ts';

export type AeadBackend = 'node' | 'noble';

export interface Aead {
  readonly alg: AeadAlg;
  readonly backend: AeadBackend;
  /** Cipher key bytes, without the salt. */
  readonly keyLength: number;
  readonly saltLength: number;
  readonly ivLength: number;
  readonly icvLength: number;
  /** Encrypts buf[off, off+len) in place and writes the ICV to buf[off+len, off+len+16). */
  sealInPlace(buf: Uint8Array, off: number, len: number, iv: Uint8Array, aad: Uint8Array): void;
  /** Verifies the ICV at buf[off+len, +16); only if it matches decrypts buf[off, off+len) in place. */
  openInPlace(buf: Uint8Array, off: number, len: number, iv: Uint8Array, aad: Uint8Array): boolean;
  /** Writes ciphertext ‖ ICV of plaintext to out at outOff; returns the bytes written. */
  sealInto(out: Uint8Array, outOff: number, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): number;
  /** ciphertext ‖ ICV in a new buffer. */
  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The plaintext, or undefined if the ICV does not verify. */
  open(iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
}

const KEY_LENGTH: Record<AeadAlg, number> = { aes128gcm16: 16, aes192gcm16: 24, aes256gcm16: 32, chacha20poly1305: 32 };
const NODE_NAME: Record<AeadAlg, string> = {
  aes128gcm16: 'aes-128-gcm', aes192gcm16: 'aes-192-gcm', aes256gcm16: 'aes-256-gcm', chacha20poly1305: 'chacha20-poly1305',
};

let nodeCiphers: Set<string> | undefined;

/** Backends available for alg in this process, fastest first. */
export function aeadBackends(alg: AeadAlg): AeadBackend[] {
  nodeCiphers ??= new Set(getCiphers());
  return nodeCiphers.has(NODE_NAME[alg]) ? ['node', 'noble'] : ['noble'];
}

/** node:crypto when OpenSSL has the cipher (it ran 3–9x faster per packet here), else noble. */
export function fastestAead(alg: AeadAlg): AeadBackend {
  return aeadBackends(alg)[0]!;
}

/** Keys an AEAD with KEYMAT = key ‖ salt. */
export function createAead(alg: AeadAlg, keymat: Uint8Array, backend: AeadBackend = fastestAead(alg)): Aead {
  const keyLength = KEY_LENGTH[alg];
  if (keymat.length !== keyLength + AEAD_SALT_LENGTH) {
    throw new RangeError(`${alg} KEYMAT of ${keymat.length} bytes, want ${keyLength + AEAD_SALT_LENGTH}`);
  }
  const nonce = new Uint8Array(12);
  nonce.set(keymat.subarray(keyLength));
  const key = keymat.slice(0, keyLength);
  const setIv = (iv: Uint8Array): Uint8Array => {
    if (iv.length !== AEAD_IV_LENGTH) throw new RangeError(`AEAD IV of ${iv.length} bytes, want 8`);
    nonce.set(iv, AEAD_SALT_LENGTH);
    return nonce;
  };
  const core = backend === 'node' ? nodeCore(alg, createSecretKey(key), setIv) : nobleCore(alg, key, setIv);
  return {
    alg, backend, keyLength, saltLength: AEAD_SALT_LENGTH, ivLength: AEAD_IV_LENGTH, icvLength: AEAD_ICV_LENGTH,
    ...core,
    sealInto(out, outOff, iv, aad, plaintext) {
      out.set(plaintext, outOff);
      core.sealInPlace(out, outOff, plaintext.length, iv, aad);
      return plaintext.length + AEAD_ICV_LENGTH;
    },
    seal(iv, aad, plaintext) {
      const out = new Uint8Array(plaintext.length + AEAD_ICV_LENGTH);
      out.set(plaintext);
      core.sealInPlace(out, 0, plaintext.length, iv, aad);
      return out;
    },
    open(iv, aad, sealed) {
      if (sealed.length < AEAD_ICV_LENGTH) return undefined;
      const buf = sealed.slice();
      const len = buf.length - AEAD_ICV_LENGTH;
      return core.openInPlace(buf, 0, len, iv, aad) ? buf.subarray(0, len) : undefined;
    },
  };
}

type Core = Pick<Aead, 'sealInPlace' | 'openInPlace'>;

function nodeCore(alg: AeadAlg, key: KeyObject, setIv: (iv: Uint8Array) => Uint8Array): Core {
  const name = NODE_NAME[alg];
  const opts = { authTagLength: AEAD_ICV_LENGTH } as const;
  return {
    sealInPlace(buf, off, len, iv, aad) {
      const c = createCipheriv(name as 'aes-256-gcm', key, setIv(iv), opts);
      c.setAAD(aad);
      const ct = c.update(buf.subarray(off, off + len));
      buf.set(ct, off);
      const rest = c.final();
      if (rest.length) buf.set(rest, off + ct.length);
      buf.set(c.getAuthTag(), off + len);
    },
    openInPlace(buf, off, len, iv, aad) {
      if (off + len + AEAD_ICV_LENGTH > buf.length) return false;
      const d = createDecipheriv(name as 'aes-256-gcm', key, setIv(iv), opts);
      d.setAuthTag(buf.subarray(off + len, off + len + AEAD_ICV_LENGTH));
      d.setAAD(aad);
      const pt = d.update(buf.subarray(off, off + len));
      let rest: Buffer;
      try {
        rest = d.final();
      } catch {
        return false; // ICV mismatch: nothing was written
      }
      buf.set(pt, off);
      if (rest.length) buf.set(rest, off + pt.length);
      return true;
    },
  };
}

function nobleCore(alg: AeadAlg, key: Uint8Array, setIv: (iv: Uint8Array) => Uint8Array): Core {
  if (alg === 'chacha20poly1305') {
    return {
      sealInPlace(buf, off, len, iv, aad) {
        chacha20poly1305(key, setIv(iv), aad).encrypt(buf.subarray(off, off + len), buf.subarray(off, off + len + AEAD_ICV_LENGTH));
      },
      openInPlace(buf, off, len, iv, aad) {
        if (off + len + AEAD_ICV_LENGTH > buf.length) return false;
        try {
          chacha20poly1305(key, setIv(iv), aad).decrypt(buf.subarray(off, off + len + AEAD_ICV_LENGTH), buf.subarray(off, off + len));
          return true;
        } catch {
          return false; // the tag is checked before any output is written
        }
      },
    };
  }
  const { gcm } = nobleAes();
  return {
    sealInPlace(buf, off, len, iv, aad) {
      buf.set(gcm(key, setIv(iv), aad).encrypt(buf.subarray(off, off + len)), off);
    },
    openInPlace(buf, off, len, iv, aad) {
      if (off + len + AEAD_ICV_LENGTH > buf.length) return false;
      let pt: Uint8Array;
      try {
        pt = gcm(key, setIv(iv), aad).decrypt(buf.subarray(off, off + len + AEAD_ICV_LENGTH));
      } catch {
        return false;
      }
      buf.set(pt, off);
      return true;
    },
  };
}
