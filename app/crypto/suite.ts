/**
 * A negotiated cipher (RFC 7296 §3.3.2, RFC 5282, RFC 7634, RFC 4106) and the
 * sizes that follow from it. The same shape serves the IKE SK payload and ESP.
 *
 *   AEAD   ENCR_AES_GCM_16 (128/192/256), ENCR_CHACHA20_POLY1305 — no INTEG;
 *          KEYMAT per direction = key ‖ 4-byte salt; IV 8; ICV 16
 *   CBC    ENCR_AES_CBC (128/192/256) + an HMAC INTEG; IV 16; ICV per INTEG
 */
import { EncrId, IntegId } from '../wire/ikev2/constants.ts';
import { UnsupportedAlgorithm, integAlgorithm } from './prf.ts';

// Specification (RFC 4106 §8.1, RFC 7634 §2: salt; RFC 5282 §3.1: IV)

export const AEAD_SALT_LENGTH = 4;
export const AEAD_IV_LENGTH = 8;
export const AEAD_ICV_LENGTH = 16;
export const AES_BLOCK = 16;

export interface CipherSuite {
  encr: EncrId;
  /** Key Length attribute in bits (AES only; ChaCha20 has none). */
  keyLength?: number;
  /** Only for non-AEAD ciphers. */
  integ?: IntegId;
}

export type AeadAlg = 'aes128gcm16' | 'aes192gcm16' | 'aes256gcm16' | 'chacha20poly1305';

export function isAeadSuite(s: CipherSuite): boolean {
  return s.encr === EncrId.AesGcm16 || s.encr === EncrId.ChaCha20Poly1305;
}

function aesBits(s: CipherSuite): 128 | 192 | 256 {
  const k = s.keyLength;
  if (k === 128 || k === 192 || k === 256) return k;
  throw new UnsupportedAlgorithm(`AES key length ${String(k)}`);
}

/** The AEAD algorithm of a suite, or undefined for CBC+HMAC; throws for anything we do not implement. */
export function aeadAlgOf(s: CipherSuite): AeadAlg | undefined {
  if (s.integ !== undefined && s.integ !== IntegId.None && isAeadSuite(s)) {
    throw new UnsupportedAlgorithm(`AEAD cipher ${s.encr} with an INTEG transform ${s.integ}`);
  }
  switch (s.encr) {
    case EncrId.ChaCha20Poly1305:
      if (s.keyLength !== undefined && s.keyLength !== 256) throw new UnsupportedAlgorithm(`ChaCha20 key length ${s.keyLength}`);
      return 'chacha20poly1305';
    case EncrId.AesGcm16:
      return `aes${aesBits(s)}gcm16`;
    case EncrId.AesCbc:
      aesBits(s);
      if (s.integ === undefined || s.integ === IntegId.None) throw new UnsupportedAlgorithm('AES-CBC without an INTEG transform');
      integAlgorithm(s.integ);
      return undefined;
    default:
      throw new UnsupportedAlgorithm(`encryption algorithm ${s.encr}`);
  }
}

/** Throws UnsupportedAlgorithm unless we implement the suite. */
export function assertSupportedSuite(s: CipherSuite): void {
  aeadAlgOf(s);
}

/** Encryption KEYMAT bytes per direction (AEAD: key ‖ salt). */
export function encrKeyLength(s: CipherSuite): number {
  if (s.encr === EncrId.ChaCha20Poly1305) return 32 + AEAD_SALT_LENGTH;
  const key = aesBits(s) / 8;
  return isAeadSuite(s) ? key + AEAD_SALT_LENGTH : key;
}

export function integKeyLength(s: CipherSuite): number {
  if (aeadAlgOf(s)) return 0;
  return integAlgorithm(s.integ!).keyLength;
}

export function icvLength(s: CipherSuite): number {
  if (aeadAlgOf(s)) return AEAD_ICV_LENGTH;
  return integAlgorithm(s.integ!).icvLength;
}

/** Explicit IV carried in each SK payload / ESP packet. */
export function ivLength(s: CipherSuite): number {
  return aeadAlgOf(s) ? AEAD_IV_LENGTH : AES_BLOCK;
}
