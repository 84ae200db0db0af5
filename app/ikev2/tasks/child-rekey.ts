/**
 * Child SA rekeying (RFC 7296 §1.3.3, §2.8), both directions.
 *
 * Gateway-initiated (strongSwan rekeys from its side in the tests):
 *   SK{ N(REKEY_SA, ESP, spi), SA, Ni, [KEi], TSi, TSr }  <--
 *   -->  SK{ SA(our new SPI), Nr, [KEr], TSi, TSr }
 *   SK{ D(ESP, old spi) } <-- --> SK{ D(ESP, our old spi) }   (respondInformational)
 * The new child receives at once; we keep SENDING on the old one until the
 * gateway shows it installed the new one (traffic on it, or its DELETE of the
 * old): our answer may still be in flight. The old one keeps receiving until
 * the DELETE, so no packet in flight is lost either way.
 *
 * Ours (command rekey-child): ChildCreateTask(esp, old) then ChildDeleteTask.
 * Collisions (both sides rekeying the same child at once, RFC 7296 §2.8.1):
 * we answer the gateway's and remember its nonces (peerRekeys); when our own
 * rekey completes, the pair with the lowest nonce is redundant — if that is
 * ours, ChildCreateTask marks it and ChildDeleteTask deletes it instead of
 * the old child (the gateway deletes the old one); if it is the gateway's,
 * we delete the old child and answer the gateway's DELETE of its new one.
 * A gateway rekey of a child our completed rekey replaced (its DELETE not
 * done yet) is answered TEMPORARY_FAILURE; our rekey answered
 * CHILD_SA_NOT_FOUND (the gateway's rekey finished first and deleted the old
 * one, §2.8.1's second sequence) is ignored, and nothing is deleted.
 */
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { createDh, trySharedSecret } from '../crypto-adapter.ts';
import { deriveChildKeys } from '../keymat.ts';
import { findNotify, first } from '../notifies.ts';
import { parseProposals } from '../proposal-string.ts';
import type { InboundMessage, Session } from '../session.ts';
import { espSuiteOf, selectProposal } from '../suite.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import type { ChildSaInfo } from '../types.ts';
import { installChild, newEspSpi, numberToSpi, rangesOf, removeChild, spiToNumber, tsIntersect, tsPayload } from './child-create.ts';
import { NONCE_BYTES } from './ike-init.ts';
import { respondIkeRekey } from './ike-rekey.ts';

/** Responder half of CREATE_CHILD_SA: a Child SA rekey, an IKE SA rekey, or a refusal. */
export function respondCreateChild(msg: InboundMessage, sa: SaContext): Payload[] {
  const saP = first(msg.payloads, PayloadType.SA);
  if (saP?.proposals.some((p) => p.protocol === ProtocolId.IKE)) return respondIkeRekey(msg, sa);
  const rekey = findNotify(msg.payloads, NotifyType.RekeySa);
  const old = rekey && rekey.spi.length === 4 ? sa.children.find((c) => c.spiOut === spiToNumber(rekey.spi)) : undefined;
  if (!old) return [makeNotify(rekey ? NotifyType.ChildSaNotFound : NotifyType.NoAdditionalSas)];
  // we rekeyed this one already and are deleting it: the gateway did not see our rekey in time (§2.8.1, as §2.8.2 for IKE SAs)
  if (sa.replacedChildren.has(old)) return [makeNotify(NotifyType.TemporaryFailure)];
  const nonce = first(msg.payloads, PayloadType.Nonce);
  const chosen = saP ? selectProposal(parseProposals('esp', sa.config.esp), saP.proposals, ProtocolId.ESP) : undefined;
  const suite = chosen ? espSuiteOf(chosen.transforms) : undefined;
  if (!nonce || !chosen || !suite || chosen.spi.length !== 4) return [makeNotify(NotifyType.NoProposalChosen)];
  const ke = first(msg.payloads, PayloadType.KE);
  if (suite.dh !== undefined && ke?.group !== suite.dh) {
    const data = Uint8Array.of(suite.dh >> 8, suite.dh & 255);
    return [makeNotify(NotifyType.InvalidKePayload, data)];
  }
  const spiIn = newEspSpi(sa);
  const nr = sa.random(NONCE_BYTES);
  const out: Payload[] = [{ type: PayloadType.SA, proposals: [{ ...chosen, spi: spiIn }] }, { type: PayloadType.Nonce, data: nr }];
  let gir: Uint8Array | undefined;
  if (suite.dh !== undefined && ke) {
    const dh = createDh(suite.dh, sa.random);
    const shared = trySharedSecret(dh, ke.data);
    if (!shared.ok) {
      // a KE of the right group but an unusable value: refuse this rekey, keep the old child (as strongSwan does)
      sa.event({ type: 'log', level: 'warn', msg: `refused the gateway's Child SA rekey: its KE is unusable (${shared.error.message})` });
      return [makeNotify(NotifyType.NoProposalChosen)];
    }
    gir = shared.gir;
    out.push({ type: PayloadType.KE, group: suite.dh, data: dh.publicKey });
  }
  const keys = deriveChildKeys(sa.session.suite!.prf, sa.session.keys!.skD, suite.cipher, nonce.data, nr, gir);
  // the gateway's TSi is its side, its TSr ours
  const theirTs = rangesOf(first(msg.payloads, PayloadType.TSi));
  const ourTs = rangesOf(first(msg.payloads, PayloadType.TSr));
  // a rekey never widens the child: narrow to the old one's selectors (RFC 7296 §2.9, the responder may narrow)
  const localTs = ourTs.length ? tsIntersect(ourTs, old.localTs) : old.localTs;
  const remoteTs = theirTs.length ? tsIntersect(theirTs, old.remoteTs) : old.remoteTs;
  if (localTs.length === 0 || remoteTs.length === 0) {
    sa.event({ type: 'log', level: 'warn', msg: `refused the gateway's Child SA rekey: its selectors do not overlap the old child's` });
    return [makeNotify(NotifyType.TsUnacceptable)];
  }
  const child: ChildSaInfo = {
    spiIn: spiToNumber(spiIn), spiOut: spiToNumber(chosen.spi), suite: suite.cipher, suiteName: suite.name,
    keysIn: keys.i, keysOut: keys.r, localTs, remoteTs,
  };
  out.push(tsPayload(PayloadType.TSi, child.remoteTs), tsPayload(PayloadType.TSr, child.localTs));
  installChild(sa, child, old, { delayOutbound: true });
  sa.peerRekeys.set(old.spiIn, { child, nonces: [nonce.data, nr] });
  return out;
}

/** memcmp order, shorter first on a common prefix (as strongSwan compares nonces). */
export function compareNonces(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Simultaneous rekeys of one Child SA (RFC 7296 §2.8.1): "the SA created with
 * the lowest of the four nonces used in the two exchanges SHOULD be closed by
 * the endpoint that created it". True when that is the SA WE created.
 */
export function oursIsRedundant(ours: Uint8Array[], theirs: Uint8Array[]): boolean {
  const lowest = [...ours, ...theirs].reduce((a, b) => (compareNonces(a, b) <= 0 ? a : b));
  return ours.includes(lowest);
}

/** INFORMATIONAL{ D(ESP, our old inbound SPI) } after our own rekey. */
export class ChildDeleteTask implements Task {
  readonly name = 'child-delete';
  readonly exchange = ExchangeType.Informational;

  /**
   * replacedBy: the rekey's create task; nothing is deleted unless it
   * installed the new child, and after a collision we lost, the redundant
   * new child is deleted instead of the old one (the peer deletes that).
   */
  constructor(private readonly old: ChildSaInfo, private readonly replacedBy?: { succeeded: boolean; redundant?: ChildSaInfo; orphan?: number }) {}

  private target(sa: SaContext): ChildSaInfo | undefined {
    if (this.replacedBy && !this.replacedBy.succeeded) return undefined;
    const c = this.replacedBy?.redundant ?? this.old;
    return sa.children.includes(c) ? c : undefined;
  }

  /** Nothing to delete (our rekey was refused or lost to the gateway's): no exchange at all. */
  session(sa: SaContext): Session | undefined {
    return this.target(sa) || this.replacedBy?.orphan !== undefined ? sa.session : undefined;
  }

  build(out: Payload[], sa: SaContext): void {
    const c = this.target(sa);
    const orphan = this.replacedBy?.orphan;
    if (c) out.push({ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [numberToSpi(c.spiIn)] });
    else if (orphan !== undefined) out.push({ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [numberToSpi(orphan)] });
  }

  process(_msg: InboundMessage, sa: SaContext): TaskResult {
    const c = this.target(sa);
    if (c) removeChild(sa, c);
    return 'done';
  }
}
