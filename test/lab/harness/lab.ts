/**
 * A declarative lab of network namespaces for tests that need real peers.
 *
 *   const lab = await Lab.create({
 *     hosts: ['client', { name: 'gw', forward: true }, 'intranet'],
 *     links: [{ a: 'client', b: 'gw', aAddr: '192.0.2.2/24', bAddr: '192.0.2.1/24' }],
 *     routes: [{ host: 'client', to: 'default', via: '192.0.2.1' }],
 *   });
 *   await lab.exec('client', 'ping', ['-c1', '192.0.2.1']);
 *   await lab.destroy();
 *
 * Each host (and each switch: a namespace holding bridge br0) is a namespace
 * named <run id>-<host>. veth pairs are created straight inside the two
 * namespaces, named eth0, eth1, ... per host unless the link names them.
 * Teardown kills every process of the run, deletes its namespaces (veths,
 * addresses, routes and iptables state go with them) and its work dir; it
 * also runs at process exit if a test never called destroy().
 * HOMEWARD_LAB_KEEP=1 keeps the work dir (configs, pcaps) for a post-mortem.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { LabProcess, run, runOk, startProcess, type ExecOptions, type ExecResult } from './exec.ts';
import { assignIfNames, checkHostName, checkIfName, nsName } from './names.ts';
import { claimRunId, register, saveState, teardownSync, unregister, netnsPidsSync, type RunState } from './registry.ts';

export type HostSpec = string | { name: string; forward?: boolean };

export interface LinkSpec {
  a: string;
  b: string;
  aAddr?: string | string[];
  bAddr?: string | string[];
  aIf?: string;
  bIf?: string;
  mtu?: number;
}

export interface RouteSpec {
  host: string;
  /** 'default' or a CIDR prefix */
  to: string;
  via?: string;
  dev?: string;
  metric?: number;
}

export interface NatSpec {
  host: string;
  /** MASQUERADE what leaves through this interface */
  outIf: string;
}

export interface LossSpec {
  host: string;
  iface: string;
  /** 'in': packets arriving on iface; 'out': packets leaving through it (local and forwarded) */
  direction: 'in' | 'out';
  /** 0 removes the rule; 1 drops everything */
  probability: number;
}

export interface LabSpec {
  hosts: HostSpec[];
  switches?: string[];
  links: LinkSpec[];
  routes?: RouteSpec[];
  nat?: NatSpec[];
  loss?: LossSpec[];
  /** keep IPv6 on (off by default so captures hold only what the test sends) */
  ipv6?: boolean;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  label?: string;
}

const BRIDGE = 'br0';
const asList = (x: string | string[] | undefined): string[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

export class Lab {
  private readonly procs = new Set<LabProcess>();
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  private readonly addrs = new Map<string, Array<{ iface: string; cidr: string }>>();
  /** routes the lab has set per host (spec + routeAdd - routeDel), re-applied by linkUp */
  private readonly routes = new Map<string, RouteSpec[]>();
  private destroying: Promise<void> | undefined;

  private constructor(
    private readonly state: RunState,
    private readonly hostNs: ReadonlyMap<string, string>,
    readonly switches: ReadonlySet<string>,
  ) {}

  get runId(): string {
    return this.state.runId;
  }
  /** Where this run keeps its files (configs, pcaps); removed at teardown. */
  get workDir(): string {
    return this.state.workDir;
  }
  /** Every namespace of this run. */
  get namespaces(): string[] {
    return [...this.state.namespaces];
  }
  /** The pids of every process the lab started (also after they exited). */
  get startedPids(): number[] {
    return [...this.state.pids];
  }

  static async create(spec: LabSpec): Promise<Lab> {
    const hosts = spec.hosts.map((h) => (typeof h === 'string' ? { name: h, forward: false } : { forward: false, ...h }));
    const switches = spec.switches ?? [];
    const names = [...hosts.map((h) => h.name), ...switches];
    names.forEach(checkHostName);
    if (new Set(names).size !== names.length) throw new Error(`lab: duplicate host/switch name in ${names.join(', ')}`);
    const ifNames = assignIfNames(spec.links);
    for (const l of spec.links) {
      for (const end of [l.a, l.b]) if (!names.includes(end)) throw new Error(`lab link: unknown host ${end}`);
    }
    for (const h of hosts) if ((spec.nat ?? []).some((n) => n.host === h.name)) h.forward = true;

    const state = claimRunId();
    const hostNs = new Map(names.map((n) => [n, nsName(state.runId, n)]));
    const lab = new Lab(state, hostNs, new Set(switches));
    register(lab);
    try {
      await lab.build(spec, hosts, ifNames);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  private async build(spec: LabSpec, hosts: Array<{ name: string; forward: boolean }>, ifNames: Array<{ aIf: string; bIf: string }>): Promise<void> {
    for (const [name, ns] of this.hostNs) {
      // recorded before it exists, so a crash between the two still gets swept
      this.state.namespaces.push(ns);
      saveState(this.state);
      await runOk('ip', ['netns', 'add', ns]);
      await this.ip(name, ['link', 'set', 'lo', 'up']);
      const sysctls = [`net.ipv4.ip_forward=${hosts.find((h) => h.name === name)?.forward ? 1 : 0}`];
      if (!spec.ipv6) sysctls.push('net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      await runOk('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...sysctls]);
      if (this.switches.has(name)) {
        await this.ip(name, ['link', 'add', BRIDGE, 'type', 'bridge']);
        await this.ip(name, ['link', 'set', BRIDGE, 'up']);
      }
    }
    for (const [i, l] of spec.links.entries()) {
      const n = ifNames[i];
      if (n === undefined) throw new Error('unreachable: link without names');
      await this.addLink(l, n.aIf, n.bIf);
    }
    for (const r of spec.routes ?? []) await this.routeAdd(r);
    for (const nat of spec.nat ?? []) {
      checkIfName(nat.outIf);
      await this.iptables(nat.host, ['-t', 'nat', '-A', 'POSTROUTING', '-o', nat.outIf, '-j', 'MASQUERADE']);
    }
    for (const loss of spec.loss ?? []) await this.setLoss(loss);
    await Promise.all([...this.hostNs.keys()].map((h) => this.waitLinksUp(h)));
  }

  /**
   * Waits until every interface of a host that is administratively up also
   * has operstate UP (a fresh veth spends up to a second in "DOWN" before the
   * kernel's link watch settles it, and drops packets meanwhile).
   */
  async waitLinksUp(host: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await runOk('ip', ['-n', this.ns(host), '-j', 'link', 'show']);
      const links = JSON.parse(r.stdout) as Array<{ ifname: string; flags: string[]; operstate: string }>;
      const pending = links.filter((l) => l.ifname !== 'lo' && l.flags.includes('UP') && l.operstate !== 'UP');
      if (pending.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`lab ${host}: links not up after ${timeoutMs} ms: ${pending.map((l) => `${l.ifname}=${l.operstate}`).join(', ')}`);
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  private async addLink(l: LinkSpec, aIf: string, bIf: string): Promise<void> {
    await runOk('ip', ['link', 'add', aIf, 'netns', this.ns(l.a), ...(l.mtu ? ['mtu', String(l.mtu)] : []),
      'type', 'veth', 'peer', 'name', bIf, 'netns', this.ns(l.b), ...(l.mtu ? ['mtu', String(l.mtu)] : [])]);
    for (const [host, iface, addrs] of [[l.a, aIf, asList(l.aAddr)], [l.b, bIf, asList(l.bAddr)]] as const) {
      if (this.switches.has(host)) {
        if (addrs.length > 0) throw new Error(`lab link: switch ${host} takes no address`);
        await this.ip(host, ['link', 'set', iface, 'master', BRIDGE]);
      }
      for (const a of addrs) await this.addrAdd(host, iface, a);
      await this.ip(host, ['link', 'set', iface, 'up']);
    }
  }

  /** The actual namespace name of a host or switch. */
  ns(host: string): string {
    const ns = this.hostNs.get(host);
    if (ns === undefined) throw new Error(`lab ${this.runId}: no host ${JSON.stringify(host)}`);
    return ns;
  }

  /** Runs a command in a host's namespace to completion (non-zero exit is not an error). */
  async exec(host: string, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.checkAlive();
    return await run('ip', ['netns', 'exec', this.ns(host), cmd, ...args], opts);
  }

  /** Like exec, but throws CommandError unless the command exits 0. */
  async execOk(host: string, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.checkAlive();
    return await runOk('ip', ['netns', 'exec', this.ns(host), cmd, ...args], opts);
  }

  /** Starts a long-running process in a host's namespace; it is killed at teardown. */
  spawn(host: string, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): LabProcess {
    return this.spawnRaw(['netns', 'exec', this.ns(host), cmd, ...args], opts.label ?? `${host}:${cmd}`, opts.env);
  }

  /** Starts `ip <args>` as a tracked process (for wrappers that need their own exec chain). */
  spawnRaw(ipArgs: readonly string[], label: string, env?: NodeJS.ProcessEnv): LabProcess {
    this.checkAlive();
    const p = startProcess('ip', ipArgs, label, env ? { ...process.env, ...env } : undefined);
    this.procs.add(p);
    this.state.pids.push(p.pid);
    saveState(this.state);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** A fresh directory under the run's work dir. */
  tempDir(prefix: string): string {
    return mkdtempSync(join(this.workDir, `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  }

  /** Registers an async clean-up run first at destroy (stop daemons gracefully, ...). */
  onDestroy(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  // ---- run-time topology changes (roaming, outages) ----

  /**
   * Sets a link up and waits until it carries packets. The kernel drops the
   * routes through a link when it goes down; linkUp puts back the routes the
   * lab set on this host (those whose next hop is not reachable yet are
   * skipped), as a DHCP client or network manager would.
   */
  async linkUp(host: string, iface: string): Promise<void> {
    await this.ip(host, ['link', 'set', iface, 'up']);
    await this.waitLinksUp(host);
    for (const r of this.routes.get(host) ?? []) {
      const res = await run('ip', ['-n', this.ns(host), 'route', 'replace', ...routeArgs(r)]);
      if (res.code !== 0 && !/Nexthop has invalid gateway|Network is unreachable|Cannot find device/.test(res.stderr)) {
        throw new Error(`linkUp ${host} ${iface}: restoring route ${routeArgs(r).join(' ')}: ${res.stderr}`);
      }
    }
  }
  linkDown(host: string, iface: string): Promise<void> {
    return this.ip(host, ['link', 'set', iface, 'down']);
  }
  async addrAdd(host: string, iface: string, cidr: string): Promise<void> {
    await this.ip(host, ['addr', 'add', cidr, 'dev', iface]);
    const list = this.addrs.get(host) ?? [];
    list.push({ iface, cidr });
    this.addrs.set(host, list);
  }
  async addrDel(host: string, iface: string, cidr: string): Promise<void> {
    await this.ip(host, ['addr', 'del', cidr, 'dev', iface]);
    this.addrs.set(host, (this.addrs.get(host) ?? []).filter((a) => !(a.iface === iface && a.cidr === cidr)));
  }
  /** Adds (or replaces) a route; linkUp restores it after a link flap. */
  async routeAdd(r: RouteSpec): Promise<void> {
    await this.ip(r.host, ['route', 'replace', ...routeArgs(r)]);
    const list = (this.routes.get(r.host) ?? []).filter((x) => x.to !== r.to);
    list.push(r);
    this.routes.set(r.host, list);
  }
  async routeDel(r: RouteSpec): Promise<void> {
    this.routes.set(r.host, (this.routes.get(r.host) ?? []).filter((x) => x.to !== r.to));
    await this.ip(r.host, ['route', 'del', ...routeArgs(r)]);
  }

  /** The first address (without prefix length) the lab gave a host, optionally on one interface. */
  addr(host: string, iface?: string): string {
    const a = (this.addrs.get(host) ?? []).find((x) => iface === undefined || x.iface === iface);
    if (a === undefined) throw new Error(`lab: host ${host} has no address${iface ? ` on ${iface}` : ''}`);
    return a.cidr.split('/')[0] ?? a.cidr;
  }

  /** Sets (replaces) random loss on one interface and direction; probability 0 removes it. */
  async setLoss(l: LossSpec): Promise<void> {
    checkIfName(l.iface);
    if (!(l.probability >= 0 && l.probability <= 1)) throw new Error(`loss probability ${l.probability} not in [0,1]`);
    const tag = `hwloss-${l.direction}-${l.iface}`;
    const match = l.direction === 'in' ? ['PREROUTING', '-i', l.iface] : ['POSTROUTING', '-o', l.iface];
    // remove any earlier rule of the same interface and direction
    const rules = await this.execOk(l.host, 'iptables', ['-w', '-t', 'mangle', '-S', match[0] ?? '']);
    for (const line of rules.stdout.split('\n')) {
      if (line.startsWith('-A ') && line.includes(`--comment ${tag} `)) {
        await this.iptables(l.host, ['-t', 'mangle', '-D', ...splitRule(line.slice(3))]);
      }
    }
    if (l.probability === 0) return;
    const rand = l.probability >= 1 ? [] : ['-m', 'statistic', '--mode', 'random', '--probability', l.probability.toFixed(4)];
    await this.iptables(l.host, ['-t', 'mangle', '-A', ...match, '-m', 'comment', '--comment', tag, ...rand, '-j', 'DROP']);
  }

  clearLoss(host: string, iface: string, direction: 'in' | 'out'): Promise<void> {
    return this.setLoss({ host, iface, direction, probability: 0 });
  }

  async iptables(host: string, args: readonly string[]): Promise<void> {
    await this.execOk(host, 'iptables', ['-w', ...args]);
  }

  async ip(host: string, args: readonly string[]): Promise<void> {
    this.checkAlive();
    await runOk('ip', ['-n', this.ns(host), ...args]);
  }

  /**
   * Several ip(8) commands in one process (`ip -batch -`), in order, stopping
   * at the first failure: a change made of several steps (a link up, a route,
   * another link down) lands within microseconds, as one kernel-side switch,
   * instead of one process start per step. Routes named in `track` are
   * recorded as routeAdd records them (linkUp restores them).
   */
  async ipBatch(host: string, commands: readonly (readonly string[])[], track: readonly RouteSpec[] = []): Promise<void> {
    this.checkAlive();
    for (const c of commands) for (const a of c) if (!/^[A-Za-z0-9_.:/-]+$/.test(a)) throw new Error(`ipBatch: argument ${JSON.stringify(a)} is not a plain word`);
    await runOk('ip', ['-n', this.ns(host), '-batch', '-'], { input: commands.map((c) => c.join(' ')).join('\n') + '\n' });
    for (const r of track) {
      const list = (this.routes.get(r.host) ?? []).filter((x) => x.to !== r.to);
      list.push(r);
      this.routes.set(r.host, list);
    }
  }

  /** The ip(8) arguments after `route replace` for a RouteSpec (for ipBatch). */
  static routeArgs(r: RouteSpec): string[] {
    return routeArgs(r);
  }

  // ---- teardown ----

  /** Idempotent: kills the run's processes, deletes its namespaces and files. */
  destroy(): Promise<void> {
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.cleanups.splice(0).reverse()) {
      try { await withTimeout(Promise.resolve(fn()), 5000); } catch (e) { errors.push(e); }
    }
    await Promise.all([...this.procs].map((p) => p.stop(1500)));
    for (const ns of this.state.namespaces) {
      const stragglers = netnsPidsSync(ns);
      for (const pid of stragglers) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      const r = await run('ip', ['netns', 'del', ns]);
      if (r.code !== 0 && !/No such file|Cannot remove/.test(r.stderr)) errors.push(new Error(`ip netns del ${ns}: ${r.stderr}`));
    }
    teardownSync(this.state, [], undefined, process.env.HOMEWARD_LAB_KEEP === '1');
    unregister(this.runId);
    if (errors.length > 0) console.warn(`[lab ${this.runId}] teardown warnings: ${errors.map(String).join('; ')}`);
  }

  /** Exit-handler path: everything synchronous, nothing awaited. */
  destroySync(): void {
    const own = [...this.procs].filter((p) => p.running).map((p) => p.pid);
    teardownSync(this.state, own, undefined, process.env.HOMEWARD_LAB_KEEP === '1');
    unregister(this.runId);
  }

  private checkAlive(): void {
    if (this.destroying) throw new Error(`lab ${this.runId} is destroyed`);
  }
}

/** Creates a lab, runs `fn`, and destroys the lab whatever happens. */
export async function withLab<T>(spec: LabSpec, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create(spec);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}

function routeArgs(r: RouteSpec): string[] {
  const args = [r.to];
  if (r.via) args.push('via', r.via);
  if (r.dev) args.push('dev', r.dev);
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  return args;
}

/** Splits an `iptables -S` rule line (quotes only appear around comments). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`clean-up took over ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
