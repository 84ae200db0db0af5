/**
 * Certificate payload (RFC 7296 §3.6):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Cert Encoding |                                               |
 *   +-+-+-+-+-+-+-+-+                                               +
 *   ~                       Certificate Data                        ~
 *
 * For X.509 Certificate - Signature (4) the data is one DER certificate.
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import type { CertEncoding, PayloadType } from '../constants.ts';

export interface CertPayload {
  type: PayloadType.CERT;
  critical?: boolean;
  encoding: CertEncoding;
  data: Uint8Array;
}

export function encodeCertBody(p: CertPayload): Uint8Array {
  return new Writer(1 + p.data.length).u8(p.encoding).bytes(p.data).finish();
}

export function decodeCertBody(body: Uint8Array): Omit<CertPayload, 'type'> {
  const r = new Reader(body, 'CERT payload');
  const encoding = r.u8() as CertEncoding;
  return { encoding, data: r.rest().slice() };
}
