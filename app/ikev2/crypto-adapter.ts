/**
 * The crypto the IKE core needs, in one narrow interface, delegated to
 * app/crypto (RFC 7296 §2.13–2.15, §2.23, §3.14; RFC 5282; RFC 7634):
 *
 *   prf / prfPlus / prfKeyBytes   HMAC PRFs and prf+
 *   createDh                      groups 31, 19, 20, 14 (IKEv2 KE encodings)
 *   skBodyLength / skSeal / skOpen  the SK payload body: IV | ciphertext | ICV
 *   encrKeyBytes / integKeyBytes  KEYMAT sizes of a negotiated cipher
 *   natdHash / pskAuth            NAT-D notify data, shared-key AUTH
 *
 * The core only imports this file, so the crypto layer can change under it.
 */
import { DhError, dhGroup, isSupportedDhGroup } from '../crypto/dh.ts';
import { natdHash as cryptoNatdHash, pskAuth as cryptoPskAuth } from '../crypto/keymat.ts';
import { prfAlgorithm, prfPlus as cryptoPrfPlus } from '../crypto/prf.ts';
import { createSkCipher, skBodyLength as cryptoSkBodyLength } from '../crypto/sk-payload.ts';
import type { SkCipher } from '../crypto/sk-payload.ts';
import { assertSupportedSuite, encrKeyLength, integKeyLength, isAeadSuite } from '../crypto/suite.ts';
import type { CipherSuite } from '../crypto/suite.ts';
import type { DhId, EncrId, PrfId } from '../wire/ikev2/constants.ts';

export type { CipherSuite } from '../crypto/suite.ts';
export { UnsupportedAlgorithm } from '../crypto/prf.ts';

export type Random = (n: number) => Uint8Array;

export function prf(id: PrfId, key: Uint8Array, data: Uint8Array): Uint8Array {
  return prfAlgorithm(id).compute(key, data);
}

/** Preferred key size = output size for HMAC PRFs (SK_d, SK_pi, SK_pr). */
export function prfKeyBytes(id: PrfId): number {
  return prfAlgorithm(id).outputLength;
}

export function prfPlus(id: PrfId, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  return cryptoPrfPlus(prfAlgorithm(id), key, seed, length);
}

export interface DhKey {
  readonly group: DhId;
  readonly publicKey: Uint8Array;
  /** g^ir in the IKEv2 encoding; throws DhError on a malformed or degenerate peer value. */
  sharedSecret(peer: Uint8Array): Uint8Array;
}

/** g^ir, or the DhError a peer's bad KE data (wrong length, off the curve, degenerate) causes. */
export function trySharedSecret(dh: DhKey, peer: Uint8Array): { ok: true; gir: Uint8Array } | { ok: false; error: DhError } {
  try {
    return { ok: true, gir: dh.sharedSecret(peer) };
  } catch (e) {
    if (e instanceof DhError) return { ok: false, error: e };
    throw e;
  }
}

export function isSupportedDh(group: number): boolean {
  return isSupportedDhGroup(group);
}

export function createDh(group: DhId, random: Random): DhKey {
  const pair = dhGroup(group).generate(random);
  return { group, publicKey: pair.publicValue, sharedSecret: (peer) => pair.computeShared(peer) };
}

/**
 * What an IKE_SA_INIT request needs that costs time: the ephemeral key pair
 * and the nonce Ni (RFC 7296 §2.10, §2.12). The I/O side makes one while
 * idle so that a new IKE SA does not wait for it; it is used for one
 * IkeSa only and then dropped (docs/IKEV2.md, "Prepared key pair").
 */
export interface PreparedInit {
  readonly dh: DhKey;
  readonly ni: Uint8Array;
}

export function prepareInit(group: DhId, random: Random, nonceBytes: number): PreparedInit {
  return { dh: createDh(group, random), ni: random(nonceBytes) };
}

export function isAead(encr: EncrId): boolean {
  return isAeadSuite({ encr });
}

export function isSupportedCipher(s: CipherSuite): boolean {
  try {
    assertSupportedSuite(s);
    return isAeadSuite(s) ? !s.integ : s.integ !== undefined;
  } catch {
    return false;
  }
}

/** Bytes of encryption KEYMAT per direction (AEAD keys include the 4-byte salt). */
export function encrKeyBytes(s: CipherSuite): number {
  return encrKeyLength(s);
}

export function integKeyBytes(s: CipherSuite): number {
  return integKeyLength(s);
}

export interface SkKeys {
  encr: Uint8Array;
  integ: Uint8Array;
}

/** One cipher per key set, so AEAD IVs (a per-key counter) never repeat. */
const ciphers = new WeakMap<SkKeys, SkCipher>();

function cipherFor(s: CipherSuite, k: SkKeys): SkCipher {
  let c = ciphers.get(k);
  if (!c) {
    c = createSkCipher(s, k);
    ciphers.set(k, c);
  }
  return c;
}

export function skBodyLength(s: CipherSuite, n: number): number {
  return cryptoSkBodyLength(s, n);
}

/** Fills the SK body inside `message` at bodyOffset (everything before it is the AAD). */
export function skSeal(s: CipherSuite, k: SkKeys, message: Uint8Array, bodyOffset: number, plain: Uint8Array, _random: Random): void {
  cipherFor(s, k).seal(message, bodyOffset, plain);
}

/** The plaintext payload chain, or undefined when the ICV does not verify or the body is malformed. */
export function skOpen(s: CipherSuite, k: SkKeys, message: Uint8Array, bodyOffset: number): Uint8Array | undefined {
  // open() decrypts in place: work on a copy so a retransmitted datagram can be checked again
  const r = cipherFor(s, k).open(message.slice(), bodyOffset);
  return r.ok ? r.inner : undefined;
}

export function natdHash(spiI: Uint8Array, spiR: Uint8Array, addr: Uint8Array, port: number): Uint8Array {
  return cryptoNatdHash(spiI, spiR, addr, port);
}

export function pskAuth(id: PrfId, psk: Uint8Array, signedOctets: Uint8Array): Uint8Array {
  return cryptoPskAuth(id, psk, signedOctets);
}
