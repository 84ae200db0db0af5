import { X509Certificate, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reader, bytesToHex, concatBytes, hexToBytes, utf8 } from '../../../app/base/bytes.ts';
import {
  CredentialError, SUPPORTED_SIGNATURE_HASHES, certReqFor, idFromString, idToString, idsEqual, loadLocalCredential,
  loadTrustAnchor, parseSignatureAlgorithm, signAuth, verifyPeerAuth, verifyPeerCertificate,
} from '../../../app/ikev2/cert-auth.ts';
import type { AuthData, LocalCredential, TrustAnchor } from '../../../app/ikev2/cert-auth.ts';
import { Tag, certificateSubjectDer, decodeDn, encodeDn, expectTlv, parseOne } from '../../../app/ikev2/x509-der.ts';
import { AuthMethod, HashAlgorithm, IdType } from '../../../app/wire/ikev2/constants.ts';
import { decodeDigitalSignatureData } from '../../../app/wire/ikev2/payloads/auth.ts';
import { SUBJECT_PREFIX, extraKey, makeTestPki } from './fixtures/pki.ts';
import type { Entity, EntityName, TestPki } from './fixtures/pki.ts';

const DAY = 86_400_000;
let pki: TestPki;
let anchor: TrustAnchor;
let fileNo = 0;

beforeAll(() => {
  pki = makeTestPki();
  anchor = loadTrustAnchor(pki.ca.certPem);
}, 120_000);
afterAll(() => pki?.cleanup());

const cred = (e: Entity): LocalCredential => loadLocalCredential({ certPem: e.certPem, keyPem: e.keyPem });
const der = (e: Entity): Uint8Array => new Uint8Array(new X509Certificate(e.certPem).raw);
const octets = (): Uint8Array => new Uint8Array(randomBytes(200 + Math.floor(Math.random() * 200)));

/** Writes bytes into the PKI directory; returns the file name. */
function put(bytes: Uint8Array): string {
  const name = `blob-${fileNo++}.bin`;
  writeFileSync(join(pki.dir, name), bytes);
  return name;
}

/** r ‖ s (IEEE P1363) → DER Ecdsa-Sig-Value, for openssl. */
function p1363ToDer(sig: Uint8Array): Uint8Array {
  const int = (x: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0) i++;
    const v = x.subarray(i);
    const body = v[0]! & 0x80 ? concatBytes(Uint8Array.of(0), v) : v;
    return concatBytes(Uint8Array.of(0x02, body.length), body);
  };
  const half = sig.length / 2;
  const seq = concatBytes(int(sig.subarray(0, half)), int(sig.subarray(half)));
  return concatBytes(Uint8Array.of(0x30, seq.length), seq);
}

/** DER Ecdsa-Sig-Value → r ‖ s, each left-padded to `half` bytes. */
function derToP1363(sig: Uint8Array, half: number): Uint8Array {
  const r = new Reader(parseOne(sig, Tag.Sequence, 'Ecdsa-Sig-Value').value);
  const pad = (x: Uint8Array): Uint8Array => {
    const v = x[0] === 0 ? x.subarray(1) : x;
    return concatBytes(new Uint8Array(half - v.length), v);
  };
  return concatBytes(pad(expectTlv(r, Tag.Integer, 'r').value), pad(expectTlv(r, Tag.Integer, 's').value));
}

/** `openssl dgst -<hash> -verify pub.pem -signature sig data`: true when openssl says "Verified OK". */
function opensslVerifies(e: Entity, hash: string, data: Uint8Array, sigDer: Uint8Array): boolean {
  const pub = `pub-${fileNo++}.pem`;
  pki.openssl(['x509', '-in', e.certPath, '-pubkey', '-noout', '-out', pub]);
  try {
    return pki.openssl(['dgst', `-${hash}`, '-verify', pub, '-signature', put(sigDer), put(data)]).toString().includes('Verified OK');
  } catch {
    return false;
  }
}

function opensslSign(e: Entity, hash: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(pki.openssl(['dgst', `-${hash}`, '-sign', e.keyPath, put(data)]));
}

/** The signatureAlgorithm AlgorithmIdentifier of a certificate, as openssl encoded it. */
function certSignatureAlgorithm(certDer: Uint8Array): Uint8Array {
  const r = new Reader(parseOne(certDer, Tag.Sequence, 'Certificate').value);
  expectTlv(r, Tag.Sequence, 'tbs');
  return expectTlv(r, Tag.Sequence, 'signatureAlgorithm').whole;
}

describe('credentials', () => {
  it('loads ECDSA P-256 and RSA-2048 credentials with their DER certificate and subject', () => {
    const ec = cred(pki.ee.clientEc);
    expect(ec.kind).toBe('ecdsa-p256');
    expect(bytesToHex(ec.certDer)).toBe(bytesToHex(der(pki.ee.clientEc)));
    expect(decodeDn(ec.subjectDer).at(-1)).toEqual({ oid: '2.5.4.3', value: 'mn@example' });
    expect(cred(pki.ee.clientRsa).kind).toBe('rsa');
  });

  it('keeps further certificates of the PEM bundle as the chain to send', () => {
    const c = loadLocalCredential({ certPem: pki.ee.gwViaInter.certPem + pki.inter.certPem, keyPem: pki.ee.gwViaInter.keyPem });
    expect(c.chainDer.map(bytesToHex)).toEqual([bytesToHex(der(pki.inter))]);
  });

  it.each<[string, () => { certPem: string; keyPem: string }, RegExp]>([
    ['key of another certificate', () => ({ certPem: pki.ee.clientEc.certPem, keyPem: pki.ee.gwEc.keyPem }), /does not match the certificate/],
    ['certificate not PEM', () => ({ certPem: 'hello', keyPem: pki.ee.gwEc.keyPem }), /not PEM/],
    ['key not PEM', () => ({ certPem: pki.ee.gwEc.certPem, keyPem: 'MIIB' }), /private key is not PEM/],
    ['P-384 key', () => ({ certPem: pki.ee.gwP384.certPem, keyPem: pki.ee.gwP384.keyPem }), /secp384r1 \(only P-256/],
    ['RSA-1024 key', () => ({ certPem: pki.ee.gwRsa.certPem, keyPem: extraKey(pki, 'rsa1024', 'rsa1024') }), /RSA-1024/],
    ['garbled certificate', () => ({ certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', keyPem: pki.ee.gwEc.keyPem }), /does not parse/],
  ])('refuses a %s with a CredentialError that says so', (_name, make, message) => {
    const input = make();
    expect(() => loadLocalCredential(input)).toThrow(CredentialError);
    expect(() => loadLocalCredential(input)).toThrow(message);
  });

  it('refuses an encrypted key and a non-CA trust anchor', () => {
    const enc = pki.openssl(['pkey', '-in', pki.ee.gwEc.keyPath, '-aes256', '-passout', 'pass:x']).toString();
    expect(() => loadLocalCredential({ certPem: pki.ee.gwEc.certPem, keyPem: enc })).toThrow(/encrypted/);
    expect(() => loadTrustAnchor(pki.ee.gwEc.certPem)).toThrow(/CA:TRUE/);
  });

  it('CERTREQ data is the SHA-1 of each anchor\'s SubjectPublicKeyInfo, as openssl computes it', () => {
    const spki = (e: Entity): Uint8Array =>
      new Uint8Array(pki.openssl(['pkey', '-pubin', '-outform', 'DER'], new Uint8Array(pki.openssl(['x509', '-in', e.certPath, '-pubkey', '-noout']))));
    const sha1 = (b: Uint8Array): string => /([0-9a-f]{40})\s*$/.exec(pki.openssl(['dgst', '-sha1'], b).toString())![1]!;
    const rogue = loadTrustAnchor(pki.rogueCa.certPem);
    const req = certReqFor([anchor, rogue]);
    expect(req.length).toBe(40);
    expect(bytesToHex(req)).toBe(sha1(spki(pki.ca)) + sha1(spki(pki.rogueCa)));
  });
});

describe('signAuth / verifyPeerAuth', () => {
  const cases: Array<[EntityName, HashAlgorithm[] | null, AuthMethod, HashAlgorithm]> = [
    ['clientEc', null, AuthMethod.EcdsaSha256P256, HashAlgorithm.Sha2_256],
    ['clientEc', [...SUPPORTED_SIGNATURE_HASHES], AuthMethod.DigitalSignature, HashAlgorithm.Sha2_256],
    ['clientEc', [HashAlgorithm.Sha2_384], AuthMethod.DigitalSignature, HashAlgorithm.Sha2_384],
    ['clientEc', [HashAlgorithm.Sha2_512, HashAlgorithm.Sha1], AuthMethod.DigitalSignature, HashAlgorithm.Sha2_512],
    ['clientEc', [HashAlgorithm.Sha1], AuthMethod.EcdsaSha256P256, HashAlgorithm.Sha2_256],
    ['clientRsa', null, AuthMethod.RsaDigitalSignature, HashAlgorithm.Sha1],
    ['clientRsa', [...SUPPORTED_SIGNATURE_HASHES], AuthMethod.DigitalSignature, HashAlgorithm.Sha2_512],
    ['clientRsa', [HashAlgorithm.Sha2_256], AuthMethod.DigitalSignature, HashAlgorithm.Sha2_256],
    ['clientRsa', [HashAlgorithm.Sha2_384, HashAlgorithm.Identity], AuthMethod.DigitalSignature, HashAlgorithm.Sha2_384],
  ];
  const opensslHash: Record<number, string> = { 1: 'sha1', 2: 'sha256', 3: 'sha384', 4: 'sha512' };

  it.each(cases)('%s, peer hashes %j → method %i with hash %i; we, and openssl, verify it', (name, peerHashes, method, hash) => {
    const e = pki.ee[name];
    const signed = octets();
    const auth = signAuth(cred(e), signed, peerHashes);
    expect(auth.method).toBe(method);
    expect(auth.hash).toBe(hash);
    expect(verifyPeerAuth(auth, der(e), signed, SUPPORTED_SIGNATURE_HASHES)).toEqual({ ok: true, hash });

    let sigDer = auth.data;
    if (method === AuthMethod.DigitalSignature) {
      const d = decodeDigitalSignatureData(auth.data);
      expect(parseSignatureAlgorithm(d.algorithmIdentifier)).toEqual({ family: name === 'clientEc' ? 'ecdsa' : 'rsa', hash });
      sigDer = d.signature;
    } else if (method === AuthMethod.EcdsaSha256P256) {
      expect(auth.data.length).toBe(64);
      sigDer = p1363ToDer(auth.data);
    } else {
      expect(auth.data.length).toBe(256);
    }
    expect(opensslVerifies(e, opensslHash[hash]!, signed, sigDer)).toBe(true);
    // a signature over different octets fails, with us and with openssl
    const other = concatBytes(signed, Uint8Array.of(0));
    expect(verifyPeerAuth(auth, der(e), other, SUPPORTED_SIGNATURE_HASHES)).toEqual({ ok: false, reason: 'signature does not verify' });
    expect(opensslVerifies(e, opensslHash[hash]!, other, sigDer)).toBe(false);
  });

  it('the AlgorithmIdentifiers we send are the bytes openssl puts in certificates signed that way', () => {
    for (const [e, family] of [[pki.ee.gwEc, 'ecdsa'], [pki.ee.gwRsa, 'rsa']] as const) {
      for (const hash of SUPPORTED_SIGNATURE_HASHES) {
        const self = pki.openssl(['req', '-x509', '-new', '-key', e.keyPath, `-${opensslHash[hash]!}`, '-subj', '/CN=x', '-days', '1', '-outform', 'DER']);
        const ours = decodeDigitalSignatureData(signAuth(cred(e), octets(), [hash]).data).algorithmIdentifier;
        expect(bytesToHex(ours), `${family} ${opensslHash[hash]}`).toBe(bytesToHex(certSignatureAlgorithm(new Uint8Array(self))));
      }
    }
  });

  it('verifies signatures openssl made: methods 1, 9, 10 and 14 (DER ECDSA, PKCS#1 RSA)', () => {
    const signed = octets();
    const ecDer = opensslSign(pki.ee.gwEc, 'sha256', signed);
    const p1363 = derToP1363(ecDer, 32);
    const p384 = derToP1363(opensslSign(pki.ee.gwP384, 'sha384', signed), 48);
    const rsa1 = opensslSign(pki.ee.gwRsa, 'sha1', signed);
    const rsa384 = opensslSign(pki.ee.gwRsa, 'sha384', signed);
    const m14 = (alg: string, sig: Uint8Array): AuthData => ({ method: AuthMethod.DigitalSignature, data: concatBytes(Uint8Array.of(alg.length / 2), hexToBytes(alg), sig) });
    const ok = (a: AuthData, e: Entity): boolean => verifyPeerAuth(a, der(e), signed, SUPPORTED_SIGNATURE_HASHES).ok;
    expect(ok(m14('300a06082a8648ce3d040302', ecDer), pki.ee.gwEc)).toBe(true);
    expect(ok({ method: AuthMethod.EcdsaSha256P256, data: p1363 }, pki.ee.gwEc)).toBe(true);
    expect(ok({ method: AuthMethod.EcdsaSha384P384, data: p384 }, pki.ee.gwP384)).toBe(true);
    expect(ok({ method: AuthMethod.RsaDigitalSignature, data: rsa1 }, pki.ee.gwRsa)).toBe(true);
    expect(ok(m14('300d06092a864886f70d01010c0500', rsa384), pki.ee.gwRsa)).toBe(true);
    // RSA AlgorithmIdentifier without the NULL parameters is accepted too
    expect(ok(m14('300b06092a864886f70d01010c', rsa384), pki.ee.gwRsa)).toBe(true);
    // …but the hash must be one we announced
    const r = verifyPeerAuth(m14('300d06092a864886f70d01010c0500', rsa384), der(pki.ee.gwRsa), signed, [HashAlgorithm.Sha2_256]);
    expect(r).toEqual({ ok: false, reason: 'signature hash Sha2_384 was not announced by us' });
  });

  it('refuses a method that does not fit the certificate\'s key', () => {
    const signed = octets();
    const ec = signAuth(cred(pki.ee.gwEc), signed, null);
    const ec14 = signAuth(cred(pki.ee.gwEc), signed, [HashAlgorithm.Sha2_256]);
    const rsa = signAuth(cred(pki.ee.gwRsa), signed, null);
    const check = (a: AuthData, e: Entity): string => {
      const r = verifyPeerAuth(a, der(e), signed, SUPPORTED_SIGNATURE_HASHES);
      return r.ok ? 'ok' : r.reason;
    };
    expect(check(ec, pki.ee.gwRsa)).toMatch(/method 9 needs an ECDSA prime256v1 key, the certificate holds RSA-2048/);
    expect(check(ec, pki.ee.gwP384)).toMatch(/method 9 needs an ECDSA prime256v1 key/);
    expect(check({ method: AuthMethod.EcdsaSha384P384, data: ec.data }, pki.ee.gwEc)).toMatch(/secp384r1/);
    expect(check({ method: AuthMethod.RsaDigitalSignature, data: ec.data }, pki.ee.gwEc)).toMatch(/needs an RSA key/);
    expect(check(rsa, pki.ee.gwEc)).toMatch(/needs an RSA key/);
    expect(check(ec14, pki.ee.gwRsa)).toMatch(/method 14 needs an ECDSA key/);
    expect(check({ method: AuthMethod.SharedKeyMic, data: ec.data }, pki.ee.gwEc)).toMatch(/not a signature method/);
    expect(check({ method: AuthMethod.EcdsaSha256P256, data: ec.data.subarray(1) }, pki.ee.gwEc)).toMatch(/63 bytes, expected 64/);
  });

  it.each<[string, string]>([
    ['empty', ''],
    ['ASN.1 length only', '0c'],
    ['ASN.1 length past the end', '0c300a06082a8648ce3d04'],
    ['zero ASN.1 length', '00300a06082a8648ce3d040302aabb'],
    ['not a SEQUENCE', '0a310a06082a8648ce3d040302aabb'],
    ['unknown OID 1.2.3.4', '07300506032a0304aabb'],
    ['RSASSA-PSS', '0d300b06092a864886f70d01010aaabb'],
    ['ECDSA with NULL parameters', '0c300c06082a8648ce3d0403020500aabb'],
    ['trailing bytes in the AlgorithmIdentifier', '0d300b06082a8648ce3d04030200aabb'],
    ['non-minimal DER length', '0d30810a06082a8648ce3d040302aabb'],
  ])('malformed method 14 data (%s) fails cleanly', (_name, hex) => {
    const r = verifyPeerAuth({ method: AuthMethod.DigitalSignature, data: hexToBytes(hex) }, der(pki.ee.gwEc), octets(), SUPPORTED_SIGNATURE_HASHES);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/malformed AUTH data/);
  });

  it('never throws on random AUTH data or a garbage certificate', () => {
    const cert = der(pki.ee.gwEc);
    for (let i = 0; i < 300; i++) {
      const method = [1, 9, 10, 11, 14][i % 5] as AuthMethod;
      const data = new Uint8Array(randomBytes(i % 150));
      if (method === AuthMethod.DigitalSignature && data.length > 13) data.set(hexToBytes('0c300a06082a8648ce3d040302'));
      expect(verifyPeerAuth({ method, data }, cert, octets(), SUPPORTED_SIGNATURE_HASHES).ok).toBe(false);
    }
    const r = verifyPeerAuth({ method: AuthMethod.EcdsaSha256P256, data: new Uint8Array(64) }, new Uint8Array(randomBytes(100)), octets(), []);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^cannot verify/);
  });
});

describe('idFromString and identities', () => {
  it.each<[string, IdType, string]>([
    ['gw.example', IdType.Fqdn, bytesToHex(utf8('gw.example'))],
    ['@gw.example', IdType.Fqdn, bytesToHex(utf8('gw.example'))],
    ['mn@example', IdType.Rfc822Addr, bytesToHex(utf8('mn@example'))],
    ['192.0.2.1', IdType.Ipv4Addr, 'c0000201'],
    ['fqdn:192.0.2.1', IdType.Fqdn, bytesToHex(utf8('192.0.2.1'))],
    ['email:x.example', IdType.Rfc822Addr, bytesToHex(utf8('x.example'))],
    ['C=CH, O=Lab, CN=gw', IdType.DerAsn1Dn, bytesToHex(encodeDn([{ oid: '2.5.4.6', value: 'CH' }, { oid: '2.5.4.10', value: 'Lab' }, { oid: '2.5.4.3', value: 'gw' }]))],
  ])('%s → type %i', (s, idType, hex) => {
    const id = idFromString(s);
    expect(id.idType).toBe(idType);
    expect(bytesToHex(id.data)).toBe(hex);
  });

  it('a DN string is encoded the way openssl encodes the same subject', () => {
    const subj = certificateSubjectDer(der(pki.ee.gwEc));
    const ours = idFromString('C=CH, O=Homeward Test, CN=gw.example').data;
    expect(bytesToHex(ours)).toBe(bytesToHex(subj));
    expect(idToString({ idType: IdType.DerAsn1Dn, data: subj })).toBe('C=CH, O=Homeward Test, CN=gw.example');
    expect(idsEqual(idFromString('/C=CH/O=homeward test/CN=GW.example'), { idType: IdType.DerAsn1Dn, data: subj })).toBe(true);
  });

  it('rejects malformed configured identities', () => {
    expect(() => idFromString('')).toThrow(RangeError);
    expect(() => idFromString('ipv4:300.1.1.1')).toThrow(/not an IPv4/);
    expect(() => idFromString('asn1dn:XX=1')).toThrow(/distinguished name/);
  });

  it('compares FQDNs case-insensitively, kinds strictly, malformed DNs as unequal', () => {
    expect(idsEqual(idFromString('GW.Example'), idFromString('gw.example'))).toBe(true);
    expect(idsEqual(idFromString('gw.example'), idFromString('email:gw.example'))).toBe(false);
    expect(idsEqual({ idType: IdType.DerAsn1Dn, data: hexToBytes('3005') }, idFromString('CN=x'))).toBe(false);
    expect(idToString({ idType: IdType.DerAsn1Dn, data: hexToBytes('3005') })).toMatch(/malformed/);
  });
});

describe('verifyPeerCertificate', () => {
  const now = (): number => Date.parse(new X509Certificate(pki.ee.gwEc.certPem).validFrom) + DAY / 2;
  const check = (e: Entity, opts: { claimed?: string; remote?: string; nowMs?: number; inter?: Entity[]; anchors?: TrustAnchor[] } = {}) =>
    verifyPeerCertificate({
      endEntityDer: der(e), intermediatesDer: (opts.inter ?? []).map(der), anchors: opts.anchors ?? [anchor],
      claimedId: idFromString(opts.claimed ?? 'gw.example'), remoteId: idFromString(opts.remote ?? 'gw.example'), nowMs: opts.nowMs ?? now(),
    });
  const reason = (r: ReturnType<typeof check>): string => (r.ok ? 'ok' : `${r.code}: ${r.reason}`);

  it('accepts the gateway certificate from the configured CA (ECDSA and RSA)', () => {
    const r = check(pki.ee.gwEc);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.subject).toBe('C=CH, O=Homeward Test, CN=gw.example');
      expect(r.altNames).toEqual(['DNS:gw.example', 'IP Address:192.0.2.1']);
    }
    expect(reason(check(pki.ee.gwRsa))).toBe('ok');
  });

  it('accepts IPv4, DN and RFC822 identities the certificate holds', () => {
    expect(reason(check(pki.ee.gwEc, { claimed: '192.0.2.1', remote: '192.0.2.1' }))).toBe('ok');
    const dn = `${SUBJECT_PREFIX}/CN=gw.example`;
    expect(reason(check(pki.ee.gwEc, { claimed: dn, remote: 'C=CH, O=Homeward Test, CN=gw.example' }))).toBe('ok');
    expect(reason(check(pki.ee.clientEc, { claimed: 'mn@example', remote: 'mn@example' }))).toBe('ok');
  });

  it('follows one intermediate CA sent in CERT payloads, and fails without it', () => {
    expect(reason(check(pki.ee.gwViaInter, { inter: [pki.inter] }))).toBe('ok');
    expect(reason(check(pki.ee.gwViaInter))).toMatch(/^AUTHENTICATION_FAILED: .*issuer .*Test Intermediate.* is not issued by a trusted CA/);
  });

  it.each<[string, () => ReturnType<typeof check>, RegExp]>([
    ['an untrusted CA', () => check(pki.ee.rogueGw), /issuer C=CH, O=Homeward Test, CN=Rogue CA\) is not issued by a trusted CA/],
    ['the rogue CA passed as an intermediate', () => check(pki.ee.rogueGw, { inter: [pki.rogueCa] }), /not issued by a trusted CA/],
    ['an expired certificate', () => check(pki.ee.expired, { nowMs: now() + 3 * DAY }), /peer certificate .* expired/],
    ['a certificate not valid yet', () => check(pki.ee.gwEc, { nowMs: now() - 2 * DAY }), /is not valid before/],
    ['an expired CA', () => check(pki.ee.outlivesCa, { nowMs: now() + 35 * DAY }), /^CA C=CH, O=Homeward Test, CN=Test CA expired/],
    ['a CA-flagged end entity', () => check(pki.ee.caFlagged), /is a CA certificate, not an end entity/],
    ['a claimed identity the certificate lacks', () => check(pki.ee.gwEc, { claimed: 'other.example', remote: 'other.example' }), /other.example is not in its certificate/],
    ['a certificate for gw.example when other.example is configured', () => check(pki.ee.gwEc, { remote: 'other.example' }), /not the configured remote ID other.example/],
    ['a CN-only match (no SAN for it)', () => check(pki.ee.clientEc, { claimed: 'fqdn:mn@example', remote: 'fqdn:mn@example' }), /not in its certificate/],
    ['an IP the certificate lacks', () => check(pki.ee.gwEc, { claimed: '192.0.2.2', remote: '192.0.2.2' }), /not in its certificate/],
    ['a different DN', () => check(pki.ee.gwEc, { claimed: 'C=CH, O=Other, CN=gw.example', remote: 'C=CH, O=Other, CN=gw.example' }), /not in its certificate/],
  ])('rejects %s with AUTHENTICATION_FAILED', (_name, run, message) => {
    const r = run();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('AUTHENTICATION_FAILED');
      expect(r.reason).toMatch(message);
    }
  });

  it('a gateway certificate expired by one day is still rejected with the current time as input', () => {
    const validTo = Date.parse(new X509Certificate(pki.ee.expired.certPem).validTo);
    expect(reason(check(pki.ee.expired, { nowMs: validTo - 1000 }))).toBe('ok');
    expect(reason(check(pki.ee.expired, { nowMs: validTo + 1000 }))).toMatch(/expired/);
  });

  it('rejects garbage certificates without throwing', () => {
    const r = verifyPeerCertificate({
      endEntityDer: new Uint8Array(randomBytes(64)), intermediatesDer: [], anchors: [anchor],
      claimedId: idFromString('gw.example'), remoteId: idFromString('gw.example'), nowMs: now(),
    });
    expect(reason(r)).toMatch(/^AUTHENTICATION_FAILED: peer certificate does not parse/);
  });
});
