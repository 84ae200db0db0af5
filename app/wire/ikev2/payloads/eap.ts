/**
 * EAP payload (RFC 7296 §3.16): the body is one whole EAP message
 * (RFC 3748: Code | Identifier | Length (2) | [Type | Type-Data]).
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                       EAP Message                             ~
 *
 * We keep the message opaque, checking only that its own Length agrees.
 */
import { Reader } from '../../../base/bytes.ts';
import type { PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface EapPayload {
  type: PayloadType.EAP;
  critical?: boolean;
  message: Uint8Array;
}

export function encodeEapBody(p: EapPayload): Uint8Array {
  return p.message.slice();
}

export function decodeEapBody(body: Uint8Array): Omit<EapPayload, 'type'> {
  const r = new Reader(body, 'EAP payload');
  r.skip(2);
  const length = r.u16();
  if (length !== body.length) throw syntaxError(`EAP Length ${length} but payload holds ${body.length} bytes`);
  return { message: body.slice() };
}
