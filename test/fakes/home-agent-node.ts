/**
 * An in-memory home agent for two-node tests, built from the lab's reference
 * home agent (test/lab/home-agent): its pure Registrar (RFC 5944 registration
 * with MN-HA authentication, RFC 5265 Trusted Networks Configured in replies
 * to requests from the trusted prefixes, RFC 3519 UDP tunnelling) and its
 * Forwarder (IP-in-IP / GRE / minimal / UDP tunnels both ways, reverse
 * tunnelling per RFC 3024). Where main.ts has sockets, a TUN, a proxy-ARP
 * entry and a host route, this node speaks whole IPv4 packets:
 *
 *   UDP 434 to `address`        → Registration Request → Reply (UDP from 434)
 *                                  or RFC 3519 tunnel data → Forwarder
 *   protocol 4 / 47 / 55        → Forwarder.handleRaw → the inner packet is
 *                                  forwarded into the intranet (`forward`)
 *   to a bound home address     → (proxy ARP) Forwarder.handleFromIntranet →
 *                                  tunnelled to the care-of address
 *   ICMP echo to `address`      → echo reply (the kernel's answer)
 *
 * Bindings expire on the clock it is given: on every packet and on expire().
 */
import type { Instant } from '../../app/base/clock.ts';
import type { PlatformClock } from '../../app/io/platform.ts';
import { encodeIpv4, IpProto } from '../../app/wire/ip/ipv4-header.ts';
import { BindingCache, type Binding } from '../lab/home-agent/binding-cache.ts';
import { parseHomeAgentConfig, type HomeAgentConfig } from '../lab/home-agent/config.ts';
import { Forwarder } from '../lab/home-agent/forwarding.ts';
import { Registrar } from '../lab/home-agent/registrar.ts';
import { MipType } from '../lab/home-agent/wire.ts';
import { echoReplyTo, ipHeader, parseUdpPacket, udpPacket } from './ip-packet.ts';

export class HomeAgentNode {
  readonly cfg: HomeAgentConfig;
  readonly cache = new BindingCache();
  readonly registrar: Registrar;
  readonly forwarder: Forwarder;
  /** the reference HA's JSON log records (binding-added, denied, binding-removed, …), in order */
  readonly log: Record<string, unknown>[] = [];
  readonly dropped: Record<string, number> = {};

  /**
   * `config`: the reference HA's JSON configuration (test/lab/home-agent/config.ts);
   * `send`: the packets the HA originates (replies, tunnelled packets, ICMP);
   * `forward`: the decapsulated packets from mobile nodes, into the intranet (main.ts's TUN
   * write; a MemoryHost's TUN, so its kernel forwards them; `send` by default).
   */
  constructor(
    config: unknown,
    private readonly clock: Pick<PlatformClock, 'now' | 'wallNow'>,
    private readonly send: (pkt: Uint8Array) => void,
    forward: (pkt: Uint8Array) => void = send,
  ) {
    this.cfg = parseHomeAgentConfig(config);
    // nonces, when configured, from a counter: repeatable runs
    let nonce = 0x4e0000;
    this.registrar = new Registrar(this.cfg, this.cache, () => ++nonce);
    const address = this.cfg.address;
    this.forwarder = new Forwarder(this.cfg, this.cache, {
      tunWrite: (pkt) => forward(pkt),
      udpSend: (msg, port, addr) => this.send(udpPacket({ src: address, dst: addr, srcPort: this.cfg.port, dstPort: port, payload: msg })),
      rawSend: (pkt) => this.send(pkt),
      icmpSend: (msg, dst) => this.send(encodeIpv4({ src: address, dst, protocol: IpProto.Icmp }, msg)),
    });
  }

  /** The HA's own address and (proxy ARP) every home address it holds a binding for. */
  owns(addr: string): boolean {
    this.expire();
    return addr === this.cfg.address || this.cache.get(addr) !== undefined;
  }

  binding(homeAddress: string): Binding | undefined {
    this.expire();
    return this.cache.get(homeAddress);
  }

  /** Removes the bindings whose lifetime is over (main.ts's 250 ms sweep). */
  expire(now: Instant = this.clock.now()): void {
    for (const b of this.cache.expire(now)) this.log.push({ event: 'binding-removed', homeAddress: b.homeAddress, reason: 'lifetime expired' });
  }

  /** A packet the network delivered to the HA. */
  receive(pkt: Uint8Array): void {
    this.expire();
    const h = ipHeader(pkt);
    if (!h) return this.drop('malformed');
    if (h.dst !== this.cfg.address) {
      if (!this.cache.get(h.dst)) return this.drop('not-ours');
      return this.forwarder.handleFromIntranet(pkt);
    }
    if (h.protocol === IpProto.IpInIp || h.protocol === IpProto.Gre || h.protocol === IpProto.MinEncap) return this.forwarder.handleRaw(pkt);
    if (h.protocol === IpProto.Icmp) {
      const reply = echoReplyTo(pkt, this.cfg.address);
      return reply ? this.send(reply) : this.forwarder.handleIcmp(pkt);
    }
    const u = parseUdpPacket(pkt);
    if (!u || u.dstPort !== this.cfg.port) return this.drop('port');
    const from = { address: u.src, port: u.srcPort };
    if (u.payload[0] === MipType.TunnelData) return this.forwarder.handleTunnelData(u.payload, from);
    if (u.payload[0] !== MipType.RegistrationRequest) return this.drop(`message type ${u.payload[0]}`);
    const out = this.registrar.handleRequest(u.payload, from, this.clock.now(), this.clock.wallNow());
    if (out.reply) this.send(udpPacket({ src: this.cfg.address, dst: u.src, srcPort: this.cfg.port, dstPort: u.srcPort, payload: out.reply }));
    this.log.push(out.log);
  }

  private drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }
}
