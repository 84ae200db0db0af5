/**
 * MIP Tunnel Data message (RFC 3519 §3.3): tunnelled packets on the
 * registration's UDP port pair, told apart from registrations by Type 4.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |  Next Header  |           Reserved            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  tunnelled packet (IPv4 / GRE / minimal encapsulation) ...
 *
 *   Next Header 4 (IP-in-UDP), 47 (GRE), 55 (minimal); Reserved sent as 0,
 *   ignored on receipt. The receiver must also check Next Header against
 *   the binding's mode and drop a mismatch.
 */
import { DecodeError } from '../../base/bytes.ts';
import { Encapsulation, MipMessageType } from './constants.ts';

export type TunnelNextHeader = Encapsulation.IpInIp | Encapsulation.Gre | Encapsulation.Minimal;

export interface TunnelData {
  nextHeader: TunnelNextHeader;
  payload: Uint8Array;
}

export const TUNNEL_DATA_HEADER_LENGTH = 4;

function isNextHeader(v: number): v is TunnelNextHeader {
  return v === Encapsulation.IpInIp || v === Encapsulation.Gre || v === Encapsulation.Minimal;
}

export function encodeTunnelData(d: TunnelData): Uint8Array {
  if (!isNextHeader(d.nextHeader)) throw new RangeError(`tunnel data Next Header ${String(d.nextHeader)} is not 4, 47 or 55`);
  const out = new Uint8Array(TUNNEL_DATA_HEADER_LENGTH + d.payload.length);
  out[0] = MipMessageType.TunnelData;
  out[1] = d.nextHeader;
  out.set(d.payload, TUNNEL_DATA_HEADER_LENGTH);
  return out;
}

/** The payload is a view into msg (no copy). */
export function decodeTunnelData(msg: Uint8Array): TunnelData {
  if (msg.length < TUNNEL_DATA_HEADER_LENGTH) throw new DecodeError(`tunnel data truncated: ${msg.length} bytes`, 0);
  if (msg[0] !== MipMessageType.TunnelData) throw new DecodeError(`not a tunnel data message (type ${msg[0]!})`, 0);
  const nh = msg[1]!;
  if (!isNextHeader(nh)) throw new DecodeError(`tunnel data Next Header ${nh} is not 4, 47 or 55`, 1);
  return { nextHeader: nh, payload: msg.subarray(TUNNEL_DATA_HEADER_LENGTH) };
}
