/**
 * MD4 (RFC 1320 §A.5), DES (FIPS 81), MS-CHAPv2 (RFC 2759 §9.2) and the
 * MPPE master/start keys behind the EAP-MSCHAPv2 MSK (RFC 3079 §3.5.3).
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, utf8 } from '../../../app/base/bytes.ts';
import { md4 } from '../../../app/eap/md4.ts';
import {
  asymmetricStartKey, challengeHash, desEncrypt, generateAuthenticatorResponse, generateNtResponse, masterKey, mschapv2Msk, ntPasswordHash, unicode,
} from '../../../app/eap/mschapv2-crypto.ts';

describe('MD4 (RFC 1320 test suite)', () => {
  const suite: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [m, h] of suite) it(`MD4(${JSON.stringify(m.slice(0, 20))})`, () => expect(bytesToHex(md4(utf8(m)))).toBe(h));
  it('lengths around the 56-byte padding boundary differ', () => {
    const seen = new Set([55, 56, 57, 63, 64, 65].map((n) => bytesToHex(md4(new Uint8Array(n)))));
    expect(seen.size).toBe(6);
  });
});

describe('DES-ECB through 3DES-EDE with one key', () => {
  it('FIPS 81 "Now is t" vector', () => {
    expect(bytesToHex(desEncrypt(hexToBytes('0123456789abcdef'), utf8('Now is t')))).toBe('3fa40e8a984d4815');
  });
});

describe('MS-CHAPv2 (RFC 2759 §9.2)', () => {
  const user = 'User';
  const password = 'clientPass';
  const authChallenge = hexToBytes('5b5d7c7d7b3f2f3e3c2c602132262628');
  const peerChallenge = hexToBytes('21402324255e262a28295f2b3a337c7e');
  const ntResponse = '82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df';

  it('password in Unicode', () => expect(bytesToHex(unicode(password))).toBe('63006c00690065006e0074005000610073007300'));
  it('ChallengeHash', () => expect(bytesToHex(challengeHash(peerChallenge, authChallenge, user))).toBe('d02e4386bce91226'));
  it('PasswordHash and PasswordHashHash', () => {
    expect(bytesToHex(ntPasswordHash(password))).toBe('44ebba8d5312b8d611474411f56989ae');
    expect(bytesToHex(md4(ntPasswordHash(password)))).toBe('41c00c584bd2d91c4017a2a12fa59f3f');
  });
  it('NT-Response', () => expect(bytesToHex(generateNtResponse(authChallenge, peerChallenge, user, password))).toBe(ntResponse));
  it('AuthenticatorResponse', () => {
    expect(generateAuthenticatorResponse(password, hexToBytes(ntResponse), peerChallenge, authChallenge, user))
      .toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56');
  });
  it('another password gives another NT-Response', () => {
    expect(bytesToHex(generateNtResponse(authChallenge, peerChallenge, user, 'clientpass'))).not.toBe(ntResponse);
  });
});

describe('MPPE keys and the MSK (RFC 3079 §3.5.3, 128-bit)', () => {
  const ntResponse = hexToBytes('82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df');
  const hashHash = hexToBytes('41c00c584bd2d91c4017a2a12fa59f3f');
  it('MasterKey', () => expect(bytesToHex(masterKey(hashHash, ntResponse))).toBe('fdece3717a8c838cb388e527ae3cdd31'));
  it('SendStartKey128 of the RFC\'s example is the server\'s send key = our (the client\'s) receive key', () => {
    expect(bytesToHex(asymmetricStartKey(masterKey(hashHash, ntResponse), false))).toBe('8b7cdc149b993a1ba118cb153f56dccb');
  });
  it('MSK = client send start key (Magic2, MS-MPPE-Recv-Key) ‖ client receive start key (Magic3), 32 bytes', () => {
    const msk = mschapv2Msk('clientPass', ntResponse);
    expect(msk.length).toBe(32);
    expect(bytesToHex(msk.subarray(0, 16))).toBe(bytesToHex(asymmetricStartKey(masterKey(hashHash, ntResponse), true)));
    expect(bytesToHex(msk.subarray(16))).toBe('8b7cdc149b993a1ba118cb153f56dccb');
    expect(bytesToHex(msk.subarray(0, 16))).not.toBe(bytesToHex(msk.subarray(16)));
  });
});
