/**
 * IKE_AUTH with EAP (RFC 7296 §2.16; EAP-only, RFC 5998), the initiator:
 *
 *   SK{ IDi, [IDr], CERTREQ, [N(EAP_ONLY_AUTHENTICATION)], N(INITIAL_CONTACT),
 *       [N(MOBIKE_SUPPORTED)], SA, TSi, TSr, CP }   -->              (no AUTH: we want EAP)
 *                     <--  SK{ IDr, [CERT+], [AUTH], EAP(Request) }   (AUTH/CERT absent only under EAP-only)
 *   SK{ EAP(Response) }   -->
 *                     <--  SK{ EAP(Request) }          … as many rounds as the method needs
 *                     <--  SK{ EAP(Success) }
 *   SK{ AUTH }            -->                           AUTH = prf(prf(MSK, "Key Pad for IKEv2"), our SignedOctets)
 *                     <--  SK{ AUTH, [N(MOBIKE_SUPPORTED)], SA, TSi, TSr, CP }
 *
 * Verified before anything is used: the gateway's certificate and signature
 * in the first response (as tasks/ike-auth.ts does), the EAP method's own
 * proof (MS-CHAPv2 AuthenticatorResponse), and the final AUTH keyed with the
 * MSK over the gateway's SignedOctets (with the IDr of the first response).
 * Under EAP-only the certificate step is skipped and the method's proof plus
 * the MSK AUTH authenticate the gateway (RFC 5998 §4: mutual methods only).
 *
 * The other IKE_AUTH tasks (mobike, config, child-create) add their payloads
 * to the first request and read the last response: this task answers 'more'
 * until the final AUTH verifies. EAP-TLS: TLS bytes go out as an `eap-tls`
 * effect and the task answers 'wait' until the driver's engine answers with
 * the `eap-tls-output` command (engineResult).
 */
import { concatBytes, equalBytes } from '../../base/bytes.ts';
import { EapPeer } from '../../eap/eap-peer.ts';
import type { EapStep } from '../../eap/eap-peer.ts';
import type { TlsEngineResult } from '../../eap/eap-tls.ts';
import { AuthMethod, CertEncoding, ExchangeType, NotifyType, PayloadType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import type { EapPayload } from '../../wire/ikev2/payloads/eap.ts';
import { encodeIdBody } from '../../wire/ikev2/payloads/id.ts';
import type { IdPayload } from '../../wire/ikev2/payloads/id.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { certReqFor, idFromString, idToString } from '../cert-auth.ts';
import { prf, pskAuth } from '../crypto-adapter.ts';
import { errorNotify, findNotify, first, notifyName } from '../notifies.ts';
import type { InboundMessage } from '../session.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import { idFor, verifyGatewaySignature } from './ike-auth.ts';

type Round = 'first' | 'eap' | 'auth';

export class IkeEapAuthTask implements Task {
  readonly name = 'ike-auth';
  readonly exchange = ExchangeType.IkeAuth;
  private round: Round = 'first';
  private peer?: EapPeer;
  private eapOut?: Uint8Array;
  private msk?: Uint8Array;
  /** prf(SK_pi, IDi') input of our AUTH, fixed by the first request */
  private ourSigned?: Uint8Array;
  /** the IDr of the gateway's first response (its final AUTH covers it) */
  private idr?: IdPayload;

  build(out: Payload[], sa: SaContext): void {
    const s = sa.session;
    const eap = sa.config.eap;
    if (!eap || !s.suite || !s.keys || !sa.init.nr || !sa.init.requestBytes) throw new Error('IKE_AUTH before IKE_SA_INIT completed');
    if (this.round === 'eap') {
      out.push({ type: PayloadType.EAP, message: this.eapOut! } satisfies EapPayload);
      return;
    }
    if (this.round === 'auth') {
      out.push({ type: PayloadType.AUTH, method: AuthMethod.SharedKeyMic, data: pskAuth(s.suite.prf, this.msk!, this.ourSigned!) });
      return;
    }
    this.peer = new EapPeer(eap.method, sa.random);
    const idi = idFor(sa.config.localId, PayloadType.IDi);
    this.ourSigned = concatBytes(sa.init.requestBytes, sa.init.nr, prf(s.suite.prf, s.keys.skPi, encodeIdBody(idi)));
    out.push(idi);
    if (eap.anchors.length > 0) out.push({ type: PayloadType.CERTREQ, encoding: CertEncoding.X509Signature, authority: certReqFor(eap.anchors) });
    out.push({ type: PayloadType.IDr, ...idFromString(sa.config.remoteId) });
    if (eap.eapOnly) out.push(makeNotify(NotifyType.EapOnlyAuthentication));
    out.push(makeNotify(NotifyType.InitialContact));
    if (sa.config.mobike) out.push(makeNotify(NotifyType.MobikeSupported));
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    if (this.round === 'first') {
      const ok = this.processFirst(msg, sa);
      if (!ok) return 'failed';
    } else if (this.round === 'auth') {
      return this.processFinal(msg, sa);
    }
    const eapPayload = first(msg.payloads, PayloadType.EAP);
    if (!eapPayload) {
      const err = errorNotify(msg.payloads);
      const code = err ? notifyName(err.notifyType) : 'AUTHENTICATION_FAILED';
      sa.fail(code, err ? `the gateway ended EAP with ${code}` : 'IKE_AUTH response without an EAP payload during EAP');
      return 'failed';
    }
    return this.afterStep(this.peer!.process(eapPayload.message), sa);
  }

  /** The driver's TLS engine answered (EAP-TLS): its bytes go out in the next IKE_AUTH request. */
  engineResult(r: TlsEngineResult, sa: SaContext): TaskResult {
    if (!this.peer || this.round === 'auth') return 'failed';
    return this.afterStep(this.peer.engineResult(r), sa);
  }

  private afterStep(step: EapStep, sa: SaContext): TaskResult {
    if (step.kind === 'engine') {
      sa.effect({ type: 'eap-tls', input: step.input });
      return 'wait';
    }
    if (step.kind === 'failed') {
      // a log line, not an event type of its own: the engine's snapshot knows a fixed set of event types
      sa.event({ type: 'log', level: 'warn', msg: `${this.peer!.methodName} sign-in failed`, ctx_method: this.peer!.methodName, ctx_code: step.code, ctx_messages: this.peer!.trace });
      sa.fail(step.code, step.message);
      return 'failed';
    }
    if (step.kind === 'success') {
      this.msk = step.msk;
      this.round = 'auth';
      sa.event({ type: 'log', level: 'info', msg: `${this.peer!.methodName} sign-in succeeded`, ctx_method: this.peer!.methodName, ctx_messages: this.peer!.trace });
      return 'more';
    }
    this.eapOut = step.message;
    this.round = 'eap';
    return 'more';
  }

  /** IDr, and the gateway's certificate and signature unless it took up EAP-only. */
  private processFirst(msg: InboundMessage, sa: SaContext): boolean {
    const eap = sa.config.eap!;
    const idr = first(msg.payloads, PayloadType.IDr);
    const auth = first(msg.payloads, PayloadType.AUTH);
    if (!idr || !first(msg.payloads, PayloadType.EAP)) {
      const err = errorNotify(msg.payloads);
      const code = err ? notifyName(err.notifyType) : 'AUTHENTICATION_FAILED';
      sa.fail(code, err
        ? `the gateway refused IKE_AUTH before EAP started: ${code} (does it accept EAP for ${JSON.stringify(sa.config.localId)}?)`
        : 'the gateway answered our EAP request without IDr or EAP: it does not offer EAP here');
      return false;
    }
    this.idr = idr;
    if (!auth) {
      if (!eap.eapOnly) {
        sa.fail('AUTHENTICATION_FAILED', 'the gateway sent no AUTH: it did not authenticate itself (EAP-only was not offered)');
        return false;
      }
      sa.event({ type: 'log', level: 'info', msg: `EAP-only authentication (RFC 5998): the gateway ${idToString(idr)} is authenticated by the EAP method and the MSK` });
      return true;
    }
    if (!verifyGatewaySignature(msg, sa, eap.anchors, idr, auth)) return false;
    return true;
  }

  /** The gateway's AUTH keyed with the MSK (RFC 7296 §2.16), then the rest of IKE_AUTH is processed. */
  private processFinal(msg: InboundMessage, sa: SaContext): TaskResult {
    const s = sa.session;
    const auth = first(msg.payloads, PayloadType.AUTH);
    if (!auth) {
      const err = errorNotify(msg.payloads);
      const code = err ? notifyName(err.notifyType) : 'AUTHENTICATION_FAILED';
      sa.fail(code, err ? `the gateway refused our EAP AUTH: ${code}` : 'the last IKE_AUTH response carries no AUTH');
      return 'failed';
    }
    const signed = concatBytes(sa.init.responseBytes!, sa.init.ni, prf(s.suite!.prf, s.keys!.skPr, encodeIdBody(this.idr!)));
    if (auth.method !== AuthMethod.SharedKeyMic || !equalBytes(pskAuth(s.suite!.prf, this.msk!, signed), auth.data)) {
      sa.fail('EAP_GATEWAY_UNVERIFIED', 'the gateway\'s AUTH does not verify with the EAP MSK');
      return 'failed';
    }
    sa.peerMobike = findNotify(msg.payloads, NotifyType.MobikeSupported) !== undefined;
    return 'done';
  }
}
