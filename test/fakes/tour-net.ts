/**
 * The engine lab's topology (test/lab/fixtures/engine-lab.ts) on a MemoryNet,
 * with the in-memory gateway and home agent nodes as its programs:
 *
 *   mn wlan0 10.2.0.100 ── T1 ── 10.2.0.1 ha (HomeAgentNode 10.1.0.1) intra0 ──┐
 *   mn eth1 198.51.100.100 ── U1 ── 198.51.100.1 gw (GatewayNode) eth1 10.1.0.2 ── lan ── 10.1.0.10 intra
 *
 *   T1: trusted (the HA answers with TNC); the gateway is reachable through the HA.
 *   U1: untrusted: the gateway forwards nothing in clear from U1 (a filter on U1
 *       standing for the lab's `iptables -A FORWARD -i ext0 -j DROP`); the HA is
 *       reachable only through the VPN (TIA pool 10.10.100.0/24) and serves
 *       untrusted sources without TNC (acceptUntrusted).
 * The MN starts on T1 (eth1 down); toU1()/toT1() move it as the lab does.
 *
 * Each node runs on its MemoryHost the way the lab's processes run in their
 * namespaces: the HA binds UDP 434 on its address, takes protocols 4/47/55 from
 * raw sockets and home-address traffic from a TUN (a host route per mobile node;
 * the intranet host's route to the home address via the HA stands for the
 * HA's proxy-ARP entry), and writes decapsulated packets into that TUN for its
 * kernel to forward. The gateway binds 500/4500 and routes the TIA pool into a
 * TUN of its own, in the same way. The intranet host answers pings (its
 * kernel) and echoes UDP on port 7. Every link delays frames by 1 ms (see
 * TourNetOptions.linkDelayMs).
 */
import { ipv4ToU32, u32ToIPv4 } from '../../app/base/ipv4.ts';
import { ipHeader, udpPacket } from './ip-packet.ts';
import { GatewayNode } from './gateway-node.ts';
import { HomeAgentNode } from './home-agent-node.ts';
import { MemoryClock, MemoryNet, MemoryTun, memoryPlatform, type MemoryHost, type MemoryPlatform } from './memory-platform.ts';

export const TOUR = {
  HOA: '10.1.0.50',
  HA: '10.1.0.1',
  GW: '198.51.100.1',
  INTRA: '10.1.0.10',
  T1_ADDR: '10.2.0.100',
  T1_ROUTER: '10.2.0.1',
  U1_ADDR: '198.51.100.100',
  U1_ROUTER: '198.51.100.1',
  TIA_POOL: '10.10.100.0',
  SPI: 300,
  KEY: '3c9d1e7a5b2f48c6a0e1d2c3b4a59687',
  PSK: 'lab-engine-psk-0123456789',
  UDP_ECHO_PORT: 7,
} as const;

/** the MN's interface on each network */
export const MN_IF = { T1: 'wlan0', U1: 'eth1' } as const;

/** A profile like engine-lab.ts's (JSON, before parseProfile): captive-portal probe off. */
export function tourProfileJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    homeAddress: TOUR.HOA, homeAgent: TOUR.HA, mnHaAuth: { spi: TOUR.SPI, key: `hex:${TOUR.KEY}` }, mip: { lifetimeSeconds: 300 },
    vpn: {
      gateway: TOUR.GW, localId: 'mn@example', remoteId: 'gw.example', auth: { psk: TOUR.PSK },
      remoteTs: ['10.1.0.0/24'], retransmitBaseMs: 500, retransmitTries: 3,
    },
    detection: { timeoutMs: 1000, retransmits: 2 },
    captivePortal: { enabled: false },
    ...over,
  };
}

export interface TourNet {
  net: MemoryNet;
  clock: MemoryClock;
  mn: MemoryHost;
  ha: MemoryHost;
  gw: MemoryHost;
  intra: MemoryHost;
  /** the MN's Platform (its sockets, TUNs, routes and link events) for the engine */
  platform: MemoryPlatform;
  haNode: HomeAgentNode;
  gwNode: GatewayNode;
  /** UDP datagrams the intranet host echoed: source address and port, payload */
  echoed: Array<{ from: string; port: number; payload: Uint8Array }>;
  toU1(): void;
  toT1(): void;
}

/** Runs a node on a host: UDP ports on `address`, raw protocols, and a TUN that carries `routed` prefixes. */
function attach(
  host: MemoryHost, tunName: string, address: string, ports: number[], protocols: number[], routed: string[],
  receive: (pkt: Uint8Array) => void,
): MemoryTun {
  const tun = new MemoryTun(tunName);
  host.addTun(tun);
  host.config.linkUpNow(tunName);
  for (const r of routed) host.config.addRouteNow({ dst: r, dev: tunName });
  tun.onPacket((pkt) => receive(pkt));
  for (const port of ports) {
    host.bindUdp(address, port, undefined, (payload, from, to) => {
      receive(udpPacket({ src: from.address, dst: to.address, srcPort: from.port, dstPort: to.port, payload }));
    });
  }
  for (const protocol of protocols) host.addRaw({ protocol, device: undefined, deliver: (pkt) => receive(pkt) });
  return tun;
}

export interface TourNetOptions {
  clock?: MemoryClock;
  /** the HA's configuration, over the lab's */
  ha?: Record<string, unknown>;
  /**
   * One-way delay of every link (default 1 ms; 0: delivered within the same
   * instant). The engine's detection probe and the MIP driver register through
   * two registration clients, each with its own identification sequence
   * (RFC 5944 §5.7: NTP seconds and milliseconds, the rest random): when the
   * driver's request leaves in the same millisecond as the probe's, it is
   * older than the probe's half the time and the HA answers 133 — on a clock
   * that never moves between the two, again and again.
   */
  linkDelayMs?: number;
}

export function createTourNet(opts: TourNetOptions = {}): TourNet {
  const clock = opts.clock ?? new MemoryClock({ wallStart: Date.UTC(2026, 11, 3, 12, 0, 0) });
  const net = new MemoryNet(clock);
  const mn = net.host('mn');
  const ha = net.host('ha', { forwarding: true });
  const gw = net.host('gw', { forwarding: true });
  const intra = net.host('intra');

  mn.addInterface(MN_IF.T1, { link: 'T1', address: `${TOUR.T1_ADDR}/24`, gateway: TOUR.T1_ROUTER });
  mn.addInterface(MN_IF.U1, { link: 'U1', address: `${TOUR.U1_ADDR}/24`, up: false });
  ha.addInterface('sub2', { link: 'T1', address: `${TOUR.T1_ROUTER}/24` });
  ha.addInterface('intra0', { link: 'lan', address: `${TOUR.HA}/24` });
  ha.config.addRouteNow({ dst: `${TOUR.TIA_POOL}/24`, via: '10.1.0.2' });
  ha.config.addRouteNow({ dst: '198.51.100.0/24', via: '10.1.0.2' });
  gw.addInterface('ext0', { link: 'U1', address: `${TOUR.GW}/24` });
  gw.addInterface('eth1', { link: 'lan', address: '10.1.0.2/24' });
  gw.config.addRouteNow({ dst: '10.2.0.0/24', via: TOUR.HA });
  intra.addInterface('eth0', { link: 'lan', address: `${TOUR.INTRA}/24`, gateway: TOUR.HA });
  // the HA's proxy ARP for the home address, as a route
  intra.config.addRouteNow({ dst: `${TOUR.HOA}/32`, via: TOUR.HA });
  gw.config.addRouteNow({ dst: `${TOUR.HOA}/32`, via: TOUR.HA });

  for (const l of ['T1', 'U1', 'lan']) net.link(l).delayMs = opts.linkDelayMs ?? 1;
  // U1 is untrusted: from the MN, only the gateway itself is reachable there
  net.link('U1').filter = (pkt, from) => (from.host === 'mn' && ipHeader(pkt)?.dst !== TOUR.GW ? null : undefined);

  // the nodes' handlers run from the net's queue, after both consts below are set
  const haTun: MemoryTun = attach(ha, 'ha0', TOUR.HA, [434], [4, 47, 55], [`${TOUR.HOA}/32`], (pkt) => haNode.receive(pkt));
  const haNode = new HomeAgentNode({
    address: TOUR.HA, homeNetwork: '10.1.0.0/24', trustedPrefixes: ['10.2.0.0/24'], acceptUntrusted: true,
    mobileNodes: [{ homeAddress: TOUR.HOA, spi: TOUR.SPI, key: `hex:${TOUR.KEY}` }], ...opts.ha,
  }, clock, (pkt) => void ha.output(pkt), (pkt) => haTun.write(pkt));

  const gwTun: MemoryTun = attach(gw, 'gw0', TOUR.GW, [500, 4500], [], [`${TOUR.TIA_POOL}/24`], (pkt) => gwNode.receive(pkt));
  const gwNode = new GatewayNode({
    address: TOUR.GW, psk: new TextEncoder().encode(TOUR.PSK), tiaPool: TOUR.TIA_POOL,
    localTs: [{ start: '10.1.0.0', end: u32ToIPv4(ipv4ToU32('10.1.0.0') + 255) }],
  }, (pkt) => void gw.output(pkt), (pkt) => gwTun.write(pkt));

  const echoed: TourNet['echoed'] = [];
  const echo = intra.bindUdp(TOUR.INTRA, TOUR.UDP_ECHO_PORT, undefined, (payload, from) => {
    echoed.push({ from: from.address, port: from.port, payload });
    intra.sendUdp(echo, payload, from);
  });

  const to = (on: keyof typeof MN_IF, router: string): void => {
    for (const [net_, i] of Object.entries(MN_IF)) if (net_ !== on) mn.config.linkDownNow(i);
    mn.config.linkUpNow(MN_IF[on]);
    mn.config.replaceRouteNow({ dst: 'default', via: router, dev: MN_IF[on] });
  };
  return {
    net, clock, mn, ha, gw, intra, platform: memoryPlatform(mn), haNode, gwNode, echoed,
    toU1: () => to('U1', TOUR.U1_ROUTER),
    toT1: () => to('T1', TOUR.T1_ROUTER),
  };
}

/** Stops an engine on the tour net: its deregistration and DELETE need the simulation to run (5 s of 100 ms steps). */
export async function stopOnTour(t: TourNet, engine: { stop(): Promise<void> }): Promise<void> {
  const stopping = engine.stop();
  for (let i = 0; i < 50; i++) {
    await t.net.settle();
    t.clock.advance(100);
  }
  await stopping;
}
