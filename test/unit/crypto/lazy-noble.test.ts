/**
 * @noble's AES and NIST-curve modules load on first use (app/crypto/lazy-noble.ts):
 * node:crypto AEADs, AES-CBC and X25519 never evaluate them, and the noble
 * backends still give the same bytes as OpenSSL once they do.
 */
import { describe, expect, it } from 'vitest';
import { createAead } from '../../../app/crypto/aead.ts';
import { createCbcHmac } from '../../../app/crypto/cbc-hmac.ts';
import { dhGroup } from '../../../app/crypto/dh.ts';
import { nobleLoaded } from '../../../app/crypto/lazy-noble.ts';
import { DhId, IntegId } from '../../../app/wire/ikev2/constants.ts';

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('lazy @noble modules', () => {
  it('stay unloaded through node:crypto AEAD, AES-CBC and X25519, then load and agree with OpenSSL', () => {
    // this file must be the first in its worker to touch them: nothing above may use a noble backend
    expect(nobleLoaded()).toEqual({ aes: false, nist: false });
    const keymat = bytes(36, 1);
    const iv = bytes(8, 2);
    const aad = bytes(8, 3);
    const pt = bytes(100, 4);
    const viaNode = createAead('aes256gcm16', keymat, 'node').seal(iv, aad, pt);
    const cbcNode = createCbcHmac(bytes(32, 5), IntegId.HmacSha2_256_128, bytes(32, 6), 'node');
    const block = bytes(64, 7);
    const cbcIv = bytes(16, 8);
    const encNode = block.slice();
    cbcNode.encryptInPlace(encNode, 0, 64, cbcIv);
    const a = dhGroup(DhId.Curve25519).fromPrivate(bytes(32, 9));
    const b = dhGroup(DhId.Curve25519).fromPrivate(bytes(32, 10));
    expect(a.computeShared(b.publicValue)).toEqual(b.computeShared(a.publicValue));
    expect(nobleLoaded()).toEqual({ aes: false, nist: false });

    expect(createAead('aes256gcm16', keymat, 'noble').seal(iv, aad, pt)).toEqual(viaNode);
    const encNoble = block.slice();
    createCbcHmac(bytes(32, 5), IntegId.HmacSha2_256_128, bytes(32, 6), 'noble').encryptInPlace(encNoble, 0, 64, cbcIv);
    expect(encNoble).toEqual(encNode);
    expect(nobleLoaded()).toEqual({ aes: true, nist: false });

    const p = dhGroup(DhId.Ecp256).fromPrivate(bytes(32, 11));
    const q = dhGroup(DhId.Ecp256).fromPrivate(bytes(32, 12));
    expect(p.publicValue).toHaveLength(64);
    expect(p.computeShared(q.publicValue)).toEqual(q.computeShared(p.publicValue));
    expect(nobleLoaded()).toEqual({ aes: true, nist: true });
  });
});
