/**
 * IKE SA rekeying (RFC 7296 §1.3.2, §2.18):
 *
 * The gateway's:
 *   SK{ SA(IKE, new SPIi), Ni, KEi }  <--
 *   -->  SK{ SA(IKE, our new SPIr), Nr, KEr }
 *   SK{ D(IKE) } on the OLD SA  <--  -->  SK{}
 *
 *   SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr), keys as for a new SA
 *   with the new SPIs; the rekeying peer is the new SA's original initiator,
 *   Message IDs restart at 0, the Child SAs move over.
 *
 * Ours (command rekey-ike or vpn.ikeRekeySeconds), the mirror image, then the old SA's DELETE:
 *   SK{ SA(IKE, our new SPIi), Ni, KEi }  -->  <--  SK{ SA(IKE, SPIr), Nr, KEr }
 *   SK{ D(IKE) } on the OLD SA  -->  <--  SK{}
 * Keys always come from the session the request went on (`base`), whatever
 * is current when the answer arrives.
 *
 * Collisions (§2.8.2, both peers rekey at once): the gateway's request that
 * arrives while ours is outstanding is answered at once (window 1 per
 * direction), but its new SA waits in `peerIkeRekey`. When our answer comes,
 * the four nonces decide (§2.8.1: lowest octet by octet, a prefix first):
 *   the lowest is in OUR exchange  → ours is redundant: the gateway's new SA
 *       becomes current, we DELETE ours (we created it), the gateway deletes
 *       the old one (we answer);
 *   the lowest is in the GATEWAY's → ours becomes current, we DELETE the old
 *       one, the gateway deletes its own new SA (we answer).
 *   The redundant new SA waits in `redundantSession` for its DELETE.
 * When only one side noticed (§2.8.2, last part): a D(IKE) for the old SA
 * while the gateway's new SA waits means the gateway finished its rekey
 * without seeing ours — its SA is taken, ours forgotten (task-manager.ts);
 * the gateway's rekey request on an SA we already rekeyed is answered
 * TEMPORARY_FAILURE.
 */
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { bytesToHex } from '../../base/bytes.ts';
import { createDh, trySharedSecret } from '../crypto-adapter.ts';
import { deriveIkeKeys, rekeySkeyseed } from '../keymat.ts';
import { errorNotify, first, notifyName } from '../notifies.ts';
import { parseProposals } from '../proposal-string.ts';
import type { InboundMessage, Session } from '../session.ts';
import { newSession } from '../session.ts';
import { checkChosen, ikeSuiteOf, selectProposal } from '../suite.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import type { DhKey } from '../crypto-adapter.ts';
import type { Proposal } from '../../wire/ikev2/payloads/sa.ts';
import { oursIsRedundant } from './child-rekey.ts';
import { NONCE_BYTES } from './ike-init.ts';

export function respondIkeRekey(msg: InboundMessage, sa: SaContext): Payload[] {
  const saP = first(msg.payloads, PayloadType.SA)!;
  const nonce = first(msg.payloads, PayloadType.Nonce);
  const ke = first(msg.payloads, PayloadType.KE);
  const chosen = selectProposal(parseProposals('ike', sa.config.ike), saP.proposals, ProtocolId.IKE);
  const suite = chosen ? ikeSuiteOf(chosen.transforms) : undefined;
  if (!nonce || !ke || !chosen || !suite || chosen.spi.length !== 8) return [makeNotify(NotifyType.NoProposalChosen)];
  if (ke.group !== suite.dh) return [makeNotify(NotifyType.InvalidKePayload, Uint8Array.of(suite.dh >> 8, suite.dh & 255))];
  const base = sa.session;
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
  next.keys = deriveIkeKeys(suite, rekeySkeyseed(base.suite!.prf, base.keys!.skD, gir, nonce.data, nr), nonce.data, nr, next.spiI, spiR);
  keylog(sa, next);
  if (sa.ikeRekeyInFlight()) {
    // §2.8.2: both of us rekey; which new SA survives is known once ours is answered
    sa.peerIkeRekey = { next, base, nonces: [nonce.data, nr] };
    sa.event({ type: 'log', level: 'info', msg: 'simultaneous IKE SA rekey: answered the gateway\'s, our own answer decides which new IKE SA survives' });
  } else {
    sa.replaceSession(next);
    rekeyedEvent(sa, next);
  }
  return [
    { type: PayloadType.SA, proposals: [{ ...chosen, spi: spiR }] },
    { type: PayloadType.Nonce, data: nr },
    { type: PayloadType.KE, group: suite.dh, data: dh.publicKey },
  ];
}

function keylog(sa: SaContext, next: Session): void {
  const k = next.keys!;
  sa.effect({
    type: 'keylog-ike',
    keys: { spiI: next.spiI, spiR: next.spiR, skEi: k.i.encr, skEr: k.r.encr, skAi: k.i.integ, skAr: k.r.integ, suite: next.suite!.cipher },
  });
}

function rekeyedEvent(sa: SaContext, next: Session): void {
  sa.event({ type: 'ike-sa', state: 'rekeyed', gateway: sa.config.gateway, ike: next.suite!.name, spiI: bytesToHex(next.spiI), spiR: bytesToHex(next.spiR) });
}

/** Our IKE SA rekey: a new session where we are the original initiator. */
export class IkeRekeyTask implements Task {
  readonly name = 'ike-rekey';
  readonly exchange = ExchangeType.CreateChildSa;
  /** The session the request went on: the new keys derive from its SK_d. */
  private base?: Session;
  private spi?: Uint8Array;
  private ni?: Uint8Array;
  private dh?: DhKey;
  private proposals: Proposal[] = [];
  /** Set by process: the session our DELETE retires (the old one, or ours when it lost a collision). */
  retire?: Session;

  build(out: Payload[], sa: SaContext): void {
    this.base = sa.session;
    const suite = this.base.suite!;
    this.spi ??= sa.random(8);
    this.ni ??= sa.random(NONCE_BYTES);
    this.dh ??= createDh(suite.dh, sa.random);
    this.proposals = parseProposals('ike', sa.config.ike).map((p) => ({ ...p, spi: this.spi! }));
    out.push({ type: PayloadType.SA, proposals: this.proposals }, { type: PayloadType.Nonce, data: this.ni },
      { type: PayloadType.KE, group: suite.dh, data: this.dh.publicKey });
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    const base = this.base!;
    const peer = sa.peerIkeRekey?.base === base ? sa.peerIkeRekey : undefined;
    sa.peerIkeRekey = undefined;
    const saP = first(msg.payloads, PayloadType.SA);
    const nonce = first(msg.payloads, PayloadType.Nonce);
    const ke = first(msg.payloads, PayloadType.KE);
    const chosen = saP ? checkChosen(this.proposals, saP.proposals) : undefined;
    const suite = chosen ? ikeSuiteOf(chosen.transforms) : undefined;
    if (!chosen || !suite || !nonce || !ke || ke.group !== this.dh!.group || suite.dh !== ke.group || chosen.spi.length !== 8) {
      const err = errorNotify(msg.payloads);
      return this.failed(sa, peer, `IKE SA rekey refused: ${err ? notifyName(err.notifyType) : 'bad answer'}`);
    }
    const shared = trySharedSecret(this.dh!, ke.data);
    // the gateway's new IKE SA cannot be keyed here; it is never used and times out on its side
    if (!shared.ok) return this.failed(sa, peer, `IKE SA rekey failed: the gateway's KE is unusable (${shared.error.message})`);
    const next = newSession(this.spi!, chosen.spi.slice(), true);
    next.suite = suite;
    const skeyseed = rekeySkeyseed(base.suite!.prf, base.keys!.skD, shared.gir, this.ni!, nonce.data);
    next.keys = deriveIkeKeys(suite, skeyseed, this.ni!, nonce.data, next.spiI, next.spiR);
    keylog(sa, next);
    if (peer && oursIsRedundant([this.ni!, nonce.data], peer.nonces)) {
      // §2.8.2: the lowest nonce is in our exchange: the gateway's new SA inherits everything, we delete ours
      sa.replaceSession(peer.next);
      sa.redundantSession = next;
      this.retire = next;
      sa.event({ type: 'log', level: 'info', msg: 'simultaneous IKE SA rekey: ours has the lowest nonce and is deleted; the gateway\'s carries on' });
      rekeyedEvent(sa, peer.next);
      return 'done';
    }
    sa.replaceSession(next);
    this.retire = base;
    if (peer) {
      // the gateway deletes its own new SA (lowest nonce); we answer that DELETE
      sa.redundantSession = peer.next;
      sa.event({ type: 'log', level: 'info', msg: 'simultaneous IKE SA rekey: the gateway\'s has the lowest nonce; ours carries on' });
    }
    rekeyedEvent(sa, next);
    return 'done';
  }

  /** Our rekey failed: keep the old SA — or, after a collision, the gateway's new one (it deletes the old). */
  private failed(sa: SaContext, peer: SaContext['peerIkeRekey'], why: string): TaskResult {
    if (!peer) {
      sa.event({ type: 'log', level: 'warn', msg: `${why}; keeping the old SA` });
      return 'done';
    }
    sa.event({ type: 'log', level: 'info', msg: `${why}; the gateway's simultaneous rekey carries on` });
    sa.replaceSession(peer.next);
    rekeyedEvent(sa, peer.next);
    return 'done';
  }
}

/** INFORMATIONAL{ D(IKE) } on the session our IKE SA rekey retired (RFC 7296 §2.8: the last request on it). */
export class IkeRekeyDeleteTask implements Task {
  readonly name = 'ike-rekey-delete';
  readonly exchange = ExchangeType.Informational;

  constructor(private readonly rekey: IkeRekeyTask) {}

  session(sa: SaContext): Session | undefined {
    const s = this.rekey.retire;
    return s && (s === sa.oldSession || s === sa.redundantSession) ? s : undefined;
  }

  build(out: Payload[], _sa: SaContext): void {
    out.push({ type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] });
  }

  process(_msg: InboundMessage, sa: SaContext): TaskResult {
    if (this.rekey.retire) sa.retireSession(this.rekey.retire);
    return 'done';
  }
}
