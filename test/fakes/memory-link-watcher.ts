/**
 * LinkWatcher on a MemoryHost (app/io/net-monitor.ts's twin): every change
 * to the host's MemoryNetConfig is a notification; the primary link is
 * chosen by app/net/link-select.ts's selectPrimaryLink over the host's
 * addresses and main-table routes, exactly as NetMonitor does over
 * iproute2's JSON. Reads happen on the net's queue (after the change that
 * caused them, never inside it); with quietMs/maxDelayMs a burst is
 * debounced on the MemoryClock. `emit(link)` lets a test report a link
 * change outright.
 */
import type { Instant } from '../../app/base/clock.ts';
import type { LinkWatcher, LinkWatchOptions, PlatformTimer } from '../../app/io/platform.ts';
import type { Link } from '../../app/mobility/inputs.ts';
import { Debouncer, sameLink, selectPrimaryLink, type IpAddrInfo, type IpRouteInfo } from '../../app/net/link-select.ts';
import type { MemoryHost } from './memory-net.ts';

/** the host's view as `ip -j -4 addr` / `ip -j -4 route` would print it */
export function hostView(host: MemoryHost): { addrs: IpAddrInfo[]; routes: IpRouteInfo[] } {
  const addrs: IpAddrInfo[] = [...host.config.interfaces.values()].map((i) => ({
    ifname: i.name,
    operstate: i.up ? 'UP' : 'DOWN',
    flags: i.up ? ['UP'] : [],
    addr_info: i.addrs.map((a) => ({ family: 'inet', local: a.address, prefixlen: a.prefixLen, scope: i.kind === 'loopback' ? 'host' : 'global' })),
  }));
  const routes: IpRouteInfo[] = host.config.routes.filter((r) => r.table === 'main').map((r) => ({
    dst: r.dst.len === 0 ? 'default' : r.dst.len === 32 ? r.dst.addr : `${r.dst.addr}/${r.dst.len}`,
    dev: r.dev,
    ...(r.via !== undefined ? { gateway: r.via } : {}),
    ...(r.src !== undefined ? { prefsrc: r.src } : {}),
    ...(r.metric ? { metric: r.metric } : {}),
  }));
  return { addrs, routes };
}

export class MemoryLinkWatcher implements LinkWatcher {
  private current: Link | null = null;
  private gateway = '';
  private readonly exclude: Set<string>;
  private readonly debouncer: Debouncer;
  private readonly everyBurst: boolean;
  private readonly timer: PlatformTimer;
  private started = false;
  private closed = false;
  private queued = false;
  /** how many times the handler was called */
  reports = 0;

  constructor(
    private readonly host: MemoryHost,
    private readonly onLink: (link: Link | null, eventAt: Instant) => void,
    opts: LinkWatchOptions = {},
  ) {
    this.exclude = new Set(opts.exclude ?? []);
    this.debouncer = new Debouncer(opts.quietMs ?? 0, opts.maxDelayMs ?? 0);
    this.everyBurst = opts.everyBurst === true;
    this.timer = host.net.clock.timer(() => this.fire());
    host.config.onChange(() => this.notify());
  }

  get link(): Link | null {
    return this.current;
  }

  excludeInterface(name: string): void {
    this.exclude.add(name);
  }

  start(): Promise<Link | null> {
    this.started = true;
    const { link, gateway } = this.read();
    this.current = link;
    this.gateway = gateway;
    return Promise.resolve(link);
  }

  /** the test says the primary link is now `link` (reported even when the host's view says otherwise) */
  emit(link: Link | null): void {
    this.current = link;
    this.reports++;
    this.onLink(link, this.host.net.clock.now());
  }

  close(): void {
    this.closed = true;
    this.timer.stop();
  }

  private read(): { link: Link | null; gateway: string } {
    const { addrs, routes } = hostView(this.host);
    const link = selectPrimaryLink(addrs, routes, this.exclude);
    const def = link ? routes.find((x) => x.dst === 'default' && x.dev === link.iface) : undefined;
    return { link, gateway: def ? def.gateway ?? 'direct' : '' };
  }

  private notify(): void {
    if (!this.started || this.closed) return;
    const now = this.host.net.clock.now();
    if (this.debouncer.quietMs === 0 && this.debouncer.maxDelayMs === 0) {
      if (this.queued) return;
      this.queued = true;
      this.host.net.enqueue(() => {
        this.queued = false;
        this.report(now);
      });
      return;
    }
    this.timer.arm(this.debouncer.event(now));
  }

  private fire(): void {
    if (this.closed) return;
    const r = this.debouncer.poll(this.host.net.clock.now());
    if (!r) return;
    if (!r.settled) return this.timer.arm(r.wakeAt);
    this.report(r.firstAt);
  }

  private report(eventAt: Instant): void {
    if (this.closed) return;
    const { link, gateway } = this.read();
    if (this.everyBurst || !sameLink(link, this.current) || gateway !== this.gateway) {
      this.current = link;
      this.gateway = gateway;
      this.reports++;
      this.onLink(link, eventAt);
    }
  }
}
