/**
 * Vendor ID payload (RFC 7296 §3.12):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                        Vendor ID (VID)                        ~
 */
import type { PayloadType } from '../constants.ts';

export interface VendorIdPayload {
  type: PayloadType.VendorId;
  critical?: boolean;
  data: Uint8Array;
}

export function encodeVendorIdBody(p: VendorIdPayload): Uint8Array {
  return p.data.slice();
}

export function decodeVendorIdBody(body: Uint8Array): Omit<VendorIdPayload, 'type'> {
  return { data: body.slice() };
}
