/**
 * An intranet host for two-node tests (the lab's `intra` with its echo
 * server): answers ICMP echo requests to its address and echoes UDP
 * datagrams sent to its echo port back to their source, and records what it
 * received (the source address is what the tests check: the home address).
 */
import { echoReplyTo, ipHeader, parseUdpPacket, udpPacket } from './ip-packet.ts';

export interface EchoHostRecord {
  src: string;
  protocol: number;
  bytes: number;
}

export class EchoHost {
  readonly received: EchoHostRecord[] = [];
  dropped = 0;

  constructor(readonly address: string, private readonly send: (pkt: Uint8Array) => void, readonly udpEchoPort = 7) {}

  owns(addr: string): boolean {
    return addr === this.address;
  }

  receive(pkt: Uint8Array): void {
    const h = ipHeader(pkt);
    if (!h || h.dst !== this.address) {
      this.dropped++;
      return;
    }
    this.received.push({ src: h.src, protocol: h.protocol, bytes: pkt.length });
    const echo = echoReplyTo(pkt, this.address);
    if (echo) return this.send(echo);
    const u = parseUdpPacket(pkt);
    if (u && u.dstPort === this.udpEchoPort) {
      return this.send(udpPacket({ src: this.address, dst: u.src, srcPort: u.dstPort, dstPort: u.srcPort, payload: u.payload }));
    }
    this.dropped++;
  }
}
