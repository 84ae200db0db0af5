/**
 * Tasks (strongSwan `sa/task.h`): "an elementary operation… handled by a
 * single or by multiple exchanges. An exchange may even complete multiple
 * tasks." The initiator builds then processes; the responder processes then
 * builds. Several tasks share one exchange: IKE_SA_INIT = ike-init + ike-natd,
 * IKE_AUTH = ike-auth + ike-config + child-create.
 *
 *   build(out, sa)         add our payloads to the request
 *   process(msg, sa)       read the response: 'done' | 'retry' (send the
 *                          exchange again, e.g. COOKIE) | 'failed' (sa.fail
 *                          has been called with the notify's name) | 'more'
 *                          (another round of the same exchange: EAP inside
 *                          IKE_AUTH, RFC 7296 §2.16 — only this task builds
 *                          the next request; the tasks after it in the group
 *                          process only the round it answers 'done' to) |
 *                          'wait' (like 'more', but the next request waits
 *                          for the driver: EAP-TLS's engine, resumeWaiting)
 *
 * Responder halves (gateway-initiated INFORMATIONAL / CREATE_CHILD_SA) are
 * `Responder` functions: they read the request and return the response's
 * payloads, or undefined if the request is not theirs.
 */
import type { Instant } from '../base/clock.ts';
import type { ExchangeType, HashAlgorithm } from '../wire/ikev2/constants.ts';
import type { Payload } from '../wire/ikev2/payload.ts';
import type { DhKey, Random } from './crypto-adapter.ts';
import type { InboundMessage, Session } from './session.ts';
import type { MobikeState } from './tasks/ike-mobike.ts';
import type { ChildSaInfo, Effect, Endpoint, IkeEvent, IkeSaConfig } from './types.ts';

export type TaskResult = 'done' | 'retry' | 'failed' | 'more' | 'wait';

export interface Task {
  readonly name: string;
  readonly exchange: ExchangeType;
  /** 'old': sent on the session an IKE SA rekey replaced (its DELETE). */
  readonly on?: 'old';
  build(out: Payload[], sa: SaContext): void;
  process(msg: InboundMessage, sa: SaContext): TaskResult;
}

export type Responder = (msg: InboundMessage, sa: SaContext) => Payload[] | undefined;

/** What IKE_SA_INIT leaves for IKE_AUTH (nonces, the exact bytes signed). */
export interface InitExchange {
  ni: Uint8Array;
  nr?: Uint8Array;
  dh?: DhKey;
  requestBytes?: Uint8Array;
  responseBytes?: Uint8Array;
  /** The peer's N(SIGNATURE_HASH_ALGORITHMS), null when it sent none (RFC 7427 §4). */
  peerHashes?: HashAlgorithm[] | null;
}

export interface Path {
  local: Endpoint;
  remote: Endpoint;
  /** IKE on 4500 with the non-ESP marker, ESP in UDP. */
  natt: boolean;
}

/** The IKE SA as its tasks see it. */
export interface SaContext {
  readonly config: IkeSaConfig;
  readonly random: Random;
  readonly now: Instant;
  session: Session;
  /** The session an IKE SA rekey replaced, until its DELETE is done. */
  oldSession?: Session;
  path: Path;
  init: InitExchange;
  children: ChildSaInfo[];
  /** Child SAs the peer rekeyed, by the old child's inbound SPI, with that exchange's nonces (collisions, §2.8.1). */
  peerRekeys: Map<number, { child: ChildSaInfo; nonces: Uint8Array[] }>;
  natLocal: boolean;
  natRemote: boolean;
  peerMobike: boolean;
  tia?: string;
  dns: string[];
  effect(e: Effect): void;
  event(e: IkeEvent): void;
  /** Ends the IKE SA with an error named after the IKEv2 notify (e.g. AUTHENTICATION_FAILED). */
  fail(code: string, message: string): void;
  /** Switches to a new session (IKE SA rekey); the old one stays to answer its DELETE. */
  replaceSession(next: Session): void;
  /** The IKE SA was deleted by the peer or by us: close without an error. */
  deleted(reason: string): void;
  /** MOBIKE (RFC 4555) address lists, update generation, last confirmed path. */
  mobike: MobikeState;
  /** `path` or the NAT flags changed: tell the driver, switch NAT keepalives on or off. */
  pathChanged(): void;
  /** Moves the IKE SA to `path` now and queues UPDATE_SA_ADDRESSES (RFC 4555 §3.5); eventAt: the address event. */
  roam(path: Path, eventAt: Instant): void;
}
