/**
 * Core set-ups shared by the core fuzzers and the regression replays.
 */
import { concatBytes } from '../../../app/base/bytes.ts';
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
let initResponse: Uint8Array | undefined;

export function genuineInitResponse(): Uint8Array {
  return (initResponse ??= captureInitResponse()).slice();
}

function captureInitResponse(): Uint8Array {
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


/** The genuine IKE_AUTH response to pendingInitiator()'s exchange, and the responder whose keys sealed it. */
export function genuineAuthResponse(): { bytes: Uint8Array; pair: IkePair } {
  const pair = new IkePair();
  const seen: Uint8Array[] = [];
  pair.filter = (dir, b) => {
    if (dir === '<--') seen.push(b.slice());
    return dir === '-->' || seen.length < 2; // IKE_SA_INIT's response passes, IKE_AUTH's is held back
  };
  pair.command({ type: 'connect' });
  if (seen.length !== 2) throw new Error(`expected 2 responses, saw ${seen.length}`);
  return { bytes: seen[1]!, pair };
}

/** A fresh initiator that has sent IKE_AUTH and waits for its response (deterministic, like pendingInitiator). */
export function authWaitingInitiator(): IkeSa {
  const sa = pendingInitiator();
  sa.handleDatagram({ ...path500, bytes: genuineInitResponse() }, NOW + 1);
  if (!drain(sa) || sa.state !== 'connecting') throw new Error('IKE_AUTH was not sent');
  return sa;
}

/** A datagram from the gateway along the SA's current path (on 4500 behind the non-ESP marker). */
export function onPath(sa: IkeSa, bytes: Uint8Array): Parameters<IkeSa['handleDatagram']>[0] {
  const natt = sa.path.natt;
  return {
    bytes: natt ? concatBytes(new Uint8Array(4), bytes) : bytes,
    local: { addr: sa.path.local.addr, port: natt ? 4500 : 500 }, remote: { addr: sa.path.remote.addr, port: natt ? 4500 : 500 },
  };
}
