/**
 * The test responder of ike-pair.ts (MiniResponder) as a gateway on a UDP
 * transport — an in-memory one from test/fakes on a MemoryNet host — with
 * the ESP of its IKE_AUTH Child SA (RFC 3948 ESP in UDP on its NAT-T port):
 * IKE on 500, or behind the non-ESP marker on 4500, goes to the responder and
 * its answer goes back where the request came from; ESP is opened with the
 * Child SA's initiator keys and its inner packet recorded in `received`;
 * `sendInner` seals a packet with the responder keys towards the client's
 * last ESP source.
 */
import { classifyUdp4500, withNonEspMarker } from '../../app/esp/udp-encap.ts';
import { InboundEspSa, OutboundEspSa } from '../../app/esp/esp-sa.ts';
import type { Datagram, Endpoint } from '../../app/ikev2/types.ts';
import type { UdpTransport } from '../../app/io/udp-transport.ts';
import { MiniResponder } from './ike-pair.ts';

function spiNumber(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export class MiniGateway {
  /** inner packets of the ESP that arrived, oldest first */
  readonly received: Uint8Array[] = [];
  /** every datagram's source as seen here, oldest first ("addr:port") */
  readonly sources: string[] = [];
  readonly dropped: string[] = [];
  private inbound?: InboundEspSa;
  private outbound?: OutboundEspSa;
  /** where the client's ESP last came from */
  espPeer?: Endpoint;

  constructor(readonly transport: UdpTransport, public responder: MiniResponder = new MiniResponder({ mobike: true })) {
    transport.onDatagram((d) => this.onDatagram(d));
  }

  /** The gateway restarts: a fresh responder (no IKE SA, no Child SA) on the same transport. */
  restart(responder: MiniResponder): void {
    this.responder = responder;
    this.inbound = undefined;
    this.outbound = undefined;
    this.espPeer = undefined;
  }

  private onDatagram(d: Datagram): void {
    this.sources.push(`${d.remote.addr}:${d.remote.port}`);
    if (d.local.port !== this.transport.nattPort) return this.onIke(d.bytes, d, false);
    const c = classifyUdp4500(d.bytes);
    if (c.kind === 'keepalive') return;
    if (c.kind === 'ike') return this.onIke(c.message, d, true);
    if (c.kind === 'invalid') return void this.dropped.push(c.reason);
    this.onEsp(c.spi, c.packet, d.remote);
  }

  private onIke(bytes: Uint8Array, d: Datagram, natt: boolean): void {
    const answer = this.responder.handle(bytes, { ...d.remote }, { ...d.local });
    if (answer) this.transport.send({ bytes: natt ? withNonEspMarker(answer) : answer, local: d.local, remote: d.remote });
  }

  private sas(): { inbound: InboundEspSa; outbound: OutboundEspSa } | undefined {
    const r = this.responder;
    if (!r.childKeys || !r.childSuite || !r.peerEspSpi) return undefined;
    this.inbound ??= new InboundEspSa({ spi: spiNumber(r.espSpi), suite: r.childSuite, keys: r.childKeys.i });
    this.outbound ??= new OutboundEspSa({ spi: spiNumber(r.peerEspSpi), suite: r.childSuite, keys: r.childKeys.r });
    return { inbound: this.inbound, outbound: this.outbound };
  }

  private onEsp(spi: number, packet: Uint8Array, from: Endpoint): void {
    const sas = this.sas();
    if (!sas || spi !== sas.inbound.spi) return void this.dropped.push('esp-unknown-spi');
    const r = sas.inbound.decapsulate(packet);
    if (!r.ok) return void this.dropped.push(`esp-${r.reason}`);
    this.espPeer = { ...from };
    this.received.push(r.inner);
  }

  /** Seals `inner` with the Child SA and sends it to the client's last ESP source (or `to`). */
  sendInner(inner: Uint8Array, to: Endpoint | undefined = this.espPeer): void {
    const sas = this.sas();
    if (!sas || !to) throw new Error('MiniGateway.sendInner: no Child SA or no peer yet');
    const r = sas.outbound.encapsulate(inner);
    if (!r.ok) throw new Error(`MiniGateway.sendInner: ${r.reason}`);
    this.transport.send({ bytes: r.packet, local: { addr: this.transport.localAddr, port: this.transport.nattPort }, remote: to });
  }
}
