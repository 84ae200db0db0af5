/**
 * What the engine does for the access network beyond the tunnels (issue 19),
 * driven by the engine's own events:
 *
 *   mode / vpn-ready events ──► DnsManager (app/io/dns.ts): intranet resolver
 *   link changes, vpn up ─────► CaptivePortalWatch (app/io/captive-portal.ts)
 *   start / stop ─────────────► IPv6 block: `ip -6 rule … to <intranet6> prohibit`
 *
 * IPv6: the tunnels carry IPv4 only, so intranet-bound IPv6 is *blocked*, not
 * tunnelled: one prohibit rule per profile `intranet6` prefix, installed at
 * start before anything else and left in place if the engine dies (fail
 * closed); the next start replaces it, stop and `--cleanup` remove it.
 * Applications then fall back to the intranet's IPv4 addresses (happy
 * eyeballs), which do go through the tunnel.
 */
import type { Profile } from '../config/profile.ts';
import type { EngineEvent } from '../events.ts';
import { CaptivePortalWatch } from './captive-portal.ts';
import { DnsManager, desiredDns, ResolvConfBackend, ResolvedBackend, resolvedRunning, type CommandRunner, type DnsBackend, type DnsSettings } from './dns.ts';
import type { NetConfigPort } from './platform.ts';

export const PREF_INTRANET6_BLOCK = 980;

export interface AccessServicesOptions {
  profile: Profile;
  net: NetConfigPort;
  /** the home-address TUN: resolved's per-link DNS goes there */
  mipTun: string;
  /** where the resolv.conf original is kept across a crash */
  stateDir: string;
  /** default /etc/resolv.conf */
  resolvConf?: string;
  publish(ev: EngineEvent): void;
  /** a captive portal let us through: start the VPN again now */
  retryVpn(): void;
  /** tests: choose the backend instead of asking the system */
  backend?: DnsBackend;
  /** runs `resolvectl` (the platform's runTool; default: app/io/exec.ts) */
  runTool?: CommandRunner;
}

export class AccessServices {
  private dns?: DnsManager;
  private readonly portal: CaptivePortalWatch | undefined;
  private vpnDns: DnsSettings | undefined;
  private mode = 'offline';
  private connected = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: AccessServicesOptions) {
    const cp = o.profile.captivePortal;
    this.portal = cp.enabled && o.profile.vpn ? new CaptivePortalWatch({
      probeUrl: cp.probeUrl, afterMs: cp.afterMs,
      emit: (ev) => o.publish({ type: 'captive-portal', ...ev }),
      onCleared: () => o.retryVpn(),
    }) : undefined;
  }

  async start(): Promise<void> {
    const backend = this.o.backend ?? (await resolvedRunning(this.o.runTool)
      ? new ResolvedBackend(this.o.mipTun, this.o.runTool)
      : new ResolvConfBackend({ stateDir: this.o.stateDir, ...(this.o.resolvConf ? { path: this.o.resolvConf } : {}) }));
    // a resolv.conf left rewritten by a crashed run comes back first
    if (backend instanceof ResolvConfBackend && await backend.recover()) {
      this.o.publish({ type: 'log', level: 'info', msg: 'restored the resolver file a previous run left behind' });
    }
    this.dns = new DnsManager(backend, (s, via) => this.o.publish({ type: 'dns', servers: s.servers, domains: s.domains, via }));
    await this.setIntranet6Block(true);
  }

  async stop(): Promise<void> {
    this.portal?.stop();
    await this.enqueue(async () => this.dns?.stop());
    await this.setIntranet6Block(false);
  }

  /** Every event the engine publishes passes here. */
  onEvent(ev: EngineEvent): void {
    if (ev.type === 'mode') {
      this.mode = ev.mode;
      this.connected = ev.connected ?? this.connected;
      if (ev.mode === 'c' || ev.mode === 'f' || ev.mode === 'mc') this.portal?.settled();
      this.update();
    }
  }

  linkChanged(link: { iface: string; addr: string } | null): void {
    this.portal?.linkChanged(link);
  }

  /** The VPN is up (new IKE SA or MOBIKE): its DNS servers and domains. */
  vpnReady(dns: DnsSettings | undefined): void {
    this.portal?.settled();
    if (dns) this.vpnDns = dns;
    this.update();
  }

  private update(): void {
    const want = desiredDns(this.mode, this.connected, this.o.profile.dns, this.vpnDns);
    void this.enqueue(async () => this.dns?.set(want));
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(op).catch((e: unknown) => {
      this.o.publish({ type: 'log', level: 'warn', msg: `DNS: ${(e as Error).message}` });
    });
    return this.chain;
  }

  private async setIntranet6Block(on: boolean): Promise<void> {
    for (const to of this.o.profile.intranet6) {
      const rule = { to, action: 'prohibit' as const, pref: PREF_INTRANET6_BLOCK, family: 6 as const };
      // idempotent: a rule a crashed run left is replaced, never "File exists"
      await this.o.net.delRule(rule).catch(() => undefined);
      if (on) await this.o.net.addRule(rule);
    }
  }
}

/** `homeward run --cleanup`: the intranet IPv6 block and a resolver file a killed run left behind. */
export async function removeAccessLeftovers(net: NetConfigPort, stateDir: string, resolvConf?: string): Promise<{ rules: number; resolvConfRestored: boolean }> {
  const rules = await net.delRulesAt(PREF_INTRANET6_BLOCK, 6);
  const resolvConfRestored = await new ResolvConfBackend({ stateDir, ...(resolvConf ? { path: resolvConf } : {}) }).recover();
  return { rules, resolvConfRestored };
}
