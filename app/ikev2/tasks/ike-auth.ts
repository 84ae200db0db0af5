/**
 * IKE_AUTH authentication (RFC 7296 §1.2, §2.15), PSK or certificates:
 *
 *   SK{ IDi, [CERT+], [CERTREQ], [IDr], AUTH, N(INITIAL_CONTACT), [N(MOBIKE_SUPPORTED)], … }  -->
 *                                               <--  SK{ IDr, [CERT+], AUTH, … }
 *
 *   ours:   SignedOctets = IKE_SA_INIT request as sent | Nr | prf(SK_pi, IDi')
 *   theirs: SignedOctets = IKE_SA_INIT response as received | Ni | prf(SK_pr, IDr')
 *   PSK:    AUTH = prf(prf(PSK, "Key Pad for IKEv2"), SignedOctets)
 *   cert:   AUTH = signature (method 14 with a hash both announced, else 1/9),
 *           the gateway's certificate chained to the configured CA and
 *           naming the configured remote ID (app/ikev2/cert-auth.ts)
 *
 * The peer's AUTH is verified (constant time) before ike-config and
 * child-create, which run after this task in the same exchange, act on
 * anything in the message.
 */
import { concatBytes, equalBytes, fromUtf8, utf8 } from '../../base/bytes.ts';
import { isIPv4, ipv4ToBytes } from '../../base/ipv4.ts';
import { AuthMethod, CertEncoding, ExchangeType, IdType, NotifyType, PayloadType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { encodeIdBody } from '../../wire/ikev2/payloads/id.ts';
import type { IdPayload } from '../../wire/ikev2/payloads/id.ts';
import type { AuthPayload } from '../../wire/ikev2/payloads/auth.ts';
import type { CertPayload } from '../../wire/ikev2/payloads/cert.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { SUPPORTED_SIGNATURE_HASHES, certReqFor, idFromString, signAuth, verifyPeerAuth, verifyPeerCertificate } from '../cert-auth.ts';
import type { TrustAnchor } from '../cert-auth.ts';
import { prf, pskAuth } from '../crypto-adapter.ts';
import { errorNotify, findNotify, first, notifyName } from '../notifies.ts';
import type { InboundMessage } from '../session.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';

/** user@host → RFC822_ADDR, dotted quad → IPV4_ADDR, anything else → FQDN. */
export function idFor(id: string, type: PayloadType.IDi | PayloadType.IDr): IdPayload {
  if (isIPv4(id)) return { type, idType: IdType.Ipv4Addr, data: ipv4ToBytes(id) };
  return { type, idType: id.includes('@') ? IdType.Rfc822Addr : IdType.Fqdn, data: utf8(id) };
}

export function idMatches(p: IdPayload, want: string): boolean {
  const expected = idFor(want, p.type);
  return p.idType === expected.idType && equalBytes(p.data, expected.data);
}

export class IkeAuthTask implements Task {
  readonly name = 'ike-auth';
  readonly exchange = ExchangeType.IkeAuth;

  build(out: Payload[], sa: SaContext): void {
    const s = sa.session;
    if (!s.suite || !s.keys || !sa.init.nr || !sa.init.requestBytes) throw new Error('IKE_AUTH before IKE_SA_INIT completed');
    const cert = sa.config.cert;
    const idi: IdPayload = cert ? { type: PayloadType.IDi, ...idFromString(sa.config.localId) } : idFor(sa.config.localId, PayloadType.IDi);
    const signed = concatBytes(sa.init.requestBytes, sa.init.nr, prf(s.suite.prf, s.keys.skPi, encodeIdBody(idi)));
    out.push(idi);
    if (cert) {
      for (const der of [cert.credential.certDer, ...cert.credential.chainDer]) {
        out.push({ type: PayloadType.CERT, encoding: CertEncoding.X509Signature, data: der });
      }
      out.push({ type: PayloadType.CERTREQ, encoding: CertEncoding.X509Signature, authority: certReqFor(cert.anchors) });
      out.push({ type: PayloadType.IDr, ...idFromString(sa.config.remoteId) });
      const a = signAuth(cert.credential, signed, sa.init.peerHashes ?? null);
      out.push({ type: PayloadType.AUTH, method: a.method, data: a.data });
    } else {
      out.push(idFor(sa.config.remoteId, PayloadType.IDr));
      out.push({ type: PayloadType.AUTH, method: AuthMethod.SharedKeyMic, data: pskAuth(s.suite.prf, sa.config.psk, signed) });
    }
    out.push(makeNotify(NotifyType.InitialContact));
    if (sa.config.mobike) out.push(makeNotify(NotifyType.MobikeSupported));
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    const s = sa.session;
    const idr = first(msg.payloads, PayloadType.IDr);
    const auth = first(msg.payloads, PayloadType.AUTH);
    if (!idr || !auth) {
      const err = errorNotify(msg.payloads);
      const code = err ? notifyName(err.notifyType) : 'AUTHENTICATION_FAILED';
      sa.fail(code, err ? `the gateway refused IKE_AUTH: ${code}` : 'IKE_AUTH response without IDr/AUTH');
      return 'failed';
    }
    if (sa.config.cert) return this.processCert(msg, sa, idr, auth);
    if (!idMatches(idr, sa.config.remoteId)) {
      const seen = fromUtf8(idr.data);
      sa.fail('AUTHENTICATION_FAILED', `the gateway identified as ${JSON.stringify(seen)}, not ${JSON.stringify(sa.config.remoteId)}`);
      return 'failed';
    }
    if (auth.method !== AuthMethod.SharedKeyMic || !s.suite || !s.keys || !sa.init.responseBytes) {
      sa.fail('AUTHENTICATION_FAILED', `the gateway used AUTH method ${auth.method}; this profile expects a PSK`);
      return 'failed';
    }
    const signed = concatBytes(sa.init.responseBytes, sa.init.ni, prf(s.suite.prf, s.keys.skPr, encodeIdBody(idr)));
    if (!equalBytes(pskAuth(s.suite.prf, sa.config.psk, signed), auth.data)) {
      sa.fail('AUTHENTICATION_FAILED', 'the gateway\'s AUTH does not verify with our PSK');
      return 'failed';
    }
    sa.peerMobike = findNotify(msg.payloads, NotifyType.MobikeSupported) !== undefined;
    return 'done';
  }

  /** The gateway's certificate (chain, validity, identity), then its signature over its SignedOctets. */
  private processCert(msg: InboundMessage, sa: SaContext, idr: IdPayload, auth: AuthPayload): TaskResult {
    if (!verifyGatewaySignature(msg, sa, sa.config.cert!.anchors, idr, auth)) return 'failed';
    sa.peerMobike = findNotify(msg.payloads, NotifyType.MobikeSupported) !== undefined;
    return 'done';
  }
}

/**
 * The gateway's certificate (chain to `anchors`, validity, the identity it
 * claims in IDr and the one we expect), then its AUTH signature over its
 * SignedOctets. Calls sa.fail and returns false on any problem. Shared by
 * certificate authentication and EAP (tasks/ike-eap.ts).
 */
export function verifyGatewaySignature(msg: InboundMessage, sa: SaContext, anchors: TrustAnchor[], idr: IdPayload, auth: AuthPayload): boolean {
  const s = sa.session;
  const certs = msg.payloads.filter((p): p is CertPayload => p.type === PayloadType.CERT && p.encoding === CertEncoding.X509Signature);
  if (certs.length === 0) {
    sa.fail('AUTHENTICATION_FAILED', 'the gateway sent no X.509 certificate');
    return false;
  }
  const checked = verifyPeerCertificate({
    endEntityDer: certs[0]!.data, intermediatesDer: certs.slice(1).map((c) => c.data), anchors,
    claimedId: { idType: idr.idType, data: idr.data }, remoteId: idFromString(sa.config.remoteId),
    nowMs: sa.now + (sa.config.wallOffsetMs ?? 0),
  });
  if (!checked.ok) {
    sa.fail('AUTHENTICATION_FAILED', checked.reason);
    return false;
  }
  const signed = concatBytes(sa.init.responseBytes!, sa.init.ni, prf(s.suite!.prf, s.keys!.skPr, encodeIdBody(idr)));
  const v = verifyPeerAuth({ method: auth.method, data: auth.data }, certs[0]!.data, signed, [...SUPPORTED_SIGNATURE_HASHES]);
  if (!v.ok) {
    sa.fail('AUTHENTICATION_FAILED', `the gateway's AUTH signature: ${v.reason}`);
    return false;
  }
  return true;
}
