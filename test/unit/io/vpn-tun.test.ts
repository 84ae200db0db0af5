import { describe, expect, it } from 'vitest';
import { UdpPool } from '../../../app/io/udp-pool.ts';
import { TUN_MTU, VpnTun, rangeToPrefixes } from '../../../app/io/vpn-tun.ts';
import type { Datagram } from '../../../app/ikev2/types.ts';
import { memoryPlatform, type MemoryNet } from '../../fakes/memory-platform.ts';
import type { MemoryPlatform } from '../../fakes/memory-platform.ts';
import { VPN_WORLD_GW, vpnWorld } from '../../fakes/vpn-world.ts';

const GW = VPN_WORLD_GW;

/** MN with wlan0 (10.1.0.2, default via 10.1.0.1) and eth1 (10.2.0.2) on two links to router R; GW behind R. */
function world(): { net: MemoryNet; mn: MemoryPlatform; gw: MemoryPlatform } {
  const { net, mn, gw } = vpnWorld({ secondLink: true });
  return { net, mn: memoryPlatform(mn), gw: memoryPlatform(gw) };
}

describe('traffic selector ranges as routes', () => {
  it('a range becomes the fewest covering prefixes', () => {
    expect(rangeToPrefixes({ start: '10.10.0.0', end: '10.10.255.255' })).toEqual([{ addr: '10.10.0.0', len: 16 }]);
    expect(rangeToPrefixes({ start: '0.0.0.0', end: '255.255.255.255' })).toEqual([{ addr: '0.0.0.0', len: 0 }]);
    expect(rangeToPrefixes({ start: '10.0.0.1', end: '10.0.0.6' })).toEqual([
      { addr: '10.0.0.1', len: 32 }, { addr: '10.0.0.2', len: 31 }, { addr: '10.0.0.4', len: 31 }, { addr: '10.0.0.6', len: 32 },
    ]);
  });
});

describe('VpnTun: TUN, TIA and routes through the platform', () => {
  it('full tunnel: default route via the TUN, the gateway kept on the physical path (and moved with it); undo leaves nothing', async () => {
    const { mn } = world();
    const undo: (() => Promise<void>)[] = [];
    const opened: string[] = [];
    const routed: string[] = [];
    const tun = new VpnTun({
      platform: mn, name: 'hw0', gateway: GW, undo: (s) => undo.push(s), onOpen: (t) => opened.push(t.name), onRouted: (tia, dev) => routed.push(`${tia}@${dev}`),
    });
    tun.physicalRoute(await mn.net.getRoute(GW));
    await tun.setTia('10.10.100.1');
    expect(opened).toEqual(['hw0']);
    expect(routed).toEqual([]); // no Child SA yet
    expect(mn.net.interfaces.get('hw0')?.mtu).toBe(TUN_MTU);
    tun.setRemoteTs([{ start: '0.0.0.0', end: '255.255.255.255' }]);
    await tun.addRoutes();
    expect(routed).toEqual(['10.10.100.1@hw0']);
    expect(mn.net.getRouteNow('198.51.100.7')).toMatchObject({ dev: 'hw0', prefsrc: '10.10.100.1' });
    expect(mn.net.getRouteNow(GW)).toMatchObject({ dev: 'wlan0', gateway: '10.1.0.1' });
    expect(mn.net.showRoutes()).toContain(`${GW} via 10.1.0.1 dev wlan0`); // replaced default: without it the gateway would be inside
    await tun.addRoutes(); // once only
    expect(routed).toHaveLength(1);

    // the physical path moves to eth1: the gateway's host route follows
    await tun.followRoute({ dst: GW, dev: 'eth1', gateway: '10.2.0.1', prefsrc: '10.2.0.2' });
    expect(mn.net.getRouteNow(GW)).toMatchObject({ dev: 'eth1', gateway: '10.2.0.1' });

    for (const u of undo.reverse()) await u();
    expect(mn.net.interfaces.has('hw0')).toBe(false);
    expect(mn.net.showRoutes().filter((r) => r.includes('hw0') || r.startsWith(GW))).toEqual([]);
  });

  it('split tunnel: no host route for a gateway outside the selectors; a new TIA replaces the old address', async () => {
    const { mn } = world();
    const undo: (() => Promise<void>)[] = [];
    const tun = new VpnTun({ platform: mn, name: 'hw0', gateway: GW, undo: (s) => undo.push(s), onOpen: () => undefined, onRouted: () => undefined });
    tun.physicalRoute(await mn.net.getRoute(GW));
    tun.setRemoteTs([{ start: '10.10.0.0', end: '10.10.255.255' }]);
    await tun.setTia('10.10.100.1');
    expect(mn.net.showRoutes().filter((r) => r.startsWith(GW))).toEqual([]);
    await tun.setTia('10.10.100.9');
    expect(mn.net.listAddressesNow('hw0').map((a) => a.address)).toEqual(['10.10.100.9']);
    expect(mn.net.getRouteNow('10.10.0.5')).toMatchObject({ dev: 'hw0', prefsrc: '10.10.100.9' });
  });
});

describe('UdpPool: one transport over the sockets of every local address', () => {
  it('sends from the sockets of the transmit\'s local address, reports with the first address\'s ports, never closes the first', async () => {
    const { net, mn, gw } = world();
    const far = await gw.openUdpTransport(GW);
    const seenAtGw: string[] = [];
    far.onDatagram((d) => seenAtGw.push(`${d.remote.addr}>${d.local.port}`));
    const pool = new UdpPool(await mn.openUdpTransport('10.1.0.2'), (a) => mn.openUdpTransport(a));
    await Promise.all([pool.add('10.2.0.2'), pool.add('10.2.0.2')]); // a second add joins the first
    expect(pool.addresses()).toEqual(['10.1.0.2', '10.2.0.2']);
    expect(mn.opened.udp).toHaveLength(2);
    const got: Datagram[] = [];
    pool.onDatagram((d) => got.push(d));
    for (const local of ['10.1.0.2', '10.2.0.2']) pool.send({ bytes: Uint8Array.of(1), local: { addr: local, port: pool.nattPort }, remote: { addr: GW, port: far.nattPort } });
    pool.send({ bytes: Uint8Array.of(1), local: { addr: '10.9.9.9', port: pool.ikePort }, remote: { addr: GW, port: far.ikePort } });
    net.flush();
    expect(seenAtGw).toEqual([`10.1.0.2>${far.nattPort}`, `10.2.0.2>${far.nattPort}`]);
    expect(pool.stats.txErrors).toBe(1);
    far.send({ bytes: Uint8Array.of(2), local: { addr: GW, port: far.nattPort }, remote: { addr: '10.2.0.2', port: 4500 } });
    net.flush();
    expect(got.map((d) => `${d.local.addr}:${d.local.port}`)).toEqual([`10.2.0.2:${pool.nattPort}`]);
    pool.remove('10.1.0.2');
    pool.remove('10.2.0.2');
    expect(pool.addresses()).toEqual(['10.1.0.2']);
    pool.close();
    expect(pool.addresses()).toEqual([]);
  });
});
