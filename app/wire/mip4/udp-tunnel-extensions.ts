/**
 * RFC 3519 UDP tunnelling extensions, both in the short format.
 *
 * UDP Tunnel Request (§3.1), type 144, skippable, sent by a co-located MN before MN-HA:
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |    Length     |    Sub-Type   |   Reserved 1  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |F|R| Reserved 2| Encapsulation |          Reserved 3           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   Length 6, Sub-Type 0. Reserved 3 MUST be 0 on receipt (§3.1.3 says skip
 *   the extension, §4.6.1 says answer 134): the decoder reports it, the
 *   receiver decides.
 *
 * UDP Tunnel Reply (§3.2), type 44, NON-skippable:
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |    Length     |    Sub-Type   |  Reply Code   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |F|        Reserved             |     Keepalive Interval        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   Reply Code 0–63 = tunnelling will be done, 64–255 = declined;
 *   Keepalive Interval 0 = the MN's default.
 */
import { DecodeError } from '../../base/bytes.ts';
import { Encapsulation, ExtensionType, UDP_TUNNEL_REPLY_DECLINE_MIN, UDP_TUNNEL_REPLY_FORCED, UdpTunnelRequestFlag } from './constants.ts';
import { encodeShort, shortBody, UnknownExtensionError, type RawExtension } from './extensions.ts';

export interface UdpTunnelRequestExtension {
  kind: 'udp-tunnel-request';
  force: boolean;
  registrationThroughFa: boolean;
  encapsulation: Encapsulation | number;
  /** Reserved 3 as received (0 when valid); encoders always send 0 in Reserved 1/2/3. */
  reserved3?: number;
}

export interface UdpTunnelReplyExtension {
  kind: 'udp-tunnel-reply';
  code: number;
  forced: boolean;
  keepaliveSeconds: number;
}

export function encodeUdpTunnelRequest(e: UdpTunnelRequestExtension): Uint8Array {
  const flags = (e.force ? UdpTunnelRequestFlag.Force : 0) | (e.registrationThroughFa ? UdpTunnelRequestFlag.RegistrationThroughFa : 0);
  return encodeShort(ExtensionType.UdpTunnelRequest, 0, Uint8Array.of(0, flags, e.encapsulation, 0, 0));
}

/** undefined for an unknown Sub-Type (the extension is skippable). */
export function decodeUdpTunnelRequest(raw: RawExtension): UdpTunnelRequestExtension | undefined {
  if (raw.data.length !== 6) throw new DecodeError(`UDP Tunnel Request: Length ${raw.data.length}, expected 6`, raw.offset);
  const { subType, data } = shortBody(raw);
  if (subType !== 0) return undefined;
  const flags = data[1]!;
  return {
    kind: 'udp-tunnel-request',
    force: (flags & UdpTunnelRequestFlag.Force) !== 0,
    registrationThroughFa: (flags & UdpTunnelRequestFlag.RegistrationThroughFa) !== 0,
    encapsulation: data[2]!,
    reserved3: (data[3]! << 8) | data[4]!,
  };
}

export function encodeUdpTunnelReply(e: UdpTunnelReplyExtension): Uint8Array {
  const f = e.forced ? UDP_TUNNEL_REPLY_FORCED : 0;
  return encodeShort(ExtensionType.UdpTunnelReply, 0, Uint8Array.of(e.code, f >> 8, f & 0xff, e.keepaliveSeconds >> 8, e.keepaliveSeconds & 0xff));
}

/** Non-skippable: an unknown Sub-Type means the message must be dropped. */
export function decodeUdpTunnelReply(raw: RawExtension): UdpTunnelReplyExtension {
  if (raw.data.length !== 6) throw new DecodeError(`UDP Tunnel Reply: Length ${raw.data.length}, expected 6`, raw.offset);
  const { subType, data } = shortBody(raw);
  if (subType !== 0) throw new UnknownExtensionError(raw.type, raw.offset);
  return {
    kind: 'udp-tunnel-reply',
    code: data[0]!,
    forced: (((data[1]! << 8) | data[2]!) & UDP_TUNNEL_REPLY_FORCED) !== 0,
    keepaliveSeconds: (data[3]! << 8) | data[4]!,
  };
}

export function udpTunnelAssented(e: UdpTunnelReplyExtension): boolean {
  return e.code < UDP_TUNNEL_REPLY_DECLINE_MIN;
}

export const DEFAULT_UDP_ENCAPSULATION = Encapsulation.IpInIp;
