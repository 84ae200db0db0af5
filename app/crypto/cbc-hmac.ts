/**
 * AES-CBC (RFC 3602) with an HMAC integrity transform (RFC 4868, RFC 2404),
 * encrypt-then-MAC, for gateways that refuse AEAD. Used by the IKE SK
 * payload (RFC 7296 §3.14) and by ESP (RFC 4303 §3.3.2).
 *
 * The cipher works on whole 16-byte blocks in place (the caller pads); the
 * MAC covers whatever byte range the caller names: the IKE message from its
 * header to the end of the ciphertext, or ESP's SPI ‖ Seq ‖ IV ‖ ciphertext.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { IntegId } from '../wire/ikev2/constants.ts';
import type { AeadBackend } from './aead.ts';
import { nobleAes } from './lazy-noble.ts';
import { createIntegKey } from './prf.ts';
import type { IntegKey } from './prf.ts';
import { AES_BLOCK } from './suite.ts';

export interface CbcHmac {
  readonly backend: AeadBackend;
  readonly keyLength: number;
  readonly ivLength: number;
  readonly blockSize: number;
  readonly icvLength: number;
  readonly mac: IntegKey;
  /** Encrypts buf[off, off+len) in place; len must be a multiple of 16. */
  encryptInPlace(buf: Uint8Array, off: number, len: number, iv: Uint8Array): void;
  /** Decrypts buf[off, off+len) in place; call only after the MAC verified. */
  decryptInPlace(buf: Uint8Array, off: number, len: number, iv: Uint8Array): void;
}

export function createCbcHmac(encrKey: Uint8Array, integ: IntegId, integKey: Uint8Array, backend: AeadBackend = 'node'): CbcHmac {
  if (![16, 24, 32].includes(encrKey.length)) throw new RangeError(`AES-CBC key of ${encrKey.length} bytes`);
  const mac = createIntegKey(integ, integKey);
  const check = (len: number, iv: Uint8Array): void => {
    if (len % AES_BLOCK !== 0) throw new RangeError(`AES-CBC data of ${len} bytes is not whole blocks`);
    if (iv.length !== AES_BLOCK) throw new RangeError(`AES-CBC IV of ${iv.length} bytes`);
  };
  const core = backend === 'node' ? nodeCbc(createSecretKey(encrKey), encrKey.length) : nobleCbc(encrKey.slice());
  return {
    backend, keyLength: encrKey.length, ivLength: AES_BLOCK, blockSize: AES_BLOCK, icvLength: mac.alg.icvLength, mac,
    encryptInPlace(buf, off, len, iv) {
      check(len, iv);
      core.encrypt(buf.subarray(off, off + len), iv);
    },
    decryptInPlace(buf, off, len, iv) {
      check(len, iv);
      core.decrypt(buf.subarray(off, off + len), iv);
    },
  };
}

interface CbcCore {
  encrypt(data: Uint8Array, iv: Uint8Array): void;
  decrypt(data: Uint8Array, iv: Uint8Array): void;
}

function nodeCbc(key: KeyObject, bytes: number): CbcCore {
  const name = `aes-${bytes * 8}-cbc`;
  return {
    encrypt(data, iv) {
      const c = createCipheriv(name, key, iv).setAutoPadding(false);
      data.set(c.update(data));
      c.final();
    },
    decrypt(data, iv) {
      const d = createDecipheriv(name, key, iv).setAutoPadding(false);
      data.set(d.update(data));
      d.final();
    },
  };
}

function nobleCbc(key: Uint8Array): CbcCore {
  const opts = { disablePadding: true };
  const { cbc } = nobleAes();
  return {
    encrypt: (data, iv) => data.set(cbc(key, iv, opts).encrypt(data)),
    decrypt: (data, iv) => data.set(cbc(key, iv, opts).decrypt(data)),
  };
}
