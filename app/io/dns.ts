/**
 * Intranet DNS while the engine runs (issue 19): intranet names go only to
 * the intranet's DNS servers — through the tunnel — never to the resolver of
 * the network the laptop happens to be on.
 *
 * Where the servers come from (app/io/engine.ts decides, this module applies):
 *   mode mc   the gateway's INTERNAL_IP4_DNS and INTERNAL_DNS_DOMAIN (RFC 8598),
 *             plus the profile's dns.domains; the profile's dns.servers if the
 *             gateway sent none
 *   mode c/f  the profile's dns.servers / dns.domains, if given
 *
 * Two ways to apply them, chosen once at start:
 *   resolved     systemd-resolved runs: per-link servers and routing-only
 *                domains ("~corp.example") on our home-address TUN, and that
 *                link is no default DNS route — only those domains go to those
 *                servers, every other name keeps the network's resolver.
 *                (`resolvectl`, the resolved D-Bus API's own client.) Per-link
 *                settings vanish with the TUN, so a crash leaves nothing.
 *   resolv.conf  no resolved: /etc/resolv.conf (its target, if it is a symlink)
 *                is rewritten in place with ONLY the intranet servers — glibc
 *                cannot route by domain, and a fallback to the network's server
 *                would leak intranet names whenever ours is slow. The original
 *                bytes are kept in the state directory first and written back
 *                byte for byte on stop, on `homeward run --cleanup`, and at the
 *                next start after a crash (recover()). If someone else rewrote
 *                the file meanwhile (no marker line), theirs is left alone.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIPv4 } from '../base/ipv4.ts';
import { runTool } from './netconfig.ts';

export interface DnsSettings {
  servers: string[];
  /** split-DNS domains: names under them go to `servers` */
  domains: string[];
}

export type DnsVia = 'resolved' | 'resolv.conf';

export interface DnsBackend {
  readonly via: DnsVia;
  apply(s: DnsSettings): Promise<void>;
  /** undo apply(); safe to call when nothing is applied */
  restore(): Promise<void>;
}

/** glibc reads at most three nameserver lines (MAXNS). */
export const MAX_NAMESERVERS = 3;
export const RESOLV_MARKER = '# written by Homeward while it runs: intranet DNS servers; the original comes back when it stops';

// ---- pure ----

/** Whether two settings are the same (order matters for servers). */
export function sameDns(a: DnsSettings | undefined, b: DnsSettings | undefined): boolean {
  if (!a || !b) return a === b;
  return a.servers.join() === b.servers.join() && a.domains.join() === b.domains.join();
}

/**
 * The resolv.conf we write: the marker, only our servers (at most three), a
 * search line with our domains before the original's, and the original's
 * `options` lines. Everything else of the original stays in the backup.
 */
export function renderResolvConf(original: string, s: DnsSettings): string {
  const lines = original.split('\n').map((l) => l.trim());
  const search: string[] = [...s.domains];
  const options: string[] = [];
  for (const l of lines) {
    const [key, ...rest] = l.split(/\s+/);
    if (key === 'search' || key === 'domain') for (const d of rest) if (!search.includes(d)) search.push(d);
    if (key === 'options' && rest.length > 0) options.push(l);
  }
  const out = [RESOLV_MARKER, ...s.servers.slice(0, MAX_NAMESERVERS).map((a) => `nameserver ${a}`)];
  // glibc: at most 6 search domains (older) / 256 characters; keep ours first
  if (search.length > 0) out.push(`search ${search.slice(0, 6).join(' ')}`);
  out.push(...options);
  return out.join('\n') + '\n';
}

/** The `resolvectl` argument lists that configure split DNS on one link, in order. */
export function resolvectlArgs(link: string, s: DnsSettings): string[][] {
  // no domain known: route every name to our servers (nothing leaks; the gateway's DNS is recursive)
  const routing = s.domains.length > 0 ? s.domains.map((d) => `~${d}`) : ['~.'];
  return [
    ['dns', link, ...s.servers],
    ['domain', link, ...routing],
    ['default-route', link, s.domains.length > 0 ? 'false' : 'true'],
  ];
}

/** Checks servers and domains before they reach a system file or command. */
export function checkDnsSettings(s: DnsSettings): void {
  for (const a of s.servers) if (!isIPv4(a)) throw new TypeError(`dns: bad server address ${JSON.stringify(a)}`);
  for (const d of s.domains) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(d)) {
      throw new TypeError(`dns: bad domain ${JSON.stringify(d)}`);
    }
  }
}

// ---- resolv.conf ----

export interface ResolvConfOptions {
  /** default /etc/resolv.conf */
  path?: string;
  /** where the original is kept across a crash; default /var/lib/homeward */
  stateDir: string;
}

export class ResolvConfBackend implements DnsBackend {
  readonly via = 'resolv.conf';
  private readonly path: string;
  private readonly backup: string;

  constructor(opts: ResolvConfOptions) {
    this.path = opts.path ?? '/etc/resolv.conf';
    this.backup = join(opts.stateDir, 'resolv.conf.orig');
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  }

  /** A symlinked resolv.conf is written through: the link itself stays as it is. */
  private target(): string {
    return existsSync(this.path) ? realpathSync(this.path) : this.path;
  }

  apply(s: DnsSettings): Promise<void> {
    try {
      checkDnsSettings(s);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const target = this.target();
    const current = existsSync(target) ? readFileSync(target) : Buffer.alloc(0);
    // keep the first original only: a second apply() must not take our own file for it
    if (!existsSync(this.backup)) writeFileSync(this.backup, current, { mode: 0o600 });
    const original = readFileSync(this.backup, 'utf8');
    writeFileSync(target, renderResolvConf(original, s));
    return Promise.resolve();
  }

  restore(): Promise<void> {
    if (!existsSync(this.backup)) return Promise.resolve();
    const target = this.target();
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    // only our own file is replaced; a resolver someone wrote meanwhile stays
    if (current.startsWith(RESOLV_MARKER)) writeFileSync(target, readFileSync(this.backup));
    rmSync(this.backup, { force: true });
    return Promise.resolve();
  }

  /** After a crash: puts the original back if our file is still there. */
  recover(): Promise<boolean> {
    const had = existsSync(this.backup);
    return this.restore().then(() => had);
  }
}

// ---- systemd-resolved ----

export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<string>;

export const execRunner: CommandRunner = runTool;

export class ResolvedBackend implements DnsBackend {
  readonly via = 'resolved';
  private applied = false;

  constructor(private readonly link: string, private readonly run: CommandRunner = execRunner) {}

  async apply(s: DnsSettings): Promise<void> {
    checkDnsSettings(s);
    for (const args of resolvectlArgs(this.link, s)) await this.run('resolvectl', args);
    this.applied = true;
  }

  async restore(): Promise<void> {
    if (!this.applied) return;
    this.applied = false;
    await this.run('resolvectl', ['revert', this.link]).catch(() => undefined); // the link may be gone already
  }
}

/** systemd-resolved is running when its runtime directory exists and `resolvectl` answers. */
export async function resolvedRunning(run: CommandRunner = execRunner, runtimeDir = '/run/systemd/resolve'): Promise<boolean> {
  if (!existsSync(runtimeDir)) return false;
  try {
    await run('resolvectl', ['status', '--no-pager']);
    return true;
  } catch {
    return false;
  }
}

// ---- what to apply ----

/**
 * The intranet resolver a mode calls for: `undefined` = the network's own
 * resolver, 'keep' = leave whatever is applied (detecting, blocked: user
 * traffic is held anyway, and flapping the resolver would only lose queries).
 */
export function desiredDns(
  mode: string, connected: boolean, profile: DnsSettings, vpn: DnsSettings | undefined,
): DnsSettings | undefined | 'keep' {
  switch (mode) {
    case 'mc': {
      const servers = vpn && vpn.servers.length > 0 ? vpn.servers : profile.servers;
      const domains = [...(vpn?.domains ?? [])];
      for (const d of profile.domains) if (!domains.includes(d)) domains.push(d);
      return servers.length > 0 ? { servers: [...servers], domains } : undefined;
    }
    case 'c':
    case 'f':
      return profile.servers.length > 0 ? { servers: [...profile.servers], domains: [...profile.domains] } : undefined;
    case 'offline':
      return connected ? 'keep' : undefined;
    default:
      return 'keep';
  }
}

/** Applies desiredDns() results through one backend, once per change, and reports each change. */
export class DnsManager {
  private current: DnsSettings | undefined;

  constructor(private readonly backend: DnsBackend, private readonly report: (s: DnsSettings, via: DnsVia) => void) {}

  get via(): DnsVia {
    return this.backend.via;
  }

  async set(want: DnsSettings | undefined | 'keep'): Promise<void> {
    if (want === 'keep' || sameDns(want, this.current)) return;
    if (want) await this.backend.apply(want);
    else await this.backend.restore();
    this.current = want;
    this.report(want ?? { servers: [], domains: [] }, this.backend.via);
  }

  async stop(): Promise<void> {
    await this.set(undefined);
  }
}
