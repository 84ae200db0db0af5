/**
 * The body of the IKEv2 Encrypted payload, SK (RFC 7296 §3.14; AEAD per
 * RFC 5282 §3–5 and RFC 7634 §4). The message encoder lays out the whole
 * message with final lengths (skBodyLength tells it how long the body will
 * be), then seal fills the body, which must end the message:
 *
 *                       1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Next Payload  |C|  RESERVED   |         Payload Length        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ← bodyOffset
 *  |                     Initialization Vector                     |  8 (AEAD) / 16 (CBC)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~         Encrypted IKE Payloads ‖ Padding ‖ Pad Length         ~
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  ~                    Integrity Checksum Data                    ~  16 (AEAD) / INTEG's
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   AEAD   nonce = salt ‖ IV; AAD = message[0, bodyOffset) (IKE header,
 *          unencrypted payloads, SK header); no padding (RFC 5282 §3: none required)
 *   CBC    pad to 16; ICV = HMAC over message[0, end of ciphertext)
 *
 * open verifies the ICV (constant time) before it decrypts anything, then
 * the pad length; it never throws on bad input and never changes the message.
 */
import { randomFillSync } from 'node:crypto';
import { createAead } from './aead.ts';
import type { AeadBackend } from './aead.ts';
import { createCbcHmac } from './cbc-hmac.ts';
import { AES_BLOCK, aeadAlgOf, icvLength, ivLength } from './suite.ts';
import type { CipherSuite } from './suite.ts';

export interface SkKeys {
  /** SK_ei or SK_er (AEAD: key ‖ salt) */
  encr: Uint8Array;
  /** SK_ai or SK_ar (empty for AEAD) */
  integ: Uint8Array;
}

export type SkOpenResult =
  | { ok: true; inner: Uint8Array }
  | { ok: false; reason: 'short' | 'icv' | 'length' | 'padding' };

export interface SkCipher {
  readonly suite: CipherSuite;
  /** Body length (IV ‖ ciphertext ‖ ICV) for an inner payload chain of n bytes. */
  bodyLength(n: number): number;
  /** Fills message[bodyOffset, end) with the body for inner; the body length must be bodyLength(inner.length). */
  seal(message: Uint8Array, bodyOffset: number, inner: Uint8Array): void;
  open(message: Uint8Array, bodyOffset: number): SkOpenResult;
}

export interface SkOptions {
  backend?: AeadBackend;
  /** Fills a fresh IV. Default: a 64-bit counter from 1 for AEAD, random for CBC. */
  fillIv?: (iv: Uint8Array) => void;
}

/** Plaintext length (inner ‖ padding ‖ Pad Length) for n inner bytes. */
function paddedLength(suite: CipherSuite, n: number): number {
  return aeadAlgOf(suite) ? n + 1 : Math.ceil((n + 1) / AES_BLOCK) * AES_BLOCK;
}

export function skBodyLength(suite: CipherSuite, n: number): number {
  return ivLength(suite) + paddedLength(suite, n) + icvLength(suite);
}

function counterIv(): (iv: Uint8Array) => void {
  let n = 0n;
  return (iv) => {
    n += 1n;
    new DataView(iv.buffer, iv.byteOffset, iv.byteLength).setBigUint64(0, n);
  };
}

export function createSkCipher(suite: CipherSuite, keys: SkKeys, opts: SkOptions = {}): SkCipher {
  const alg = aeadAlgOf(suite);
  const ivLen = ivLength(suite);
  const icv = icvLength(suite);
  const fillIv = opts.fillIv ?? (alg ? counterIv() : (iv: Uint8Array) => void randomFillSync(iv));
  const aead = alg ? createAead(alg, keys.encr, opts.backend) : undefined;
  const cbc = alg ? undefined : createCbcHmac(keys.encr, suite.integ!, keys.integ, opts.backend);
  const bodyLength = (n: number): number => skBodyLength(suite, n);

  function seal(message: Uint8Array, bodyOffset: number, inner: Uint8Array): void {
    const want = bodyLength(inner.length);
    if (message.length - bodyOffset !== want) throw new RangeError(`SK body is ${message.length - bodyOffset} bytes, want ${want}`);
    const iv = message.subarray(bodyOffset, bodyOffset + ivLen);
    fillIv(iv);
    const ptOff = bodyOffset + ivLen;
    const ptLen = paddedLength(suite, inner.length);
    message.set(inner, ptOff);
    message.fill(0, ptOff + inner.length, ptOff + ptLen);
    message[ptOff + ptLen - 1] = ptLen - inner.length - 1;
    if (aead) {
      aead.sealInPlace(message, ptOff, ptLen, iv.slice(), message.subarray(0, bodyOffset));
    } else {
      cbc!.encryptInPlace(message, ptOff, ptLen, iv.slice());
      cbc!.mac.computeInto(message.subarray(0, ptOff + ptLen), message, ptOff + ptLen);
    }
  }

  function open(message: Uint8Array, bodyOffset: number): SkOpenResult {
    const ctLen = message.length - bodyOffset - ivLen - icv;
    if (bodyOffset < 0 || ctLen < (aead ? 1 : AES_BLOCK)) return { ok: false, reason: 'short' };
    const iv = message.slice(bodyOffset, bodyOffset + ivLen);
    const ptOff = bodyOffset + ivLen;
    let pt: Uint8Array;
    if (aead) {
      const opened = aead.open(iv, message.subarray(0, bodyOffset), message.subarray(ptOff));
      if (!opened) return { ok: false, reason: 'icv' };
      pt = opened;
    } else {
      const end = ptOff + ctLen;
      if (!cbc!.mac.verify(message.subarray(0, end), message.subarray(end))) return { ok: false, reason: 'icv' };
      if (ctLen % AES_BLOCK !== 0) return { ok: false, reason: 'length' };
      pt = message.slice(ptOff, end);
      cbc!.decryptInPlace(pt, 0, pt.length, iv);
    }
    const padLen = pt[pt.length - 1]!;
    if (padLen + 1 > pt.length) return { ok: false, reason: 'padding' };
    return { ok: true, inner: pt.subarray(0, pt.length - padLen - 1) };
  }

  return { suite, bodyLength, seal, open };
}
