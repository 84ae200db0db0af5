/**
 * IKEv2 key derivation and the values hashed into AUTH and NAT-D
 * (RFC 7296 §2.13–2.15, §2.17, §2.18, §2.23).
 *
 *   SKEYSEED = prf(Ni ‖ Nr, g^ir)                                initial
 *   SKEYSEED = prf(SK_d(old), g^ir(new) ‖ Ni ‖ Nr)                IKE SA rekey, old PRF
 *   SK_d ‖ SK_ai ‖ SK_ar ‖ SK_ei ‖ SK_er ‖ SK_pi ‖ SK_pr = prf+(SKEYSEED, Ni ‖ Nr ‖ SPIi ‖ SPIr)
 *   KEYMAT   = prf+(SK_d, [g^ir(new) ‖] Ni ‖ Nr) → encr_i, integ_i, encr_r, integ_r
 *   AUTH(PSK) = prf(prf(PSK, "Key Pad for IKEv2"), SignedOctets)
 *   SignedOctets = RealMessage ‖ NonceOfPeer ‖ prf(SK_p, ID body)
 *   NAT-D    = SHA-1(SPIi ‖ SPIr ‖ IP ‖ port)
 *
 * Only HMAC PRFs are implemented, so nonces are never truncated (that rule
 * is for AES-XCBC/CMAC). With AEAD, SK_a* are empty and SK_e* = key ‖ salt.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { concatBytes, utf8 } from '../base/bytes.ts';
import type { PrfId } from '../wire/ikev2/constants.ts';
import { prfAlgorithm, prfPlus } from './prf.ts';
import { encrKeyLength, integKeyLength } from './suite.ts';
import type { CipherSuite } from './suite.ts';

// Specification (RFC 7296 §2.15: 17 ASCII bytes, no NUL)

export const KEY_PAD = utf8('Key Pad for IKEv2');

export function skeyseed(prf: PrfId, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array): Uint8Array {
  return prfAlgorithm(prf).compute(concatBytes(ni, nr), gir);
}

/** SKEYSEED of a rekeyed IKE SA; prf and skD are the OLD SA's. */
export function rekeySkeyseed(prf: PrfId, skD: Uint8Array, gir: Uint8Array, ni: Uint8Array, nr: Uint8Array): Uint8Array {
  return prfAlgorithm(prf).compute(skD, concatBytes(gir, ni, nr));
}

export interface IkeKeyInput extends CipherSuite {
  prf: PrfId;
  ni: Uint8Array;
  nr: Uint8Array;
  spiI: Uint8Array;
  spiR: Uint8Array;
  /** Either SKEYSEED (rekey) or g^ir (initial exchange: SKEYSEED computed here). */
  skeyseed?: Uint8Array;
  shared?: Uint8Array;
}

export interface IkeKeys {
  SK_d: Uint8Array;
  SK_ai: Uint8Array;
  SK_ar: Uint8Array;
  SK_ei: Uint8Array;
  SK_er: Uint8Array;
  SK_pi: Uint8Array;
  SK_pr: Uint8Array;
}

export function deriveIkeKeys(k: IkeKeyInput): IkeKeys {
  let seed = k.skeyseed;
  if (!seed) {
    if (!k.shared) throw new TypeError('deriveIkeKeys needs skeyseed or shared');
    seed = skeyseed(k.prf, k.ni, k.nr, k.shared);
  }
  const prf = prfAlgorithm(k.prf);
  const p = prf.outputLength;
  const a = integKeyLength(k);
  const e = encrKeyLength(k);
  const km = prfPlus(prf, seed, concatBytes(k.ni, k.nr, k.spiI, k.spiR), 3 * p + 2 * a + 2 * e);
  let off = 0;
  const take = (n: number): Uint8Array => km.slice(off, (off += n));
  return { SK_d: take(p), SK_ai: take(a), SK_ar: take(a), SK_ei: take(e), SK_er: take(e), SK_pi: take(p), SK_pr: take(p) };
}

/** One direction's Child SA keys; integ is empty for AEAD. */
export interface ChildKeys {
  encr: Uint8Array;
  integ: Uint8Array;
}

/**
 * Child SA KEYMAT. `i` protects traffic from the original initiator to the
 * responder (our outbound SA when we initiated the IKE SA), `r` the reverse.
 */
export function deriveChildKeys(
  prf: PrfId, skD: Uint8Array, gir: Uint8Array | undefined, ni: Uint8Array, nr: Uint8Array, suite: CipherSuite,
): { i: ChildKeys; r: ChildKeys } {
  const e = encrKeyLength(suite);
  const a = integKeyLength(suite);
  const seed = gir ? concatBytes(gir, ni, nr) : concatBytes(ni, nr);
  const km = prfPlus(prfAlgorithm(prf), skD, seed, 2 * (e + a));
  return {
    i: { encr: km.slice(0, e), integ: km.slice(e, e + a) },
    r: { encr: km.slice(e + a, 2 * e + a), integ: km.slice(2 * e + a) },
  };
}

/** Shared-key AUTH data (RFC 7296 §2.15). */
export function pskAuth(prf: PrfId, psk: Uint8Array, octets: Uint8Array): Uint8Array {
  const p = prfAlgorithm(prf);
  return p.compute(p.compute(psk, KEY_PAD), octets);
}

/**
 * The octets an AUTH payload signs: our IKE_SA_INIT message as sent (from
 * the IKE header, no non-ESP marker) ‖ the peer's nonce data ‖
 * prf(SK_pi or SK_pr, ID payload body = ID Type ‖ 3 reserved bytes ‖ data).
 */
export function signedOctets(message: Uint8Array, peerNonce: Uint8Array, prf: PrfId, skP: Uint8Array, idBody: Uint8Array): Uint8Array {
  return concatBytes(message, peerNonce, prfAlgorithm(prf).compute(skP, idBody));
}

/** NAT_DETECTION_*_IP notify data (RFC 7296 §2.23); ip is 4 (or 16) bytes. */
export function natdHash(spiI: Uint8Array, spiR: Uint8Array, ip: Uint8Array, port: number): Uint8Array {
  if (spiI.length !== 8 || spiR.length !== 8) throw new RangeError('NAT-D needs 8-byte SPIs');
  return sha1(concatBytes(spiI, spiR, ip, Uint8Array.of(port >> 8, port & 0xff)));
}
