/**
 * EAP packets (RFC 3748 §4), pure codec:
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Code      |  Identifier   |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |  Type-Data ...            (Request/Response only)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Code: 1 Request, 2 Response, 3 Success, 4 Failure (§4.2: Length = 4).
 *   Length covers the whole packet; octets past it are padding (§4) and are
 *   ignored; a Length longer than the packet is an error.
 */
import { DecodeError, Reader, Writer } from '../base/bytes.ts';

export enum EapCode {
  Request = 1,
  Response = 2,
  Success = 3,
  Failure = 4,
}

/** RFC 3748 §5 and the IANA EAP registry (the types we name). */
export enum EapType {
  Identity = 1,
  Notification = 2,
  Nak = 3,
  Md5Challenge = 4,
  Gtc = 6,
  Tls = 13,
  Ttls = 21,
  Peap = 25,
  MsChapV2 = 26,
}

export type EapPacket =
  | { code: EapCode.Request | EapCode.Response; id: number; type: number; data: Uint8Array }
  | { code: EapCode.Success | EapCode.Failure; id: number };

export function decodeEap(bytes: Uint8Array): EapPacket {
  const r = new Reader(bytes, 'EAP packet');
  const code = r.u8();
  const id = r.u8();
  const length = r.u16();
  if (length < 4 || length > bytes.length) throw new DecodeError(`EAP Length ${length} for a packet of ${bytes.length} bytes`);
  if (code === EapCode.Success || code === EapCode.Failure) {
    if (length !== 4) throw new DecodeError(`EAP ${EapCode[code]} with Length ${length} (must be 4)`);
    return { code, id };
  }
  if (code !== EapCode.Request && code !== EapCode.Response) throw new DecodeError(`EAP Code ${code} is not defined`);
  if (length < 5) throw new DecodeError(`EAP ${EapCode[code]} without a Type`);
  const type = r.u8();
  return { code, id, type, data: r.bytes(length - 5) };
}

export function encodeEap(p: EapPacket): Uint8Array {
  const w = new Writer(5 + ('data' in p ? p.data.length : 0));
  w.u8(p.code).u8(p.id);
  if (!('data' in p)) return w.u16(4).finish();
  if (p.data.length + 5 > 0xffff) throw new RangeError('EAP packet longer than 65535 bytes');
  return w.u16(5 + p.data.length).u8(p.type).bytes(p.data).finish();
}

/** A name for events and logs: "Request/MSCHAPv2", "Success". */
export function describeEap(p: EapPacket): string {
  if (!('data' in p)) return EapCode[p.code];
  return `${EapCode[p.code]}/${EapType[p.type] ?? `type ${p.type}`}`;
}
