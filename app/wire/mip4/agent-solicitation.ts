/**
 * Agent Solicitation = ICMP Router Solicitation (RFC 5944 §2.2, RFC 1256 §3),
 * sent with IP TTL 1 to 224.0.0.2 or 255.255.255.255.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Type = 10   |   Code = 0    |           Checksum            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           Reserved                            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { DecodeError } from '../../base/bytes.ts';
import { checksumValid, internetChecksum } from '../ip/checksum.ts';
import { IcmpRouterType } from './constants.ts';

export const ALL_ROUTERS = '224.0.0.2';

export function encodeAgentSolicitation(): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = IcmpRouterType.Solicitation;
  const c = internetChecksum(out);
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}

/** Checks type, code, length and checksum; Reserved is ignored on receipt. */
export function decodeAgentSolicitation(msg: Uint8Array): void {
  if (msg.length < 8) throw new DecodeError(`Router Solicitation truncated: ${msg.length} bytes`, 0);
  if (msg[0] !== IcmpRouterType.Solicitation) throw new DecodeError(`not a Router Solicitation (ICMP type ${msg[0]!})`, 0);
  if (msg[1] !== 0) throw new DecodeError(`Router Solicitation code ${msg[1]!} is not 0`, 1);
  if (!checksumValid(msg)) throw new DecodeError('bad ICMP checksum', 2);
}
