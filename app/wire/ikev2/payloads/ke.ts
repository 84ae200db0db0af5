/**
 * Key Exchange payload (RFC 7296 §3.4):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Diffie-Hellman Group Num    |           RESERVED            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                       Key Exchange Data                       ~
 *
 * The data length depends on the group (checked by the crypto layer).
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import type { DhId, PayloadType } from '../constants.ts';

export interface KePayload {
  type: PayloadType.KE;
  critical?: boolean;
  group: DhId;
  data: Uint8Array;
}

export function encodeKeBody(p: KePayload): Uint8Array {
  return new Writer(4 + p.data.length).u16(p.group).u16(0).bytes(p.data).finish();
}

export function decodeKeBody(body: Uint8Array): Omit<KePayload, 'type'> {
  const r = new Reader(body, 'KE payload');
  const group = r.u16() as DhId;
  r.skip(2);
  return { group, data: r.rest().slice() };
}
