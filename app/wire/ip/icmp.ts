/**
 * ICMP echo (RFC 792): type 8 request / 0 reply, code 0,
 * checksum over the whole ICMP message, identifier, sequence, data.
 */
import { DecodeError } from '../../base/bytes.ts';
import { checksumValid, internetChecksum } from './checksum.ts';

export const IcmpType = { EchoReply: 0, EchoRequest: 8, RouterAdvertisement: 9, RouterSolicitation: 10 } as const;

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
