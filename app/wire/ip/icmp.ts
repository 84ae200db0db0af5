/**
 * ICMP echo (RFC 792): type 8 request / 0 reply, code 0,
 * checksum over the whole ICMP message, identifier, sequence, data.
 * ICMP "fragmentation needed and DF set" (RFC 792 type 3 code 4, with the
 * next-hop MTU of RFC 1191 §4) for tunnel path-MTU discovery (RFC 2003 §5.1).
 */
import { DecodeError } from '../../base/bytes.ts';
import { checksumValid, internetChecksum } from './checksum.ts';

export const IcmpType = { EchoReply: 0, DestinationUnreachable: 3, EchoRequest: 8, RouterAdvertisement: 9, RouterSolicitation: 10 } as const;

export interface IcmpEcho {
  type: 0 | 8;
  id: number;
  seq: number;
  data: Uint8Array;
}

export function encodeIcmpEcho(e: IcmpEcho): Uint8Array {
  const out = new Uint8Array(8 + e.data.length);
  out[0] = e.type;
  out[4] = e.id >> 8;
  out[5] = e.id & 0xff;
  out[6] = e.seq >> 8;
  out[7] = e.seq & 0xff;
  out.set(e.data, 8);
  const c = internetChecksum(out);
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}

export function decodeIcmpEcho(msg: Uint8Array): IcmpEcho {
  if (msg.length < 8) throw new DecodeError(`ICMP message truncated: ${msg.length} bytes`);
  const type = msg[0]!;
  if (type !== 0 && type !== 8) throw new DecodeError(`not an ICMP echo (type ${type})`);
  if (msg[1] !== 0) throw new DecodeError(`ICMP echo code ${msg[1]} is not 0`);
  if (!checksumValid(msg)) throw new DecodeError('bad ICMP checksum');
  return { type, id: (msg[4]! << 8) | msg[5]!, seq: (msg[6]! << 8) | msg[7]!, data: msg.slice(8) };
}

/**
 * Destination Unreachable, code 4 (fragmentation needed and DF set), for the
 * datagram `original` (its IP header + first 8 data bytes are quoted, RFC 792),
 * with the next-hop MTU in bytes 6–7 (RFC 1191 §4). Returns the ICMP message.
 */
export function encodeFragmentationNeeded(original: Uint8Array, nextHopMtu: number): Uint8Array {
  if (original.length < 20) throw new DecodeError(`datagram too short to quote: ${original.length} bytes`);
  if (!Number.isInteger(nextHopMtu) || nextHopMtu < 68 || nextHopMtu > 0xffff) throw new RangeError(`next-hop MTU ${nextHopMtu} out of range`);
  return encodeIcmpError(IcmpType.DestinationUnreachable, 4, original, nextHopMtu);
}

/**
 * An ICMP error message (RFC 792): type, code, the 16-bit value of bytes 6–7
 * (a next-hop MTU, or 0), and the original datagram's IP header plus its
 * first 8 data bytes quoted.
 */
export function encodeIcmpError(type: number, code: number, original: Uint8Array, extra = 0): Uint8Array {
  const ihl = (original[0]! & 0x0f) * 4;
  const quote = original.subarray(0, Math.min(original.length, ihl + 8));
  const out = new Uint8Array(8 + quote.length);
  out[0] = type;
  out[1] = code;
  out[6] = extra >> 8;
  out[7] = extra & 0xff;
  out.set(quote, 8);
  const c = internetChecksum(out);
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}
