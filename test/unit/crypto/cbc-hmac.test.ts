import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, utf8 } from '../../../app/base/bytes.ts';
import { IntegId } from '../../../app/wire/ikev2/constants.ts';
import { createCbcHmac } from '../../../app/crypto/cbc-hmac.ts';
import type { AeadBackend } from '../../../app/crypto/aead.ts';

const BACKENDS: AeadBackend[] = ['node', 'noble'];

describe('AES-CBC + HMAC', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: RFC 3602 §4 case #1 (one block, in place)`, () => {
      const c = createCbcHmac(hexToBytes('06a9214036b8a15b512e03d534120006'), IntegId.HmacSha2_256_128, new Uint8Array(32), backend);
      const buf = new Uint8Array([0xaa, ...utf8('Single block msg'), 0xbb]);
      const iv = hexToBytes('3dafba429d9eb430b422da802c9fac41');
      c.encryptInPlace(buf, 1, 16, iv);
      expect(bytesToHex(buf)).toBe('aa' + 'e353779c1079aeb82708942dbe77181a' + 'bb');
      c.decryptInPlace(buf, 1, 16, iv);
      expect(buf.subarray(1, 17)).toEqual(utf8('Single block msg'));
    });

    it(`${backend}: AES-128/192/256 round trip over several blocks; partial blocks refused`, () => {
      for (const n of [16, 24, 32]) {
        const c = createCbcHmac(new Uint8Array(n).fill(n), IntegId.HmacSha2_256_128, new Uint8Array(32), backend);
        const data = new Uint8Array(64).map((_, i) => i);
        const iv = new Uint8Array(16).fill(9);
        const buf = data.slice();
        c.encryptInPlace(buf, 0, 64, iv);
        expect(bytesToHex(buf)).not.toBe(bytesToHex(data));
        c.decryptInPlace(buf, 0, 64, iv);
        expect(buf).toEqual(data);
        expect(() => c.encryptInPlace(buf, 0, 15, iv)).toThrow(RangeError);
      }
    });
  }

  it('backends agree, and the MAC is the truncated HMAC-SHA-256 of the named range', () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const integKey = new Uint8Array(32).fill(0x5a);
    const a = createCbcHmac(key, IntegId.HmacSha2_256_128, integKey, 'node');
    const b = createCbcHmac(key, IntegId.HmacSha2_256_128, integKey, 'noble');
    const iv = new Uint8Array(16).fill(1);
    const x = new Uint8Array(48).fill(7);
    const y = x.slice();
    a.encryptInPlace(x, 0, 48, iv);
    b.encryptInPlace(y, 0, 48, iv);
    expect(bytesToHex(x)).toBe(bytesToHex(y));
    expect(a.icvLength).toBe(16);
    expect(bytesToHex(a.mac.compute(x))).toBe(createHmac('sha256', integKey).update(x).digest('hex').slice(0, 32));
  });

  it('rejects AES keys that are not 16, 24 or 32 bytes', () => {
    expect(() => createCbcHmac(new Uint8Array(20), IntegId.HmacSha2_256_128, new Uint8Array(32))).toThrow(RangeError);
  });
});
