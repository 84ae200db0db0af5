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
 * Initiating an IKE rekey ourselves is not implemented (command rekey-ike is
 * refused with an event); strongSwan gateways rekey on their own schedule.
 */
import { NotifyType, PayloadType, ProtocolId } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { bytesToHex } from '../../base/bytes.ts';
import { createDh } from '../crypto-adapter.ts';
import { deriveIkeKeys, rekeySkeyseed } from '../keymat.ts';
import { first } from '../notifies.ts';
import { parseProposals } from '../proposal-string.ts';
import type { InboundMessage } from '../session.ts';
import { newSession } from '../session.ts';
import { ikeSuiteOf, selectProposal } from '../suite.ts';
import type { SaContext } from '../task.ts';
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
  const gir = dh.sharedSecret(ke.data);
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
