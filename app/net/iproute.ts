/**
 * iproute2 as data: the specs the engine asks for (routes, rules, addresses),
 * the pure builders that turn them into `ip` argument arrays, and the parsers
 * for `ip -j` output. No I/O: app/io/netconfig.ts runs what these build.
 */
export const CAP_NET_ADMIN_HINT =
  'needs CAP_NET_ADMIN: run as root, or grant it with `sudo setcap cap_net_admin+ep $(command -v node)`';

export interface RouteSpec {
  /** "default", an address or a prefix ("10.0.0.0/8") */
  dst: string;
  dev?: string;
  via?: string;
  src?: string;
  metric?: number;
  /** a number or a name from rt_tables ("main") */
  table?: number | string;
  /** the kernel's default is "link" for a route without a gateway */
  scope?: 'global' | 'link' | 'host';
}

export interface RuleSpec {
  to?: string;
  from?: string;
  /** lookup this table, unless `action` is given */
  table?: number | string;
  action?: 'unreachable' | 'blackhole' | 'prohibit';
  pref?: number;
  /** IPv6 rule (`ip -6 rule`); IPv4 when absent */
  family?: 6;
  /** the packet arrived on this device (input path) */
  iif?: string;
  /** the socket is bound to this device (output path) */
  oif?: string;
  ipproto?: 'udp' | 'tcp' | 'icmp';
  dport?: number;
  /**
   * reject the table's answer when its prefix is this long or shorter
   * (`suppress_prefixlength`; 0: every route of the table but its default),
   * and go on with the next rule
   */
  suppressPrefixLength?: number;
}

export interface AddressInfo {
  dev: string;
  ifindex: number;
  mtu: number;
  /** the link is administratively up (IFF_UP) */
  up: boolean;
  family: 'inet' | 'inet6';
  address: string;
  prefixLen: number;
  peer?: string;
  scope?: string;
}

export interface RouteLookup {
  dst: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  table?: string;
}

/** A failed `ip` command: the argument list and iproute2's own words. */
export class NetConfigError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | string | undefined,
  ) {
    const said = stderr.trim() || `exit ${String(exitCode)}`;
    const hint = /Operation not permitted|Permission denied/i.test(stderr) ? `; ${CAP_NET_ADMIN_HINT}` : '';
    super(`${command.join(' ')} failed: ${said}${hint}`);
    this.name = 'NetConfigError';
  }

  get permissionDenied(): boolean {
    return /Operation not permitted|Permission denied/i.test(this.stderr);
  }
}

/** Runs `ip` with these arguments (netns prefix included), `input` on its stdin (`-batch -`); resolves stdout. */
export type IpRunner = (args: readonly string[], input?: string) => Promise<string>;

/**
 * One step of NetConfigPort.batch. `mayFail`: its failure is expected (a
 * rule that may not be there) and ignored; any other failure fails the batch.
 * `copy-routes` copies the IPv4 routes of `dev` in table `from` into `to`
 * (each copy may fail, as copyRoutes' do).
 */
export type NetOp =
  | { op: 'add-rule' | 'del-rule'; rule: RuleSpec; mayFail?: boolean }
  | { op: 'replace-route' | 'del-route'; route: RouteSpec; mayFail?: boolean }
  | { op: 'flush-table'; table: number | string; mayFail?: boolean }
  /** `routes`: the routes of `dev` in `from` as read already (no read of its own; each still may fail) */
  | { op: 'copy-routes'; dev: string; from: number | string; to: number | string; routes?: readonly RouteSpec[] };

/**
 * The lines `ip -force -batch` reported as failed: iproute2 prints a failed
 * command's own error, then "Command failed -:N" (N 1-based); `said` is that error.
 */
export function failedBatchLines(stderr: string): Array<{ line: number; said: string }> {
  const out: Array<{ line: number; said: string }> = [];
  let from = 0;
  for (const m of stderr.matchAll(/Command failed \S*:(\d+)\n?/g)) {
    out.push({ line: Number(m[1]), said: stderr.slice(from, m.index).trim() });
    from = m.index + m[0].length;
  }
  return out;
}

// ---- pure argument builders ----

/** Rejects values iproute2 would read as options or that could never be valid. */
export function token(what: string, v: string | number): string {
  const s = String(v);
  if (s === '' || s.startsWith('-') || /\s/.test(s)) throw new TypeError(`netconfig: bad ${what} ${JSON.stringify(s)}`);
  return s;
}

export function devName(dev: string): string {
  if (dev.length > 15 || dev.includes('/')) throw new TypeError(`netconfig: bad interface name ${JSON.stringify(dev)}`);
  return token('interface name', dev);
}

export function nsArgs(netns: string | undefined): string[] {
  return netns === undefined ? [] : ['-n', token('namespace', netns)];
}

export function buildLinkArgs(dev: string, set: { up?: boolean; mtu?: number }): string[] {
  const args = ['link', 'set', 'dev', devName(dev)];
  if (set.mtu !== undefined) {
    if (!Number.isInteger(set.mtu) || set.mtu < 68 || set.mtu > 65535) throw new RangeError(`netconfig: bad MTU ${set.mtu}`);
    args.push('mtu', String(set.mtu));
  }
  if (set.up !== undefined) args.push(set.up ? 'up' : 'down');
  return args;
}

export function buildAddressArgs(verb: 'add' | 'del', dev: string, cidr: string, opts: { peer?: string } = {}): string[] {
  const args = ['addr', verb, token('address', cidr)];
  if (opts.peer !== undefined) args.push('peer', token('peer address', opts.peer));
  args.push('dev', devName(dev));
  return args;
}

export function buildRouteArgs(verb: 'add' | 'del' | 'replace', r: RouteSpec): string[] {
  const args = ['route', verb, token('route destination', r.dst)];
  if (r.via !== undefined) args.push('via', token('gateway', r.via));
  if (r.dev !== undefined) args.push('dev', devName(r.dev));
  if (r.src !== undefined) args.push('src', token('source address', r.src));
  if (r.metric !== undefined) {
    if (!Number.isInteger(r.metric) || r.metric < 0) throw new RangeError(`netconfig: bad metric ${r.metric}`);
    args.push('metric', String(r.metric));
  }
  if (r.table !== undefined) args.push('table', token('table', r.table));
  if (r.scope !== undefined) {
    if (!['global', 'link', 'host'].includes(r.scope)) throw new RangeError(`netconfig: bad scope ${String(r.scope)}`);
    args.push('scope', r.scope);
  }
  return args;
}

export function buildRuleArgs(verb: 'add' | 'del', r: RuleSpec): string[] {
  const args = [...(r.family === 6 ? ['-6'] : []), 'rule', verb];
  if (r.from !== undefined) args.push('from', token('rule source', r.from));
  if (r.to !== undefined) args.push('to', token('rule destination', r.to));
  if (r.iif !== undefined) args.push('iif', devName(r.iif));
  if (r.oif !== undefined) args.push('oif', devName(r.oif));
  if (r.ipproto !== undefined) args.push('ipproto', token('rule protocol', r.ipproto));
  if (r.dport !== undefined) {
    if (!Number.isInteger(r.dport) || r.dport < 1 || r.dport > 65535) throw new RangeError(`netconfig: bad port ${r.dport}`);
    args.push('dport', String(r.dport));
  }
  if (r.action !== undefined) args.push(r.action);
  else if (r.table !== undefined) args.push('lookup', token('table', r.table));
  else if (verb === 'add') throw new TypeError('netconfig: a rule needs a table or an action');
  if (r.suppressPrefixLength !== undefined) {
    if (r.action !== undefined || !Number.isInteger(r.suppressPrefixLength) || r.suppressPrefixLength < 0 || r.suppressPrefixLength > 32) {
      throw new RangeError(`netconfig: bad suppress_prefixlength ${r.suppressPrefixLength} (0..32, on a lookup rule)`);
    }
    args.push('suppress_prefixlength', String(r.suppressPrefixLength));
  }
  if (r.pref !== undefined) args.push('pref', token('rule preference', r.pref));
  return args;
}

// ---- parsers for `ip -j` output ----

function parseJsonArray(out: string, what: string): Record<string, unknown>[] {
  let v: unknown;
  try {
    v = JSON.parse(out);
  } catch {
    throw new Error(`netconfig: ${what} did not print JSON: ${out.slice(0, 200)}`);
  }
  if (!Array.isArray(v)) throw new Error(`netconfig: ${what} printed ${typeof v}, not a JSON array`);
  return v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `ip -j route get DST` → the kernel's choice. */
export function parseRouteGet(out: string): RouteLookup {
  const first = parseJsonArray(out, 'ip -j route get')[0];
  const dst = str(first?.dst);
  if (first === undefined || dst === undefined) throw new Error('netconfig: ip -j route get printed no route');
  const r: RouteLookup = { dst };
  for (const k of ['dev', 'gateway', 'prefsrc', 'table'] as const) {
    const v = first[k];
    if (typeof v === 'string' || typeof v === 'number') r[k] = String(v);
  }
  return r;
}

/** `ip -j link show` → the interface names (every link, with an address or not). */
export function parseLinkNames(out: string): string[] {
  const names: string[] = [];
  for (const link of parseJsonArray(out, 'ip -j link show')) {
    const n = str(link.ifname);
    if (n !== undefined) names.push(n);
  }
  return names;
}

/** `ip -j addr show` → one entry per address. */
export function parseAddresses(out: string): AddressInfo[] {
  const result: AddressInfo[] = [];
  for (const link of parseJsonArray(out, 'ip -j addr show')) {
    const dev = str(link.ifname);
    if (dev === undefined) continue;
    const flags = Array.isArray(link.flags) ? link.flags : [];
    const infos = Array.isArray(link.addr_info) ? (link.addr_info as unknown[]) : [];
    for (const a of infos) {
      if (typeof a !== 'object' || a === null) continue;
      const ai = a as Record<string, unknown>;
      const family = ai.family;
      const address = str(ai.local);
      if ((family !== 'inet' && family !== 'inet6') || address === undefined || typeof ai.prefixlen !== 'number') continue;
      const entry: AddressInfo = {
        dev,
        ifindex: typeof link.ifindex === 'number' ? link.ifindex : 0,
        mtu: typeof link.mtu === 'number' ? link.mtu : 0,
        up: flags.includes('UP'),
        family,
        address,
        prefixLen: ai.prefixlen,
      };
      const peer = str(ai.address);
      if (peer !== undefined && peer !== address) entry.peer = peer;
      const scope = str(ai.scope);
      if (scope !== undefined) entry.scope = scope;
      result.push(entry);
    }
  }
  return result;
}

