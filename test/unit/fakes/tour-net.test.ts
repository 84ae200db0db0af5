/**
 * The engine lab's topology on the in-memory network (test/fakes/tour-net.ts),
 * driven by hand from the MN's Platform with our cores — no engine yet:
 * on T1 the registration client gets TNC from the HA node and an IP-in-IP
 * ping reaches the intranet host and comes back; on U1 the HA cannot be
 * reached in clear, while IKE with the gateway node comes up and an ESP ping
 * from the TIA reaches the intranet through it.
 */
import { describe, expect, it } from 'vitest';
import { InboundEspSa, OutboundEspSa } from '../../../app/esp/esp-sa.ts';
import { classifyUdp4500 } from '../../../app/esp/udp-encap.ts';
import { IkeSa } from '../../../app/ikev2/ike-sa.ts';
import type { ChildSaInfo, Effect } from '../../../app/ikev2/types.ts';
import { RegistrationClient } from '../../../app/mip4/registration.ts';
import type { RegistrationEvent } from '../../../app/mip4/registration-types.ts';
import { decapsulateIp, encapsulateIp } from '../../../app/mip4/tunnel-format.ts';
import { IcmpType } from '../../../app/wire/ip/icmp.ts';
import { IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { icmpEchoPacket, parseIcmpEcho } from '../../fakes/ip-packet.ts';
import { createTourNet, TOUR, type TourNet } from '../../fakes/tour-net.ts';
import { clientConfig, seededRandom } from '../../harness/ike-pair.ts';

function registration(t: TourNet, source: string) {
  const core = new RegistrationClient({
    homeAddress: TOUR.HOA, homeAgent: TOUR.HA, spi: TOUR.SPI, key: Uint8Array.from(Buffer.from(TOUR.KEY, 'hex')), lifetimeSeconds: 300,
    reverseTunnel: true, encapsulation: 'ip-in-ip', udpTunnel: 'request', rng: seededRandom('tour-net'),
  });
  const sock = t.platform.openDatagram({ address: source });
  const events: RegistrationEvent[] = [];
  const drain = (): void => {
    for (let x = core.pollTransmit(); x; x = core.pollTransmit()) sock.send(x.bytes, x.to);
    for (let e = core.pollEvent(); e; e = core.pollEvent()) events.push(e);
  };
  sock.onMessage((bytes, from) => {
    core.handleDatagram(bytes, from, t.clock.now(), t.clock.wallNow());
    drain();
  });
  return {
    core, events, drain,
    register(coa: string): void {
      core.handleCommand({ type: 'register', coa }, t.clock.now(), t.clock.wallNow());
      drain();
    },
    tick(): void {
      core.handleTimeout(t.clock.now(), t.clock.wallNow());
      drain();
    },
  };
}

describe('tour-net: the lab topology in memory, with the gateway and HA nodes', () => {
  it('T1: registration with TNC, and an IP-in-IP ping from the home address to the intranet host and back', () => {
    const t = createTourNet();
    const reg = registration(t, TOUR.T1_ADDR);
    reg.register(TOUR.T1_ADDR);
    t.net.flush();
    t.clock.advance(5);
    expect(reg.events).toEqual([expect.objectContaining({ type: 'registration', state: 'accepted', coa: TOUR.T1_ADDR, tnc: true })]);

    const raw = t.platform.openRaw(IpProto.IpInIp, { hdrincl: true, device: 'wlan0' });
    const got: Uint8Array[] = [];
    raw.onPacket((pkt) => {
      const d = decapsulateIp(pkt, 'ip-in-ip');
      if (d.ok) got.push(d.inner);
    });
    const ping = icmpEchoPacket(TOUR.HOA, TOUR.INTRA, { type: IcmpType.EchoRequest, id: 1, seq: 1, data: new Uint8Array(24).fill(1) });
    expect(raw.send(encapsulateIp(ping, 'ip-in-ip', { src: TOUR.T1_ADDR, dst: TOUR.HA }), TOUR.HA)).toBe(true);
    t.net.flush();
    t.clock.advance(5);
    expect(got.map((p) => parseIcmpEcho(p))).toEqual([expect.objectContaining({ type: IcmpType.EchoReply, src: TOUR.INTRA, dst: TOUR.HOA, seq: 1 })]);
    expect(t.haNode.forwarder.stats).toMatchObject({ fromMn: 1, toMn: 1 });
  });

  it('U1: the HA is out of reach in clear; IKE with the gateway comes up and ESP from the TIA reaches the intranet', async () => {
    const t = createTourNet();
    t.toU1();
    t.net.flush();
    t.clock.advance(5);
    const reg = registration(t, TOUR.U1_ADDR);
    reg.register(TOUR.U1_ADDR);
    t.net.flush();
    t.clock.advance(5);
    expect(reg.events).toEqual([]);
    expect(t.haNode.log).toEqual([]);
    expect(t.net.link('U1').stats.filtered).toBeGreaterThan(0);

    const udp = await t.platform.openUdpTransport(TOUR.U1_ADDR);
    const sa = new IkeSa(clientConfig({
      gateway: TOUR.GW, localAddr: TOUR.U1_ADDR, ikePort: udp.ikePort, nattPort: udp.nattPort, psk: new TextEncoder().encode(TOUR.PSK),
      remoteTs: [{ addr: '10.1.0.0', len: 24 }], requestDns: false, mobike: true,
    }), seededRandom('tour-net-ike'));
    const effects: Effect[] = [];
    let child: ChildSaInfo | undefined;
    const delivered: Uint8Array[] = [];
    let inbound: InboundEspSa | undefined;
    const drain = (): void => {
      for (let x = sa.pollTransmit(); x; x = sa.pollTransmit()) udp.send(x);
      for (let e = sa.pollEffect(); e; e = sa.pollEffect()) {
        effects.push(e);
        if (e.type === 'install-child-sa') {
          child = e.child;
          inbound = new InboundEspSa({ spi: child.spiIn, suite: child.suite, keys: child.keysIn });
        }
      }
    };
    udp.onDatagram((d) => {
      const c = d.local.port === udp.nattPort ? classifyUdp4500(d.bytes) : undefined;
      if (c?.kind === 'esp') {
        const r = inbound!.decapsulate(c.packet.slice());
        if (r.ok) delivered.push(r.inner.slice());
        return;
      }
      sa.handleDatagram(d, t.clock.now());
      drain();
    });
    sa.handleCommand({ type: 'connect' }, t.clock.now());
    drain();
    t.net.flush();
    t.clock.advance(5);
    expect(sa.state).toBe('established');
    const tia = effects.flatMap((e) => (e.type === 'set-tia' ? [e.address] : []))[0];
    expect(tia).toBe('10.10.100.1');

    const out = new OutboundEspSa({ spi: child!.spiOut, suite: child!.suite, keys: child!.keysOut });
    const esp = out.encapsulate(icmpEchoPacket(tia!, TOUR.INTRA, { type: IcmpType.EchoRequest, id: 2, seq: 1, data: new Uint8Array(16) }));
    if (!esp.ok) throw new Error(esp.reason);
    udp.send({ bytes: esp.packet, local: { addr: TOUR.U1_ADDR, port: udp.nattPort }, remote: { addr: TOUR.GW, port: 4500 } });
    t.net.flush();
    t.clock.advance(5);
    expect(delivered.map((p) => parseIcmpEcho(p))).toEqual([expect.objectContaining({ type: IcmpType.EchoReply, src: TOUR.INTRA, dst: tia })]);
    expect(t.gwNode.stats).toMatchObject({ espIn: 1, espOut: 1, forwarded: 1 });
    udp.close();
  });
});
