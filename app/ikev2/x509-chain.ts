/**
 * Acceptance of the gateway's certificate (RFC 7296 §3.6, RFC 4945 §3.1,
 * §5.1): before its AUTH signature counts, the end-entity certificate from
 * the first CERT payload must
 *
 *   1. parse and not be a CA (basicConstraints CA:TRUE is refused),
 *   2. be inside its validity period at `nowMs` (an input, not the clock),
 *   3. chain to a configured anchor, directly or through one intermediate
 *      from the further CERT payloads (CA, valid at `nowMs`), every link
 *      checked by issuer name and signature,
 *   4. hold the identity the peer claimed in IDr (x509-identity.ts), and
 *   5. that identity must be the configured remote ID.
 *
 * Any failure is AUTHENTICATION_FAILED with a reason for the log. Never throws.
 */
import { X509Certificate } from 'node:crypto';
import type { TrustAnchor } from './cert-auth.ts';
import { certificateHasId, idToString, idsEqual } from './x509-identity.ts';
import type { IkeIdentity } from './x509-identity.ts';

export interface PeerCertificateInput {
  /** Data of the first CERT payload (X.509 Certificate - Signature, DER). */
  endEntityDer: Uint8Array;
  /** Data of any further CERT payloads. */
  intermediatesDer: readonly Uint8Array[];
  anchors: readonly TrustAnchor[];
  /** The peer's IDr payload (type and data). */
  claimedId: IkeIdentity;
  /** The configured remote ID, e.g. idFromString(profile.vpn.remoteId). */
  remoteId: IkeIdentity;
  /** Wall-clock time, ms since the Unix epoch. */
  nowMs: number;
}

export type PeerCertificateResult =
  | { ok: true; subject: string; altNames: string[]; cert: X509Certificate }
  | { ok: false; code: 'AUTHENTICATION_FAILED'; reason: string };

const fail = (reason: string): PeerCertificateResult => ({ ok: false, code: 'AUTHENTICATION_FAILED', reason });

const oneLine = (dn: string): string => dn.replace(/\n/g, ', ');

function validityProblem(cert: X509Certificate, nowMs: number, what: string): string | null {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) return `${what} has an unreadable validity period`;
  if (nowMs < from) return `${what} ${oneLine(cert.subject)} is not valid before ${cert.validFrom}`;
  if (nowMs > to) return `${what} ${oneLine(cert.subject)} expired ${cert.validTo}`;
  return null;
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** The chain problem, or null when the certificate chains to an anchor. */
function chainProblem(ee: X509Certificate, intermediates: X509Certificate[], input: PeerCertificateInput): string | null {
  const anchors = input.anchors.filter((a) => validityProblem(a.cert, input.nowMs, 'CA') === null);
  if (anchors.some((a) => issuedBy(ee, a.cert))) return null;
  let expiredLink: string | null = null;
  for (const mid of intermediates) {
    if (!mid.ca || !issuedBy(ee, mid) || !anchors.some((a) => issuedBy(mid, a.cert))) continue;
    expiredLink = validityProblem(mid, input.nowMs, 'intermediate CA');
    if (expiredLink === null) return null;
  }
  if (expiredLink !== null) return expiredLink;
  const expiredAnchor = input.anchors.find((a) => !anchors.includes(a) && issuedBy(ee, a.cert));
  if (expiredAnchor !== undefined) return validityProblem(expiredAnchor.cert, input.nowMs, 'CA');
  return `certificate ${oneLine(ee.subject)} (issuer ${oneLine(ee.issuer)}) is not issued by a trusted CA`;
}

function parseAll(input: PeerCertificateInput): { ee: X509Certificate; intermediates: X509Certificate[] } | string {
  try {
    const ee = new X509Certificate(input.endEntityDer);
    return { ee, intermediates: input.intermediatesDer.map((d) => new X509Certificate(d)) };
  } catch (e) {
    return `peer certificate does not parse: ${(e as Error).message}`;
  }
}

function altNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((s) => s !== '');
}

export function verifyPeerCertificate(input: PeerCertificateInput): PeerCertificateResult {
  try {
    const parsed = parseAll(input);
    if (typeof parsed === 'string') return fail(parsed);
    const { ee, intermediates } = parsed;
    if (ee.ca) return fail(`peer certificate ${oneLine(ee.subject)} is a CA certificate, not an end entity`);
    const problem = validityProblem(ee, input.nowMs, 'peer certificate') ?? chainProblem(ee, intermediates, input);
    if (problem !== null) return fail(problem);
    const claimed = idToString(input.claimedId);
    if (!certificateHasId(ee, input.claimedId)) {
      return fail(`peer identity ${claimed} is not in its certificate (subject ${oneLine(ee.subject)}; ${ee.subjectAltName ?? 'no subjectAltName'})`);
    }
    if (!idsEqual(input.claimedId, input.remoteId)) {
      return fail(`peer identity ${claimed} is not the configured remote ID ${idToString(input.remoteId)}`);
    }
    return { ok: true, subject: oneLine(ee.subject), altNames: altNamesOf(ee), cert: ee };
  } catch (e) {
    return fail(`certificate check failed: ${(e as Error).message}`);
  }
}
