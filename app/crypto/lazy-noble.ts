/**
 * @noble/ciphers' AES and @noble/curves' NIST curves, loaded on first use.
 *
 * Evaluating either module builds tables at once (AES: 1.3 MiB of T-tables;
 * P-256/P-384: field and curve constants) and runs that code hot enough for
 * V8 to optimise it: together about 8 MiB of resident memory at start-up
 * (docs/PERFORMANCE.md, *Engine memory*). A process whose AES runs in
 * node:crypto (OpenSSL has every AES mode we use) and whose DH group is
 * X25519 (node:crypto too) never calls into them, so they load only when a
 * noble backend or an ECP group is actually used.
 *
 * From the sources (tsx, vitest) `load` is Node's require of an ES module;
 * the engine bundle (scripts/build-engine.mjs) rewrites the two calls below
 * to bundled, lazily initialised requires, so the bundle still needs no
 * node_modules. Keep them literal calls `load('<specifier>')`.
 */
import { createRequire } from 'node:module';
import type * as NobleAes from '@noble/ciphers/aes.js';
import type * as NobleNist from '@noble/curves/nist.js';

const load = createRequire(import.meta.url);

let aes: typeof NobleAes | undefined;
let nist: typeof NobleNist | undefined;

/** `@noble/ciphers/aes.js` (gcm, cbc, …), evaluated on the first call. */
export function nobleAes(): typeof NobleAes {
  aes ??= load('@noble/ciphers/aes.js') as typeof NobleAes;
  return aes;
}

/** `@noble/curves/nist.js` (p256, p384, …), evaluated on the first call. */
export function nobleNist(): typeof NobleNist {
  nist ??= load('@noble/curves/nist.js') as typeof NobleNist;
  return nist;
}

/** Whether each module has been evaluated yet (for the tests that prove the laziness). */
export function nobleLoaded(): { aes: boolean; nist: boolean } {
  return { aes: aes !== undefined, nist: nist !== undefined };
}
