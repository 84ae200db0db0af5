/**
 * One host's network configuration in memory (the kernel's side of
 * app/io/netconfig.ts): interfaces with their addresses, routing tables,
 * policy rules — and the route lookup the host's packets take (rules by
 * preference, then the longest prefix, then the lowest metric, in the table
 * a rule names). Errors are NetConfigErrors with iproute2's words ("File
 * exists", "No such process", "Cannot find device"), so drivers see what
 * the real `ip` tells them. Every `…Now` method is the synchronous form of
 * the NetConfigPort method of the same name, for tests setting a scene.
 *
 * Kernel behaviour kept: an address brings its connected route (while the
 * link is up); a link going down drops every route through it; a route
 * through a down link is refused ("Network is down"); a gateway must be on
 * a connected prefix; rules without a pref go just before the first non-0
 * one; an identical rule is refused; `ip route get` on a socket bound to a
 * device with no route assumes the destination is on that link.
 */
import { inPrefix, isIPv4, parsePrefix, prefixMask, ipv4ToU32, type Prefix } from '../../app/base/ipv4.ts';
import {
  NetConfigError, buildAddressArgs, buildLinkArgs, buildRouteArgs, buildRuleArgs,
  type AddressInfo, type RouteLookup, type RouteSpec, type RuleSpec,
} from '../../app/io/netconfig.ts';
import type { NetConfigPort } from '../../app/io/platform.ts';
import type { NetOp } from '../../app/io/netconfig.ts';

export interface MemoryAddress {
  address: string;
  prefixLen: number;
  peer?: string;
}

export interface MemoryInterface {
  name: string;
  ifindex: number;
  mtu: number;
  up: boolean;
  kind: 'loopback' | 'ether' | 'tun';
  addrs: MemoryAddress[];
}

export interface MemoryRoute {
  dst: Prefix;
  dev: string;
  via?: string;
  src?: string;
  metric: number;
  /** 'main', 'local', 'default' or the number as a string */
  table: string;
  scope: 'global' | 'link' | 'host';
  /** kernel: a connected route an address brought (goes with it) */
  proto: 'kernel' | 'static';
}

export interface MemoryRule {
  pref: number;
  to?: Prefix;
  from?: Prefix;
  table?: string;
  action?: 'unreachable' | 'blackhole' | 'prohibit';
  iif?: string;
  oif?: string;
  ipproto?: 'udp' | 'tcp' | 'icmp';
  dport?: number;
  /** the table's answer is rejected when its prefix is this long or shorter */
  suppressPrefixLength?: number;
}

/** What a packet's route lookup knows about it. */
export interface Flow {
  dst: string;
  src?: string;
  /** arrival device (forwarded packets); locally generated packets have none */
  iif?: string;
  /** SO_BINDTODEVICE of the sending socket */
  oif?: string;
  /** IP protocol number */
  proto?: number;
  dport?: number;
}

export type RouteDecision =
  | { kind: 'local'; dev: string }
  | { kind: 'unicast'; dev: string; gateway?: string; prefsrc?: string; table: string }
  | { kind: 'blocked'; action: 'unreachable' | 'blackhole' | 'prohibit' }
  | { kind: 'unreachable' };

const PROTO_NUMBER = { icmp: 1, tcp: 6, udp: 17 } as const;

export function tableName(t: number | string | undefined): string {
  const s = String(t ?? 'main');
  return s === '254' ? 'main' : s === '255' ? 'local' : s === '253' ? 'default' : s;
}

function toPrefix(s: string): Prefix {
  if (s === 'default' || s === 'all') return { addr: '0.0.0.0', len: 0 };
  return s.includes('/') ? parsePrefix(s) : { addr: s, len: 32 };
}

function prefixText(p: Prefix): string {
  return p.len === 0 ? 'default' : p.len === 32 ? p.addr : `${p.addr}/${p.len}`;
}

function networkOf(addr: string, len: number): Prefix {
  const n = (ipv4ToU32(addr) & prefixMask(len)) >>> 0;
  return { addr: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, len };
}

const samePrefix = (a: Prefix | undefined, b: Prefix | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.len === b.len && networkOf(a.addr, a.len).addr === networkOf(b.addr, b.len).addr);

export function isMulticast(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

export class MemoryNetConfig implements NetConfigPort {
  readonly interfaces = new Map<string, MemoryInterface>();
  routes: MemoryRoute[] = [];
  rules: MemoryRule[] = [
    { pref: 0, table: 'local' },
    { pref: 32766, table: 'main' },
    { pref: 32767, table: 'default' },
  ];
  /** IPv6 rules, as their `ip -6 rule add` arguments (kept, never consulted) */
  rules6: Array<{ key: string; pref: number }> = [];
  private nextIndex = 1;
  private readonly listeners: Array<(what: string) => void> = [];
  /** every NetConfigPort call, as the `ip` arguments it stands for (for assertions) */
  readonly log: string[][] = [];

  constructor() {
    this.createInterface('lo', 'loopback', { mtu: 65536 });
    this.addAddressNow('lo', '127.0.0.1/8');
    this.linkUpNow('lo');
  }

  /** called after every change (link, address, route, rule) */
  onChange(listener: (what: string) => void): void {
    this.listeners.push(listener);
  }

  /** tells the listeners of a change made directly on `routes`/`rules`/`interfaces` */
  touch(what: string): void {
    this.changed(what);
  }

  private changed(what: string): void {
    for (const l of this.listeners) l(what);
  }

  private fail(args: readonly string[], said: string): never {
    throw new NetConfigError(['ip', ...args], said, 2);
  }

  private iface(args: readonly string[], dev: string): MemoryInterface {
    const i = this.interfaces.get(dev);
    if (!i) this.fail(args, `Cannot find device "${dev}"`);
    return i;
  }

  // ---- interfaces (what creating a device does: the kernel's part, not `ip`) ----

  createInterface(name: string, kind: MemoryInterface['kind'], opts: { mtu?: number } = {}): MemoryInterface {
    if (this.interfaces.has(name)) throw new NetConfigError(['ip', 'link', 'add', name], 'RTNETLINK answers: File exists', 2);
    const i: MemoryInterface = { name, ifindex: this.nextIndex++, mtu: opts.mtu ?? (kind === 'tun' ? 1500 : 1500), up: false, kind, addrs: [] };
    this.interfaces.set(name, i);
    this.changed(`link ${name}`);
    return i;
  }

  /** the device goes away (TUN closed, link deleted): its addresses and routes with it */
  removeInterface(name: string): boolean {
    if (!this.interfaces.delete(name)) return false;
    this.routes = this.routes.filter((r) => r.dev !== name);
    this.changed(`link ${name} deleted`);
    return true;
  }

  interfaceByIndex(ifindex: number): MemoryInterface | undefined {
    return [...this.interfaces.values()].find((i) => i.ifindex === ifindex);
  }

  /** the device that holds this address (undefined: none) */
  deviceOf(addr: string): string | undefined {
    for (const i of this.interfaces.values()) if (i.addrs.some((a) => a.address === addr)) return i.name;
    return undefined;
  }

  /** an address of an up interface: the packet is for this host */
  isLocal(addr: string): boolean {
    for (const i of this.interfaces.values()) {
      if (!i.up) continue;
      if (i.addrs.some((a) => a.address === addr)) return true;
      if (i.kind === 'loopback' && i.addrs.some((a) => inPrefix(addr, { addr: a.address, len: a.prefixLen }))) return true;
    }
    return false;
  }

  /** 255.255.255.255 or the directed broadcast of one of `dev`'s prefixes */
  isBroadcast(addr: string, dev?: string): boolean {
    if (addr === '255.255.255.255') return true;
    for (const i of this.interfaces.values()) {
      if (dev !== undefined && i.name !== dev) continue;
      for (const a of i.addrs) {
        if (a.prefixLen >= 31) continue;
        const bcast = (ipv4ToU32(a.address) | (~prefixMask(a.prefixLen) >>> 0)) >>> 0;
        if (bcast === ipv4ToU32(addr)) return true;
      }
    }
    return false;
  }

  // ---- synchronous forms ----

  linkUpNow(dev: string): void {
    const args = buildLinkArgs(dev, { up: true });
    const i = this.iface(args, dev);
    if (i.up) return;
    i.up = true;
    for (const a of i.addrs) this.addConnected(i.name, a);
    this.changed(`link ${dev} up`);
  }

  linkDownNow(dev: string): void {
    const args = buildLinkArgs(dev, { up: false });
    const i = this.iface(args, dev);
    if (!i.up) return;
    i.up = false;
    this.routes = this.routes.filter((r) => r.dev !== dev);
    this.changed(`link ${dev} down`);
  }

  setMtuNow(dev: string, mtu: number): void {
    this.iface(buildLinkArgs(dev, { mtu }), dev).mtu = mtu;
    this.changed(`link ${dev} mtu`);
  }

  addAddressNow(dev: string, cidr: string, opts: { peer?: string } = {}): void {
    const args = buildAddressArgs('add', dev, cidr, opts);
    const i = this.iface(args, dev);
    const p = toPrefix(cidr);
    if (opts.peer !== undefined && !isIPv4(toPrefix(opts.peer).addr)) this.fail(args, `Error: any valid prefix is expected rather than "${opts.peer}".`);
    if (i.addrs.some((a) => a.address === p.addr && a.prefixLen === p.len)) this.fail(args, 'RTNETLINK answers: File exists');
    const a: MemoryAddress = { address: p.addr, prefixLen: p.len, ...(opts.peer !== undefined ? { peer: opts.peer } : {}) };
    i.addrs.push(a);
    if (i.up) this.addConnected(dev, a);
    this.changed(`address ${cidr} on ${dev}`);
  }

  delAddressNow(dev: string, cidr: string, opts: { peer?: string } = {}): void {
    const args = buildAddressArgs('del', dev, cidr, opts);
    const i = this.iface(args, dev);
    const p = toPrefix(cidr);
    const k = i.addrs.findIndex((a) => a.address === p.addr && (!cidr.includes('/') || a.prefixLen === p.len));
    if (k < 0) this.fail(args, 'RTNETLINK answers: Cannot assign requested address');
    const [gone] = i.addrs.splice(k, 1);
    // its connected route goes with it, and so do routes that used it as their source
    this.routes = this.routes.filter((r) => !(r.dev === dev && r.proto === 'kernel' && r.src === gone!.address) && r.src !== gone!.address);
    this.changed(`address ${cidr} off ${dev}`);
  }

  private addConnected(dev: string, a: MemoryAddress): void {
    const dst = a.peer !== undefined ? toPrefix(a.peer) : networkOf(a.address, a.prefixLen);
    const table = this.interfaces.get(dev)?.kind === 'loopback' ? 'local' : 'main';
    if (this.routes.some((r) => r.table === table && r.dev === dev && samePrefix(r.dst, dst) && r.proto === 'kernel')) return;
    this.routes.push({ dst, dev, src: a.address, metric: 0, table, scope: 'link', proto: 'kernel' });
  }

  private toRoute(args: readonly string[], r: RouteSpec): MemoryRoute {
    const dst = toPrefix(r.dst);
    const table = tableName(r.table);
    let dev = r.dev;
    if (r.via !== undefined) {
      const onLink = this.nexthopCheck(r.via, dev, table);
      if (!onLink) this.fail(args, dev !== undefined && !this.interfaces.get(dev)?.up ? 'RTNETLINK answers: Network is down' : 'Error: Nexthop has invalid gateway.');
      dev ??= onLink.dev;
    }
    if (dev === undefined) this.fail(args, 'Error: Device for nexthop is not up.');
    const i = this.iface(args, dev);
    if (!i.up) this.fail(args, 'RTNETLINK answers: Network is down');
    return {
      dst, dev, table,
      metric: r.metric ?? 0,
      scope: r.scope ?? (r.via === undefined ? 'link' : 'global'),
      proto: 'static',
      ...(r.via !== undefined ? { via: r.via } : {}),
      ...(r.src !== undefined ? { src: r.src } : {}),
    };
  }

  /**
   * The kernel's check of a gateway (fib_check_nh_v4_gw): a route of scope
   * link towards it in the route's own table (not main), else a full policy
   * lookup — every rule in order, `oif` = the route's device (none when the
   * route names none), only routes of scope link — whose first answer
   * counts: a rule's action (unreachable…) or a local address refuses it.
   */
  private nexthopCheck(via: string, dev: string | undefined, table: string): MemoryRoute | undefined {
    const onLink = (t: string): MemoryRoute | undefined => this.routes
      .filter((x) => x.table === t && x.via === undefined && x.scope !== 'global' && inPrefix(via, x.dst) && (dev === undefined || x.dev === dev) && this.interfaces.get(x.dev)?.up)
      .sort((a, b) => b.dst.len - a.dst.len || a.metric - b.metric)[0];
    if (table !== 'main') {
      const own = onLink(table);
      if (own) return own;
    }
    const f: Flow = { dst: via, ...(dev !== undefined ? { oif: dev } : {}) };
    for (const rule of this.rules) {
      if (!this.ruleMatches(rule, f)) continue;
      if (rule.action) return undefined;
      if (rule.table === 'local') {
        if (this.isLocal(via)) return undefined;
        continue;
      }
      const r = onLink(rule.table!);
      if (!r || (rule.suppressPrefixLength !== undefined && r.dst.len <= rule.suppressPrefixLength)) continue;
      return r;
    }
    return undefined;
  }

  /** same key as the kernel's: table, destination, metric */
  private sameKey(a: MemoryRoute, b: MemoryRoute): boolean {
    return a.table === b.table && samePrefix(a.dst, b.dst) && a.metric === b.metric;
  }

  addRouteNow(r: RouteSpec): void {
    const args = buildRouteArgs('add', r);
    const route = this.toRoute(args, r);
    if (this.routes.some((x) => this.sameKey(x, route))) this.fail(args, 'RTNETLINK answers: File exists');
    this.routes.push(route);
    this.changed(`route ${r.dst}`);
  }

  replaceRouteNow(r: RouteSpec): void {
    const args = buildRouteArgs('replace', r);
    const route = this.toRoute(args, r);
    this.routes = this.routes.filter((x) => !this.sameKey(x, route));
    this.routes.push(route);
    this.changed(`route ${r.dst}`);
  }

  delRouteNow(r: RouteSpec): void {
    const args = buildRouteArgs('del', r);
    const dst = toPrefix(r.dst);
    const table = tableName(r.table);
    const k = this.routes.findIndex((x) =>
      x.table === table && samePrefix(x.dst, dst) &&
      (r.dev === undefined || x.dev === r.dev) && (r.via === undefined || x.via === r.via) &&
      (r.metric === undefined || x.metric === r.metric) && (r.src === undefined || x.src === r.src));
    if (k < 0) this.fail(args, 'RTNETLINK answers: No such process');
    this.routes.splice(k, 1);
    this.changed(`route ${r.dst} deleted`);
  }

  flushTableNow(table: number | string): void {
    const t = tableName(table);
    this.routes = this.routes.filter((r) => r.table !== t);
    this.changed(`table ${t} flushed`);
  }

  private toRule(r: RuleSpec): MemoryRule {
    return {
      pref: r.pref ?? 0,
      ...(r.to !== undefined ? { to: toPrefix(r.to) } : {}),
      ...(r.from !== undefined && r.from !== 'all' ? { from: toPrefix(r.from) } : {}),
      ...(r.action !== undefined ? { action: r.action } : r.table !== undefined ? { table: tableName(r.table) } : {}),
      ...(r.iif !== undefined ? { iif: r.iif } : {}),
      ...(r.oif !== undefined ? { oif: r.oif } : {}),
      ...(r.ipproto !== undefined ? { ipproto: r.ipproto } : {}),
      ...(r.dport !== undefined ? { dport: r.dport } : {}),
      ...(r.suppressPrefixLength !== undefined ? { suppressPrefixLength: r.suppressPrefixLength } : {}),
    };
  }

  private sameRule(a: MemoryRule, b: MemoryRule): boolean {
    return a.pref === b.pref && samePrefix(a.to, b.to) && samePrefix(a.from, b.from) && a.table === b.table &&
      a.action === b.action && a.iif === b.iif && a.oif === b.oif && a.ipproto === b.ipproto && a.dport === b.dport &&
      a.suppressPrefixLength === b.suppressPrefixLength;
  }

  addRuleNow(r: RuleSpec): void {
    const args = buildRuleArgs('add', r);
    if (r.family === 6) {
      // the simulated network carries IPv4 only: IPv6 rules are kept (add/del/delRulesAt agree) but route nothing
      const key = args.join(' ');
      if (this.rules6.some((x) => x.key === key)) this.fail(args, 'RTNETLINK answers: File exists');
      this.rules6.push({ key, pref: r.pref ?? 0 });
      return this.changed('rule6');
    }
    const rule = this.toRule(r);
    if (r.pref === undefined) {
      const firstNonZero = this.rules.find((x) => x.pref > 0);
      rule.pref = firstNonZero ? Math.max(0, firstNonZero.pref - 1) : 0;
    }
    if (this.rules.some((x) => this.sameRule(x, rule))) this.fail(args, 'RTNETLINK answers: File exists');
    // after the rules with the same preference, like the kernel
    const at = this.rules.findIndex((x) => x.pref > rule.pref);
    this.rules.splice(at < 0 ? this.rules.length : at, 0, rule);
    this.changed(`rule ${rule.pref}`);
  }

  delRuleNow(r: RuleSpec): void {
    const args = buildRuleArgs('del', r);
    if (r.family === 6) {
      const k = this.rules6.findIndex((x) => x.key === buildRuleArgs('add', r).join(' ') || (Object.keys(r).every((f) => f === 'pref' || f === 'family') && x.pref === r.pref));
      if (k < 0) this.fail(args, 'RTNETLINK answers: No such file or directory');
      this.rules6.splice(k, 1);
      return this.changed('rule6 deleted');
    }
    const want = this.toRule(r);
    const k = this.rules.findIndex((x) =>
      (r.pref === undefined || x.pref === want.pref) && (r.to === undefined || samePrefix(x.to, want.to)) &&
      (r.from === undefined || samePrefix(x.from, want.from)) && (r.table === undefined || x.table === want.table) &&
      (r.action === undefined || x.action === want.action) && (r.iif === undefined || x.iif === want.iif) &&
      (r.oif === undefined || x.oif === want.oif) && (r.ipproto === undefined || x.ipproto === want.ipproto) &&
      (r.dport === undefined || x.dport === want.dport) &&
      (r.suppressPrefixLength === undefined || x.suppressPrefixLength === want.suppressPrefixLength));
    if (k < 0) this.fail(args, 'RTNETLINK answers: No such file or directory');
    this.rules.splice(k, 1);
    this.changed(`rule ${want.pref} deleted`);
  }

  delRulesAtNow(pref: number, family?: 6): number {
    if (family === 6) {
      const before6 = this.rules6.length;
      this.rules6 = this.rules6.filter((r) => r.pref !== pref);
      return before6 - this.rules6.length;
    }
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.pref !== pref);
    const n = before - this.rules.length;
    if (n > 0) this.changed(`rules ${pref} deleted`);
    return n;
  }

  copyRoutesNow(dev: string, from: number | string, to: number | string): void {
    const f = tableName(from);
    const t = tableName(to);
    for (const r of this.routes.filter((x) => x.table === f && x.dev === dev)) {
      const copy: MemoryRoute = { ...r, table: t, proto: 'static' };
      this.routes = this.routes.filter((x) => !this.sameKey(x, copy));
      this.routes.push(copy);
    }
    this.changed(`routes of ${dev} copied to ${t}`);
  }

  // ---- lookups ----

  private ruleMatches(r: MemoryRule, f: Flow): boolean {
    if (r.to && !inPrefix(f.dst, r.to)) return false;
    if (r.from && r.from.len > 0 && (f.src === undefined || f.src === '0.0.0.0' || !inPrefix(f.src, r.from))) return false;
    if (r.iif !== undefined && r.iif !== (f.iif ?? 'lo')) return false;
    if (r.oif !== undefined && r.oif !== f.oif) return false;
    if (r.ipproto !== undefined && PROTO_NUMBER[r.ipproto] !== f.proto) return false;
    if (r.dport !== undefined && r.dport !== f.dport) return false;
    return true;
  }

  /** the best route to `dst` in one table (longest prefix, then lowest metric), on an up device */
  bestRoute(table: string, dst: string, oif?: string): MemoryRoute | undefined {
    let best: MemoryRoute | undefined;
    for (const r of this.routes) {
      if (r.table !== table || !inPrefix(dst, r.dst) || (oif !== undefined && r.dev !== oif)) continue;
      if (!this.interfaces.get(r.dev)?.up) continue;
      if (!best || r.dst.len > best.dst.len || (r.dst.len === best.dst.len && r.metric < best.metric)) best = r;
    }
    return best;
  }

  /** the address a packet leaving `dev` towards `towards` gets (kernel: the primary address on its subnet) */
  sourceFor(dev: string, towards: string): string | undefined {
    const own = this.interfaces.get(dev)?.addrs ?? [];
    const onSubnet = own.find((a) => inPrefix(towards, { addr: a.address, len: a.prefixLen }) || a.peer === towards);
    if (onSubnet) return onSubnet.address;
    if (own[0]) return own[0].address;
    for (const i of this.interfaces.values()) {
      if (i.up && i.kind !== 'loopback' && i.addrs[0]) return i.addrs[0].address;
    }
    return undefined;
  }

  /** the route a packet with this flow takes: rules by preference, then that table */
  decide(f: Flow): RouteDecision {
    for (const rule of this.rules) {
      if (!this.ruleMatches(rule, f)) continue;
      if (rule.action) return { kind: 'blocked', action: rule.action };
      if (rule.table === 'local') {
        if (this.isLocal(f.dst)) return { kind: 'local', dev: this.deviceOf(f.dst) ?? 'lo' };
        continue;
      }
      const r = this.bestRoute(rule.table!, f.dst, f.oif);
      if (!r || (rule.suppressPrefixLength !== undefined && r.dst.len <= rule.suppressPrefixLength)) continue;
      const gateway = r.via;
      const prefsrc = r.src ?? this.sourceFor(r.dev, gateway ?? f.dst);
      return { kind: 'unicast', dev: r.dev, table: r.table, ...(gateway ? { gateway } : {}), ...(prefsrc ? { prefsrc } : {}) };
    }
    // a socket bound to a device: with no route, the destination is taken to be on that link
    if (f.oif !== undefined && this.interfaces.get(f.oif)?.up) {
      const prefsrc = this.sourceFor(f.oif, f.dst);
      return { kind: 'unicast', dev: f.oif, table: 'main', ...(prefsrc ? { prefsrc } : {}) };
    }
    return { kind: 'unreachable' };
  }

  /** synchronous `ip route get` */
  getRouteNow(dst: string, flow: Omit<Flow, 'dst'> = {}): RouteLookup {
    const args = ['-j', 'route', 'get', dst];
    if (!isIPv4(dst)) this.fail(args, `Error: inet prefix is expected rather than "${dst}".`);
    const d = this.decide({ ...flow, dst });
    if (d.kind === 'local') return { dst, dev: 'lo', prefsrc: dst, table: 'local' };
    if (d.kind === 'unicast') {
      return { dst, dev: d.dev, ...(d.gateway ? { gateway: d.gateway } : {}), ...(d.prefsrc ? { prefsrc: d.prefsrc } : {}), ...(d.table !== 'main' ? { table: d.table } : {}) };
    }
    if (d.kind === 'blocked' && d.action === 'prohibit') this.fail(args, 'RTNETLINK answers: Permission denied');
    if (d.kind === 'blocked' && d.action === 'blackhole') this.fail(args, 'RTNETLINK answers: Invalid argument');
    return this.fail(args, 'RTNETLINK answers: Network is unreachable');
  }

  listLinksNow(): string[] {
    return [...this.interfaces.keys()];
  }

  listAddressesNow(dev?: string): AddressInfo[] {
    if (dev !== undefined) this.iface(['-j', 'addr', 'show', 'dev', dev], dev);
    const out: AddressInfo[] = [];
    for (const i of this.interfaces.values()) {
      if (dev !== undefined && i.name !== dev) continue;
      for (const a of i.addrs) {
        out.push({
          dev: i.name, ifindex: i.ifindex, mtu: i.mtu, up: i.up, family: 'inet', address: a.address, prefixLen: a.prefixLen,
          scope: i.kind === 'loopback' ? 'host' : 'global',
          ...(a.peer !== undefined ? { peer: a.peer } : {}),
        });
      }
    }
    return out;
  }

  /** `ip route show table T` as text lines, for assertions and failure messages */
  showRoutes(table: number | string = 'main'): string[] {
    const t = tableName(table);
    return this.routes.filter((r) => r.table === t).map((r) =>
      [prefixText(r.dst), ...(r.via ? ['via', r.via] : []), 'dev', r.dev, ...(r.scope !== 'global' && !r.via ? ['scope', r.scope] : []),
        ...(r.src ? ['src', r.src] : []), ...(r.metric ? ['metric', String(r.metric)] : [])].join(' '));
  }

  /** `ip rule show` as text lines */
  showRules(): string[] {
    return this.rules.map((r) => [`${r.pref}:`, 'from', r.from ? prefixText(r.from) : 'all', ...(r.to ? ['to', prefixText(r.to)] : []),
      ...(r.iif ? ['iif', r.iif] : []), ...(r.oif ? ['oif', r.oif] : []), ...(r.ipproto ? ['ipproto', r.ipproto] : []),
      ...(r.dport ? ['dport', String(r.dport)] : []), ...(r.action ? [r.action] : ['lookup', r.table!]),
      ...(r.suppressPrefixLength !== undefined ? ['suppress_prefixlength', String(r.suppressPrefixLength)] : [])].join(' '));
  }

  // ---- NetConfigPort ----

  private async call<T>(args: string[], f: () => T): Promise<T> {
    this.log.push(args);
    return f();
  }

  linkUp(dev: string): Promise<void> {
    return this.call(['link', 'set', 'dev', dev, 'up'], () => this.linkUpNow(dev));
  }
  linkDown(dev: string): Promise<void> {
    return this.call(['link', 'set', 'dev', dev, 'down'], () => this.linkDownNow(dev));
  }
  setMtu(dev: string, mtu: number): Promise<void> {
    return this.call(['link', 'set', 'dev', dev, 'mtu', String(mtu)], () => this.setMtuNow(dev, mtu));
  }
  addAddress(dev: string, cidr: string, opts?: { peer?: string }): Promise<void> {
    return this.call(['addr', 'add', cidr, 'dev', dev], () => this.addAddressNow(dev, cidr, opts));
  }
  delAddress(dev: string, cidr: string, opts?: { peer?: string }): Promise<void> {
    return this.call(['addr', 'del', cidr, 'dev', dev], () => this.delAddressNow(dev, cidr, opts));
  }
  addRoute(r: RouteSpec): Promise<void> {
    return this.call(['route', 'add', r.dst], () => this.addRouteNow(r));
  }
  replaceRoute(r: RouteSpec): Promise<void> {
    return this.call(['route', 'replace', r.dst], () => this.replaceRouteNow(r));
  }
  delRoute(r: RouteSpec): Promise<void> {
    return this.call(['route', 'del', r.dst], () => this.delRouteNow(r));
  }
  flushTable(table: number | string): Promise<void> {
    return this.call(['route', 'flush', 'table', String(table)], () => this.flushTableNow(table));
  }
  addRule(r: RuleSpec): Promise<void> {
    return this.call(['rule', 'add'], () => this.addRuleNow(r));
  }
  delRule(r: RuleSpec): Promise<void> {
    return this.call(['rule', 'del'], () => this.delRuleNow(r));
  }
  ensureRule(r: RuleSpec): Promise<void> {
    // as NetConfig: an exclusive add, an identical rule there already is what was asked for
    return this.call(['rule', 'add'], () => {
      try {
        this.addRuleNow(r);
      } catch (e) {
        if (!(e instanceof NetConfigError && /File exists/.test(e.stderr))) throw e;
      }
    });
  }
  delRulesAt(pref: number, family?: 6): Promise<number> {
    return this.call(['rule', 'del', 'pref', String(pref)], () => this.delRulesAtNow(pref, family));
  }
  delLink(dev: string): Promise<boolean> {
    return this.call(['link', 'del', 'dev', dev], () => this.removeInterface(dev));
  }
  copyRoutes(dev: string, from: number | string, to: number | string): Promise<void> {
    return this.call(['route', 'copy', dev, String(from), String(to)], () => this.copyRoutesNow(dev, from, to));
  }
  /** each step through the methods above, in order (logged one by one); a step without mayFail that fails fails the batch */
  async batch(ops: readonly NetOp[]): Promise<void> {
    let fatal: unknown;
    for (const o of ops) {
      const step = ((): Promise<unknown> => {
        switch (o.op) {
          case 'add-rule': return this.addRule(o.rule);
          case 'del-rule': return this.delRule(o.rule);
          case 'replace-route': return this.replaceRoute(o.route);
          case 'del-route': return this.delRoute(o.route);
          case 'flush-table': return this.flushTable(o.table);
          case 'copy-routes':
            // the routes read already: each replaced in `to`, as the batch line would (a failure is ignored)
            if (o.routes) return Promise.all(o.routes.map((r) => this.replaceRoute({ ...r, dev: o.dev, table: o.to }).catch(() => undefined)));
            return this.copyRoutes(o.dev, o.from, o.to);
        }
      })();
      await step.catch((e: unknown) => {
        if (o.op !== 'copy-routes' && !o.mayFail) fatal ??= e;
      });
    }
    if (fatal !== undefined) throw fatal;
  }

  getRoute(dst: string): Promise<RouteLookup> {
    return this.call(['route', 'get', dst], () => this.getRouteNow(dst));
  }
  listAddresses(dev?: string): Promise<AddressInfo[]> {
    return this.call(['addr', 'show', ...(dev ? [dev] : [])], () => this.listAddressesNow(dev));
  }
  listLinks(): Promise<string[]> {
    return this.call(['link', 'show'], () => this.listLinksNow());
  }
}
