/**
 * IKEv2 pseudo-random functions and integrity algorithms (RFC 7296 §2.13,
 * RFC 2104, RFC 4868, RFC 2404). The PRFs run in node:crypto (OpenSSL's
 * HMAC: native, so as fast in a setup once a second as in a hot loop,
 * where @noble/hashes runs cold JavaScript), the integrity keys on
 * @noble/hashes (keyed once, cloned per message).
 *
 *   prf(K, S)       HMAC-SHA1 (2), HMAC-SHA2-256/384/512 (5/6/7); key = output size
 *   prf+(K, S)      T1 ‖ T2 ‖ …  T1 = prf(K, S ‖ 0x01), Tn = prf(K, Tn-1 ‖ S ‖ n), n ≤ 255
 *   integ           HMAC-SHA1-96 (2), HMAC-SHA2-256-128 (12), -384-192 (13), -512-256 (14)
 */
import { createHmac } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';
import { equalBytes } from '../base/bytes.ts';
import { IntegId, PrfId } from '../wire/ikev2/constants.ts';

type Hash = CHash;

export class UnsupportedAlgorithm extends Error {
  constructor(what: string) {
    super(`unsupported ${what}`);
    this.name = 'UnsupportedAlgorithm';
  }
}

export interface Prf {
  readonly id: PrfId;
  readonly name: string;
  /** Output bytes, also the preferred key size (SK_d, SK_pi, SK_pr). */
  readonly outputLength: number;
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/** [proposal name, OpenSSL digest, output bytes] */
const PRFS: Partial<Record<PrfId, [string, string, number]>> = {
  [PrfId.HmacSha1]: ['prfsha1', 'sha1', 20],
  [PrfId.HmacSha2_256]: ['prfsha256', 'sha256', 32],
  [PrfId.HmacSha2_384]: ['prfsha384', 'sha384', 48],
  [PrfId.HmacSha2_512]: ['prfsha512', 'sha512', 64],
};

const prfs = new Map<PrfId, Prf>();

export function prfAlgorithm(id: PrfId): Prf {
  let p = prfs.get(id);
  if (p) return p;
  const entry = PRFS[id];
  if (!entry) throw new UnsupportedAlgorithm(`PRF ${id}`);
  const [name, digest, outputLength] = entry;
  const compute = (key: Uint8Array, data: Uint8Array): Uint8Array => {
    const mac = createHmac(digest, key).update(data).digest();
    return new Uint8Array(mac.buffer, mac.byteOffset, mac.length);
  };
  p = { id, name, outputLength, compute };
  prfs.set(id, p);
  return p;
}

/** prf+ (RFC 7296 §2.13): at most 255 blocks; asking for more throws a RangeError. */
export function prfPlus(prf: Prf, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const blocks = Math.ceil(length / prf.outputLength);
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`prf+ length ${length}`);
  if (blocks > 255) throw new RangeError(`prf+ asked for ${length} bytes = ${blocks} blocks, at most 255`);
  const out = new Uint8Array(blocks * prf.outputLength);
  const input = new Uint8Array(prf.outputLength + seed.length + 1);
  let prev = 0; // bytes of T(n-1) at the start of input
  for (let n = 1; n <= blocks; n++) {
    input.set(seed, prev);
    input[prev + seed.length] = n;
    const t = prf.compute(key, input.subarray(0, prev + seed.length + 1));
    out.set(t, (n - 1) * prf.outputLength);
    input.set(t, 0);
    prev = t.length;
  }
  return out.slice(0, length);
}

export interface IntegAlgorithm {
  readonly id: IntegId;
  readonly name: string;
  readonly keyLength: number;
  readonly icvLength: number;
  readonly hash: Hash;
}

const INTEGS: Partial<Record<IntegId, [string, Hash, number]>> = {
  [IntegId.HmacSha1_96]: ['sha1', sha1, 12],
  [IntegId.HmacSha2_256_128]: ['sha256', sha256, 16],
  [IntegId.HmacSha2_384_192]: ['sha384', sha384, 24],
  [IntegId.HmacSha2_512_256]: ['sha512', sha512, 32],
};

export function integAlgorithm(id: IntegId): IntegAlgorithm {
  const entry = INTEGS[id];
  if (!entry) throw new UnsupportedAlgorithm(`integrity algorithm ${id}`);
  const [name, hash, icvLength] = entry;
  return { id, name, hash, icvLength, keyLength: hash.outputLen };
}

/** A keyed integrity check: the truncated HMAC of a byte range. */
export interface IntegKey {
  readonly alg: IntegAlgorithm;
  /** The ICV (truncated HMAC) of data. */
  compute(data: Uint8Array): Uint8Array;
  /** Writes the ICV of data into out at off (out may be the buffer data is a view of). */
  computeInto(data: Uint8Array, out: Uint8Array, off: number): void;
  /** Constant-time comparison of icv with the ICV of data. */
  verify(data: Uint8Array, icv: Uint8Array): boolean;
}

export function createIntegKey(id: IntegId, key: Uint8Array): IntegKey {
  const alg = integAlgorithm(id);
  if (key.length !== alg.keyLength) throw new RangeError(`${alg.name} key of ${key.length} bytes, want ${alg.keyLength}`);
  const keyed = hmac.create(alg.hash, key); // ipad/opad absorbed once; cloned per message
  const full = new Uint8Array(alg.hash.outputLen);
  const compute = (data: Uint8Array): Uint8Array => {
    const h = keyed.clone();
    h.update(data);
    h.digestInto(full);
    return full.subarray(0, alg.icvLength);
  };
  return {
    alg,
    compute: (data) => compute(data).slice(),
    computeInto: (data, out, off) => out.set(compute(data), off),
    verify: (data, icv) => equalBytes(compute(data), icv),
  };
}
