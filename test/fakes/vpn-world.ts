/**
 * The small world the VPN driver's unit tests share (test/unit/io/vpn-driver.test.ts,
 * vpn-tun.test.ts): the MN on two access links (U1 wlan0, U2) to one router R,
 * the gateway GW behind R on `core`.
 *
 *   MN wlan0 10.1.0.2 ── U1 ── 10.1.0.1 R 192.0.2.1 ── core ── 192.0.2.10 GW
 *   (MN eth1 10.2.0.2 ── U2 ── 10.2.0.1 R, when asked for)
 */
import { MemoryClock, MemoryNet, type MemoryHost } from './memory-platform.ts';

export const VPN_WORLD_GW = '192.0.2.10';

export function vpnWorld(opts: { secondLink?: boolean } = {}): { net: MemoryNet; mn: MemoryHost; gw: MemoryHost } {
  const net = new MemoryNet(new MemoryClock());
  const r = net.host('R', { forwarding: true });
  r.addInterface('eth0', { link: 'U1', address: '10.1.0.1/24' });
  r.addInterface('eth1', { link: 'core', address: '192.0.2.1/24' });
  r.addInterface('eth2', { link: 'U2', address: '10.2.0.1/24' });
  const gw = net.host('GW');
  gw.addInterface('eth0', { link: 'core', address: `${VPN_WORLD_GW}/24`, gateway: '192.0.2.1' });
  const mn = net.host('MN');
  mn.addInterface('wlan0', { link: 'U1', address: '10.1.0.2/24', gateway: '10.1.0.1' });
  if (opts.secondLink) mn.addInterface('eth1', { link: 'U2', address: '10.2.0.2/24' });
  return { net, mn, gw };
}
