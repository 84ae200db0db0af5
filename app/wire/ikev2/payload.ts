/**
 * The typed payload model: one discriminated union over the payload types we
 * understand, and the dispatch from a payload type to its body codec in
 * payloads/*.ts. The generic payload header (RFC 7296 §3.2) is written and
 * read by message.ts:
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Every payload carries an optional `critical` flag: the decoder reports the
 * C bit as received, the encoder sends it (default clear). For payload types
 * we know, the bit has no effect (§2.5).
 */
import { PayloadType } from './constants.ts';
import { decodeAuthBody, encodeAuthBody } from './payloads/auth.ts';
import type { AuthPayload } from './payloads/auth.ts';
import { decodeCertBody, encodeCertBody } from './payloads/cert.ts';
import type { CertPayload } from './payloads/cert.ts';
import { decodeCertReqBody, encodeCertReqBody } from './payloads/certreq.ts';
import type { CertReqPayload } from './payloads/certreq.ts';
import { decodeCpBody, encodeCpBody } from './payloads/cp.ts';
import type { CpPayload } from './payloads/cp.ts';
import { decodeDeleteBody, encodeDeleteBody } from './payloads/delete.ts';
import type { DeletePayload } from './payloads/delete.ts';
import { decodeEapBody, encodeEapBody } from './payloads/eap.ts';
import type { EapPayload } from './payloads/eap.ts';
import { decodeIdBody, encodeIdBody } from './payloads/id.ts';
import type { IdPayload } from './payloads/id.ts';
import { decodeKeBody, encodeKeBody } from './payloads/ke.ts';
import type { KePayload } from './payloads/ke.ts';
import { decodeNonceBody, encodeNonceBody } from './payloads/nonce.ts';
import type { NoncePayload } from './payloads/nonce.ts';
import { decodeNotifyBody, encodeNotifyBody } from './payloads/notify.ts';
import type { NotifyPayload } from './payloads/notify.ts';
import { decodeSaBody, encodeSaBody } from './payloads/sa.ts';
import type { SaPayload } from './payloads/sa.ts';
import type { SkPayload } from './payloads/sk.ts';
import { decodeTsBody, encodeTsBody } from './payloads/ts.ts';
import type { TsPayload } from './payloads/ts.ts';
import { decodeVendorIdBody, encodeVendorIdBody } from './payloads/vendor-id.ts';
import type { VendorIdPayload } from './payloads/vendor-id.ts';

export type Payload =
  | SaPayload | KePayload | IdPayload | CertPayload | CertReqPayload | AuthPayload | NoncePayload
  | NotifyPayload | DeletePayload | VendorIdPayload | TsPayload | SkPayload | CpPayload | EapPayload;

/** The payload body (after the 4-byte generic header). */
export function encodePayloadBody(p: Payload): Uint8Array {
  switch (p.type) {
    case PayloadType.SA: return encodeSaBody(p);
    case PayloadType.KE: return encodeKeBody(p);
    case PayloadType.IDi:
    case PayloadType.IDr: return encodeIdBody(p);
    case PayloadType.CERT: return encodeCertBody(p);
    case PayloadType.CERTREQ: return encodeCertReqBody(p);
    case PayloadType.AUTH: return encodeAuthBody(p);
    case PayloadType.Nonce: return encodeNonceBody(p);
    case PayloadType.Notify: return encodeNotifyBody(p);
    case PayloadType.Delete: return encodeDeleteBody(p);
    case PayloadType.VendorId: return encodeVendorIdBody(p);
    case PayloadType.TSi:
    case PayloadType.TSr: return encodeTsBody(p);
    case PayloadType.SK: return p.body;
    case PayloadType.CP: return encodeCpBody(p);
    case PayloadType.EAP: return encodeEapBody(p);
  }
}

/**
 * Decodes the body of a known, non-SK payload; undefined for a type we do not
 * know (the caller applies the critical-bit rule). Throws DecodeError.
 */
export function decodePayloadBody(type: number, critical: boolean, body: Uint8Array): Payload | undefined {
  switch (type) {
    case PayloadType.SA: return { type, critical, ...decodeSaBody(body) };
    case PayloadType.KE: return { type, critical, ...decodeKeBody(body) };
    case PayloadType.IDi:
    case PayloadType.IDr: return { type, critical, ...decodeIdBody(body) };
    case PayloadType.CERT: return { type, critical, ...decodeCertBody(body) };
    case PayloadType.CERTREQ: return { type, critical, ...decodeCertReqBody(body) };
    case PayloadType.AUTH: return { type, critical, ...decodeAuthBody(body) };
    case PayloadType.Nonce: return { type, critical, ...decodeNonceBody(body) };
    case PayloadType.Notify: return { type, critical, ...decodeNotifyBody(body) };
    case PayloadType.Delete: return { type, critical, ...decodeDeleteBody(body) };
    case PayloadType.VendorId: return { type, critical, ...decodeVendorIdBody(body) };
    case PayloadType.TSi:
    case PayloadType.TSr: return { type, critical, ...decodeTsBody(body) };
    case PayloadType.CP: return { type, critical, ...decodeCpBody(body) };
    case PayloadType.EAP: return { type, critical, ...decodeEapBody(body) };
    default: return undefined;
  }
}

/** Payloads of one type, narrowed: `payloadsOf(msg.payloads, PayloadType.Notify)`. */
export function payloadsOf<T extends Payload['type']>(payloads: readonly Payload[], type: T): Extract<Payload, { type: T }>[] {
  return payloads.filter((p): p is Extract<Payload, { type: T }> => p.type === type);
}
