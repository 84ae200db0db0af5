/**
 * The in-memory home agent (test/fakes/home-agent-node.ts, the lab HA's
 * Registrar and Forwarder) against our registration client
 * (app/mip4/registration.ts), over whole IPv4 packets on a ManualClock:
 * TNC for requests from the trusted prefixes only, the MN-HA key checked,
 * IP-in-IP both ways between the home address and an intranet echo host,
 * and bindings that expire on the clock.
 */
import { describe, expect, it } from 'vitest';
import { RegistrationClient } from '../../../app/mip4/registration.ts';
import type { RegistrationEvent } from '../../../app/mip4/registration-types.ts';
import { decapsulateIp, encapsulateIp } from '../../../app/mip4/tunnel-format.ts';
import { IcmpType } from '../../../app/wire/ip/icmp.ts';
import { IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { EchoHost } from '../../fakes/echo-host.ts';
import { HomeAgentNode } from '../../fakes/home-agent-node.ts';
import { icmpEchoPacket, ipHeader, parseIcmpEcho, parseUdpPacket, udpPacket } from '../../fakes/ip-packet.ts';
import { seededRandom } from '../../harness/ike-pair.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

const HA = '10.1.0.1';
const HOA = '10.1.0.50';
const T1 = '10.2.0.100';
const TIA = '10.10.100.1';
const INTRA = '10.1.0.10';
const KEY = '3c9d1e7a5b2f48c6a0e1d2c3b4a59687';
const WALL0 = Date.UTC(2026, 11, 3, 12, 0, 0);

function haConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    address: HA, homeNetwork: '10.1.0.0/24', trustedPrefixes: ['10.2.0.0/24'], acceptUntrusted: true,
    mobileNodes: [{ homeAddress: HOA, spi: 300, key: `hex:${KEY}` }], ...over,
  };
}

function rig(opts: { ha?: Record<string, unknown>; key?: string } = {}) {
  const mono = new ManualClock();
  const clock = { now: () => mono.now(), wallNow: () => WALL0 + mono.now() };
  const queue: Uint8Array[] = [];
  const ha = new HomeAgentNode(haConfig(opts.ha), clock, (p) => queue.push(p));
  const intra = new EchoHost(INTRA, (p) => queue.push(p));
  const core = new RegistrationClient({
    homeAddress: HOA, homeAgent: HA, spi: 300, key: Uint8Array.from(Buffer.from(opts.key ?? KEY, 'hex')), lifetimeSeconds: 30,
    reverseTunnel: true, encapsulation: 'ip-in-ip', udpTunnel: 'request', rng: seededRandom('ha-node-test'),
  });
  const events: RegistrationEvent[] = [];
  const mn = { addrs: new Set([T1, TIA]), delivered: [] as Uint8Array[], other: [] as Uint8Array[] };
  const mnReceive = (pkt: Uint8Array): void => {
    const h = ipHeader(pkt)!;
    if (h.protocol === IpProto.IpInIp) {
      const d = decapsulateIp(pkt, 'ip-in-ip');
      if (d.ok) mn.delivered.push(d.inner);
      return;
    }
    const u = parseUdpPacket(pkt);
    if (u && u.srcPort === 434) core.handleDatagram(u.payload, { address: u.src, port: u.srcPort }, mono.now(), clock.wallNow());
    else mn.other.push(pkt);
  };
  const pump = (): void => {
    for (let guard = 0; guard < 1000; guard++) {
      for (let t = core.pollTransmit(); t; t = core.pollTransmit()) {
        queue.push(udpPacket({ src: t.source, dst: t.to.address, srcPort: 40434, dstPort: t.to.port, payload: t.bytes }));
      }
      for (let e = core.pollEvent(); e; e = core.pollEvent()) events.push(e);
      const next = queue.shift();
      if (!next) return;
      const dst = ipHeader(next)!.dst;
      if (ha.owns(dst)) ha.receive(next);
      else if (intra.owns(dst)) intra.receive(next);
      else if (mn.addrs.has(dst)) mnReceive(next);
    }
    throw new Error('no quiescence');
  };
  const accepted = () => events.filter((e) => e.type === 'registration' && e.state === 'accepted');
  return { mono, clock, ha, intra, core, events, mn, queue, pump, accepted };
}

describe('HomeAgentNode (the lab HA in memory) against our registration client', () => {
  it('accepts a registration from the trusted link with TNC, and tunnels an echo to the intranet and back', () => {
    const r = rig();
    r.core.handleCommand({ type: 'register', coa: T1 }, r.mono.now(), r.clock.wallNow());
    r.pump();
    expect(r.accepted()).toEqual([expect.objectContaining({ coa: T1, tnc: true, udpTunnel: false, encapsulation: 'ip-in-ip' })]);
    expect(r.ha.log).toEqual([expect.objectContaining({ event: 'binding-added', homeAddress: HOA, coa: T1, tunnel: 'ipip', tnc: true, from: T1 })]);
    expect(r.ha.owns(HOA)).toBe(true);

    const ping = icmpEchoPacket(HOA, INTRA, { type: IcmpType.EchoRequest, id: 3, seq: 1, data: new Uint8Array(32).fill(5) });
    r.queue.push(encapsulateIp(ping, 'ip-in-ip', { src: T1, dst: HA }));
    r.pump();
    expect(r.intra.received).toEqual([{ src: HOA, protocol: IpProto.Icmp, bytes: 60 }]);
    expect(r.mn.delivered.map((p) => parseIcmpEcho(p))).toEqual([expect.objectContaining({ type: IcmpType.EchoReply, id: 3, seq: 1, src: INTRA, dst: HOA })]);
    expect(r.ha.forwarder.stats).toMatchObject({ fromMn: 1, toMn: 1 });
  });

  it('accepts a registration from an untrusted source (the TIA) without TNC, and moves the tunnel there', () => {
    const r = rig();
    r.core.handleCommand({ type: 'register', coa: T1 }, r.mono.now(), r.clock.wallNow());
    r.pump();
    r.mono.advance(2000);
    r.core.handleCommand({ type: 'move', coa: TIA }, r.mono.now(), r.clock.wallNow());
    r.pump();
    expect(r.accepted().map((e) => [e.coa, e.type === 'registration' && e.state === 'accepted' && e.tnc])).toEqual([[T1, true], [TIA, false]]);
    expect(r.ha.binding(HOA)).toMatchObject({ careOfAddress: TIA, tunnelDst: TIA, trusted: false });
    // from the old CoA, the reverse tunnel is refused
    r.queue.push(encapsulateIp(icmpEchoPacket(HOA, INTRA, { type: IcmpType.EchoRequest, id: 1, seq: 1, data: new Uint8Array(4) }), 'ip-in-ip', { src: T1, dst: HA }));
    r.queue.push(encapsulateIp(icmpEchoPacket(HOA, INTRA, { type: IcmpType.EchoRequest, id: 1, seq: 2, data: new Uint8Array(4) }), 'ip-in-ip', { src: TIA, dst: HA }));
    r.pump();
    expect(r.intra.received.map((x) => x.src)).toEqual([HOA]);
    expect(r.ha.forwarder.stats.wrongEndpoint).toBe(1);
    expect(r.mn.delivered.map((p) => parseIcmpEcho(p)?.seq)).toEqual([2]);
  });

  it('denies a request under another key (131) and drops untrusted requests unless acceptUntrusted', () => {
    const wrong = rig({ key: '00'.repeat(16) });
    wrong.core.handleCommand({ type: 'register', coa: T1 }, wrong.mono.now(), wrong.clock.wallNow());
    wrong.pump();
    expect(wrong.ha.log[0]).toMatchObject({ event: 'denied', code: 131 });
    expect(wrong.accepted()).toEqual([]);
    expect(wrong.ha.owns(HOA)).toBe(false);

    const strict = rig({ ha: { acceptUntrusted: false } });
    strict.core.handleCommand({ type: 'register', coa: TIA }, strict.mono.now(), strict.clock.wallNow());
    strict.pump();
    expect(strict.ha.log[0]).toMatchObject({ event: 'dropped', reason: 'untrusted source (RFC 5265)' });
    expect(strict.mn.other).toEqual([]);
    expect(strict.accepted()).toEqual([]);
  });

  it('lets the binding expire on the clock; packets for the home address then find no HA', () => {
    const r = rig();
    r.core.handleCommand({ type: 'register', coa: T1 }, r.mono.now(), r.clock.wallNow());
    r.pump();
    expect(r.ha.owns(HOA)).toBe(true);
    r.mono.advance(30_000);
    expect(r.ha.owns(HOA)).toBe(false);
    expect(r.ha.log.at(-1)).toEqual({ event: 'binding-removed', homeAddress: HOA, reason: 'lifetime expired' });
  });

  it('answers an echo to its own address, like the kernel under the lab HA', () => {
    const r = rig();
    r.ha.receive(icmpEchoPacket(T1, HA, { type: IcmpType.EchoRequest, id: 2, seq: 9, data: new Uint8Array(0) }));
    expect(r.queue.map((p) => parseIcmpEcho(p))).toEqual([expect.objectContaining({ type: IcmpType.EchoReply, src: HA, dst: T1, seq: 9 })]);
  });
});
