/**
 * The engine's policy routing (docs/ENGINE.md, "Policy routing"): which
 * source goes which way, and the fail-closed part that outlives the process.
 *
 *   pref 986  to <HA> oif <link> lookup 435       (mode c's outer IP-in-IP on the raw socket pinned to the link:
 *                                                  it routes with source 0.0.0.0, so rule 990 cannot match it)
 *   pref 987  from <HoA> to <FA> lookup 437       (mode f: the FA itself, also for the kernel's reverse-path
 *                                                  check of what the FA sends the home address — its ARP)
 *   pref 988  from <HoA> to <FA> ipproto udp dport 434 lookup 435
 *                                                 (an FA is known on the link: the request through it)
 *   pref 989  to <intranet, HA/32> oif <link> lookup 437
 *                                                 (mode f; 437: default via <FA>: what the MipDriver sends
 *                                                  unencapsulated on the link, the FA is its router)
 *   pref 990  from <link address> lookup 435      (435: the link's own routes — the direct Registration
 *                                                  Request; matched by its source, never by the HA alone)
 *   pref 991  from <TIA> lookup 436               (436: default dev <VPN TUN>)
 *   pref 992  from <TIA> unreachable
 *   pref 993  oif <dev> lookup main suppress_prefixlength 0
 *                                                 (every link but ours: a lookup that already names the device —
 *                                                  the kernel's nexthop check of a route via a gateway on it, a
 *                                                  socket bound to it — may use that device's own routes in main,
 *                                                  never its default; unbound sockets (oif 0) never match)
 *   pref 1002 to <intranet, HA/32> lookup 434     (MipDriver: into the home-address TUN)
 *   pref 1003 from <HoA> unreachable              (persistent: the home address leaves only through a tunnel)
 *   pref 1004 to <intranet, HA/32> unreachable    (persistent: with the TUN gone, 434 is empty — blocked, not main)
 *
 * 1003 and 1004 are installed once at start and removed only by a clean
 * stop or `homeward run --cleanup`: after a crash or SIGKILL they keep every
 * home-address-sourced and intranet-bound packet off the links. A new start
 * first removes whatever a previous run left (by preference and table), so
 * it never fails with "File exists".
 */
import type { RouteSpec } from '../net/iproute.ts';
import { NetConfig, type NetOp, type RuleSpec } from './netconfig.ts';
import type { NetConfigPort } from './platform.ts';

export const MIP_TABLE = '434';
export const PHYS_TABLE = '435';
export const VPN_TABLE = '436';
export const FA_TABLE = '437';
export const PREF = {
  outerViaLink: 986,
  faRouter: 987,
  faRequest: 988,
  hoaViaFa: 989,
  fromLink: 990,
  fromTia: 991,
  tiaUnreachable: 992,
  boundToLink: 993,
  /** MipDriver (standalone `homeward mip` only): HA via main, then unreachable */
  mipHa: 1000,
  mipHaUnreachable: 1001,
  mipRoutes: 1002,
  blockHoa: 1003,
  blockIntranet: 1004,
} as const;
/** every preference and table of ours: what `--cleanup` and a new start remove */
export const OUR_PREFS: readonly number[] = Object.values(PREF);
export const OUR_TABLES: readonly string[] = [MIP_TABLE, PHYS_TABLE, VPN_TABLE, FA_TABLE];
export const VPN_TUNS: readonly string[] = ['hwvpn0', 'hwvpn1'];

export interface CleanupResult {
  rules: number;
  tuns: string[];
}

/** Removes every rule at our preferences, flushes our tables and deletes our TUNs (left by a killed run). */
export async function removeLeftovers(net: NetConfigPort, tuns: readonly string[]): Promise<CleanupResult> {
  let rules = 0;
  for (const p of OUR_PREFS) rules += await net.delRulesAt(p);
  for (const t of OUR_TABLES) await net.flushTable(t).catch(() => undefined);
  const gone: string[] = [];
  for (const dev of tuns) if (await net.delLink(dev)) gone.push(dev);
  return { rules, tuns: gone };
}

export interface PolicyOptions {
  hoa: string;
  homeAgent: string;
  /** prefixes reached only through the home network */
  intranet: string[];
  /** our TUN names (leftovers are deleted at install) */
  tuns: readonly string[];
  /** the platform's network configuration (default: iproute2) */
  net?: NetConfigPort;
}

export class PolicyRoutes {
  private readonly net: NetConfigPort;
  private link?: { iface: string; addr: string };
  private tia?: { tia: string; dev: string };
  private fa?: { iface: string; addr: string };
  private faRequest?: { iface: string; addr: string };
  /** the links rule 993 is installed for */
  private readonly bound = new Set<string>();

  constructor(private readonly o: PolicyOptions) {
    this.net = o.net ?? new NetConfig();
  }

  private get haHost(): string {
    return `${this.o.homeAgent}/32`;
  }

  /** The destinations that must never leave in clear: the intranet and the HA itself. */
  get blocked(): string[] {
    const ha = `${this.o.homeAgent}/32`;
    return this.o.intranet.includes(ha) ? [...this.o.intranet] : [...this.o.intranet, ha];
  }

  /** Adopts (removes) what a previous run left, then puts the persistent blocking rules in place. */
  async install(): Promise<CleanupResult> {
    const left = await removeLeftovers(this.net, this.o.tuns);
    await this.net.addRule({ from: this.o.hoa, action: 'unreachable', pref: PREF.blockHoa });
    for (const d of this.blocked) await this.net.addRule({ to: d, action: 'unreachable', pref: PREF.blockIntranet });
    await this.syncLinks();
    return left;
  }

  /**
   * Rule 993 for every link there is now (ours and lo excepted), none for a
   * link gone. Without it, a route via a gateway inside an intranet prefix
   * (a trusted subnet of the intranet, or an untrusted one that overlaps it)
   * cannot be installed at all: the kernel's check of the gateway
   * (fib_check_nh) is a full policy lookup with the route's device as
   * `oif`, and 1002/1004 answer it with the TUN or "unreachable" — "Error:
   * Nexthop has invalid gateway" for the DHCP client or `ip route replace
   * default via … dev …`. Per device, not per connected prefix: the device
   * exists before its address, so the rule is in place before a DHCP client
   * adds the address and at once the default route (a rule written after
   * the address event would lose that race).
   */
  async syncLinks(): Promise<void> {
    const ours = new Set(['lo', ...this.o.tuns]);
    const now = new Set((await this.net.listLinks()).filter((d) => !ours.has(d)));
    for (const dev of [...this.bound]) {
      if (now.has(dev)) continue;
      await this.net.delRule(boundRule(dev)).catch(() => undefined);
      this.bound.delete(dev);
    }
    for (const dev of now) {
      if (this.bound.has(dev)) continue;
      await this.net.ensureRule(boundRule(dev));
      this.bound.add(dev);
    }
  }

  /** Everything of ours, the blocking rules included (a clean stop). */
  async remove(): Promise<void> {
    await this.setFa(null);
    await this.setFaRequest(null);
    await this.setTia(null);
    await this.setLink(null);
    this.bound.clear();
    await removeLeftovers(this.net, []);
  }

  /**
   * The access link: its routes copied into 435, and rule 990 for its address.
   * `routes`: the link's routes in main as the link watcher read them with the
   * link — written as they are, without a read of their own (one process, not two).
   */
  async setLink(link: { iface: string; addr: string } | null, routes?: readonly RouteSpec[]): Promise<void> {
    const rules = (l: { iface: string; addr: string }): RuleSpec[] => [
      { from: l.addr, table: PHYS_TABLE, pref: PREF.fromLink },
      { to: this.haHost, oif: l.iface, table: PHYS_TABLE, pref: PREF.outerViaLink },
    ];
    const old = this.link;
    this.link = undefined;
    // one batch (one ip process on Linux): a handover's detection request waits for these rules
    await this.net.batch([
      ...(old ? rules(old).map((rule): NetOp => ({ op: 'del-rule', rule, mayFail: true })) : []),
      { op: 'flush-table', table: PHYS_TABLE, mayFail: true },
      ...(link ? [
        { op: 'copy-routes', dev: link.iface, from: 'main', to: PHYS_TABLE, ...(routes ? { routes } : {}) } as const,
        // (a rule left identical by a killed run goes first: never "File exists")
        ...rules(link).flatMap((rule): NetOp[] => [{ op: 'del-rule', rule, mayFail: true }, { op: 'add-rule', rule }]),
      ] : []),
    ]);
    if (link) this.link = { iface: link.iface, addr: link.addr };
  }

  /**
   * The access link changed: its rules, and an FA's rules of another link
   * and the request-through-an-FA rule go (a new FA is set up again).
   */
  async linkChanged(link: { iface: string; addr: string } | null, routes?: readonly RouteSpec[]): Promise<void> {
    const prev = this.link;
    const same = prev !== undefined && link !== null && prev.iface === link.iface && prev.addr === link.addr;
    await this.setLink(link, routes);
    if (this.faIface !== undefined && this.faIface !== link?.iface) await this.setFa(null);
    // the same link reported again (its default route arrived after its address): a registration through
    // its FA may be in flight, and taking rule 988 away would refuse its retransmission (ENETUNREACH)
    if (!same) await this.setFaRequest(null);
  }

  /** The VPN is up with this TIA on this TUN (null: down). */
  async setTia(info: { tia: string; dev: string } | null): Promise<void> {
    if (this.tia) {
      await this.net.delRule({ from: this.tia.tia, table: VPN_TABLE, pref: PREF.fromTia }).catch(() => undefined);
      await this.net.delRule({ from: this.tia.tia, action: 'unreachable', pref: PREF.tiaUnreachable }).catch(() => undefined);
    }
    this.tia = undefined;
    if (!info) await this.net.flushTable(VPN_TABLE).catch(() => undefined);
    else {
      await this.net.replaceRoute({ dst: 'default', dev: info.dev, table: VPN_TABLE });
      await this.net.ensureRule({ from: info.tia, table: VPN_TABLE, pref: PREF.fromTia });
      await this.net.ensureRule({ from: info.tia, action: 'unreachable', pref: PREF.tiaUnreachable });
      this.tia = { tia: info.tia, dev: info.dev };
    }
  }

  /** Mode f: packets from the home address leaving on the link go to the foreign agent as router. */
  async setFa(fa: { iface: string; addr: string } | null): Promise<void> {
    // the same FA again (its rules go in before the switch to f, and again at it): nothing to redo, no hole
    if (this.fa && fa && this.fa.iface === fa.iface && this.fa.addr === fa.addr) return;
    if (this.fa) {
      for (const d of this.blocked) await this.net.delRule({ to: d, oif: this.fa.iface, table: FA_TABLE, pref: PREF.hoaViaFa }).catch(() => undefined);
      await this.net.delRule({ from: this.o.hoa, to: `${this.fa.addr}/32`, table: FA_TABLE, pref: PREF.faRouter }).catch(() => undefined);
      await this.net.flushTable(FA_TABLE).catch(() => undefined);
      this.fa = undefined;
    }
    if (!fa) return;
    await this.net.replaceRoute({ dst: 'default', via: fa.addr, dev: fa.iface, table: FA_TABLE });
    // the MipDriver's pinned raw socket (SO_BINDTODEVICE, IP_HDRINCL) routes with source 0.0.0.0, so these
    // match by device and destination: before 1004, which would refuse the intranet-bound packets
    for (const d of this.blocked) await this.net.ensureRule({ to: d, oif: fa.iface, table: FA_TABLE, pref: PREF.hoaViaFa });
    // the reverse-path check of packets from the FA to the home address (its ARP requests carry no
    // ports, so rule 988 does not match them) must not end at rule 1003
    await this.net.ensureRule({ from: this.o.hoa, to: `${fa.addr}/32`, table: FA_TABLE, pref: PREF.faRouter });
    this.fa = { iface: fa.iface, addr: fa.addr };
  }

  /** A foreign agent on the link: the registration request from the home address to it (UDP 434) may leave. */
  async setFaRequest(fa: { iface: string; addr: string } | null): Promise<void> {
    if (this.faRequest && fa && this.faRequest.addr === fa.addr && this.faRequest.iface === fa.iface) return;
    if (this.faRequest) await this.net.delRule({ ...this.faRequestRule(this.faRequest.addr) }).catch(() => undefined);
    this.faRequest = undefined;
    if (!fa) return;
    await this.net.ensureRule(this.faRequestRule(fa.addr));
    this.faRequest = { iface: fa.iface, addr: fa.addr };
  }

  private faRequestRule(addr: string) {
    return { from: this.o.hoa, to: `${addr}/32`, ipproto: 'udp' as const, dport: 434, table: PHYS_TABLE, pref: PREF.faRequest };
  }

  get faIface(): string | undefined {
    return this.fa?.iface;
  }

  /** the links rule 993 is installed for (sorted) */
  get boundLinks(): string[] {
    return [...this.bound].sort();
  }
}

/** Rule 993 for one link: its own routes in main (not the default) for lookups that name it. */
export function boundRule(dev: string) {
  return { oif: dev, table: 'main', suppressPrefixLength: 0, pref: PREF.boundToLink };
}
