/**
 * Interface, address, route and policy-rule set-up: the one platform module
 * through which the engine changes the kernel's network configuration.
 *
 * Linux, via iproute2: `ip` run through app/io/exec.ts with argument arrays (never a
 * shell), optionally in a network namespace (`ip -n NS ...`). The builders
 * are pure and exported for tests; NetConfig runs them.
 */
import { execText, SpareProcess, type ExecFailure } from './exec.ts';

export { runTool } from './exec.ts';
export * from '../net/iproute.ts';
import { buildAddressArgs, buildLinkArgs, buildRouteArgs, buildRuleArgs, devName, failedBatchLines, NetConfigError, nsArgs, parseAddresses, parseLinkNames, parseRouteGet, token } from '../net/iproute.ts';
import type { AddressInfo, IpRunner, NetOp, RouteLookup, RouteSpec, RuleSpec } from '../net/iproute.ts';

// ---- running ----

/** One started `ip … -force -batch -` per argument list, waiting for the next batch (exec.ts, SpareProcess). */
const spareBatches = new Map<string, SpareProcess>();

function runIp(args: readonly string[], input?: string): Promise<string> {
  if (input === undefined || args.at(-1) !== '-' || args.at(-2) !== '-batch') return execText('ip', args, 30_000, input);
  const key = args.join(' ');
  let spare = spareBatches.get(key);
  if (!spare) spareBatches.set(key, (spare = new SpareProcess('ip', args)));
  return spare.run(input, 30_000);
}

export const defaultIpRunner: IpRunner = (args, input) =>
  runIp(args, input).catch((f: ExecFailure) => {
    const said = f.stderr || (f.code === 'ENOENT' ? 'iproute2 (ip) is not installed' : f.message);
    throw new NetConfigError(['ip', ...args], said, f.code);
  });

export interface NetConfigOptions {
  /** run every command in this network namespace (`ip -n NS`) */
  netns?: string;
  runner?: IpRunner;
}

export class NetConfig {
  private readonly ns: string[];
  private readonly run: IpRunner;

  constructor(opts: NetConfigOptions = {}) {
    this.ns = nsArgs(opts.netns);
    this.run = opts.runner ?? defaultIpRunner;
  }

  private ip(args: string[]): Promise<string> {
    return this.run([...this.ns, ...args]);
  }

  async linkUp(dev: string): Promise<void> {
    await this.ip(buildLinkArgs(dev, { up: true }));
  }
  async linkDown(dev: string): Promise<void> {
    await this.ip(buildLinkArgs(dev, { up: false }));
  }
  async setMtu(dev: string, mtu: number): Promise<void> {
    await this.ip(buildLinkArgs(dev, { mtu }));
  }
  async addAddress(dev: string, cidr: string, opts: { peer?: string } = {}): Promise<void> {
    await this.ip(buildAddressArgs('add', dev, cidr, opts));
  }
  async delAddress(dev: string, cidr: string, opts: { peer?: string } = {}): Promise<void> {
    await this.ip(buildAddressArgs('del', dev, cidr, opts));
  }
  async addRoute(r: RouteSpec): Promise<void> {
    await this.ip(buildRouteArgs('add', r));
  }
  async replaceRoute(r: RouteSpec): Promise<void> {
    await this.ip(buildRouteArgs('replace', r));
  }
  async delRoute(r: RouteSpec): Promise<void> {
    await this.ip(buildRouteArgs('del', r));
  }
  async flushTable(table: number | string): Promise<void> {
    await this.ip(['route', 'flush', 'table', token('table', table)]);
  }
  async addRule(r: RuleSpec): Promise<void> {
    await this.ip(buildRuleArgs('add', r));
  }
  async delRule(r: RuleSpec): Promise<void> {
    await this.ip(buildRuleArgs('del', r));
  }
  /**
   * Adds a rule unless an identical one is there already (a leftover of a
   * killed run): never "File exists". One `ip` call in the usual case — `ip
   * rule add` asks the kernel for an exclusive create (NLM_F_EXCL), so an
   * identical rule is refused with "File exists" and is what we wanted; the
   * rule changes of a move wait for these calls (docs/ENGINE.md).
   */
  async ensureRule(r: RuleSpec): Promise<void> {
    try {
      await this.addRule(r);
    } catch (e) {
      if (e instanceof NetConfigError && /File exists/i.test(e.stderr)) return;
      throw e;
    }
  }
  /** Deletes every rule with this preference; resolves how many there were. */
  async delRulesAt(pref: number, family?: 6): Promise<number> {
    let n = 0;
    for (; n < 256; n++) {
      try {
        await this.ip([...(family === 6 ? ['-6'] : []), 'rule', 'del', 'pref', token('rule preference', pref)]);
      } catch {
        break;
      }
    }
    return n;
  }
  /** Deletes a link (a TUN left by a killed run); false when there is none. */
  async delLink(dev: string): Promise<boolean> {
    try {
      await this.ip(['link', 'del', 'dev', devName(dev)]);
      return true;
    } catch {
      return false;
    }
  }
  /** Copies the IPv4 routes of `dev` in table `from` into table `to` (replacing). */
  async copyRoutes(dev: string, from: number | string, to: number | string): Promise<void> {
    for (const line of await this.routeLines(dev, from)) await this.ip(copyRouteArgs(line, dev, to)).catch(() => undefined);
  }
  /** The IPv4 routes of `dev` in table `from`, one `ip route show` line each: what a copy replays. */
  private async routeLines(dev: string, from: number | string): Promise<string[]> {
    const out = await this.ip(['-4', 'route', 'show', 'table', token('table', from), 'dev', devName(dev)]);
    return out.split('\n').filter((l) => l.trim());
  }
  /**
   * Several changes in ONE `ip -force -batch -` process, in order (the reads
   * `copy-routes` needs run first): one process start instead of one per step,
   * which is what a handover waits for on a loaded machine. A step that fails
   * without `mayFail` fails the batch (the steps after it still ran).
   */
  async batch(ops: readonly NetOp[]): Promise<void> {
    const copies = await Promise.all(ops.map((o) => (o.op === 'copy-routes' && o.routes === undefined
      ? this.routeLines(o.dev, o.from).catch((): string[] => [])
      : Promise.resolve([]))));
    const lines: Array<{ args: string[]; mayFail: boolean }> = [];
    ops.forEach((o, i) => {
      switch (o.op) {
        case 'add-rule': case 'del-rule': lines.push({ args: buildRuleArgs(o.op === 'add-rule' ? 'add' : 'del', o.rule), mayFail: o.mayFail === true }); break;
        case 'replace-route': case 'del-route': lines.push({ args: buildRouteArgs(o.op === 'replace-route' ? 'replace' : 'del', o.route), mayFail: o.mayFail === true }); break;
        case 'flush-table': lines.push({ args: ['route', 'flush', 'table', token('table', o.table)], mayFail: o.mayFail === true }); break;
        case 'copy-routes':
          if (o.routes) {
            for (const r of o.routes) lines.push({ args: ['-4', ...buildRouteArgs('replace', { ...r, dev: o.dev, table: o.to })], mayFail: true });
            break;
          }
          for (const line of copies[i] ?? []) lines.push({ args: copyRouteArgs(line, o.dev, o.to), mayFail: true });
      }
    });
    if (lines.length === 0) return;
    // a line carrying an option (-4, -6) runs on its own: ip takes options only before the batch
    const batchable = lines.filter((l) => !l.args[0]!.startsWith('-') || l.args[0] === '-4');
    if (batchable.length !== lines.length) {
      for (const l of lines) await this.ip(l.args).catch((e: unknown) => {
        if (!l.mayFail) throw e;
      });
      return;
    }
    const input = lines.map((l) => (l.args[0] === '-4' ? l.args.slice(1) : l.args).join(' ')).join('\n') + '\n';
    try {
      await this.run([...this.ns, '-force', '-batch', '-'], input);
    } catch (e) {
      const stderr = e instanceof NetConfigError ? e.stderr : String(e);
      const failed = failedBatchLines(stderr).flatMap((f) => {
        const l = lines[f.line - 1];
        return l ? [{ ...l, said: f.said }] : [];
      });
      const fatal = failed.find((l) => !l.mayFail);
      if (fatal) throw new NetConfigError(['ip', ...fatal.args], fatal.said, e instanceof NetConfigError ? e.exitCode : undefined);
      if (failed.length === 0) throw e;
    }
  }

  async getRoute(dst: string): Promise<RouteLookup> {
    return parseRouteGet(await this.ip(['-j', 'route', 'get', token('destination', dst)]));
  }
  async listAddresses(dev?: string): Promise<AddressInfo[]> {
    const args = ['-j', 'addr', 'show'];
    if (dev !== undefined) args.push('dev', devName(dev));
    return parseAddresses(await this.ip(args));
  }
  /** Every interface's name (`ip -j link show`), up or down, with an address or not. */
  async listLinks(): Promise<string[]> {
    return parseLinkNames(await this.ip(['-j', 'link', 'show']));
  }
}

/** `ip route replace` of one `ip route show` line of `dev` into table `to`. */
function copyRouteArgs(line: string, dev: string, to: number | string): string[] {
  return ['-4', 'route', 'replace', ...line.trim().split(/\s+/), 'dev', devName(dev), 'table', token('table', to)];
}

/** NetConfig for the current namespace, or for `netns`. */
export function netconfig(netns?: string): NetConfig {
  return netns === undefined ? new NetConfig() : new NetConfig({ netns });
}
