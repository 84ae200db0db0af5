/**
 * MS-CHAPv2 computations (RFC 2759 §8) and the EAP-MSCHAPv2 MSK (RFC 3079 §3).
 * Pure functions of their inputs.
 *
 *   PasswordHash      = MD4(UTF-16LE(password))                      (app/eap/md4.ts)
 *   ChallengeHash     = SHA1(PeerChallenge ‖ AuthenticatorChallenge ‖ UserName)[0..8]
 *   NT-Response       = DES(PasswordHash[0..7]) ‖ DES([7..14]) ‖ DES([14..16] ‖ 0⁵), each over ChallengeHash
 *   AuthenticatorResponse = "S=" ‖ HEX(SHA1(SHA1(PasswordHashHash ‖ NT-Response ‖ Magic1) ‖ ChallengeHash ‖ Magic2))
 *   MasterKey         = SHA1(PasswordHashHash ‖ NT-Response ‖ Magic1')[0..16]           (RFC 3079 §3.4)
 *   MSK               = client send key (Magic2') ‖ client receive key (Magic3')           (32 bytes, as strongSwan
 *                       and FreeRADIUS's MS-MPPE keys build it; RFC 7296 §2.16 uses it as the AUTH key)
 *
 * DES: Node 20's OpenSSL 3 has no single DES (legacy provider), but it has
 * 3DES-EDE: E_k(D_k(E_k(x))) = E_k(x), so DES-ECB is des-ede3-ecb with the
 * key three times. Checked against the FIPS 81 vector and the RFC 2759 §9.2
 * NT-Response in test/unit/eap/mschapv2.test.ts. No dependency needed.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { bytesToHex, concatBytes, utf8 } from '../base/bytes.ts';
import { md4 } from './md4.ts';

const sha1 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** UTF-16LE, the "Unicode" of RFC 2759. */
export function unicode(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf16le'));
}

/** 7 key bytes → 8 DES key bytes (parity bits left zero: DES ignores them). */
function desKey(k7: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  let bits = 0n;
  for (const b of k7) bits = (bits << 8n) | BigInt(b);
  for (let i = 0; i < 8; i++) out[i] = Number((bits >> BigInt(49 - 7 * i)) & 0x7fn) << 1;
  return out;
}

/** DES-ECB of one 8-byte block with an 8-byte key. */
export function desEncrypt(key8: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('des-ede3-ecb', concatBytes(key8, key8, key8), null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
}

export function ntPasswordHash(password: string): Uint8Array {
  return md4(unicode(password));
}

export function challengeHash(peerChallenge: Uint8Array, authChallenge: Uint8Array, userName: string): Uint8Array {
  return sha1(peerChallenge, authChallenge, utf8(userName)).slice(0, 8);
}

export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  const z = new Uint8Array(21);
  z.set(passwordHash);
  return concatBytes(
    desEncrypt(desKey(z.subarray(0, 7)), challenge),
    desEncrypt(desKey(z.subarray(7, 14)), challenge),
    desEncrypt(desKey(z.subarray(14, 21)), challenge),
  );
}

export function generateNtResponse(authChallenge: Uint8Array, peerChallenge: Uint8Array, userName: string, password: string): Uint8Array {
  return challengeResponse(challengeHash(peerChallenge, authChallenge, userName), ntPasswordHash(password));
}

// Specification (RFC 2759 §8.7 magic constants)
const MAGIC1 = utf8('Magic server to client signing constant');
const MAGIC2 = utf8('Pad to make it do more than one iteration');

/** "S=" followed by 40 upper-case hex digits. */
export function generateAuthenticatorResponse(
  password: string, ntResponse: Uint8Array, peerChallenge: Uint8Array, authChallenge: Uint8Array, userName: string,
): string {
  const hashHash = md4(ntPasswordHash(password));
  const digest = sha1(hashHash, ntResponse, MAGIC1);
  return `S=${bytesToHex(sha1(digest, challengeHash(peerChallenge, authChallenge, userName), MAGIC2)).toUpperCase()}`;
}

// Specification (RFC 3079 §3.3 constants)
const KEY_MAGIC1 = utf8('This is the MPPE Master Key');
const KEY_MAGIC2 = utf8('On the client side, this is the send key; on the server side, it is the receive key.');
const KEY_MAGIC3 = utf8('On the client side, this is the receive key; on the server side, it is the send key.');
const SHS_PAD1 = new Uint8Array(40);
const SHS_PAD2 = new Uint8Array(40).fill(0xf2);

export function masterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  return sha1(passwordHashHash, ntResponse, KEY_MAGIC1).slice(0, 16);
}

/** GetAsymmetricStartKey (RFC 3079 §3.4), 16 bytes, from the client's side. */
export function asymmetricStartKey(master: Uint8Array, isSend: boolean): Uint8Array {
  return sha1(master, SHS_PAD1, isSend ? KEY_MAGIC2 : KEY_MAGIC3, SHS_PAD2).slice(0, 16);
}

/** The EAP-MSCHAPv2 MSK (32 bytes): client send start key ‖ client receive start key. */
export function mschapv2Msk(password: string, ntResponse: Uint8Array): Uint8Array {
  const mk = masterKey(md4(ntPasswordHash(password)), ntResponse);
  return concatBytes(asymmetricStartKey(mk, true), asymmetricStartKey(mk, false));
}
