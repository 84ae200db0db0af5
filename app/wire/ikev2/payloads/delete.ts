/**
 * Delete payload (RFC 7296 §3.11):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Protocol ID   |   SPI Size    |          Num of SPIs          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~               Security Parameter Index(es) (SPI)              ~
 *
 * Deleting the IKE SA: protocol 1, SPI size 0, no SPIs (the header names it).
 * Deleting Child SAs: protocol ESP/AH, SPI size 4, the sender's inbound SPIs.
 */
import { Reader, Writer } from '../../../base/bytes.ts';
import { ProtocolId } from '../constants.ts';
import type { PayloadType } from '../constants.ts';
import { syntaxError } from '../errors.ts';

export interface DeletePayload {
  type: PayloadType.Delete;
  critical?: boolean;
  protocol: ProtocolId;
  spis: Uint8Array[];
}

function spiSizeFor(protocol: ProtocolId): number | undefined {
  if (protocol === ProtocolId.IKE) return 0;
  if (protocol === ProtocolId.ESP || protocol === ProtocolId.AH) return 4;
  return undefined;
}

export function encodeDeleteBody(p: DeletePayload): Uint8Array {
  const size = spiSizeFor(p.protocol);
  if (size === undefined) throw new RangeError(`cannot delete protocol ${p.protocol}`);
  if (p.spis.some((s) => s.length !== size)) throw new RangeError(`Delete SPIs must be ${size} bytes`);
  if (size === 0 && p.spis.length > 0) throw new RangeError('an IKE SA Delete carries no SPIs');
  const w = new Writer(4 + size * p.spis.length).u8(p.protocol).u8(size).u16(p.spis.length);
  for (const s of p.spis) w.bytes(s);
  return w.finish();
}

export function decodeDeleteBody(body: Uint8Array): Omit<DeletePayload, 'type'> {
  const r = new Reader(body, 'Delete payload');
  const protocol = r.u8() as ProtocolId;
  const spiSize = r.u8();
  const count = r.u16();
  const want = spiSizeFor(protocol);
  if (want === undefined || spiSize !== want) throw syntaxError(`Delete for protocol ${protocol} with SPI size ${spiSize}`);
  if (want === 0 && count !== 0) throw syntaxError(`IKE SA Delete announces ${count} SPIs`);
  if (r.remaining !== count * spiSize) {
    throw syntaxError(`Delete announces ${count} SPIs of ${spiSize} bytes but holds ${r.remaining} bytes`);
  }
  const spis: Uint8Array[] = [];
  for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize).slice());
  return { protocol, spis };
}
