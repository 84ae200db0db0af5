/**
 * Certificate Request payload (RFC 7296 §3.7):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Cert Encoding |                                               |
 *   +-+-+-+-+-+-+-+-+                                               +
 *   ~                    Certification Authority                    ~
 *
 * For X.509 (4) the authority field is a concatenation of 20-byte SHA-1
 * hashes of trusted CAs' public keys; certAuthorityHashes splits it.
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import type { CertEncoding, PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface CertReqPayload {
  type: PayloadType.CERTREQ;
  critical?: boolean;
  encoding: CertEncoding;
  authority: Uint8Array;
}

const SHA1_LENGTH = 20;

export function encodeCertReqBody(p: CertReqPayload): Uint8Array {
  return new Writer(1 + p.authority.length).u8(p.encoding).bytes(p.authority).finish();
}

export function decodeCertReqBody(body: Uint8Array): Omit<CertReqPayload, 'type'> {
  const r = new Reader(body, 'CERTREQ payload');
  const encoding = r.u8() as CertEncoding;
  return { encoding, authority: r.rest().slice() };
}

/** The SHA-1 key hashes of an X.509 CERTREQ. */
export function certAuthorityHashes(authority: Uint8Array): Uint8Array[] {
  if (authority.length % SHA1_LENGTH !== 0) {
    throw syntaxError(`CERTREQ authority of ${authority.length} bytes is not a list of SHA-1 hashes`);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < authority.length; i += SHA1_LENGTH) out.push(authority.slice(i, i + SHA1_LENGTH));
  return out;
}
