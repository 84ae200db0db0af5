/**
 * Whole IKEv2 messages: IKE header (header.ts) followed by a chain of
 * payloads linked by their Next Payload fields (RFC 7296 §2.5, §3.2).
 *
 * Cleartext messages (IKE_SA_INIT):
 *   encodeMessage(header, payloads)   fills every Next Payload and length.
 *   decodeMessage(datagram)           strict; IkeDecodeError on any defect.
 *
 * Protected messages. The SK payload (§3.14) is always last; its Next
 * Payload names the first inner payload and its body is opaque here.
 *   Send:    const { first, bytes } = encodePayloadChain(inner);
 *            const { bytes: msg, skBodyOffset } =
 *              encodeMessageWithSk(header, clear, first, bodyLength);
 *            // every length is final now: AAD = msg[0 : skBodyOffset]
 *            // (IKE header + clear payloads + the 4-byte SK header);
 *            // msg.set(ivCiphertextIcv, skBodyOffset)
 *   Receive: const m = decodeMessage(datagram);  // the SK payload holds
 *            // firstInner and body; m.skBodyOffset locates the body, so
 *            // AAD = datagram[0 : m.skBodyOffset];
 *            decodePayloadChain(sk.firstInner, plaintextWithoutPadding)
 *
 * AUTH signs the IKE_SA_INIT message exactly as sent or received: keep the
 * bytes from encodeMessage / the datagram, never re-encode a decoded message.
 *
 * Decoding rules: the header Length must equal the datagram length; payload
 * lengths stay inside the message; nothing may follow the last payload or
 * the SK payload; unknown payloads are skipped unless their critical bit is
 * set (then UNSUPPORTED_CRITICAL_PAYLOAD with the type as notify data).
 */
import { DecodeError, Reader, Writer } from '../../base/bytes.ts';
import {
  CRITICAL_BIT, GENERIC_PAYLOAD_HEADER_LENGTH, IKE_HEADER_LENGTH, MAX_MESSAGE_LENGTH, NotifyType, PayloadType,
} from './constants.ts';
import { IkeDecodeError, asIkeDecodeError, syntaxError } from './errors.ts';
import { decodeHeader, encodeHeader } from './header.ts';
import type { DecodedIkeHeader, IkeHeader } from './header.ts';
import { decodePayloadBody, encodePayloadBody } from './payload.ts';
import type { Payload } from './payload.ts';

export interface DecodedMessage {
  header: DecodedIkeHeader;
  payloads: Payload[];
  /** Where the SK body starts, if the message has an SK payload; bytes before it are the AEAD AAD. */
  skBodyOffset?: number;
}

export interface PayloadChain {
  /** Type of the first payload (NoNextPayload for an empty chain). */
  first: PayloadType;
  bytes: Uint8Array;
}

const MAX_PAYLOAD_LENGTH = 0xffff;

function writeChain(w: Writer, payloads: readonly Payload[]): void {
  payloads.forEach((p, i) => {
    const next = p.type === PayloadType.SK ? p.firstInner : (payloads[i + 1]?.type ?? PayloadType.NoNextPayload);
    if (p.type === PayloadType.SK && i !== payloads.length - 1) throw new RangeError('the SK payload must be last');
    const body = encodePayloadBody(p);
    const length = GENERIC_PAYLOAD_HEADER_LENGTH + body.length;
    if (length > MAX_PAYLOAD_LENGTH) throw new RangeError(`payload ${p.type} too long: ${length} bytes`);
    w.u8(next).u8(p.critical ? CRITICAL_BIT : 0).u16(length).bytes(body);
  });
}

/** Encodes payloads that go inside an SK payload (no SK among them). */
export function encodePayloadChain(payloads: readonly Payload[]): PayloadChain {
  if (payloads.some((p) => p.type === PayloadType.SK)) throw new RangeError('an SK payload cannot be nested');
  const w = new Writer();
  writeChain(w, payloads);
  return { first: payloads[0]?.type ?? PayloadType.NoNextPayload, bytes: w.finish() };
}

/** Encodes a whole message; an SK payload, if any, must be last and already hold its body. */
export function encodeMessage(header: IkeHeader, payloads: readonly Payload[]): Uint8Array {
  const body = new Writer();
  writeChain(body, payloads);
  const length = IKE_HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH) throw new RangeError(`IKE message too long: ${length} bytes`);
  const w = new Writer(length);
  encodeHeader(w, header, payloads[0]?.type ?? PayloadType.NoNextPayload, length);
  w.bytes(body.finish());
  return w.finish();
}

/**
 * Encodes a message ending in an SK payload whose body (skBodyLength bytes,
 * zero-filled) the crypto layer writes at skBodyOffset. All lengths are final.
 */
export function encodeMessageWithSk(
  header: IkeHeader, clearPayloads: readonly Payload[], firstInner: PayloadType, skBodyLength: number,
): { bytes: Uint8Array; skBodyOffset: number } {
  const sk: Payload = { type: PayloadType.SK, firstInner, body: new Uint8Array(skBodyLength) };
  const bytes = encodeMessage(header, [...clearPayloads, sk]);
  return { bytes, skBodyOffset: bytes.length - skBodyLength };
}

/**
 * Just the header, e.g. to find the IKE SA (and Message ID) a message belongs
 * to before, or after, a full decode fails. Payloads are not looked at.
 */
export function peekHeader(datagram: Uint8Array): DecodedIkeHeader {
  try {
    return decodeHeader(new Reader(datagram, 'IKE message'));
  } catch (e) {
    if (e instanceof DecodeError) throw asIkeDecodeError(e);
    throw e;
  }
}

export function decodeMessage(datagram: Uint8Array): DecodedMessage {
  try {
    const r = new Reader(datagram, 'IKE message');
    const header = decodeHeader(r);
    if (header.length !== datagram.length) {
      throw syntaxError(`IKE header Length ${header.length} but datagram has ${datagram.length} bytes`);
    }
    const { payloads, skBodyOffset } = readChain(r, header.nextPayload, false);
    return skBodyOffset === undefined ? { header, payloads } : { header, payloads, skBodyOffset };
  } catch (e) {
    if (e instanceof DecodeError) throw asIkeDecodeError(e);
    throw e;
  }
}

/** Decodes the plaintext of an SK payload (padding and Pad Length already removed). */
export function decodePayloadChain(first: PayloadType, bytes: Uint8Array): Payload[] {
  try {
    return readChain(new Reader(bytes, 'payload chain'), first, true).payloads;
  } catch (e) {
    if (e instanceof DecodeError) throw asIkeDecodeError(e);
    throw e;
  }
}

function readChain(r: Reader, first: number, inner: boolean): { payloads: Payload[]; skBodyOffset?: number } {
  const payloads: Payload[] = [];
  let next = first;
  while (next !== PayloadType.NoNextPayload) {
    const at = r.offset;
    const type = next;
    next = r.u8();
    const critical = (r.u8() & CRITICAL_BIT) !== 0;
    const length = r.u16();
    if (length < GENERIC_PAYLOAD_HEADER_LENGTH || length - GENERIC_PAYLOAD_HEADER_LENGTH > r.remaining) {
      throw syntaxError(`payload ${type} length ${length} does not fit (${r.remaining + 4} bytes left)`, at);
    }
    const bodyOffset = r.offset;
    const body = r.bytes(length - GENERIC_PAYLOAD_HEADER_LENGTH);
    if (type === PayloadType.SK) {
      if (inner) throw syntaxError('SK payload inside an SK payload', at);
      if (r.remaining !== 0) throw syntaxError('the SK payload is not the last payload', at);
      payloads.push({ type, critical, firstInner: next as PayloadType, body: body.slice() });
      return { payloads, skBodyOffset: bodyOffset };
    }
    const p = decodePayloadBody(type, critical, body);
    if (p) payloads.push(p);
    else if (critical) {
      throw new IkeDecodeError(`unsupported critical payload type ${type}`, NotifyType.UnsupportedCriticalPayload,
        Uint8Array.of(type), at);
    }
  }
  if (r.remaining !== 0) throw syntaxError(`${r.remaining} bytes after the last payload`, r.offset);
  return { payloads };
}
