/**
 * IKE_SA_INIT, initiator (RFC 7296 §1.2, §2.6, §1.3 INVALID_KE_PAYLOAD):
 *
 *   HDR(SPIi, 0), [N(COOKIE)], SAi1, KEi, Ni, N(NAT_D)…  -->
 *                                <--  HDR(SPIi, SPIr), SAr1, KEr, Nr, N(NAT_D)…
 *
 * Retries (Message ID 0, SPIr 0, the latest version is the one AUTH signs):
 * - N(COOKIE): same message with the cookie as the first payload, at most
 *   MAX_COOKIE_RETRIES times, then the SA fails with COOKIE.
 * - N(INVALID_KE_PAYLOAD, group): a new KE for the group asked for, if we
 *   proposed it (once per group, so a peer cannot make us loop).
 * The response is not authenticated; the keys it yields are checked by AUTH.
 * One that does not decode or whose KE the group cannot use (DhError) is
 * dropped by the task manager, which keeps waiting for the genuine one.
 */
import { DhId, ExchangeType, NotifyType, PayloadType, ProtocolId, TransformType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import {
  cookieNotify, decodeCookieData, decodeInvalidKeData, decodeSignatureHashAlgorithmsData, signatureHashAlgorithmsNotify,
} from '../../wire/ikev2/payloads/notify-data.ts';
import { SUPPORTED_SIGNATURE_HASHES } from '../cert-auth.ts';
import type { Proposal } from '../../wire/ikev2/payloads/sa.ts';
import { createDh } from '../crypto-adapter.ts';
import { deriveIkeKeys, initialSkeyseed } from '../keymat.ts';
import { errorNotify, findNotify, first, notifyName } from '../notifies.ts';
import { parseProposals } from '../proposal-string.ts';
import type { InboundMessage } from '../session.ts';
import { checkChosen, ikeSuiteOf } from '../suite.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';

export const NONCE_BYTES = 32;
/** IKE_SA_INIT retries with a new COOKIE before giving up (RFC 7296 §2.6 sets no limit; a loop must end). */
export const MAX_COOKIE_RETRIES = 3;

/** The DH group of our first IKE proposal: the KE our IKE_SA_INIT carries (a key pair prepared ahead is of this group). */
export function firstDhGroup(ikeProposals: string | Proposal[]): DhId {
  const proposals = typeof ikeProposals === 'string' ? parseProposals('ike', ikeProposals) : ikeProposals;
  const firstDh = proposals[0]?.transforms.find((t) => t.type === TransformType.DH);
  return (firstDh?.id ?? DhId.Curve25519) as DhId;
}

export class IkeInitTask implements Task {
  readonly name = 'ike-init';
  readonly exchange = ExchangeType.IkeSaInit;
  private readonly proposals: Proposal[];
  private group: DhId;
  private cookie?: Uint8Array;
  private readonly triedGroups = new Set<DhId>();
  private cookieRetries = 0;

  constructor(ikeProposals: string) {
    this.proposals = parseProposals('ike', ikeProposals);
    this.group = firstDhGroup(this.proposals);
    this.triedGroups.add(this.group);
  }

  build(out: Payload[], sa: SaContext): void {
    if (!sa.init.dh || sa.init.dh.group !== this.group) sa.init.dh = createDh(this.group, sa.random);
    if (this.cookie) out.push(cookieNotify(this.cookie));
    out.push({ type: PayloadType.SA, proposals: this.proposals });
    out.push({ type: PayloadType.KE, group: this.group, data: sa.init.dh.publicKey });
    out.push({ type: PayloadType.Nonce, data: sa.init.ni });
    if (sa.config.cert) out.push(signatureHashAlgorithmsNotify([...SUPPORTED_SIGNATURE_HASHES]));
  }

  /**
   * Typed errors (a malformed payload, a KE the group cannot use) propagate:
   * the task manager drops the unauthenticated response and keeps waiting
   * for the genuine one (task-manager.ts, badResponse).
   */
  process(msg: InboundMessage, sa: SaContext): TaskResult {
    return this.processChecked(msg, sa);
  }

  private processChecked(msg: InboundMessage, sa: SaContext): TaskResult {
    const cookie = findNotify(msg.payloads, NotifyType.Cookie);
    if (cookie) {
      if (this.cookieRetries >= MAX_COOKIE_RETRIES) {
        sa.fail('COOKIE', `the gateway demanded a COOKIE ${this.cookieRetries + 1} times in a row; giving up (at most ${MAX_COOKIE_RETRIES} retries)`);
        return 'failed';
      }
      this.cookie = decodeCookieData(cookie.data).slice();
      this.cookieRetries++;
      sa.event({ type: 'log', level: 'info', msg: 'gateway demands a COOKIE; retrying IKE_SA_INIT' });
      return 'retry';
    }
    const err = errorNotify(msg.payloads);
    if (err?.notifyType === NotifyType.InvalidKePayload) return this.retryGroup(decodeInvalidKeData(err.data), sa);
    if (err) {
      sa.fail(notifyName(err.notifyType), `the gateway answered IKE_SA_INIT with ${notifyName(err.notifyType)}`);
      return 'failed';
    }
    const saP = first(msg.payloads, PayloadType.SA);
    const ke = first(msg.payloads, PayloadType.KE);
    const nonce = first(msg.payloads, PayloadType.Nonce);
    if (!saP || !ke || !nonce || !sa.init.dh) {
      sa.fail('INVALID_SYNTAX', 'IKE_SA_INIT response lacks SA, KE or Nonce');
      return 'failed';
    }
    const chosen = checkChosen(this.proposals, saP.proposals);
    const suite = chosen && chosen.protocol === ProtocolId.IKE ? ikeSuiteOf(chosen.transforms) : undefined;
    if (!suite || suite.dh !== ke.group || ke.group !== this.group) {
      sa.fail('NO_PROPOSAL_CHOSEN', 'the gateway chose a proposal or group we did not offer');
      return 'failed';
    }
    const gir = sa.init.dh.sharedSecret(ke.data);
    const s = sa.session;
    s.spiR = msg.header.spiR.slice();
    s.suite = suite;
    sa.init.nr = nonce.data;
    sa.init.responseBytes = msg.raw;
    const hashes = findNotify(msg.payloads, NotifyType.SignatureHashAlgorithms);
    sa.init.peerHashes = hashes ? decodeSignatureHashAlgorithmsData(hashes.data) : null;
    s.keys = deriveIkeKeys(suite, initialSkeyseed(suite, sa.init.ni, nonce.data, gir), sa.init.ni, nonce.data, s.spiI, s.spiR);
    sa.effect({
      type: 'keylog-ike',
      keys: { spiI: s.spiI, spiR: s.spiR, skEi: s.keys.i.encr, skEr: s.keys.r.encr, skAi: s.keys.i.integ, skAr: s.keys.r.integ, suite: suite.cipher },
    });
    return 'done';
  }

  private retryGroup(group: DhId, sa: SaContext): TaskResult {
    const offered = this.proposals.some((p) => p.transforms.some((t) => t.type === TransformType.DH && t.id === group));
    if (!offered || this.triedGroups.has(group)) {
      sa.fail('INVALID_KE_PAYLOAD', `the gateway wants DH group ${group}, which we ${offered ? 'already tried' : 'did not propose'}`);
      return 'failed';
    }
    this.triedGroups.add(group);
    this.group = group;
    sa.event({ type: 'log', level: 'info', msg: `gateway asked for DH group ${group}; retrying IKE_SA_INIT` });
    return 'retry';
  }
}
