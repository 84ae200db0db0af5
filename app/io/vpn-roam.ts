/**
 * The VPN's MOBIKE moves (RFC 4555) on the I/O side: which local addresses
 * we have (sockets on each, app/io/udp-pool.ts), the moves asked for — by the
 * engine or by our own link watch — run one after another, and the sockets
 * of an address we left close after a grace period (app/esp/old-path-grace.ts).
 * What to tell the gateway is the IKE core's: this ends in a `roam` or an
 * `addresses` command.
 */
import type { Instant } from '../base/clock.ts';
import { OldPathGrace } from '../esp/old-path-grace.ts';
import type { Command } from '../ikev2/types.ts';
import type { RouteLookup } from './netconfig.ts';
import type { Platform, PlatformTimer } from './platform.ts';
import type { UdpPool } from './udp-pool.ts';

export interface VpnRoamHost {
  platform: Platform;
  gateway: string;
  udp(): UdpPool | undefined;
  /** not started yet (no IKE SA configuration) or stopped */
  inactive(): boolean;
  /** the IKE SA is established */
  established(): boolean;
  /** the local address of the path IKE and ESP use now */
  pathLocal(): string | undefined;
  /** our TUN's name (never an access link) */
  tunName(): string | undefined;
  /** the kernel's route towards the gateway moved (the gateway's host route follows) */
  followRoute(route: RouteLookup): Promise<void>;
  /** the tunnel covers the gateway: its host route on the physical path must follow before IKE can leave */
  gatewayRouted(): boolean;
  /** our address towards the gateway is now this */
  setLocal(addr: string): void;
  command(c: Command): void;
}

interface Waiting {
  localAddr?: string;
  eventAt: Instant;
  done: Promise<void>;
}

export class VpnRoamer {
  private readonly grace = new OldPathGrace();
  private readonly graceTimer: PlatformTimer;
  private queue: Promise<void> = Promise.resolve();
  /** the roam() call queued behind the one running, not started yet */
  private waiting?: Waiting;

  constructor(private readonly h: VpnRoamHost) {
    this.graceTimer = h.platform.clock.timer(() => {
      for (const a of this.grace.due(h.platform.clock.now(), h.pathLocal())) h.udp()?.remove(a);
      this.graceTimer.arm(this.grace.nextDeadline());
    });
  }

  /** Our IPv4 addresses that could reach the gateway (not loopback, not our TUN). */
  async usableAddresses(): Promise<string[]> {
    const all = await this.h.platform.net.listAddresses();
    const tun = this.h.tunName();
    return all.filter((a) => a.family === 'inet' && a.up && a.scope !== 'host' && a.dev !== tun && !a.dev.startsWith('hw'))
      .map((a) => a.address);
  }

  /**
   * Our own link watch (`vpn up` standalone). Returns its close. Like the
   * engine's (app/io/net-monitor.ts) it is not debounced: the first
   * notification of a change reads the kernel's view and starts the move at
   * once — a quiet window would only add its length to every MOBIKE gap.
   * Notifications during that read cause one more read after it, and roam()
   * joins a call still waiting its turn, so a burst costs at most one extra
   * re-read of the route and address list, never an extra update for the
   * same address.
   */
  async watch(exclude: string[], warn: (msg: string) => void): Promise<() => void> {
    const monitor = this.h.platform.watchLinks((link, eventAt) => {
      if (link) void this.roam(undefined, eventAt).catch((e: Error) => warn(`roam failed: ${e.message}`));
    }, { exclude, everyBurst: true });
    await monitor.start();
    return () => monitor.close();
  }

  /**
   * Calls run one after another: each reads the kernel's view when its turn
   * comes, so two changes in quick succession cannot finish in reverse order
   * and leave the SA on the older address. A call like one still waiting its
   * turn joins it (keeping the earlier eventAt): a storm of notifications
   * queues at most one re-read.
   */
  roam(localAddr: string | undefined, eventAt: Instant): Promise<void> {
    const waiting = this.waiting;
    if (waiting && waiting.localAddr === localAddr) {
      waiting.eventAt = Math.min(waiting.eventAt, eventAt);
      return waiting.done;
    }
    const entry: Waiting = { localAddr, eventAt, done: Promise.resolve() };
    entry.done = this.queue.then(() => {
      if (this.waiting === entry) this.waiting = undefined;
      return this.roamNow(entry.localAddr, entry.eventAt);
    });
    this.waiting = entry;
    this.queue = entry.done.catch(() => undefined);
    return entry.done;
  }

  private async roamNow(localAddr: string | undefined, eventAt: Instant): Promise<void> {
    const udp = this.h.udp();
    if (!udp || this.h.inactive()) return;
    // RFC 4555 §3.5: the update goes out on the new path first; what the kernel looks like otherwise
    // (our other addresses, the route towards the gateway) is read after it, beside its round trip.
    // Not when the gateway's host route must follow first (the tunnel covers the gateway: without it
    // the update would be routed into our own TUN).
    if (localAddr !== undefined && !this.h.gatewayRouted()) {
      await udp.add(localAddr);
      this.h.setLocal(localAddr);
      const sent = this.h.established() && this.h.pathLocal() !== localAddr;
      // the address list stays the one announced last (without the new address) until it is read below
      if (sent) this.h.command({ type: 'roam', localAddr, eventAt });
      const [route, addresses] = await Promise.all([
        this.h.platform.net.getRoute(this.h.gateway).catch(() => undefined),
        this.usableAddresses().catch(() => [localAddr]),
      ]);
      await this.addSockets(udp, localAddr, addresses);
      if (route) await this.h.followRoute(route);
      // a changed list goes in an INFORMATIONAL after the update (nothing is sent when it did not change)
      this.h.command({ type: 'addresses', addresses: [localAddr, ...addresses.filter((a) => a !== localAddr)] });
      return;
    }
    const route = await this.h.platform.net.getRoute(this.h.gateway);
    const addr = localAddr ?? route.prefsrc;
    if (!addr) return;
    const addresses = await this.usableAddresses().catch(() => [addr]);
    await udp.add(addr);
    await this.addSockets(udp, addr, addresses);
    await this.h.followRoute(route);
    this.h.setLocal(addr);
    if (!this.h.established() || this.h.pathLocal() === addr) {
      this.h.command({ type: 'addresses', addresses: [addr, ...addresses.filter((a) => a !== addr)] });
      return;
    }
    this.h.command({ type: 'roam', localAddr: addr, addresses, eventAt });
  }

  /** Sockets on every usable address; those on addresses we no longer have close after a grace period. */
  private async addSockets(udp: UdpPool, addr: string, addresses: string[]): Promise<void> {
    for (const a of addresses) await udp.add(a).catch(() => undefined);
    this.grace.update(udp.addresses(), new Set([...addresses, addr]), this.h.platform.clock.now());
    this.graceTimer.arm(this.grace.nextDeadline());
  }

  /** No more moves: the grace timer stops (the sockets close with the pool). */
  close(): void {
    this.graceTimer.stop();
    this.grace.clear();
  }
}
