/**
 * IKE SA rekeying from the gateway's side (RFC 7296 §1.3.2, §2.18):
 *
 *   SK{ SA(IKE, new SPIi), Ni, KEi }  <--
 *   -->  SK{ SA(IKE, our new SPIr), Nr, KEr }
 *   SK{ D(IKE) } on the OLD SA  <--  -->  SK{}
 *
 *   SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr), keys as for a new SA
 *   with the new SPIs; the rekeying peer is the new SA's original initiator,
 *   Message IDs restart at 0, the Child SAs move over.
 *
 * Ours (command rekey-ike), the mirror image, then the old SA's DELETE:
 *   SK{ SA(IKE, our new SPIi), Ni, KEi }  -->  <--  SK{ SA(IKE, SPIr), Nr, KEr }
 *   SK{ D(IKE) } on the OLD SA  -->  <--  SK{}
 * Collisions (both peers rekeying at once, §2.8.1) are not resolved by
 * nonce comparison yet: we would end with two IKE SAs until one is deleted.
 */
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { bytesToHex } from '../../base/bytes.ts';
import { createDh, trySharedSecret } from '../crypto-adapter.ts';
import { deriveIkeKeys, rekeySkeyseed } from '../keymat.ts';
import { errorNotify, first, notifyName } from '../notifies.ts';
import { parseProposals } from '../proposal-string.ts';
import type { InboundMessage } from '../session.ts';
import { newSession } from '../session.ts';
import { checkChosen, ikeSuiteOf, selectProposal } from '../suite.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import type { DhKey } from '../crypto-adapter.ts';
import type { Proposal } from '../../wire/ikev2/payloads/sa.ts';
import { NONCE_BYTES } from './ike-init.ts';

export function respondIkeRekey(msg: InboundMessage, sa: SaContext): Payload[] {
  const saP = first(msg.payloads, PayloadType.SA)!;
  const nonce = first(msg.payloads, PayloadType.Nonce);
  const ke = first(msg.payloads, PayloadType.KE);
  const chosen = selectProposal(parseProposals('ike', sa.config.ike), saP.proposals, ProtocolId.IKE);
  const suite = chosen ? ikeSuiteOf(chosen.transforms) : undefined;
  if (!nonce || !ke || !chosen || !suite || chosen.spi.length !== 8) return [makeNotify(NotifyType.NoProposalChosen)];
  if (ke.group !== suite.dh) return [makeNotify(NotifyType.InvalidKePayload, Uint8Array.of(suite.dh >> 8, suite.dh & 255))];
  const old = sa.session;
  const spiR = sa.random(8);
  const nr = sa.random(NONCE_BYTES);
  const dh = createDh(suite.dh, sa.random);
  const shared = trySharedSecret(dh, ke.data);
  if (!shared.ok) {
    sa.event({ type: 'log', level: 'warn', msg: `refused the gateway's IKE SA rekey: its KE is unusable (${shared.error.message})` });
    return [makeNotify(NotifyType.NoProposalChosen)];
  }
  const gir = shared.gir;
  const next = newSession(chosen.spi.slice(), spiR, false);
  next.suite = suite;
  next.keys = deriveIkeKeys(suite, rekeySkeyseed(old.suite!.prf, old.keys!.skD, gir, nonce.data, nr), nonce.data, nr, next.spiI, spiR);
  sa.replaceSession(next);
  sa.effect({
    type: 'keylog-ike',
    keys: { spiI: next.spiI, spiR, skEi: next.keys.i.encr, skEr: next.keys.r.encr, skAi: next.keys.i.integ, skAr: next.keys.r.integ, suite: suite.cipher },
  });
  sa.event({ type: 'ike-sa', state: 'rekeyed', gateway: sa.config.gateway, ike: suite.name, spiI: bytesToHex(next.spiI), spiR: bytesToHex(spiR) });
  return [
    { type: PayloadType.SA, proposals: [{ ...chosen, spi: spiR }] },
    { type: PayloadType.Nonce, data: nr },
    { type: PayloadType.KE, group: suite.dh, data: dh.publicKey },
  ];
}

/** Our IKE SA rekey: a new session where we are the original initiator. */
export class IkeRekeyTask implements Task {
  readonly name = 'ike-rekey';
  readonly exchange = ExchangeType.CreateChildSa;
  private spi?: Uint8Array;
  private ni?: Uint8Array;
  private dh?: DhKey;
  private proposals: Proposal[] = [];

  build(out: Payload[], sa: SaContext): void {
    const suite = sa.session.suite!;
    this.spi ??= sa.random(8);
    this.ni ??= sa.random(NONCE_BYTES);
    this.dh ??= createDh(suite.dh, sa.random);
    this.proposals = parseProposals('ike', sa.config.ike).map((p) => ({ ...p, spi: this.spi! }));
    out.push({ type: PayloadType.SA, proposals: this.proposals }, { type: PayloadType.Nonce, data: this.ni },
      { type: PayloadType.KE, group: suite.dh, data: this.dh.publicKey });
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    const saP = first(msg.payloads, PayloadType.SA);
    const nonce = first(msg.payloads, PayloadType.Nonce);
    const ke = first(msg.payloads, PayloadType.KE);
    const chosen = saP ? checkChosen(this.proposals, saP.proposals) : undefined;
    const suite = chosen ? ikeSuiteOf(chosen.transforms) : undefined;
    if (!chosen || !suite || !nonce || !ke || ke.group !== this.dh!.group || suite.dh !== ke.group || chosen.spi.length !== 8) {
      const err = errorNotify(msg.payloads);
      sa.event({ type: 'log', level: 'warn', msg: `IKE SA rekey refused: ${err ? notifyName(err.notifyType) : 'bad answer'}; keeping the old SA` });
      this.spi = undefined;
      return 'done';
    }
    const shared = trySharedSecret(this.dh!, ke.data);
    if (!shared.ok) {
      // the gateway's new IKE SA cannot be keyed here; it is never used and times out on its side
      sa.event({ type: 'log', level: 'warn', msg: `IKE SA rekey failed: the gateway's KE is unusable (${shared.error.message}); keeping the old SA` });
      this.spi = undefined;
      return 'done';
    }
    const old = sa.session;
    const next = newSession(this.spi!, chosen.spi.slice(), true);
    next.suite = suite;
    const skeyseed = rekeySkeyseed(old.suite!.prf, old.keys!.skD, shared.gir, this.ni!, nonce.data);
    next.keys = deriveIkeKeys(suite, skeyseed, this.ni!, nonce.data, next.spiI, next.spiR);
    sa.replaceSession(next);
    sa.effect({
      type: 'keylog-ike',
      keys: { spiI: next.spiI, spiR: next.spiR, skEi: next.keys.i.encr, skEr: next.keys.r.encr, skAi: next.keys.i.integ, skAr: next.keys.r.integ, suite: suite.cipher },
    });
    sa.event({ type: 'ike-sa', state: 'rekeyed', gateway: sa.config.gateway, ike: suite.name, spiI: bytesToHex(next.spiI), spiR: bytesToHex(next.spiR) });
    return 'done';
  }
}

/** INFORMATIONAL{ D(IKE) } on the pre-rekey session, after our IKE SA rekey. */
export class IkeRekeyDeleteTask implements Task {
  readonly name = 'ike-rekey-delete';
  readonly exchange = ExchangeType.Informational;
  readonly on = 'old' as const;

  build(out: Payload[], _sa: SaContext): void {
    out.push({ type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] });
  }

  process(_msg: InboundMessage, sa: SaContext): TaskResult {
    sa.oldSession = undefined;
    return 'done';
  }
}
