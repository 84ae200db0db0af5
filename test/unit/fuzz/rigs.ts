/**
 * Core set-ups shared by the core fuzzers and the regression replays.
 */
import { IkeSa } from '../../../app/ikev2/ike-sa.ts';
import { CLIENT, clientConfig, GATEWAY, IkePair, seededRandom } from '../../harness/ike-pair.ts';

export const NOW = 1_000_000;
export const path500 = { local: { addr: CLIENT, port: 500 }, remote: { addr: GATEWAY, port: 500 } };

/** Every IKE transmit and effect drained; true if the core sent anything. */
export function drain(sa: IkeSa): boolean {
  let sent = false;
  while (sa.pollTransmit()) sent = true;
  while (sa.pollEffect());
  return sent;
}

export function droppedTotal(sa: IkeSa): number {
  return Object.values(sa.stats.dropped).reduce((a, n) => a + n, 0);
}

/** A fresh initiator that has sent IKE_SA_INIT (deterministic: the same request every time). */
export function pendingInitiator(): IkeSa {
  const sa = new IkeSa(clientConfig(), seededRandom('initiator'));
  sa.handleCommand({ type: 'connect' }, NOW);
  drain(sa);
  return sa;
}

/** The responder's genuine answer to that request. */
export function genuineInitResponse(): Uint8Array {
  const pair = new IkePair();
  let captured: Uint8Array | undefined;
  pair.filter = (dir, b) => {
    if (dir === '<--' && !captured) captured = b.slice();
    return dir === '-->';
  };
  pair.command({ type: 'connect' });
  if (!captured) throw new Error('no IKE_SA_INIT response captured');
  return captured;
}

