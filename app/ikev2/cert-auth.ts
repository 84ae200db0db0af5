/**
 * Certificate authentication of the IKE SA (RFC 7296 §2.15, §3.8): our AUTH
 * signature, the check of the peer's, and the CERTREQ we send. Pure: callers
 * pass PEM/DER and the signed octets; no files, no clock (times are inputs).
 *
 *   AUTH method 14 (RFC 7427 §3), when both peers sent N(SIGNATURE_HASH_ALGORITHMS):
 *   | ASN.1 Length (1) | AlgorithmIdentifier (DER) ~ | Signature ~ |
 *     ECDSA signature = DER ECDSA-Sig-Value, RSA = RSASSA-PKCS1-v1_5 block
 *
 *   classic methods (RFC 7296 §3.8, RFC 4754 §7):
 *     1  RSA Digital Signature     RSASSA-PKCS1-v1_5 with SHA-1
 *     9  ECDSA SHA-256 on P-256    r ‖ s, 32 + 32 bytes (not DER)
 *     10 ECDSA SHA-384 on P-384    r ‖ s, 48 + 48 bytes   (verify only)
 *     11 ECDSA SHA-512 on P-521    r ‖ s, 66 + 66 bytes   (verify only)
 *
 * The signed octets (the IKE_SA_INIT message ‖ nonce ‖ prf(SK_p, ID')) are
 * built by the ike-auth task; this module only signs and verifies them.
 */
import { X509Certificate, createHash, createPrivateKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DecodeError, Reader, concatBytes, hexToBytes } from '../base/bytes.ts';
import { AuthMethod, HashAlgorithm } from '../wire/ikev2/constants.ts';
import { decodeDigitalSignatureData, encodeDigitalSignatureData } from '../wire/ikev2/payloads/auth.ts';
import { Tag, certificateSubjectDer, decodeOid, expectTlv, parseOne, readTlv } from './x509-der.ts';

export { verifyPeerCertificate } from './x509-chain.ts';
export type { PeerCertificateInput, PeerCertificateResult } from './x509-chain.ts';
export { certificateHasId, idFromString, idToString, idsEqual } from './x509-identity.ts';
export type { IkeIdentity } from './x509-identity.ts';

/** Hashes we announce in N(SIGNATURE_HASH_ALGORITHMS) and accept in method 14. */
export const SUPPORTED_SIGNATURE_HASHES: readonly HashAlgorithm[] = [
  HashAlgorithm.Sha2_256, HashAlgorithm.Sha2_384, HashAlgorithm.Sha2_512,
];

/** RSA keys shorter than this are refused, ours and the peer's. */
export const MIN_RSA_BITS = 2048;

export type KeyKind = 'ecdsa-p256' | 'rsa';

/** A configuration problem with our certificate or key; the message says which. */
export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

export interface LocalCredential {
  kind: KeyKind;
  privateKey: KeyObject;
  /** Our end-entity certificate (first CERT payload). */
  certDer: Uint8Array;
  /** Further certificates from the PEM bundle, to send after ours. */
  chainDer: Uint8Array[];
  /** Subject DN, DER: the IDi data when our identity is the DN. */
  subjectDer: Uint8Array;
}

export interface TrustAnchor {
  cert: X509Certificate;
  /** SHA-1 of the CA's DER SubjectPublicKeyInfo (RFC 7296 §3.7). */
  keyHash: Uint8Array;
}

export interface AuthData {
  method: AuthMethod;
  data: Uint8Array;
}

export type AuthCheck = { ok: true; hash: HashAlgorithm } | { ok: false; reason: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function pemCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT);
  if (blocks === null) throw new CredentialError(`${what} is not PEM (no "-----BEGIN CERTIFICATE-----" block)`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new CredentialError(`${what}: certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
}

function keyKindOf(key: KeyObject): KeyKind | string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return d?.namedCurve === 'prime256v1' ? 'ecdsa-p256' : `EC curve ${d?.namedCurve} (only P-256 is supported)`;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d?.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? 'rsa' : `RSA-${bits} (at least ${MIN_RSA_BITS} bits required)`;
  }
  return `${key.asymmetricKeyType} keys (only ECDSA P-256 and RSA are supported)`;
}

/** Our certificate (PEM, optionally followed by intermediates) and its private key (PEM). */
export function loadLocalCredential(input: { certPem: string; keyPem: string }): LocalCredential {
  const [cert, ...chain] = pemCertificates(input.certPem, 'certificate');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input.keyPem)) throw new CredentialError('private key is not PEM');
  if (input.keyPem.includes('ENCRYPTED')) throw new CredentialError('private key is encrypted; give it unencrypted');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(input.keyPem);
  } catch (e) {
    throw new CredentialError(`private key does not parse: ${(e as Error).message}`);
  }
  const kind = keyKindOf(privateKey);
  if (kind !== 'ecdsa-p256' && kind !== 'rsa') throw new CredentialError(`unsupported key type: ${kind}`);
  if (!cert!.checkPrivateKey(privateKey)) {
    throw new CredentialError(`private key does not match the certificate (subject ${cert!.subject.replace(/\n/g, ', ')})`);
  }
  const certDer = new Uint8Array(cert!.raw);
  return { kind, privateKey, certDer, chainDer: chain.map((c) => new Uint8Array(c.raw)), subjectDer: certificateSubjectDer(certDer) };
}

/** A CA certificate (PEM) we trust to certify the gateway. */
export function loadTrustAnchor(caPem: string): TrustAnchor {
  const certs = pemCertificates(caPem, 'CA certificate');
  if (certs.length !== 1) throw new CredentialError(`CA file holds ${certs.length} certificates; give one per anchor`);
  const cert = certs[0]!;
  if (!cert.ca) throw new CredentialError(`CA certificate ${cert.subject.replace(/\n/g, ', ')} lacks basicConstraints CA:TRUE`);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return { cert, keyHash: new Uint8Array(createHash('sha1').update(spki).digest()) };
}

/** CERTREQ Certification Authority data (encoding 4): the anchors' SPKI SHA-1 hashes. */
export function certReqFor(anchors: readonly TrustAnchor[]): Uint8Array {
  return concatBytes(...anchors.map((a) => a.keyHash));
}

// Specification (RFC 7427 Appendix A: AlgorithmIdentifier DER, byte for byte)

const RSA_SHA256 = hexToBytes('300d06092a864886f70d01010b0500');
const RSA_SHA384 = hexToBytes('300d06092a864886f70d01010c0500');
const RSA_SHA512 = hexToBytes('300d06092a864886f70d01010d0500');
const ECDSA_SHA256 = hexToBytes('300a06082a8648ce3d040302');
const ECDSA_SHA384 = hexToBytes('300a06082a8648ce3d040303');
const ECDSA_SHA512 = hexToBytes('300a06082a8648ce3d040304');

type SigFamily = 'rsa' | 'ecdsa';

const ALGORITHMS: ReadonlyArray<{ family: SigFamily; hash: HashAlgorithm; oid: string; der: Uint8Array | null }> = [
  { family: 'rsa', hash: HashAlgorithm.Sha2_256, oid: '1.2.840.113549.1.1.11', der: RSA_SHA256 },
  { family: 'rsa', hash: HashAlgorithm.Sha2_384, oid: '1.2.840.113549.1.1.12', der: RSA_SHA384 },
  { family: 'rsa', hash: HashAlgorithm.Sha2_512, oid: '1.2.840.113549.1.1.13', der: RSA_SHA512 },
  { family: 'rsa', hash: HashAlgorithm.Sha1, oid: '1.2.840.113549.1.1.5', der: null },
  { family: 'ecdsa', hash: HashAlgorithm.Sha2_256, oid: '1.2.840.10045.4.3.2', der: ECDSA_SHA256 },
  { family: 'ecdsa', hash: HashAlgorithm.Sha2_384, oid: '1.2.840.10045.4.3.3', der: ECDSA_SHA384 },
  { family: 'ecdsa', hash: HashAlgorithm.Sha2_512, oid: '1.2.840.10045.4.3.4', der: ECDSA_SHA512 },
  { family: 'ecdsa', hash: HashAlgorithm.Sha1, oid: '1.2.840.10045.4.1', der: null },
];

const UNSUPPORTED_OIDS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.10': 'RSASSA-PSS', '1.3.101.112': 'Ed25519', '1.3.101.113': 'Ed448',
};

// Implementation

const NODE_HASH: Readonly<Record<HashAlgorithm, string>> = {
  [HashAlgorithm.Sha1]: 'sha1', [HashAlgorithm.Sha2_256]: 'sha256', [HashAlgorithm.Sha2_384]: 'sha384',
  [HashAlgorithm.Sha2_512]: 'sha512', [HashAlgorithm.Identity]: 'identity',
};

/** Our preference, best first: P-256 pairs with SHA-256 (RFC 5480 §4); RSA takes the strongest. */
const PREFERENCE: Readonly<Record<KeyKind, readonly HashAlgorithm[]>> = {
  'ecdsa-p256': [HashAlgorithm.Sha2_256, HashAlgorithm.Sha2_384, HashAlgorithm.Sha2_512],
  rsa: [HashAlgorithm.Sha2_512, HashAlgorithm.Sha2_384, HashAlgorithm.Sha2_256],
};

const CLASSIC_ECDSA: ReadonlyArray<{ method: AuthMethod; curve: string; hash: HashAlgorithm; half: number }> = [
  { method: AuthMethod.EcdsaSha256P256, curve: 'prime256v1', hash: HashAlgorithm.Sha2_256, half: 32 },
  { method: AuthMethod.EcdsaSha384P384, curve: 'secp384r1', hash: HashAlgorithm.Sha2_384, half: 48 },
  { method: AuthMethod.EcdsaSha512P521, curve: 'secp521r1', hash: HashAlgorithm.Sha2_512, half: 66 },
];

/**
 * Our AUTH payload content. With the peer's SIGNATURE_HASH_ALGORITHMS list
 * (null when it sent none, or when we did not send ours) and a common SHA-2
 * hash: method 14. Otherwise the classic method for our key: 9 for P-256,
 * 1 (SHA-1) for RSA.
 */
export function signAuth(cred: LocalCredential, signedOctets: Uint8Array, peerHashes: readonly HashAlgorithm[] | null): AuthData & { hash: HashAlgorithm } {
  const family: SigFamily = cred.kind === 'rsa' ? 'rsa' : 'ecdsa';
  const hash = peerHashes === null ? undefined : PREFERENCE[cred.kind].find((h) => peerHashes.includes(h));
  if (hash !== undefined) {
    const alg = ALGORITHMS.find((a) => a.family === family && a.hash === hash)!;
    const signature = sign(NODE_HASH[hash], signedOctets, cred.privateKey);
    return { method: AuthMethod.DigitalSignature, hash, data: encodeDigitalSignatureData({ algorithmIdentifier: alg.der!, signature }) };
  }
  if (cred.kind === 'rsa') {
    return { method: AuthMethod.RsaDigitalSignature, hash: HashAlgorithm.Sha1, data: sign('sha1', signedOctets, cred.privateKey) };
  }
  const data = sign('sha256', signedOctets, { key: cred.privateKey, dsaEncoding: 'ieee-p1363' });
  return { method: AuthMethod.EcdsaSha256P256, hash: HashAlgorithm.Sha2_256, data };
}

/** The signature scheme an RFC 7427 AlgorithmIdentifier names, if we implement it. */
export function parseSignatureAlgorithm(der: Uint8Array): { family: SigFamily; hash: HashAlgorithm } {
  const seq = new Reader(parseOne(der, Tag.Sequence, 'AlgorithmIdentifier').value, 'AlgorithmIdentifier');
  const oid = decodeOid(expectTlv(seq, Tag.Oid, 'algorithm').value);
  const params = seq.remaining > 0 ? readTlv(seq) : null;
  if (seq.remaining !== 0) throw new DecodeError('AlgorithmIdentifier: trailing bytes');
  const alg = ALGORITHMS.find((a) => a.oid === oid);
  if (alg === undefined) throw new DecodeError(`unsupported signature algorithm ${UNSUPPORTED_OIDS[oid] ?? oid}`);
  const paramsOk = alg.family === 'ecdsa' ? params === null : params === null || (params.tag === Tag.Null && params.value.length === 0);
  if (!paramsOk) throw new DecodeError(`AlgorithmIdentifier ${oid}: unexpected parameters`);
  return { family: alg.family, hash: alg.hash };
}

function peerKey(certDer: Uint8Array): { key: KeyObject; family: SigFamily | null; curve?: string; bits?: number } {
  const key = new X509Certificate(certDer).publicKey;
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return { key, family: 'rsa', bits: d?.modulusLength ?? 0 };
  if (key.asymmetricKeyType === 'ec') return { key, family: 'ecdsa', curve: d?.namedCurve ?? '?' };
  return { key, family: null };
}

function checkSignature(auth: AuthData, peer: ReturnType<typeof peerKey>, octets: Uint8Array, ourHashes: readonly HashAlgorithm[]): AuthCheck {
  if (peer.family === null) return { ok: false, reason: `peer key type ${peer.key.asymmetricKeyType} is not supported` };
  if (peer.family === 'rsa' && peer.bits! < MIN_RSA_BITS) return { ok: false, reason: `peer RSA key of ${peer.bits} bits is too short` };
  const mismatch = (want: string): AuthCheck => ({ ok: false, reason: `AUTH method ${auth.method} needs ${want}, the certificate holds ${peer.family === 'rsa' ? `RSA-${peer.bits}` : `EC ${peer.curve}`}` });
  let hash: HashAlgorithm;
  let signature = auth.data;
  let dsaEncoding: 'der' | 'ieee-p1363' = 'der';
  if (auth.method === AuthMethod.DigitalSignature) {
    const d = decodeDigitalSignatureData(auth.data);
    const alg = parseSignatureAlgorithm(d.algorithmIdentifier);
    if (!ourHashes.includes(alg.hash)) return { ok: false, reason: `signature hash ${HashAlgorithm[alg.hash]} was not announced by us` };
    if (alg.family !== peer.family) return mismatch(alg.family === 'rsa' ? 'an RSA key' : 'an ECDSA key');
    hash = alg.hash;
    signature = d.signature;
  } else if (auth.method === AuthMethod.RsaDigitalSignature) {
    if (peer.family !== 'rsa') return mismatch('an RSA key');
    hash = HashAlgorithm.Sha1;
  } else {
    const c = CLASSIC_ECDSA.find((x) => x.method === auth.method);
    if (c === undefined) return { ok: false, reason: `AUTH method ${auth.method} is not a signature method we support` };
    if (peer.family !== 'ecdsa' || peer.curve !== c.curve) return mismatch(`an ECDSA ${c.curve} key`);
    if (signature.length !== 2 * c.half) return { ok: false, reason: `ECDSA signature of ${signature.length} bytes, expected ${2 * c.half}` };
    hash = c.hash;
    dsaEncoding = 'ieee-p1363';
  }
  const good = verify(NODE_HASH[hash], octets, { key: peer.key, dsaEncoding }, signature);
  return good ? { ok: true, hash } : { ok: false, reason: 'signature does not verify' };
}

/**
 * Checks the peer's AUTH payload against its (already validated) end-entity
 * certificate. `ourHashes` is what we announced in SIGNATURE_HASH_ALGORITHMS
 * (empty if we sent none); method 14 must use one of them. Never throws.
 */
export function verifyPeerAuth(auth: AuthData, peerCertDer: Uint8Array, signedOctets: Uint8Array, ourHashes: readonly HashAlgorithm[]): AuthCheck {
  try {
    return checkSignature(auth, peerKey(peerCertDer), signedOctets, ourHashes);
  } catch (e) {
    return { ok: false, reason: e instanceof DecodeError ? `malformed AUTH data: ${e.message}` : `cannot verify: ${(e as Error).message}` };
  }
}
