/**
 * Nonce payload (RFC 7296 §3.9):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                            Nonce Data                         ~
 *
 * "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive."
 */
import { NONCE_MAX_LENGTH, NONCE_MIN_LENGTH } from '../constants.ts';
import type { PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface NoncePayload {
  type: PayloadType.Nonce;
  critical?: boolean;
  data: Uint8Array;
}

export function encodeNonceBody(p: NoncePayload): Uint8Array {
  if (p.data.length < NONCE_MIN_LENGTH || p.data.length > NONCE_MAX_LENGTH) {
    throw new RangeError(`nonce must be ${NONCE_MIN_LENGTH}..${NONCE_MAX_LENGTH} bytes, got ${p.data.length}`);
  }
  return p.data.slice();
}

export function decodeNonceBody(body: Uint8Array): Omit<NoncePayload, 'type'> {
  if (body.length < NONCE_MIN_LENGTH || body.length > NONCE_MAX_LENGTH) {
    throw syntaxError(`nonce of ${body.length} bytes is outside ${NONCE_MIN_LENGTH}..${NONCE_MAX_LENGTH}`);
  }
  return { data: body.slice() };
}
