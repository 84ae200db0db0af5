/**
 * An in-memory IPsec gateway for two-node tests: the test-only IKEv2
 * responder of test/harness/ike-pair.ts (MiniResponder: IKE_SA_INIT,
 * IKE_AUTH with a PSK, a Child SA with a TIA from the CP reply, MOBIKE
 * UPDATE_SA_ADDRESSES, INFORMATIONAL/DPD), one per IKE SA, plus an ESP
 * endpoint built from app/esp's ESP SAs. It speaks whole IPv4 packets:
 *
 *   UDP 500 / 4500 to `address`  →  IKE (RFC 3948 classifier on 4500), answered
 *                                    on the path it came in on
 *   UDP 4500, ESP                →  SA by SPI → decapsulate (ICV, replay, the
 *                                    Child SA's selectors) → the inner packet is
 *                                    forwarded (`forward`: the intranet side)
 *   a packet to an SA's TIA      →  ESP-in-UDP to the client's current path
 *   anything else                →  counted and dropped: the gateway forwards
 *                                    nothing in clear (the lab's U1 rule)
 *
 * INFORMATIONAL{D(IKE)} ends the IKE SA and its ESP SAs. Time comes from the
 * clock it is given (nothing here arms a timer: the client drives DPD and
 * retransmissions). Randomness is seeded per SA (distinct SPIs, repeatable).
 */
import { equalBytes } from '../../app/base/bytes.ts';
import { ipv4ToU32, u32ToIPv4 } from '../../app/base/ipv4.ts';
import { InboundEspSa, OutboundEspSa } from '../../app/esp/esp-sa.ts';
import { classifyUdp4500, withNonEspMarker } from '../../app/esp/udp-encap.ts';
import { parseProposals } from '../../app/ikev2/proposal-string.ts';
import { espSuiteOf } from '../../app/ikev2/suite.ts';
import type { Endpoint, TsRange } from '../../app/ikev2/types.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../app/wire/ikev2/constants.ts';
import { decodeMessage, encodeMessage } from '../../app/wire/ikev2/message.ts';
import { makeNotify } from '../../app/wire/ikev2/payloads/notify.ts';
import { MiniResponder } from '../harness/ike-pair.ts';
import { ipHeader, parseUdpPacket, udpPacket } from './ip-packet.ts';

export interface GatewayNodeOptions {
  /** the address IKE and ESP use (the lab's 198.51.100.1) */
  address: string;
  psk: Uint8Array;
  /** TIAs are handed out from here: pool + 1, + 2, … (the lab's 10.10.100.0) */
  tiaPool: string;
  /** the Child SA's TSr: what lies behind the gateway (the lab's 10.1.0.0/24) */
  localTs: TsRange[];
  /** IKE and ESP proposals (the responder's defaults otherwise) */
  ike?: string;
  esp?: string;
  /** announce MOBIKE_SUPPORTED (default true) */
  mobike?: boolean;
}

export interface GatewaySa {
  responder: MiniResponder;
  tia: string;
  /** where the client is: the IKE_AUTH's source, then each accepted UPDATE_SA_ADDRESSES' */
  peer?: Endpoint;
  inbound?: InboundEspSa;
  outbound?: OutboundEspSa;
  inSpi?: number;
}

export interface GatewayStats {
  ikeIn: number;
  ikeOut: number;
  espIn: number;
  espOut: number;
  keepalives: number;
  /** inner packets forwarded to the intranet side */
  forwarded: number;
  /** drops by reason */
  dropped: Record<string, number>;
}

const u32 = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

export class GatewayNode {
  readonly sas: GatewaySa[] = [];
  readonly stats: GatewayStats = { ikeIn: 0, ikeOut: 0, espIn: 0, espOut: 0, keepalives: 0, forwarded: 0, dropped: {} };
  /** a log line per IKE SA event (established, moved, deleted), for asserts and failure output */
  readonly log: string[] = [];
  private made = 0;
  /** answer a request for an IKE SA we do not know with an unprotected INVALID_IKE_SPI (RFC 7296 §2.21.4), as charon does */
  answerUnknownSpi = false;

  /**
   * `send`: the packets the gateway originates (IKE and ESP-in-UDP to clients);
   * `forward`: the inner packets of ESP, towards the intranet (a MemoryHost's TUN
   * write, so its kernel forwards them; `send` by default).
   */
  constructor(
    private readonly opts: GatewayNodeOptions,
    private readonly send: (pkt: Uint8Array) => void,
    private readonly forward: (pkt: Uint8Array) => void = send,
  ) {}

  /** Addresses the gateway answers for: its own and every live TIA (the routes to the pool point at it). */
  owns(addr: string): boolean {
    return addr === this.opts.address || this.sas.some((s) => s.tia === addr);
  }

  /** A packet the network delivered to the gateway. */
  receive(pkt: Uint8Array): void {
    const h = ipHeader(pkt);
    if (!h) return this.drop('malformed');
    if (h.dst !== this.opts.address) {
      const sa = this.sas.find((s) => s.tia === h.dst);
      return sa ? this.toClient(sa, pkt) : this.drop('not-ours');
    }
    const u = parseUdpPacket(pkt);
    if (!u) return this.drop('not-udp');
    const from: Endpoint = { addr: u.src, port: u.srcPort };
    const to: Endpoint = { addr: u.dst, port: u.dstPort };
    if (u.dstPort === 500) return this.ike(u.payload, from, to);
    if (u.dstPort !== 4500) return this.drop('port');
    const c = classifyUdp4500(u.payload);
    if (c.kind === 'keepalive') {
      this.stats.keepalives++;
      return;
    }
    if (c.kind === 'invalid') return this.drop(c.reason);
    if (c.kind === 'ike') return this.ike(c.message, from, to);
    this.fromClient(c.spi, c.packet);
  }

  // IKE
  private ike(bytes: Uint8Array, from: Endpoint, to: Endpoint): void {
    let header;
    try {
      header = decodeMessage(bytes).header;
    } catch {
      return this.drop('ike-malformed');
    }
    this.stats.ikeIn++;
    let sa = this.sas.find((s) => s.responder.session && equalBytes(s.responder.session.spiI, header.spiI));
    if (!sa) {
      if (header.exchangeType !== ExchangeType.IkeSaInit && !header.response && this.answerUnknownSpi) {
        this.drop('ike-unknown-sa');
        const notify = encodeMessage({ ...header, initiator: false, response: true }, [makeNotify(NotifyType.InvalidIkeSpi)]);
        return this.answer(notify, to, from);
      }
      if (header.exchangeType !== ExchangeType.IkeSaInit || header.response) return this.drop('ike-unknown-sa');
      sa = this.newSa();
    } else if (header.exchangeType === ExchangeType.IkeSaInit && sa.responder.initResponse) {
      return this.answer(sa.responder.initResponse, to, from); // a retransmitted IKE_SA_INIT
    }
    const r = sa.responder;
    const seen = r.requestsSeen.length;
    const out = r.handle(bytes, from, to);
    if (!out) return this.drop('ike-unanswered');
    this.answer(out, to, from);
    if (header.exchangeType === ExchangeType.IkeAuth && r.childKeys && !sa.inbound) this.installChild(sa, from);
    if (r.clientPath && (sa.peer?.addr !== r.clientPath.addr || sa.peer.port !== r.clientPath.port)) {
      sa.peer = { ...r.clientPath };
      this.log.push(`moved ${sa.tia} to ${sa.peer.addr}:${sa.peer.port}`);
    }
    const deleted = r.requestsSeen.slice(seen).some((ps) => ps.some((p) => p.type === PayloadType.Delete && p.protocol === ProtocolId.IKE));
    if (deleted) this.remove(sa);
  }

  /**
   * The gateway restarts: every IKE and ESP SA is forgotten (what comes for
   * them is dropped, or — `invalidIkeSpi` — an IKE request is answered with
   * INVALID_IKE_SPI); new IKE SAs get new TIAs, or — `sameTias` — the pool's first ones again.
   */
  restart(opts: { invalidIkeSpi?: boolean; /** the TIA pool starts over (as charon's in-memory pool does) */ sameTias?: boolean } = {}): void {
    this.sas.length = 0;
    if (opts.sameTias) this.made = 0;
    this.answerUnknownSpi = opts.invalidIkeSpi ?? false;
    this.log.push('restarted');
  }

  private newSa(): GatewaySa {
    const n = ++this.made;
    const tia = u32ToIPv4(ipv4ToU32(this.opts.tiaPool) + n);
    const responder = new MiniResponder({
      psk: this.opts.psk, address: this.opts.address, seed: `gateway-node-${n}`,
      espSpi: Uint8Array.of(0xc1, 0, 0, n), tia, localTs: this.opts.localTs, dnsServers: [], mobike: this.opts.mobike ?? true,
      ...(this.opts.ike ? { ike: this.opts.ike } : {}), ...(this.opts.esp ? { esp: this.opts.esp } : {}),
    });
    const sa: GatewaySa = { responder, tia };
    this.sas.push(sa);
    return sa;
  }

  private answer(bytes: Uint8Array, local: Endpoint, peer: Endpoint): void {
    this.stats.ikeOut++;
    const payload = local.port === 4500 ? withNonEspMarker(bytes) : bytes;
    this.send(udpPacket({ src: local.addr, dst: peer.addr, srcPort: local.port, dstPort: peer.port, payload }));
  }

  /** IKE_AUTH succeeded: the first Child SA's ESP SAs (i = client → gateway, r = gateway → client). */
  private installChild(sa: GatewaySa, from: Endpoint): void {
    const r = sa.responder;
    const suite = espSuiteOf(parseProposals('esp', this.opts.esp ?? 'aes256gcm16')[0]!.transforms)!.cipher;
    const inSpi = u32(r.espSpi);
    sa.inSpi = inSpi;
    sa.inbound = new InboundEspSa({
      spi: inSpi, suite, keys: r.childKeys!.i,
      // from the gateway's side: local = what lies behind it, remote = the client's TIA
      selectors: { local: this.opts.localTs, remote: [{ start: sa.tia, end: sa.tia }] },
    });
    sa.outbound = new OutboundEspSa({ spi: u32(r.peerEspSpi!), suite, keys: r.childKeys!.r });
    // ESP goes where the client's NAT-T socket is: the port IKE_AUTH came from once it floated (an ephemeral one when
    // 4500 was taken, e.g. by the previous SA's driver), 4500 when it came on 500
    sa.peer = { addr: from.addr, port: from.port === 500 ? 4500 : from.port };
    this.log.push(`established ${sa.tia} for ${from.addr}`);
  }

  private remove(sa: GatewaySa): void {
    this.sas.splice(this.sas.indexOf(sa), 1);
    this.log.push(`deleted ${sa.tia}`);
  }

  // ESP
  private fromClient(spi: number, esp: Uint8Array): void {
    const sa = this.sas.find((s) => s.inSpi === spi);
    if (!sa?.inbound) return this.drop('esp-unknown-spi');
    const d = sa.inbound.decapsulate(esp.slice());
    if (!d.ok) return this.drop(`esp-${d.reason}`);
    this.stats.espIn++;
    if (d.nextHeader !== 4) return this.drop('esp-not-ipv4');
    this.stats.forwarded++;
    this.forward(d.inner.slice());
  }

  private toClient(sa: GatewaySa, inner: Uint8Array): void {
    if (!sa.outbound || !sa.peer) return this.drop('no-child-sa');
    const e = sa.outbound.encapsulate(inner);
    if (!e.ok) return this.drop(`esp-${e.reason}`);
    this.stats.espOut++;
    this.send(udpPacket({ src: this.opts.address, dst: sa.peer.addr, srcPort: 4500, dstPort: sa.peer.port, payload: e.packet }));
  }

  private drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }
}
