/**
 * Identification payloads IDi / IDr (RFC 7296 §3.5):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   ID Type     |                 RESERVED                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                   Identification Data                         ~
 *
 * AUTH signs prf(SK_p, IDType | RESERVED | data) (§2.15): encodeIdBody gives
 * exactly those bytes (the payload body, without the generic header).
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { IdType } from '../constants.ts';
import type { PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface IdPayload {
  type: PayloadType.IDi | PayloadType.IDr;
  critical?: boolean;
  idType: IdType;
  data: Uint8Array;
}

/** The ID payload body: the bytes AUTH's prf(SK_p, ID') covers. */
export function encodeIdBody(p: Pick<IdPayload, 'idType' | 'data'>): Uint8Array {
  return new Writer(4 + p.data.length).u8(p.idType).zeros(3).bytes(p.data).finish();
}

export function decodeIdBody(body: Uint8Array): Omit<IdPayload, 'type'> {
  const r = new Reader(body, 'ID payload');
  const idType = r.u8() as IdType;
  r.skip(3);
  const data = r.rest().slice();
  if (idType === IdType.Ipv4Addr && data.length !== 4) throw syntaxError(`ID_IPV4_ADDR of ${data.length} bytes`);
  if (idType === IdType.Ipv6Addr && data.length !== 16) throw syntaxError(`ID_IPV6_ADDR of ${data.length} bytes`);
  return { idType, data };
}

