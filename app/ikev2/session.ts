/**
 * One generation of an IKE SA's keys and message-ID state. An IKE SA rekey
 * makes a new Session; the old one lives on only to answer the DELETE.
 *
 * Message protection (RFC 7296 §3.14): messages sent by the ORIGINAL
 * initiator of this session use SK_ei/SK_ai, the others SK_er/SK_ar,
 * whatever the request/response direction.
 *
 *   sealMessage   header + inner payloads → datagram bytes (no marker)
 *   openMessage   datagram bytes → decoded header + decrypted payloads,
 *                 or a typed failure ('icv' | 'malformed'); never throws
 */
import { DecodeError } from '../base/bytes.ts';
import type { Instant } from '../base/clock.ts';
import { PayloadType } from '../wire/ikev2/constants.ts';
import type { ExchangeType } from '../wire/ikev2/constants.ts';
import type { DecodedIkeHeader, IkeHeader } from '../wire/ikev2/header.ts';
import { decodeMessage, decodePayloadChain, encodeMessage, encodeMessageWithSk, encodePayloadChain } from '../wire/ikev2/message.ts';
import type { Payload } from '../wire/ikev2/payload.ts';
import { skBodyLength, skOpen, skSeal } from './crypto-adapter.ts';
import type { Random } from './crypto-adapter.ts';
import type { IkeKeys } from './keymat.ts';
import type { IkeSuite } from './suite.ts';
import type { Transmit } from './types.ts';

export interface Outstanding {
  messageId: number;
  exchange: ExchangeType;
  transmit: Transmit;
  tries: number;
  sentAt: Instant;
}

export interface Session {
  spiI: Uint8Array;
  spiR: Uint8Array;
  /** true when we are the original initiator of this session (I flag). */
  weInitiated: boolean;
  suite?: IkeSuite;
  keys?: IkeKeys;
  nextRequestId: number;
  /** The Message ID we expect on the peer's next request. */
  peerNextId: number;
  /** bytes: the sealed response without a non-ESP marker (sent again along the path a retransmitted request took). */
  lastResponse?: { messageId: number; transmit: Transmit; bytes: Uint8Array };
  outstanding?: Outstanding;
}

export function newSession(spiI: Uint8Array, spiR: Uint8Array, weInitiated: boolean): Session {
  return { spiI, spiR, weInitiated, nextRequestId: 0, peerNextId: 0 };
}

export interface InboundMessage {
  header: DecodedIkeHeader;
  payloads: Payload[];
  /** the datagram without a non-ESP marker (IKE_SA_INIT bytes are signed as received) */
  raw: Uint8Array;
}

export type OpenResult = { ok: true; msg: InboundMessage; protected: boolean } | { ok: false; reason: 'icv' | 'malformed' | 'no-keys'; error?: string };

function headerFor(s: Session, exchange: ExchangeType, messageId: number, response: boolean): IkeHeader {
  return { spiI: s.spiI, spiR: s.spiR, exchangeType: exchange, initiator: s.weInitiated, response, messageId };
}

/** A cleartext message (IKE_SA_INIT). */
export function plainMessage(s: Session, exchange: ExchangeType, messageId: number, response: boolean, payloads: Payload[]): Uint8Array {
  return encodeMessage(headerFor(s, exchange, messageId, response), payloads);
}

export function sealMessage(
  s: Session, exchange: ExchangeType, messageId: number, response: boolean, inner: Payload[], random: Random,
): Uint8Array {
  if (!s.suite || !s.keys) throw new Error('sealMessage before the IKE SA has keys');
  const chain = encodePayloadChain(inner);
  const bodyLen = skBodyLength(s.suite.cipher, chain.bytes.length);
  const { bytes, skBodyOffset } = encodeMessageWithSk(headerFor(s, exchange, messageId, response), [], chain.first, bodyLen);
  skSeal(s.suite.cipher, s.weInitiated ? s.keys.i : s.keys.r, bytes, skBodyOffset, chain.bytes, random);
  return bytes;
}

/** Decodes; if the message has an SK payload, verifies and decrypts it with the peer's keys. */
export function openMessage(s: Session | undefined, raw: Uint8Array): OpenResult {
  let decoded;
  try {
    decoded = decodeMessage(raw);
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, reason: 'malformed', error: e.message };
    throw e;
  }
  const sk = decoded.payloads.find((p) => p.type === PayloadType.SK);
  if (!sk || sk.type !== PayloadType.SK) return { ok: true, protected: false, msg: { header: decoded.header, payloads: decoded.payloads, raw } };
  if (!s?.suite || !s.keys || decoded.skBodyOffset === undefined) return { ok: false, reason: 'no-keys' };
  const plain = skOpen(s.suite.cipher, s.weInitiated ? s.keys.r : s.keys.i, raw, decoded.skBodyOffset);
  if (!plain) return { ok: false, reason: 'icv' };
  try {
    const inner = decodePayloadChain(sk.firstInner, plain);
    return { ok: true, protected: true, msg: { header: decoded.header, payloads: [...decoded.payloads.filter((p) => p !== sk), ...inner], raw } };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, reason: 'malformed', error: e.message };
    throw e;
  }
}
