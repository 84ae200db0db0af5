import { describe, expect, it } from 'vitest';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { decodeUdp, encodeUdp } from '../../../app/wire/ip/udp.ts';
import { encodeIcmpEcho } from '../../../app/wire/ip/icmp.ts';
import type { Datagram } from '../../../app/ikev2/types.ts';
import type { UdpTransport } from '../../../app/io/udp-transport.ts';
import { MemoryClock, MemoryNet, memoryPlatform, type MemoryHost } from '../../fakes/memory-platform.ts';

/** MN on U1 (10.1.0.2) — router R — core (192.0.2.0/24) — GW (192.0.2.10) */
function topology(): { net: MemoryNet; mn: MemoryHost; r: MemoryHost; gw: MemoryHost } {
  const net = new MemoryNet(new MemoryClock());
  const mn = net.host('MN');
  mn.addInterface('wlan0', { link: 'U1', address: '10.1.0.2/24', gateway: '10.1.0.1' });
  const r = net.host('R', { forwarding: true });
  r.addInterface('eth0', { link: 'U1', address: '10.1.0.1/24' });
  r.addInterface('eth1', { link: 'core', address: '192.0.2.1/24' });
  const gw = net.host('GW');
  gw.addInterface('eth0', { link: 'core', address: '192.0.2.10/24', gateway: '192.0.2.1' });
  return { net, mn, r, gw };
}

function udpPacket(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, ttl = 64): Uint8Array {
  return encodeIpv4({ src, dst, protocol: IpProto.Udp, ttl }, encodeUdp({ srcPort: sport, dstPort: dport, payload }, { src, dst }));
}

describe('MemoryNet routing and delivery', () => {
  it('carries a datagram across a forwarding router and the reply back, only on flush', () => {
    const { net, mn, gw } = topology();
    const a = memoryPlatform(mn).openDatagram();
    const b = memoryPlatform(gw).openDatagram({ port: 434 });
    const atB: Array<[string, string, number]> = [];
    b.onMessage((m, from) => {
      atB.push([new TextDecoder().decode(m), from.address, from.port]);
      b.send(new TextEncoder().encode('pong'), from);
    });
    const atA: string[] = [];
    a.onMessage((m, from) => atA.push(`${new TextDecoder().decode(m)} from ${from.address}:${from.port}`));
    a.send(new TextEncoder().encode('ping'), { address: '192.0.2.10', port: 434 });
    expect(atB).toEqual([]); // queued, not delivered inside send
    net.flush();
    expect(atB).toEqual([['ping', '10.1.0.2', a.local().port]]);
    expect(atA).toEqual(['pong from 192.0.2.10:434']);
    expect(net.hosts.get('R')!.stats.forwarded).toBe(2);
  });

  it('decrements the TTL when forwarding and answers an expiring packet with ICMP time exceeded', () => {
    const { net, mn, gw } = topology();
    const seen: number[] = [];
    memoryPlatform(gw).openRaw(IpProto.Udp).onPacket((p) => seen.push(decodeIpv4Header(p).ttl));
    const icmp: number[] = [];
    memoryPlatform(mn).openRaw(IpProto.Icmp).onPacket((p) => icmp.push(p[20]!));
    mn.output(udpPacket('10.1.0.2', '192.0.2.10', 1, 9, new Uint8Array(4), 5));
    mn.output(udpPacket('10.1.0.2', '192.0.2.10', 1, 9, new Uint8Array(4), 1));
    net.flush();
    expect(seen).toEqual([4]);
    expect(icmp).toContain(11);
    expect(net.hosts.get('R')!.drops.get('ttl')).toBe(1);
  });

  it('a host that does not forward drops packets not addressed to it; an unknown next hop is dropped on the link', () => {
    const { net, mn, r } = topology();
    r.forwarding = false;
    mn.output(udpPacket('10.1.0.2', '192.0.2.10', 1, 9, new Uint8Array(1)));
    mn.output(udpPacket('10.1.0.2', '10.1.0.77', 1, 9, new Uint8Array(1)));
    net.flush();
    expect(r.drops.get('not-for-us')).toBe(1);
    expect(mn.drops.get('no-neighbor')).toBe(1);
    expect(net.link('U1').stats.noNeighbor).toBe(1);
  });

  it('reports no route asynchronously on the datagram socket, and answers a closed port with port unreachable', async () => {
    const { net, mn, gw } = topology();
    const lonely = net.host('L');
    lonely.addInterface('eth0', { link: 'X', address: '10.5.0.2/24' });
    const s = memoryPlatform(lonely).openDatagram();
    const errors: string[] = [];
    s.onError((e) => errors.push(e.message));
    s.send(new Uint8Array(1), { address: '203.0.113.1', port: 9 });
    expect(errors).toEqual([]);
    net.flush();
    expect(errors[0]).toMatch(/ENETUNREACH/);
    const icmp: Array<[number, number]> = [];
    memoryPlatform(mn).openRaw(IpProto.Icmp).onPacket((p) => icmp.push([p[20]!, p[21]!]));
    memoryPlatform(mn).openDatagram().send(new Uint8Array(1), { address: '192.0.2.10', port: 9999 });
    net.flush();
    expect(icmp).toEqual([[3, 3]]);
    expect(gw.drops.get('no-socket')).toBe(1);
    await expect(memoryPlatform(mn).openDatagram({ address: '192.0.2.10' }).bound).rejects.toThrow(/EADDRNOTAVAIL/);
  });

  it('answers pings', () => {
    const { net, mn } = topology();
    const replies: number[] = [];
    const raw = memoryPlatform(mn).openRaw(IpProto.Icmp);
    raw.onPacket((p) => replies.push(p[20]!));
    expect(raw.send(encodeIcmpEcho({ type: 8, id: 7, seq: 1, data: new Uint8Array(8) }), '192.0.2.10')).toBe(true);
    net.flush();
    expect(replies).toEqual([0]);
  });
});

describe('MemoryUdpTransport: port demultiplexing', () => {
  it('binds 500 and 4500, sends from the socket the transmit names, and tells the receiver which port it came in on', async () => {
    const { net, mn, gw } = topology();
    const t = await memoryPlatform(mn).openUdpTransport('10.1.0.2');
    const g = await memoryPlatform(gw).openUdpTransport('192.0.2.10');
    expect([t.ikePort, t.nattPort, g.ikePort, g.nattPort]).toEqual([500, 4500, 500, 4500]);
    const got: Datagram[] = [];
    g.onDatagram((d) => got.push(d));
    t.send({ bytes: new Uint8Array([1]), local: { addr: '10.1.0.2', port: 500 }, remote: { addr: '192.0.2.10', port: 500 } });
    t.send({ bytes: new Uint8Array([0, 0, 0, 0, 2]), local: { addr: '10.1.0.2', port: 4500 }, remote: { addr: '192.0.2.10', port: 4500 } });
    net.flush();
    expect(got.map((d) => [d.local.port, d.remote.port, d.bytes.length])).toEqual([[500, 500, 1], [4500, 4500, 5]]);
    expect(t.stats.tx).toBe(2);
    expect(g.stats.rx).toBe(2);
    const port: UdpTransport = t;
    expect(port.natt).toBeUndefined(); // no native data plane here
  });

  it('falls back to ephemeral ports when 500/4500 are taken, and frees them on close', async () => {
    const { mn } = topology();
    const p = memoryPlatform(mn);
    const first = await p.openUdpTransport('10.1.0.2');
    const second = await p.openUdpTransport('10.1.0.2');
    expect(second.ikePort).not.toBe(500);
    expect(second.nattPort).not.toBe(4500);
    first.close();
    const third = await p.openUdpTransport('10.1.0.2');
    expect([third.ikePort, third.nattPort]).toEqual([500, 4500]);
    await expect(p.openUdpTransport('10.9.9.9')).rejects.toThrow(/EADDRNOTAVAIL/);
  });

  it('keeps sockets on different devices apart and honours a device binding on receive', async () => {
    const { net, mn, gw } = topology();
    gw.addInterface('eth9', { link: 'other', address: '198.51.100.1/24' });
    const p = memoryPlatform(gw);
    const wild = p.openDatagram({ port: 7000, device: 'eth9' });
    const exact = p.openDatagram({ address: '192.0.2.10', port: 7000, device: 'eth0' });
    await expect(p.openDatagram({ port: 7000 }).bound).rejects.toThrow(/EADDRINUSE/);
    const log: string[] = [];
    wild.onMessage(() => log.push('wild'));
    exact.onMessage(() => log.push('exact'));
    const s = memoryPlatform(mn).openDatagram();
    s.send(new Uint8Array(1), { address: '192.0.2.10', port: 7000 });
    net.flush();
    expect(log).toEqual(['exact']);
    exact.close();
    s.send(new Uint8Array(1), { address: '192.0.2.10', port: 7000 });
    net.flush();
    expect(log).toEqual(['exact']); // the wildcard socket is bound to eth9; this arrived on eth0
    expect(gw.drops.get('no-socket')).toBe(1);
  });
});

describe('MemoryNetConfig', () => {
  it('behaves like iproute2: connected routes, refusals in its words, routes gone with the link', async () => {
    const { mn } = topology();
    const nc = memoryPlatform(mn).net;
    expect(nc.showRoutes()).toEqual(['10.1.0.0/24 dev wlan0 scope link src 10.1.0.2', 'default via 10.1.0.1 dev wlan0']);
    await expect(nc.addRoute({ dst: 'default', via: '10.1.0.1' })).rejects.toThrow(/File exists/);
    await expect(nc.addRoute({ dst: '10.7.0.0/16', via: '10.9.9.9' })).rejects.toThrow(/invalid gateway/);
    await expect(nc.addRoute({ dst: '10.7.0.0/16', dev: 'nope0' })).rejects.toThrow(/Cannot find device "nope0"/);
    await expect(nc.delRoute({ dst: '10.8.0.0/16' })).rejects.toThrow(/No such process/);
    await nc.replaceRoute({ dst: 'default', via: '10.1.0.1', dev: 'wlan0' });
    expect(nc.showRoutes().filter((l) => l.startsWith('default'))).toHaveLength(1);
    await nc.linkDown('wlan0');
    expect(nc.showRoutes()).toEqual([]);
    await expect(nc.addRoute({ dst: '10.7.0.0/16', dev: 'wlan0' })).rejects.toThrow(/Network is down/);
    await expect(nc.getRoute('192.0.2.10')).rejects.toThrow(/Network is unreachable/);
    await nc.linkUp('wlan0');
    expect(nc.showRoutes()).toEqual(['10.1.0.0/24 dev wlan0 scope link src 10.1.0.2']);
    expect(await nc.listAddresses('wlan0')).toMatchObject([{ dev: 'wlan0', address: '10.1.0.2', prefixLen: 24, up: true, family: 'inet' }]);
    expect(nc.log.some((a) => a.join(' ') === 'link set dev wlan0 down')).toBe(true);
  });

  it('consults rules by preference: a policy table for one source, a blackhole, ensureRule, delRulesAt', async () => {
    const { net, mn } = topology();
    mn.addInterface('eth1', { link: 'T1', address: '10.2.0.2/24' });
    const nc = mn.config;
    await nc.addRoute({ dst: 'default', via: '10.2.0.1', table: 100 });
    await nc.addRule({ from: '10.2.0.2', table: 100, pref: 1000 });
    expect(await nc.getRoute('192.0.2.10')).toEqual({ dst: '192.0.2.10', dev: 'wlan0', gateway: '10.1.0.1', prefsrc: '10.1.0.2' });
    expect(nc.getRouteNow('192.0.2.10', { src: '10.2.0.2' })).toEqual({ dst: '192.0.2.10', dev: 'eth1', gateway: '10.2.0.1', prefsrc: '10.2.0.2', table: '100' });
    await nc.ensureRule({ to: '192.0.2.10', action: 'blackhole', pref: 500 });
    await nc.ensureRule({ to: '192.0.2.10', action: 'blackhole', pref: 500 });
    expect(nc.showRules().filter((l) => l.startsWith('500:'))).toEqual(['500: from all to 192.0.2.10 blackhole']);
    await expect(nc.addRule({ to: '192.0.2.10', action: 'blackhole', pref: 500 })).rejects.toThrow(/File exists/);
    await expect(nc.getRoute('192.0.2.10')).rejects.toThrow(/Invalid argument/);
    const raw = memoryPlatform(mn).openRaw(IpProto.Gre);
    expect(raw.send(new Uint8Array(4), '192.0.2.10')).toBe(false);
    expect(raw.stats.txDropped).toBe(1);
    expect(mn.drops.get('blackhole')).toBe(1);
    await nc.addRule({ to: '192.0.2.11', action: 'prohibit', pref: 500 });
    expect(await nc.delRulesAt(500)).toBe(2);
    expect(raw.send(new Uint8Array(4), '192.0.2.10')).toBe(true);
    await nc.addRule({ to: '10.99.0.0/16', table: 100 });
    expect(nc.rules.find((r) => r.to?.addr === '10.99.0.0')!.pref).toBe(999);
    net.flush();
  });

  it('copies a device\'s routes between tables and flushes a table', async () => {
    const { mn } = topology();
    await mn.config.copyRoutes('wlan0', 'main', 200);
    expect(mn.config.showRoutes(200)).toEqual(mn.config.showRoutes('main'));
    await mn.config.flushTable(200);
    expect(mn.config.showRoutes(200)).toEqual([]);
  });
});

describe('TUN devices on a memory host', () => {
  it('routes packets to the TUN\'s reader and routes what the engine writes into it; closing removes the device', async () => {
    const { net, mn, gw } = topology();
    const p = memoryPlatform(mn);
    const tun = p.openTun('hw0');
    expect(() => p.openTun('hw0')).toThrow(/busy/);
    await p.net.addAddress('hw0', '10.9.0.2/32');
    await expect(p.net.addRoute({ dst: '198.51.100.0/24', dev: 'hw0' })).rejects.toThrow(/Network is down/);
    await p.net.linkUp('hw0');
    await p.net.addRoute({ dst: '198.51.100.0/24', dev: 'hw0' });
    const fromKernel: string[] = [];
    tun.onPacket((pkt) => fromKernel.push(decodeIpv4Header(pkt).dst));
    memoryPlatform(mn).openDatagram().send(new Uint8Array(3), { address: '198.51.100.7', port: 53 });
    net.flush();
    expect(fromKernel).toEqual(['198.51.100.7']);
    expect(await p.sourceTowards('198.51.100.7')).toBe('10.9.0.2');

    // what the engine writes is received on hw0: for us, or forwarded only when the host forwards
    const atMn: Array<[string, number]> = [];
    memoryPlatform(mn).openDatagram({ port: 5353 }).onMessage((m, from) => atMn.push([from.address, m.length]));
    tun.write(udpPacket('198.51.100.7', '10.9.0.2', 53, 5353, new Uint8Array(2)));
    const atGw: string[] = [];
    memoryPlatform(gw).openDatagram({ port: 53 }).onMessage((_m, from) => atGw.push(from.address));
    tun.write(udpPacket('10.9.0.2', '192.0.2.10', 1234, 53, new Uint8Array(2)));
    net.flush();
    expect(atMn).toEqual([['198.51.100.7', 2]]);
    expect(atGw).toEqual([]);
    expect(mn.drops.get('not-for-us')).toBe(1);
    mn.forwarding = true;
    tun.write(udpPacket('10.9.0.2', '192.0.2.10', 1234, 53, new Uint8Array(2)));
    net.flush();
    expect(atGw).toEqual(['10.9.0.2']);
    expect(p.deviceOf('10.9.0.2')).toBe('hw0');
    await tun.close();
    expect(mn.config.interfaces.has('hw0')).toBe(false);
    expect(mn.config.showRoutes().some((l) => l.includes('hw0'))).toBe(false);
    expect(p.deviceOf('10.9.0.2')).toBeUndefined();
  });
});

describe('MemoryRaw', () => {
  it('delivers by protocol number with the arrival ifindex (IP_PKTINFO), sends whole packets with hdrincl', () => {
    const { net, mn, gw } = topology();
    const inner = udpPacket('10.9.0.2', '192.0.2.10', 1, 2, new Uint8Array(1));
    const g = memoryPlatform(gw);
    const ipip: Array<[string, number]> = [];
    g.openRaw(IpProto.IpInIp, { pktinfo: true }).onPacket((p, ifindex) => ipip.push([decodeIpv4Header(p).src, ifindex]));
    const plain: number[] = [];
    g.openRaw(IpProto.IpInIp).onPacket((_p, ifindex) => plain.push(ifindex));
    const gre: number[] = [];
    g.openRaw(IpProto.Gre, { pktinfo: true }).onPacket((_p, i) => gre.push(i));
    const m = memoryPlatform(mn).openRaw(IpProto.IpInIp, { hdrincl: true });
    // the outer source is ours to choose with hdrincl; the kernel fills in the checksum
    const outer = encodeIpv4({ src: '10.1.0.2', dst: '192.0.2.10', protocol: IpProto.IpInIp }, inner);
    outer[10] = outer[11] = 0;
    expect(m.send(outer, '192.0.2.10')).toBe(true);
    net.flush();
    expect(ipip).toEqual([['10.1.0.2', gw.config.interfaces.get('eth0')!.ifindex]]);
    expect(plain).toEqual([0]);
    expect(gre).toEqual([]);
  });

  it('carries an ICMP agent advertisement to 224.0.0.1 to every host on the link (TTL 1), not beyond', () => {
    const { net, mn, r, gw } = topology();
    const other = net.host('MN2');
    other.addInterface('eth0', { link: 'U1', address: '10.1.0.3/24' });
    const heard: Array<[string, number, number]> = [];
    for (const h of [mn, other, gw]) {
      memoryPlatform(h).openRaw(IpProto.Icmp, { device: h === gw ? 'eth0' : h === mn ? 'wlan0' : 'eth0', pktinfo: true })
        .onPacket((p, i) => heard.push([h.name, p[20]!, i]));
    }
    const adv = new Uint8Array(16);
    adv[0] = 9;
    const fa = memoryPlatform(r).openRaw(IpProto.Icmp, { device: 'eth0', ttl: 1, multicastTtl: 1 });
    expect(fa.send(adv, '224.0.0.1')).toBe(true);
    expect(fa.send(adv, '255.255.255.255')).toBe(true);
    net.flush();
    const ifMn = mn.config.interfaces.get('wlan0')!.ifindex;
    expect(heard.filter(([h]) => h === 'MN')).toEqual([['MN', 9, ifMn], ['MN', 9, ifMn]]);
    expect(heard.filter(([h]) => h === 'MN2')).toHaveLength(2);
    expect(heard.filter(([h]) => h === 'GW')).toEqual([]);
  });

  it('delivers other multicast groups only to hosts that joined them', () => {
    const { net, mn, r } = topology();
    const got: string[] = [];
    const s = memoryPlatform(r).openRaw(IpProto.Icmp, { device: 'eth0' });
    s.onPacket((p) => got.push(decodeIpv4Header(p).dst));
    const sol = new Uint8Array(8);
    sol[0] = 10;
    const m = memoryPlatform(mn).openRaw(IpProto.Icmp, { device: 'wlan0', multicastTtl: 1 });
    m.send(sol, '224.0.0.11');
    net.flush();
    expect(got).toEqual([]);
    s.joinMulticast('224.0.0.11', '10.1.0.1');
    m.send(sol, '224.0.0.11');
    net.flush();
    expect(got).toEqual(['224.0.0.11']);
  });
});

describe('Masquerade (NAT)', () => {
  it('rewrites the source address and port of UDP going out, and maps replies back', () => {
    const { net, mn, r, gw } = topology();
    r.masquerade('eth1');
    const g = memoryPlatform(gw).openDatagram({ port: 4500 });
    const seenAtGw: string[] = [];
    g.onMessage((m, from) => {
      seenAtGw.push(`${from.address}:${from.port}`);
      g.send(m, from);
    });
    const s = memoryPlatform(mn).openDatagram({ port: 4500 });
    const back: string[] = [];
    s.onMessage((_m, from) => back.push(`${from.address}:${from.port}`));
    s.send(new Uint8Array([1, 2]), { address: '192.0.2.10', port: 4500 });
    net.flush();
    expect(seenAtGw).toEqual(['192.0.2.1:40000']);
    expect(back).toEqual(['192.0.2.10:4500']);
  });

  it('forgets an idle mapping after its timeout: a late reply is not translated', () => {
    const { net, mn, r, gw } = topology();
    r.masquerade('eth1', { idleTimeoutMs: 30_000 });
    const g = memoryPlatform(gw).openDatagram({ port: 4500 });
    let peer: { address: string; port: number } | undefined;
    g.onMessage((_m, from) => (peer = from));
    const s = memoryPlatform(mn).openDatagram({ port: 4500 });
    let back = 0;
    s.onMessage(() => back++);
    s.send(new Uint8Array(1), { address: '192.0.2.10', port: 4500 });
    net.flush();
    net.clock.advance(31_000);
    g.send(new Uint8Array(1), peer!);
    net.flush();
    expect(back).toBe(0);
    expect(r.nat!.mappings).toHaveLength(0);
  });

  it('lets a link filter drop or rewrite frames and captures them', () => {
    const { net, mn, gw } = topology();
    const link = net.link('U1');
    link.capture = true;
    let dropNext = true;
    link.filter = () => {
      if (!dropNext) return undefined;
      dropNext = false;
      return null;
    };
    const got: number[] = [];
    memoryPlatform(gw).openDatagram({ port: 9 }).onMessage((m) => got.push(m[0]!));
    const s = memoryPlatform(mn).openDatagram();
    s.send(new Uint8Array([1]), { address: '192.0.2.10', port: 9 });
    s.send(new Uint8Array([2]), { address: '192.0.2.10', port: 9 });
    net.flush();
    expect(got).toEqual([2]);
    expect(link.stats.filtered).toBe(1);
    expect(link.frames.map((f) => decodeUdp(f.pkt.subarray(20)).payload[0])).toEqual([2]);
  });
});

describe('MemoryClock and timers', () => {
  it('fires timers in deadline order at their deadlines, re-arms and stops, and flushes the net on ticks', () => {
    const { net, mn, gw } = topology();
    const clock = net.clock;
    const p = memoryPlatform(mn);
    const t0 = clock.now();
    const log: string[] = [];
    const a = p.clock.timer(() => log.push(`a@${clock.now() - t0}`));
    const b = p.clock.timer(() => {
      log.push(`b@${clock.now() - t0}`);
      if (log.length < 4) b.arm(clock.now() + 100);
    });
    const c = p.clock.timer(() => log.push('c'));
    a.arm(t0 + 250);
    b.arm(t0 + 100);
    c.arm(t0 + 50);
    c.stop();
    clock.advance(99);
    expect(log).toEqual([]);
    clock.advance(400);
    expect(log).toEqual(['b@100', 'b@200', 'a@250', 'b@300']);
    expect(clock.now() - t0).toBe(499);
    a.arm(t0); // already past: fires on the next advance, at the current time
    clock.advance(0);
    expect(log.at(-1)).toBe('a@499');

    let got = 0;
    memoryPlatform(gw).openDatagram({ port: 9 }).onMessage(() => got++);
    const s = p.openDatagram();
    const tick = p.clock.timer(() => s.send(new Uint8Array(1), { address: '192.0.2.10', port: 9 }));
    tick.arm(clock.now() + 10);
    clock.advance(10);
    expect(got).toBe(1);
    const wall = p.clock.wallNow();
    clock.advance(1500);
    expect(p.clock.wallNow() - wall).toBe(1500);
    expect(new MemoryClock({ wallStart: Date.UTC(2030, 0, 1) }).wallNow()).toBe(Date.UTC(2030, 0, 1));
  });
});

describe('MemoryLinkWatcher', () => {
  it('reports the primary link at start and after configuration changes, once per change', async () => {
    const { net, mn } = topology();
    const p = memoryPlatform(mn);
    const reports: Array<string | null> = [];
    const w = p.watchLinks((l) => reports.push(l ? `${l.iface} ${l.addr}` : null), { exclude: ['hw0'] });
    expect(await w.start()).toEqual({ iface: 'wlan0', addr: '10.1.0.2' });
    await p.net.linkDown('wlan0');
    expect(reports).toEqual([]); // read after the change, on the queue
    net.flush();
    expect(reports).toEqual([null]);
    mn.addInterface('eth1', { link: 'T1', address: '10.2.0.2/24', gateway: '10.2.0.1' });
    net.flush();
    expect(reports).toEqual([null, 'eth1 10.2.0.2']);
    p.openTun('hw0');
    await p.net.addAddress('hw0', '10.9.0.2/32');
    await p.net.linkUp('hw0');
    net.flush();
    expect(reports).toHaveLength(2); // the excluded TUN is no access link
    w.close();
  });

  it('debounces a burst on the clock when asked to, reporting the time of its first notification', async () => {
    const { net, mn } = topology();
    const p = memoryPlatform(mn);
    const reports: Array<[string | null, number]> = [];
    const w = p.watchLinks((l, at) => reports.push([l?.iface ?? null, at]), { quietMs: 30, maxDelayMs: 100 });
    await w.start();
    const t0 = net.clock.now();
    mn.config.delRouteNow({ dst: 'default', via: '10.1.0.1', dev: 'wlan0' });
    net.clock.advance(20);
    mn.addInterface('eth1', { link: 'T1', address: '10.2.0.2/24', gateway: '10.2.0.1' });
    net.clock.advance(20);
    expect(reports).toEqual([]);
    net.clock.advance(20);
    expect(reports).toEqual([['eth1', t0]]);
  });
});

describe('memoryPlatform', () => {
  it('refuses and records runTool; repeatable random for a seed', async () => {
    const { mn } = topology();
    const p = memoryPlatform(mn, { seed: 7 });
    await expect(p.runTool('secret-tool', ['lookup', 'x'])).rejects.toThrow(/no system tools/);
    expect(p.toolCalls).toEqual([{ cmd: 'secret-tool', args: ['lookup', 'x'] }]);
    const again = memoryPlatform(mn, { seed: 7 });
    expect(p.random(16)).toEqual(again.random(16));
    expect(p.random(16)).not.toEqual(memoryPlatform(mn, { seed: 8 }).random(16));
    const scripted = memoryPlatform(mn, mn.net.clock, { runTool: () => Promise.resolve('ok') });
    expect(() => memoryPlatform(mn, new MemoryClock())).toThrow(/MemoryNet's/);
    expect(await scripted.runTool('x', [])).toBe('ok');
  });
});

describe('MemoryNet fidelity', () => {
  it('lets a big UDP datagram through (the kernel fragments it) but refuses DF packets over the MTU, at the sender and at a router', () => {
    const { net, mn, r, gw } = topology();
    r.config.setMtuNow('eth1', 1400);
    const got: number[] = [];
    memoryPlatform(gw).openDatagram({ port: 500 }).onMessage((m) => got.push(m.length));
    memoryPlatform(mn).openDatagram().send(new Uint8Array(2500), { address: '192.0.2.10', port: 500 });
    net.flush();
    expect(got).toEqual([2500]);
    expect(mn.stats.fragmented).toBe(1);

    const icmp: Array<[number, number, number]> = [];
    const raw = memoryPlatform(mn).openRaw(IpProto.Icmp);
    raw.onPacket((p) => icmp.push([p[20]!, p[21]!, (p[26]! << 8) | p[27]!]));
    const df = (len: number): Uint8Array => encodeIpv4({ src: '10.1.0.2', dst: '192.0.2.10', protocol: IpProto.Gre, dontFragment: true }, new Uint8Array(len));
    const gre = memoryPlatform(mn).openRaw(IpProto.Gre, { hdrincl: true });
    expect(gre.send(df(1600), '192.0.2.10')).toBe(false); // over wlan0's 1500
    expect(gre.send(df(1450), '192.0.2.10')).toBe(true); // fits wlan0, not R's eth1
    net.flush();
    expect(icmp).toEqual([[3, 4, 1400]]);
    expect(r.drops.get('too-big')).toBe(1);
  });

  it('loops a broadcast back to the sending host (IP_MULTICAST_LOOP), as the kernel does', () => {
    const { net, r } = topology();
    const p = memoryPlatform(r);
    const own: number[] = [];
    const s = p.openRaw(IpProto.Icmp, { device: 'eth0', pktinfo: true });
    s.onPacket((pkt, i) => own.push(i));
    const adv = new Uint8Array(8);
    adv[0] = 9;
    s.send(adv, '224.0.0.1');
    net.flush();
    expect(own).toEqual([r.config.interfaces.get('eth0')!.ifindex]);
  });

  it('delays frames on a link by its delayMs, on the clock', () => {
    const { net, mn, gw } = topology();
    net.link('core').delayMs = 40;
    net.link('U1').delayMs = 10;
    const at: number[] = [];
    const t0 = net.clock.now();
    memoryPlatform(gw).openDatagram({ port: 9 }).onMessage(() => at.push(net.clock.now() - t0));
    memoryPlatform(mn).openDatagram().send(new Uint8Array(1), { address: '192.0.2.10', port: 9 });
    net.flush();
    net.clock.advance(49);
    expect(at).toEqual([]);
    net.clock.advance(1);
    expect(at).toEqual([50]);
  });

  it('moves a host between links (leave / join) and the link watcher follows', async () => {
    const { net, mn, gw } = topology();
    const t = net.host('T');
    t.addInterface('eth0', { link: 'T1', address: '10.2.0.1/24' });
    t.addInterface('eth1', { link: 'core', address: '192.0.2.2/24' });
    t.forwarding = true;
    const p = memoryPlatform(mn);
    const links: Array<string | null> = [];
    await p.watchLinks((l) => links.push(l ? `${l.iface} ${l.addr}` : null)).start();
    mn.leave('wlan0');
    net.flush();
    mn.join('eth0', 'T1', { address: '10.2.0.7/24', gateway: '10.2.0.1' });
    net.flush();
    expect(links).toEqual([null, 'eth0 10.2.0.7']);
    const from: string[] = [];
    gw.config.addRouteNow({ dst: '10.2.0.0/24', via: '192.0.2.2' });
    memoryPlatform(gw).openDatagram({ port: 9 }).onMessage((_m, f) => from.push(f.address));
    p.openDatagram().send(new Uint8Array(1), { address: '192.0.2.10', port: 9 });
    net.flush();
    expect(from).toEqual(['10.2.0.7']);
  });
});

describe('MemoryNetConfig: IPv6 rules', () => {
  it('keeps them so that add, del and delRulesAt agree, though they route nothing', async () => {
    const { mn } = topology();
    const nc = mn.config;
    await nc.addRule({ family: 6, from: '2001:db8::1', action: 'unreachable', pref: 1003 });
    await expect(nc.addRule({ family: 6, from: '2001:db8::1', action: 'unreachable', pref: 1003 })).rejects.toThrow(/File exists/);
    await nc.ensureRule({ family: 6, from: '2001:db8::1', action: 'unreachable', pref: 1003 });
    expect(await nc.delRulesAt(1003, 6)).toBe(1);
    await expect(nc.delRule({ family: 6, pref: 1003 })).rejects.toThrow(/No such file/);
    expect(await nc.delRulesAt(1003)).toBe(0);
  });
});

describe('async drivers on the twins', () => {
  it('settle() runs promise chains and deliveries until both are quiet', async () => {
    const { net, mn, gw } = topology();
    const g = await memoryPlatform(gw).openUdpTransport('192.0.2.10');
    // a responder that answers after an await (as a driver's serial chain does)
    g.onDatagram((d) => void Promise.resolve().then(() => g.send({ bytes: d.bytes, local: d.local, remote: d.remote })));
    const m = await memoryPlatform(mn).openUdpTransport('10.1.0.2');
    const answers: number[] = [];
    m.onDatagram((d) => void Promise.resolve().then(async () => {
      answers.push(d.bytes[0]!);
      await Promise.resolve();
      if (d.bytes[0]! < 3) m.send({ bytes: new Uint8Array([d.bytes[0]! + 1]), local: d.local, remote: d.remote });
    }));
    m.send({ bytes: new Uint8Array([1]), local: { addr: '10.1.0.2', port: 500 }, remote: { addr: '192.0.2.10', port: 500 } });
    net.flush();
    expect(answers).toEqual([]); // the responder's answer waits on a promise
    await net.settle();
    expect(answers).toEqual([1, 2, 3]);
  });
});

describe('MemoryNet: moves and async time', () => {
  it('refuses to send from a bound address the host no longer has; a router does not forward multicast', async () => {
    const { net, mn, r } = topology();
    const t = await memoryPlatform(mn).openUdpTransport('10.1.0.2');
    mn.leave('wlan0');
    mn.join('wlan0', 'U1', { address: '10.1.0.9/24', gateway: '10.1.0.1' });
    t.send({ bytes: new Uint8Array(1), local: { addr: '10.1.0.2', port: 500 }, remote: { addr: '192.0.2.10', port: 500 } });
    expect(t.stats.txErrors).toBe(1);
    memoryPlatform(mn).openRaw(IpProto.Icmp, { device: 'wlan0' }).send(new Uint8Array(8), '224.0.0.11');
    net.flush();
    expect(r.drops.get('multicast-not-joined')).toBe(1);
    expect(r.stats.forwarded).toBe(0);
  });

  it('run(ms) lets each timer\'s promise chain finish before the next timer fires', async () => {
    const { net, mn } = topology();
    const p = memoryPlatform(mn);
    const log: string[] = [];
    let n = 0;
    const t0 = p.clock.now();
    const t = p.clock.timer(() => void (async () => {
      await Promise.resolve();
      await Promise.resolve();
      log.push(`retransmit ${++n} at ${p.clock.now() - t0}`);
      if (n < 3) t.arm(p.clock.now() + 1000); // re-armed only after the awaits, as an async driver does
    })());
    t.arm(p.clock.now() + 500);
    await net.run(5000);
    expect(log).toEqual(['retransmit 1 at 500', 'retransmit 2 at 1500', 'retransmit 3 at 2500']);
    expect(p.clock.now() - t0).toBe(5000);
  });
});

describe('device bindings and link info (mip15\'s optional members)', () => {
  it('moves a datagram socket between devices and reports ifindex and MTU', () => {
    const { net, mn, gw } = topology();
    gw.addInterface('eth9', { link: 'other', address: '198.51.100.1/24', mtu: 1400 });
    const p = memoryPlatform(gw);
    expect(p.linkInfo?.('eth9')).toEqual({ ifindex: gw.config.interfaces.get('eth9')!.ifindex, mtu: 1400 });
    expect(p.linkInfo?.('nope')).toEqual({});
    const s = p.openDatagram({ port: 434, device: 'eth9' });
    expect(s.boundDevice()).toBe('eth9');
    let got = 0;
    s.onMessage(() => got++);
    const m = memoryPlatform(mn).openDatagram();
    m.send(new Uint8Array(1), { address: '192.0.2.10', port: 434 });
    net.flush();
    expect(got).toBe(0); // arrived on eth0
    s.bindToDevice('eth0');
    m.send(new Uint8Array(1), { address: '192.0.2.10', port: 434 });
    net.flush();
    expect(got).toBe(1);
    expect(() => s.bindToDevice('nope0')).toThrow(/ENODEV/);
    s.bindToDevice('');
    expect(s.boundDevice()).toBeUndefined();
  });
});
