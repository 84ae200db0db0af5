/**
 * The in-memory gateway (test/fakes/gateway-node.ts) against our own IKE SA
 * core as initiator, over whole IPv4 packets on a ManualClock: IKE_SA_INIT,
 * IKE_AUTH with the PSK, a TIA from the CP reply, ESP both ways to an
 * intranet echo host, a MOBIKE move, DPD and the DELETE — and the gateway
 * forwards nothing in clear and nothing that fails the ICV.
 */
import { describe, expect, it } from 'vitest';
import { InboundEspSa, OutboundEspSa } from '../../../app/esp/esp-sa.ts';
import { classifyUdp4500 } from '../../../app/esp/udp-encap.ts';
import { IkeSa } from '../../../app/ikev2/ike-sa.ts';
import type { ChildSaInfo, Effect } from '../../../app/ikev2/types.ts';
import { IcmpType } from '../../../app/wire/ip/icmp.ts';
import { EchoHost } from '../../fakes/echo-host.ts';
import { GatewayNode } from '../../fakes/gateway-node.ts';
import { icmpEchoPacket, ipHeader, parseIcmpEcho, parseUdpPacket, udpPacket } from '../../fakes/ip-packet.ts';
import { clientConfig, seededRandom } from '../../harness/ike-pair.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

const GW = '198.51.100.1';
const U1 = '198.51.100.100';
const U2 = '192.168.50.100';
const INTRA = '10.1.0.10';
const PSK = new TextEncoder().encode('two-node-psk');

function rig() {
  const clock = new ManualClock();
  const queue: Uint8Array[] = [];
  const onWire: Array<{ src: string; dst: string; protocol: number }> = [];
  const gw = new GatewayNode({ address: GW, psk: PSK, tiaPool: '10.10.100.0', localTs: [{ start: '10.1.0.0', end: '10.1.0.255' }] }, (p) => queue.push(p));
  const intra = new EchoHost(INTRA, (p) => queue.push(p));
  const sa = new IkeSa(clientConfig({
    gateway: GW, localAddr: U1, psk: PSK, remoteTs: [{ addr: '10.1.0.0', len: 24 }], requestDns: false, mobike: true,
  }), seededRandom('gateway-node-test'));
  const effects: Effect[] = [];
  const toClient: Uint8Array[] = [];
  const client = {
    addrs: new Set([U1, U2]),
    child: undefined as ChildSaInfo | undefined,
    esp: undefined as { in: InboundEspSa; out: OutboundEspSa } | undefined,
    delivered: [] as Uint8Array[],
  };
  const clientReceive = (pkt: Uint8Array): void => {
    toClient.push(pkt);
    const u = parseUdpPacket(pkt)!;
    const d = { bytes: u.payload, local: { addr: u.dst, port: u.dstPort }, remote: { addr: u.src, port: u.srcPort } };
    const c = u.dstPort === 4500 ? classifyUdp4500(u.payload) : undefined;
    if (c?.kind === 'esp') {
      const r = client.esp!.in.decapsulate(c.packet.slice());
      if (r.ok) client.delivered.push(r.inner.slice());
      return;
    }
    sa.handleDatagram(d, clock.now());
  };
  const deliver = (pkt: Uint8Array): void => {
    const h = ipHeader(pkt)!;
    onWire.push({ src: h.src, dst: h.dst, protocol: h.protocol });
    if (gw.owns(h.dst)) gw.receive(pkt);
    else if (intra.owns(h.dst)) intra.receive(pkt);
    else if (client.addrs.has(h.dst)) clientReceive(pkt);
  };
  const pump = (): void => {
    for (let guard = 0; guard < 1000; guard++) {
      for (let t = sa.pollTransmit(); t; t = sa.pollTransmit()) {
        queue.push(udpPacket({ src: t.local.addr, dst: t.remote.addr, srcPort: t.local.port, dstPort: t.remote.port, payload: t.bytes }));
      }
      for (let e = sa.pollEffect(); e; e = sa.pollEffect()) {
        effects.push(e);
        if (e.type === 'install-child-sa') {
          const c = e.child;
          client.child = c;
          client.esp = {
            in: new InboundEspSa({ spi: c.spiIn, suite: c.suite, keys: c.keysIn, selectors: { local: c.localTs, remote: c.remoteTs } }),
            out: new OutboundEspSa({ spi: c.spiOut, suite: c.suite, keys: c.keysOut }),
          };
        }
      }
      const next = queue.shift();
      if (!next) return;
      deliver(next);
    }
    throw new Error('no quiescence');
  };
  /** the client's ESP-in-UDP packet carrying `inner`, on its current path */
  const espFromClient = (inner: Uint8Array): Uint8Array => {
    const r = client.esp!.out.encapsulate(inner);
    if (!r.ok) throw new Error(r.reason);
    return udpPacket({ src: sa.path.local.addr, dst: GW, srcPort: 4500, dstPort: 4500, payload: r.packet });
  };
  return { clock, gw, intra, sa, effects, client, queue, pump, deliver, espFromClient, onWire, toClient };
}

const tiaOf = (effects: Effect[]): string | undefined => effects.flatMap((e) => (e.type === 'set-tia' ? [e.address] : [])).at(-1);

describe('GatewayNode (in-memory IKEv2/ESP gateway) against our IKE SA core', () => {
  it('establishes with the PSK, hands out a TIA, and carries an echo to the intranet and back through ESP', () => {
    const r = rig();
    r.sa.handleCommand({ type: 'connect' }, r.clock.now());
    r.pump();
    expect(r.sa.state).toBe('established');
    expect(tiaOf(r.effects)).toBe('10.10.100.1');
    expect(r.client.child!.remoteTs).toEqual([{ start: '10.1.0.0', end: '10.1.0.255' }]);
    expect(r.gw.log).toEqual([`established 10.10.100.1 for ${U1}`]);
    // no NAT on this path: the gateway's NAT-D hashes match what the client sees
    expect(r.effects.some((e) => e.type === 'path' && !e.natLocal && !e.natRemote)).toBe(true);

    r.queue.push(r.espFromClient(icmpEchoPacket('10.10.100.1', INTRA, { type: IcmpType.EchoRequest, id: 7, seq: 1, data: new Uint8Array(56).fill(0xab) })));
    r.pump();
    expect(r.intra.received).toEqual([{ src: '10.10.100.1', protocol: 1, bytes: 84 }]);
    expect(r.client.delivered).toHaveLength(1);
    const reply = parseIcmpEcho(r.client.delivered[0]!)!;
    expect(reply).toMatchObject({ type: IcmpType.EchoReply, id: 7, seq: 1, src: INTRA, dst: '10.10.100.1' });
    expect(r.gw.stats).toMatchObject({ espIn: 1, espOut: 1, forwarded: 1 });
  });

  it('drops ESP that fails the ICV, inner packets outside the selectors, and anything in clear', () => {
    const r = rig();
    r.sa.handleCommand({ type: 'connect' }, r.clock.now());
    r.pump();
    const esp = r.espFromClient(icmpEchoPacket('10.10.100.1', INTRA, { type: IcmpType.EchoRequest, id: 1, seq: 1, data: new Uint8Array(8) }));
    const u = parseUdpPacket(esp)!;
    const bad = u.payload.slice();
    bad[bad.length - 1]! ^= 1;
    r.gw.receive(udpPacket({ ...u, payload: bad }));
    // a forged inner source (not the TIA) under valid keys
    r.gw.receive(r.espFromClient(icmpEchoPacket('10.10.100.99', INTRA, { type: IcmpType.EchoRequest, id: 1, seq: 2, data: new Uint8Array(8) })));
    // in clear from the untrusted side, to the intranet
    r.gw.receive(icmpEchoPacket(U1, INTRA, { type: IcmpType.EchoRequest, id: 1, seq: 3, data: new Uint8Array(8) }));
    r.pump();
    expect(r.intra.received).toEqual([]);
    expect(r.gw.stats.dropped).toEqual({ 'esp-icv': 1, 'esp-selector': 1, 'not-ours': 1 });
  });

  it('follows a MOBIKE move: ESP goes to the new address after UPDATE_SA_ADDRESSES', () => {
    const r = rig();
    r.sa.handleCommand({ type: 'connect' }, r.clock.now());
    r.pump();
    r.sa.handleCommand({ type: 'roam', localAddr: U2, addresses: [U2], eventAt: r.clock.now() }, r.clock.now());
    r.pump();
    expect(r.effects.some((e) => e.type === 'event' && e.event.type === 'mobike-update' && e.event.to === U2)).toBe(true);
    expect(r.gw.log.at(-1)).toBe(`moved 10.10.100.1 to ${U2}:4500`);
    r.toClient.length = 0;
    r.queue.push(r.espFromClient(icmpEchoPacket('10.10.100.1', INTRA, { type: IcmpType.EchoRequest, id: 9, seq: 1, data: new Uint8Array(16) })));
    r.pump();
    expect(r.toClient.map((p) => ipHeader(p)!.dst)).toEqual([U2]);
    expect(parseIcmpEcho(r.client.delivered.at(-1)!)).toMatchObject({ type: IcmpType.EchoReply, id: 9 });
  });

  it('answers DPD, and forgets the SA (and its TIA) after the client deletes it', () => {
    const r = rig();
    r.sa.handleCommand({ type: 'connect' }, r.clock.now());
    r.pump();
    const ikeIn = r.gw.stats.ikeIn;
    r.sa.handleCommand({ type: 'dpd-now' }, r.clock.now());
    r.pump();
    expect(r.gw.stats.ikeIn).toBe(ikeIn + 1);
    expect(r.sa.state).toBe('established');
    r.sa.handleCommand({ type: 'disconnect' }, r.clock.now());
    r.pump();
    expect(r.effects.some((e) => e.type === 'closed')).toBe(true);
    expect(r.gw.sas).toEqual([]);
    expect(r.gw.owns('10.10.100.1')).toBe(false);
    expect(r.gw.log.at(-1)).toBe('deleted 10.10.100.1');
  });

  it('gives a second IKE SA its own SPIs and TIA', () => {
    const a = rig();
    const gw = a.gw;
    a.sa.handleCommand({ type: 'connect' }, a.clock.now());
    a.pump();
    const b = new IkeSa(clientConfig({ gateway: GW, localAddr: U2, psk: PSK, remoteTs: [{ addr: '10.1.0.0', len: 24 }], requestDns: false }), seededRandom('second'));
    const effects: Effect[] = [];
    b.handleCommand({ type: 'connect' }, a.clock.now());
    for (let i = 0; i < 20; i++) {
      for (let e = b.pollEffect(); e; e = b.pollEffect()) effects.push(e);
      const t = b.pollTransmit();
      if (!t) break;
      gw.receive(udpPacket({ src: t.local.addr, dst: t.remote.addr, srcPort: t.local.port, dstPort: t.remote.port, payload: t.bytes }));
      for (let p = a.queue.shift(); p; p = a.queue.shift()) {
        const u = parseUdpPacket(p)!;
        b.handleDatagram({ bytes: u.payload, local: { addr: u.dst, port: u.dstPort }, remote: { addr: u.src, port: u.srcPort } }, a.clock.now());
      }
    }
    expect(b.state).toBe('established');
    expect(tiaOf(effects)).toBe('10.10.100.2');
    expect(gw.sas.map((s) => s.inSpi)).toEqual([0xc1000001, 0xc1000002]);
  });
});
