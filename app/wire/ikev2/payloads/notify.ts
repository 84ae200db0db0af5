/**
 * Notify payload (RFC 7296 §3.10):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~                Security Parameter Index (SPI)                 ~
 *   ~                       Notification Data                       ~
 *
 * Protocol ID and SPI are 0/empty unless the notify concerns one SA
 * (e.g. REKEY_SA: protocol ESP, 4-byte SPI). SPI Size is 0, 4 or 8.
 * Per-type data helpers live in notify-data.ts.
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { PayloadType, ProtocolId } from '../constants.ts';
import type { NotifyType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface NotifyPayload {
  type: PayloadType.Notify;
  critical?: boolean;
  protocol: ProtocolId;
  spi: Uint8Array;
  notifyType: NotifyType;
  data: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function validSpiSize(n: number): boolean {
  return n === 0 || n === 4 || n === 8;
}

/** A notify with optional data; protocol and SPI default to none. */
export function makeNotify(
  notifyType: NotifyType, data: Uint8Array = EMPTY, protocol: ProtocolId = ProtocolId.None, spi: Uint8Array = EMPTY,
): NotifyPayload {
  return { type: PayloadType.Notify, protocol, spi, notifyType, data };
}

export function encodeNotifyBody(p: NotifyPayload): Uint8Array {
  if (!validSpiSize(p.spi.length)) throw new RangeError(`notify SPI must be 0, 4 or 8 bytes, got ${p.spi.length}`);
  return new Writer(4 + p.spi.length + p.data.length)
    .u8(p.protocol).u8(p.spi.length).u16(p.notifyType).bytes(p.spi).bytes(p.data).finish();
}

export function decodeNotifyBody(body: Uint8Array): Omit<NotifyPayload, 'type'> {
  const r = new Reader(body, 'Notify payload');
  const protocol = r.u8() as ProtocolId;
  const spiSize = r.u8();
  const notifyType = r.u16() as NotifyType;
  if (!validSpiSize(spiSize)) throw syntaxError(`notify ${notifyType} with SPI size ${spiSize}`);
  const spi = r.bytes(spiSize).slice();
  return { protocol, spi, notifyType, data: r.rest().slice() };
}
