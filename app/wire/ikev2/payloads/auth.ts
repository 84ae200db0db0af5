/**
 * Authentication payload (RFC 7296 §3.8):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Auth Method   |                RESERVED                       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                      Authentication Data                      ~
 *
 * Method 14, Digital Signature (RFC 7427 §3), has structured data:
 *
 *   | ASN.1 Length  | AlgorithmIdentifier ASN.1 object (DER) ~ | Signature ~
 *
 * The ASN.1 Length is the length of the AlgorithmIdentifier in octets.
 */
import { Reader, Writer, concatBytes } from '../../../base/bytes.ts';
import type { AuthMethod, PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface AuthPayload {
  type: PayloadType.AUTH;
  critical?: boolean;
  method: AuthMethod;
  data: Uint8Array;
}

export function encodeAuthBody(p: AuthPayload): Uint8Array {
  return new Writer(4 + p.data.length).u8(p.method).zeros(3).bytes(p.data).finish();
}

export function decodeAuthBody(body: Uint8Array): Omit<AuthPayload, 'type'> {
  const r = new Reader(body, 'AUTH payload');
  const method = r.u8() as AuthMethod;
  r.skip(3);
  return { method, data: r.rest().slice() };
}

/** Authentication Data of method 14 (RFC 7427). */
export interface DigitalSignatureData {
  /** DER AlgorithmIdentifier, e.g. sha256WithRSAEncryption or ecdsa-with-SHA256. */
  algorithmIdentifier: Uint8Array;
  signature: Uint8Array;
}

export function encodeDigitalSignatureData(d: DigitalSignatureData): Uint8Array {
  if (d.algorithmIdentifier.length > 255) throw new RangeError('AlgorithmIdentifier longer than 255 bytes');
  return concatBytes(Uint8Array.of(d.algorithmIdentifier.length), d.algorithmIdentifier, d.signature);
}

export function decodeDigitalSignatureData(data: Uint8Array): DigitalSignatureData {
  const r = new Reader(data, 'RFC 7427 signature data');
  const len = r.u8();
  if (len === 0 || len > r.remaining) throw syntaxError(`bad AlgorithmIdentifier length ${len}`);
  const algorithmIdentifier = r.bytes(len).slice();
  if (algorithmIdentifier[0] !== 0x30) throw syntaxError('AlgorithmIdentifier is not a DER SEQUENCE');
  return { algorithmIdentifier, signature: r.rest().slice() };
}
