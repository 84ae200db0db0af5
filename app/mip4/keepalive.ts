/**
 * RFC 3519 §4.9 keepalive: an ICMP Echo Request from the home address to the
 * home agent, IP-in-UDP inside a tunnel data message on the registration's
 * port pair. The HA answers with an Echo Reply in the tunnel, which proves
 * the NAT mapping still stands.
 *
 *   UDP payload:  | 4 | NH=4 | 0 0 | IPv4 HoA→HA proto 1 | ICMP 8 id seq | "homeward" |
 */
import { utf8 } from '../base/bytes.ts';
import { decodeIcmpEcho, encodeIcmpEcho, IcmpType } from '../wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../wire/ip/ipv4-header.ts';
import { Encapsulation } from '../wire/mip4/constants.ts';
import { encodeTunnelData } from '../wire/mip4/tunnel-data.ts';
import { randomU32, type RandomBytes } from './identification.ts';

const PAYLOAD = utf8('homeward keepalive');

export class KeepaliveProbe {
  readonly echoId: number;
  private seq = 0;
  private outstanding = 0;

  constructor(private readonly homeAddress: string, private readonly homeAgent: string, rng: RandomBytes) {
    this.echoId = randomU32(rng) & 0xffff;
  }

  /** Keepalives sent since the last echo reply. */
  get unanswered(): number {
    return this.outstanding;
  }

  /** The next keepalive as a tunnel data message (IP-in-UDP); counts it as unanswered. */
  build(): Uint8Array {
    return encodeTunnelData({ nextHeader: Encapsulation.IpInIp, payload: this.buildInner() });
  }

  /** The next keepalive's ICMP echo request (HoA → HA), for the caller to tunnel; counts it as unanswered. */
  buildInner(): Uint8Array {
    this.seq = (this.seq + 1) & 0xffff;
    this.outstanding++;
    const icmp = encodeIcmpEcho({ type: IcmpType.EchoRequest, id: this.echoId, seq: this.seq, data: PAYLOAD });
    return encodeIpv4({ src: this.homeAddress, dst: this.homeAgent, protocol: IpProto.Icmp, ttl: 64 }, icmp);
  }

  /** True for an Echo Reply from the HA to the home address with our identifier. */
  isReply(inner: Uint8Array): boolean {
    try {
      const h = decodeIpv4Header(inner);
      if (h.protocol !== IpProto.Icmp || h.src !== this.homeAgent || h.dst !== this.homeAddress) return false;
      const e = decodeIcmpEcho(ipv4Payload(inner, h));
      return e.type === IcmpType.EchoReply && e.id === this.echoId;
    } catch {
      return false;
    }
  }

  answered(): void {
    this.outstanding = 0;
  }
}
