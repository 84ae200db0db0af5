/**
 * IKE SA and Child SA key derivation (RFC 7296 §2.14, §2.17, §2.18).
 *
 *   SKEYSEED = prf(Ni | Nr, g^ir)                      (initial)
 *   SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr)     (IKE SA rekey, old PRF)
 *   SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr
 *            = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 *   KEYMAT   = prf+(SK_d, [g^ir(new) |] Ni | Nr)       encr_i, integ_i, encr_r, integ_r
 */
import { concatBytes } from '../base/bytes.ts';
import type { PrfId } from '../wire/ikev2/constants.ts';
import { encrKeyBytes, integKeyBytes, prf, prfKeyBytes, prfPlus } from './crypto-adapter.ts';
import type { CipherSuite, SkKeys } from './crypto-adapter.ts';
import type { EspKeys } from './types.ts';
import type { IkeSuite } from './suite.ts';

export interface IkeKeys {
  skD: Uint8Array;
  /** keys protecting messages sent by the original initiator / responder */
  i: SkKeys;
  r: SkKeys;
  skPi: Uint8Array;
  skPr: Uint8Array;
}

export function deriveIkeKeys(
  suite: IkeSuite, skeyseed: Uint8Array, ni: Uint8Array, nr: Uint8Array, spiI: Uint8Array, spiR: Uint8Array,
): IkeKeys {
  const pk = prfKeyBytes(suite.prf);
  const ak = integKeyBytes(suite.cipher);
  const ek = encrKeyBytes(suite.cipher);
  const km = prfPlus(suite.prf, skeyseed, concatBytes(ni, nr, spiI, spiR), 3 * pk + 2 * ak + 2 * ek);
  let off = 0;
  const take = (n: number): Uint8Array => km.slice(off, (off += n));
  const skD = take(pk);
  const ai = take(ak);
  const ar = take(ak);
  const ei = take(ek);
  const er = take(ek);
  return { skD, i: { encr: ei, integ: ai }, r: { encr: er, integ: ar }, skPi: take(pk), skPr: take(pk) };
}

export function initialSkeyseed(suite: IkeSuite, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array): Uint8Array {
  return prf(suite.prf, concatBytes(ni, nr), gir);
}

export function rekeySkeyseed(oldPrf: PrfId, oldSkD: Uint8Array, gir: Uint8Array, ni: Uint8Array, nr: Uint8Array): Uint8Array {
  return prf(oldPrf, oldSkD, concatBytes(gir, ni, nr));
}

/** Child SA keys from the initiator's (i→r) and the responder's (r→i) point of view. */
export function deriveChildKeys(
  prfId: PrfId, skD: Uint8Array, cipher: CipherSuite, ni: Uint8Array, nr: Uint8Array, gir?: Uint8Array,
): { i: EspKeys; r: EspKeys } {
  const ek = encrKeyBytes(cipher);
  const ak = integKeyBytes(cipher);
  const seed = gir ? concatBytes(gir, ni, nr) : concatBytes(ni, nr);
  const km = prfPlus(prfId, skD, seed, 2 * (ek + ak));
  return {
    i: { encr: km.slice(0, ek), integ: km.slice(ek, ek + ak) },
    r: { encr: km.slice(ek + ak, 2 * ek + ak), integ: km.slice(2 * ek + ak) },
  };
}
