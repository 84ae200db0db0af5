/**
 * Which access link is the node using? Pure functions over the kernel's view
 * (iproute2's JSON: `ip -j -4 addr`, `ip -j -4 route`), plus the debounce
 * policy that turns a burst of kernel notifications into one decision.
 */
import type { Instant } from '../base/clock.ts';
import type { Link } from '../mobility/inputs.ts';
import type { RouteSpec } from './iproute.ts';

export interface IpAddrInfo {
  ifname: string;
  operstate?: string;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string; dynamic?: boolean }>;
}

export interface IpRouteInfo {
  dst: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  metric?: number;
  /** absent: global */
  scope?: string;
  /** absent: unicast */
  type?: string;
}

/**
 * The IPv4 unicast routes of `dev` in an `ip -j -4 route show` read, as
 * route specs (no table): what `copy-routes` would copy, from a read the
 * link watcher made anyway — the access link's rules then need no read of
 * their own (app/io/policy-routes.ts setLink).
 */
export function routesOfDevice(routes: readonly IpRouteInfo[], dev: string): RouteSpec[] {
  return routes.flatMap((r): RouteSpec[] => {
    if (r.dev !== dev || (r.type !== undefined && r.type !== 'unicast') || typeof r.dst !== 'string') return [];
    const scope = r.scope === 'link' || r.scope === 'host' || r.scope === 'global' ? r.scope : undefined;
    return [{
      dst: r.dst, dev,
      ...(r.gateway === undefined ? {} : { via: r.gateway }),
      ...(r.prefsrc === undefined ? {} : { src: r.prefsrc }),
      ...(typeof r.metric === 'number' ? { metric: r.metric } : {}),
      ...(scope === undefined ? {} : { scope }),
    }];
  });
}

/**
 * The primary link: the interface of the lowest-metric default route
 * (ignoring `exclude`, e.g. our own TUN), with its preferred source or its
 * first global IPv4 address. Without a default route: the first up interface
 * with a global IPv4 address. None: null.
 */
export function selectPrimaryLink(addrs: IpAddrInfo[], routes: IpRouteInfo[], exclude: ReadonlySet<string> = new Set()): Link | null {
  const globalAddr = (ifname: string): string | undefined => {
    const a = addrs.find((x) => x.ifname === ifname);
    if (!a || a.flags?.includes('UP') === false) return undefined;
    return a.addr_info?.find((i) => i.family === 'inet' && (i.scope ?? 'global') === 'global')?.local;
  };
  const defaults = routes
    .filter((r) => r.dst === 'default' && r.dev !== undefined && !exclude.has(r.dev))
    .sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  for (const r of defaults) {
    const addr = r.prefsrc ?? globalAddr(r.dev!);
    if (addr) return { iface: r.dev!, addr };
  }
  for (const a of addrs) {
    if (a.ifname === 'lo' || exclude.has(a.ifname)) continue;
    const addr = globalAddr(a.ifname);
    if (addr) return { iface: a.ifname, addr };
  }
  return null;
}

export function sameLink(a: Link | null, b: Link | null): boolean {
  return a === b || (a !== null && b !== null && a.iface === b.iface && a.addr === b.addr);
}

/**
 * Debounce for kernel notifications: settle `quietMs` after the last event,
 * but never later than `maxDelayMs` after the first one of the burst — so a
 * storm of notifications cannot delay a decision by more than maxDelayMs.
 *
 * The driver's timer only asks; poll() answers. A timer may fire a little
 * before the deadline (Node's timers run on libuv's millisecond loop time,
 * the deadline is in performance.now()), so "not yet" always comes with the
 * time to ask again: a burst is never dropped, and its first event's time
 * stays with it until it settles.
 */
export type DebounceResult = { settled: true; firstAt: Instant } | { settled: false; wakeAt: Instant };

export class Debouncer {
  private firstAt: Instant | null = null;
  private lastAt: Instant | null = null;

  constructor(readonly quietMs = 30, readonly maxDelayMs = 100) {}

  /** Note an event; returns when to settle. */
  event(now: Instant): Instant {
    if (this.firstAt === null) this.firstAt = now;
    this.lastAt = now;
    return this.deadline()!;
  }

  deadline(): Instant | null {
    if (this.firstAt === null || this.lastAt === null) return null;
    return Math.min(this.lastAt + this.quietMs, this.firstAt + this.maxDelayMs);
  }

  /** The burst settled (and is reset), or when to ask again; null when no burst is pending. */
  poll(now: Instant): DebounceResult | null {
    const d = this.deadline();
    if (d === null || this.firstAt === null) return null;
    if (now < d) return { settled: false, wakeAt: d };
    const firstAt = this.firstAt;
    this.firstAt = this.lastAt = null;
    return { settled: true, firstAt };
  }
}
