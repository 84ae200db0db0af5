/**
 * The VPN's TUN and what the kernel needs around it: the TUN up with the
 * TIA (/32), routes for the negotiated remote traffic selectors through it
 * (source = TIA), and — when those cover the gateway itself — a host route
 * keeping the gateway on the physical path (it follows MOBIKE moves). Every
 * change pushes its undo onto the driver's stack; all through the Platform.
 */
import { inPrefix, ipv4ToU32, u32ToIPv4 } from '../base/ipv4.ts';
import type { Prefix } from '../base/ipv4.ts';
import type { TsRange } from '../ikev2/types.ts';
import type { RouteLookup, RouteSpec } from './netconfig.ts';
import type { Platform } from './platform.ts';
import type { TunDevice } from './tun-device.ts';

/**
 * The VPN's inner MTU. In mode mc the Mobile IP tunnel runs inside it: the
 * home-address TUN's 1400 plus the IP-in-IP header (20) must fit, and 1420
 * plus ESP-in-UDP (IP 20 + UDP 8 + ESP 8 + IV ≤ 16 + pad/trailer ≤ 17 + ICV ≤ 16)
 * still fits a 1500-byte link.
 */
export const TUN_MTU = 1420;

export interface VpnTunOptions {
  platform: Platform;
  /** the TUN's name or pattern (hw%d) */
  name: string;
  gateway: string;
  /** pushes an undo step onto the driver's stack (run in reverse at stop) */
  undo(step: () => Promise<void>): void;
  /** the TUN was just opened (before it is configured): the driver attaches its data path */
  onOpen(tun: TunDevice): void;
  /** TUN, TIA and routes are in place: a packet from the TIA now enters the tunnel */
  onRouted(tia: string, dev: string): void;
}

export class VpnTun {
  tun?: TunDevice;
  tia?: string;
  private routed = false;
  private remoteTs: TsRange[] = [];
  private hostRoute?: RouteSpec;
  /** the host route keeping the gateway on the physical path is installed */
  private routedGateway = false;

  constructor(private readonly o: VpnTunOptions) {}

  private get net(): Platform['net'] {
    return this.o.platform.net;
  }

  /** The kernel's route towards the gateway (at start): the host route to install should the tunnel cover the gateway. */
  physicalRoute(route: RouteLookup): void {
    if (route.dev) this.hostRoute = gatewayRoute(this.o.gateway, route);
  }

  /** the tunnel's routes cover the gateway: its host route keeps it on the physical path */
  get gatewayRouted(): boolean {
    return this.routedGateway;
  }

  /** A MOBIKE move: the gateway's host route follows the new physical route. */
  async followRoute(route: RouteLookup): Promise<void> {
    if (!this.hostRoute || !route.dev || !this.routedGateway) return;
    const hr = gatewayRoute(this.o.gateway, route);
    await this.net.replaceRoute(hr).catch(() => undefined);
    this.hostRoute = hr;
  }

  /** The TUN (opened and brought up the first time) holds this TIA; routes follow once a Child SA is there. */
  async setTia(address: string): Promise<void> {
    if (!this.tun) {
      // IFF_VNET_HDR for the native data plane's TSO and coalesced writes
      // (HOMEWARD_TUN_OFFLOADS=0: plain packets, for comparison)
      const tun = this.o.platform.openTun(this.o.name, { offloads: process.env.HOMEWARD_TUN_OFFLOADS !== '0' });
      this.tun = tun;
      this.o.undo(async () => tun.close());
      this.o.onOpen(tun);
      await this.net.setMtu(tun.name, TUN_MTU);
      await this.net.linkUp(tun.name);
    }
    if (this.tia === address) return;
    const dev = this.tun.name;
    if (this.tia) {
      await this.net.delAddress(dev, `${this.tia}/32`).catch(() => undefined);
      this.routed = false;
    }
    await this.net.addAddress(dev, `${address}/32`);
    this.tia = address;
    this.o.undo(async () => this.net.delAddress(dev, `${address}/32`).catch(() => undefined));
    await this.addRoutes();
  }

  /** The negotiated TSr (routes are added by addRoutes). */
  setRemoteTs(ts: TsRange[]): void {
    this.remoteTs = ts;
  }

  /** Routes for the negotiated TSr via the TUN (source = TIA), once TUN and child both exist. */
  async addRoutes(): Promise<void> {
    if (this.routed || !this.tun || !this.tia || this.remoteTs.length === 0) return;
    this.routed = true;
    const dev = this.tun.name;
    const prefixes = this.remoteTs.flatMap(rangeToPrefixes);
    const gw = this.o.gateway;
    if (this.hostRoute && prefixes.some((p) => inPrefix(gw, p))) {
      const hr = this.hostRoute;
      this.routedGateway = true;
      await this.net.replaceRoute(hr);
      this.o.undo(async () => this.net.delRoute(this.hostRoute ?? hr).catch(() => undefined));
    }
    for (const p of prefixes) {
      const spec = p.len === 0 ? { dst: 'default', dev, src: this.tia } : { dst: `${p.addr}/${p.len}`, dev, src: this.tia };
      await this.net.replaceRoute(spec);
      this.o.undo(async () => this.net.delRoute({ dst: spec.dst, dev }).catch(() => undefined));
    }
    this.o.onRouted(this.tia, dev);
  }
}

function gatewayRoute(gateway: string, route: RouteLookup): RouteSpec {
  return { dst: `${gateway}/32`, dev: route.dev, ...(route.gateway ? { via: route.gateway } : {}) };
}

/** An address range as the fewest covering prefixes. */
export function rangeToPrefixes(r: TsRange): Prefix[] {
  const out: Prefix[] = [];
  let start = ipv4ToU32(r.start);
  const end = ipv4ToU32(r.end);
  while (start <= end) {
    let len = 32;
    while (len > 0) {
      const size = 2 ** (32 - (len - 1));
      if (start % size !== 0 || start + size - 1 > end) break;
      len--;
    }
    out.push({ addr: u32ToIPv4(start), len });
    start += 2 ** (32 - len);
    if (start > 0xffffffff) break;
  }
  return out;
}
