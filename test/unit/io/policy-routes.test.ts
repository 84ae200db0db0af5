import { describe, expect, it } from 'vitest';
import { buildRuleArgs, NetConfig, NetConfigError } from '../../../app/io/netconfig.ts';
import { MIP_TABLE, PolicyRoutes, PREF, removeLeftovers } from '../../../app/io/policy-routes.ts';
import { MemoryNetConfig } from '../../fakes/memory-netconfig.ts';
import { routesOfDevice } from '../../../app/net/link-select.ts';

/** A tiny model of the kernel's rule list, links and tables behind `ip`: enough to see "File exists" and leftovers. */
function fakeKernel() {
  const rules: string[][] = [];
  const links = new Set<string>();
  /** the machine's own interfaces (`ip -j link show` lists them with `links`) */
  const devices = ['lo', 'eth1', 'wlan0'];
  const log: string[] = [];
  const fail = (args: readonly string[], msg: string) => Promise.reject(new NetConfigError(['ip', ...args], msg, 2));
  /** `ip -force -batch -`: every line runs, the failed ones are named on stderr as iproute2 names them */
  const batch = async (input: string): Promise<string> => {
    const failed: string[] = [];
    const lines = input.split('\n').filter((l) => l.trim());
    for (const [i, line] of lines.entries()) {
      await runLine(line.split(' ')).catch((e: NetConfigError) => failed.push(`${e.stderr}\nCommand failed -:${i + 1}`));
    }
    return failed.length ? fail(['-force', '-batch', '-'], failed.join('\n')) : '';
  };
  /** one entry per ip process started */
  const processes: string[] = [];
  const run = (args: readonly string[], input?: string): Promise<string> => {
    processes.push(args.join(' '));
    if (args.join(' ') === '-force -batch -') return batch(input ?? '');
    return runLine(args);
  };
  const runLine = (args: readonly string[]): Promise<string> => {
    log.push(args.join(' '));
    const [obj, verb, ...rest] = args[0] === '-4' || args[0] === '-j' ? args.slice(1) : args;
    if (obj === 'rule' && verb === 'add') {
      if (rules.some((r) => r.join(' ') === rest.join(' '))) return fail(args, 'RTNETLINK answers: File exists');
      rules.push(rest);
      return Promise.resolve('');
    }
    if (obj === 'rule' && verb === 'del') {
      const byPref = rest.length === 2 && rest[0] === 'pref';
      const i = rules.findIndex((r) => (byPref ? r.at(-1) === rest[1] : r.join(' ') === rest.join(' ')));
      if (i < 0) return fail(args, 'RTNETLINK answers: No such file or directory');
      rules.splice(i, 1);
      return Promise.resolve('');
    }
    if (obj === 'link' && verb === 'show') return Promise.resolve(JSON.stringify([...devices, ...links].map((ifname) => ({ ifname }))));
    if (obj === 'link' && verb === 'del') {
      const dev = rest[1]!;
      if (!links.delete(dev)) return fail(args, `Cannot find device "${dev}"`);
      return Promise.resolve('');
    }
    return Promise.resolve('');
  };
  return { rules, links, devices, log, processes, net: new NetConfig({ runner: run }) };
}

const opts = { hoa: '10.1.0.50', homeAgent: '10.1.0.1', intranet: ['10.1.0.0/24'], tuns: ['hwmip0', 'hwvpn0', 'hwvpn1'] };

describe('policy routes: fail closed across crashes', () => {
  it('builds rules with iif, oif, ipproto and dport', () => {
    expect(buildRuleArgs('add', { from: '10.1.0.50', to: '10.4.0.1/32', ipproto: 'udp', dport: 434, table: '435', pref: 988 }))
      .toEqual(['rule', 'add', 'from', '10.1.0.50', 'to', '10.4.0.1/32', 'ipproto', 'udp', 'dport', '434', 'lookup', '435', 'pref', '988']);
    expect(buildRuleArgs('add', { iif: 'eth1', to: '10.10.100.2', action: 'blackhole', pref: 985 }))
      .toEqual(['rule', 'add', 'to', '10.10.100.2', 'iif', 'eth1', 'blackhole', 'pref', '985']);
    expect(() => buildRuleArgs('add', { to: 'x', dport: 0, action: 'blackhole' })).toThrow(RangeError);
  });

  it('installs the blocking rules; a second start after a "kill" adopts the leftovers instead of failing with File exists', async () => {
    const k = fakeKernel();
    const first = new PolicyRoutes({ ...opts, net: k.net });
    await first.install();
    expect(k.rules.map((r) => r.join(' ')).sort()).toEqual([
      'from 10.1.0.50 unreachable pref 1003',
      'oif eth1 lookup main suppress_prefixlength 0 pref 993',
      'oif wlan0 lookup main suppress_prefixlength 0 pref 993',
      'to 10.1.0.0/24 unreachable pref 1004',
      'to 10.1.0.1/32 unreachable pref 1004',
    ]);
    await first.setLink({ iface: 'eth1', addr: '198.51.100.100' });
    await first.setTia({ tia: '10.10.100.2', dev: 'hwvpn0' });
    k.links.add('hwvpn0'); // the "killed" run's TUN, if the kernel kept it
    const before = k.rules.length;
    expect(before).toBe(5 + 2 + 2);
    // killed: nothing removed; the next start
    const second = new PolicyRoutes({ ...opts, net: k.net });
    const left = await second.install();
    expect(left).toEqual({ rules: before, tuns: ['hwvpn0'] });
    expect(k.rules.length).toBe(5);
    expect(k.links.size).toBe(0);
    // a clean stop removes everything, the blocking rules included
    await second.remove();
    expect(k.rules).toEqual([]);
  });

  it('a batch runs in one ip process; an expected failure (mayFail) is ignored, any other names its command', async () => {
    const k = fakeKernel();
    await k.net.batch([
      { op: 'del-rule', rule: { from: '10.2.0.100', table: '435', pref: 990 }, mayFail: true },
      { op: 'add-rule', rule: { from: '10.2.0.100', table: '435', pref: 990 } },
    ]);
    expect(k.rules.map((r) => r.join(' '))).toEqual(['from 10.2.0.100 lookup 435 pref 990']);
    // the add of a rule that is there already fails: not mayFail, so the batch does, naming that command
    await expect(k.net.batch([
      { op: 'del-rule', rule: { from: '10.9.9.9', table: '435', pref: 990 }, mayFail: true },
      { op: 'add-rule', rule: { from: '10.2.0.100', table: '435', pref: 990 } },
    ])).rejects.toThrow(/rule add from 10\.2\.0\.100 lookup 435 pref 990 failed: .*File exists/);
  });

  it('setLink rewrites the rules of the link in one batch: the detection request waits for one process, not one per rule', async () => {
    const k = fakeKernel();
    const p = new PolicyRoutes({ ...opts, net: k.net });
    await p.setLink({ iface: 'wlan0', addr: '10.2.0.100' });
    await p.setLink({ iface: 'eth1', addr: '198.51.100.100' });
    expect(k.rules.map((r) => r.join(' ')).sort()).toEqual(['from 198.51.100.100 lookup 435 pref 990', 'to 10.1.0.1/32 oif eth1 lookup 435 pref 986']);
    // per link change two processes: the read of the link's routes, then everything else in one batch
    expect(k.processes).toEqual([
      '-4 route show table main dev wlan0', '-force -batch -', '-4 route show table main dev eth1', '-force -batch -',
    ]);
  });

  it('setLink with the routes the link watcher read writes them without a read: one process per link change', async () => {
    const k = fakeKernel();
    const p = new PolicyRoutes({ ...opts, net: k.net });
    const routes = routesOfDevice([
      { dst: 'default', gateway: '10.2.0.1', dev: 'wlan0', metric: 100 },
      { dst: '10.2.0.0/24', dev: 'wlan0', prefsrc: '10.2.0.100', scope: 'link' },
      { dst: '198.51.100.0/24', dev: 'eth1', prefsrc: '198.51.100.100', scope: 'link' },
      { dst: '10.9.0.0/16', dev: 'wlan0', type: 'blackhole' },
    ], 'wlan0');
    await p.linkChanged({ iface: 'wlan0', addr: '10.2.0.100' }, routes);
    expect(k.processes).toEqual(['-force -batch -']);
    // the link's unicast routes only, into 435, before its rules
    const writes = k.log.filter((l) => l.startsWith('route replace'));
    expect(writes).toEqual([
      'route replace default via 10.2.0.1 dev wlan0 metric 100 table 435',
      'route replace 10.2.0.0/24 dev wlan0 src 10.2.0.100 table 435 scope link',
    ]);
    expect(k.log.indexOf(writes[1]!)).toBeLessThan(k.log.findIndex((l) => l.startsWith('rule add from 10.2.0.100')));
    expect(k.rules.map((r) => r.join(' ')).sort()).toEqual(['from 10.2.0.100 lookup 435 pref 990', 'to 10.1.0.1/32 oif wlan0 lookup 435 pref 986']);
  });

  it('the request through a foreign agent is let out by its source, destination and UDP 434 only', async () => {
    const k = fakeKernel();
    const p = new PolicyRoutes({ ...opts, net: k.net });
    await p.setFaRequest({ iface: 'wlan1', addr: '10.4.0.1' });
    expect(k.rules.map((r) => r.join(' '))).toEqual(['from 10.1.0.50 to 10.4.0.1/32 ipproto udp dport 434 lookup 435 pref 988']);
    await p.setFaRequest(null);
    expect(k.rules).toEqual([]);
  });

  it('the same link reported again keeps the request-through-an-FA rule; another link (or another address) takes it away', async () => {
    const k = fakeKernel();
    const p = new PolicyRoutes({ ...opts, net: k.net });
    const rule988 = () => k.rules.map((r) => r.join(' ')).filter((r) => r.endsWith('pref 988'));
    await p.linkChanged({ iface: 'wlan0', addr: '10.4.0.20' });
    await p.setFaRequest({ iface: 'wlan0', addr: '10.4.0.1' });
    await p.linkChanged({ iface: 'wlan0', addr: '10.4.0.20' }); // its default route appeared: reported again
    expect(rule988()).toEqual(['from 10.1.0.50 to 10.4.0.1/32 ipproto udp dport 434 lookup 435 pref 988']);
    await p.linkChanged({ iface: 'wlan0', addr: '10.5.0.20' }); // the same interface on another network
    expect(rule988()).toEqual([]);
    await p.setFaRequest({ iface: 'wlan0', addr: '10.5.0.1' });
    await p.linkChanged({ iface: 'eth1', addr: '10.6.0.20' });
    expect(rule988()).toEqual([]);
  });

  it('ensureRule is one exclusive add: an identical rule there already counts as added, another error does not', async () => {
    const k = fakeKernel();
    const r = { from: '198.51.100.100', table: '435', pref: 990 };
    await k.net.ensureRule(r);
    await k.net.ensureRule(r);
    expect(k.rules.map((x) => x.join(' '))).toEqual(['from 198.51.100.100 lookup 435 pref 990']);
    expect(k.log.filter((l) => l.startsWith('rule'))).toEqual(['rule add from 198.51.100.100 lookup 435 pref 990', 'rule add from 198.51.100.100 lookup 435 pref 990']);
    const refusing = new NetConfig({ runner: (args) => Promise.reject(new NetConfigError(['ip', ...args], 'RTNETLINK answers: Operation not permitted', 2)) });
    await expect(refusing.ensureRule(r)).rejects.toThrow(/Operation not permitted/);
  });

  it('cleanup without a profile removes rules at every preference of ours', async () => {
    const k = fakeKernel();
    k.rules.push(['to', '10.1.0.0/24', 'lookup', '434', 'pref', '1002'], ['from', '1.2.3.4', 'lookup', '99', 'pref', '500']);
    k.links.add('hwmip0');
    expect(await removeLeftovers(k.net, ['hwmip0', 'hwvpn0'])).toEqual({ rules: 1, tuns: ['hwmip0'] });
    expect(k.rules).toEqual([['from', '1.2.3.4', 'lookup', '99', 'pref', '500']]);
  });
});

describe('policy routes: rule 993, a gateway inside the intranet', () => {
  it('builds suppress_prefixlength on a lookup rule only', () => {
    expect(buildRuleArgs('add', { oif: 'eth1', table: 'main', suppressPrefixLength: 0, pref: 993 }))
      .toEqual(['rule', 'add', 'oif', 'eth1', 'lookup', 'main', 'suppress_prefixlength', '0', 'pref', '993']);
    expect(() => buildRuleArgs('add', { oif: 'eth1', action: 'unreachable', suppressPrefixLength: 0 })).toThrow(RangeError);
    expect(() => buildRuleArgs('add', { oif: 'eth1', table: 'main', suppressPrefixLength: 33 })).toThrow(RangeError);
  });

  it('follows the links: one rule per link there is (not lo, not our TUNs), none for a link gone', async () => {
    const k = fakeKernel();
    const p = new PolicyRoutes({ ...opts, net: k.net });
    k.links.add('hwmip0');
    await p.install();
    expect(p.boundLinks).toEqual(['eth1', 'wlan0']);
    k.links.delete('hwmip0');
    k.devices.splice(k.devices.indexOf('wlan0'), 1);
    k.devices.push('usb0');
    await p.syncLinks();
    expect(p.boundLinks).toEqual(['eth1', 'usb0']);
    expect(k.rules.filter((r) => r.at(-1) === '993').map((r) => r[1]).sort()).toEqual(['eth1', 'usb0']);
    await p.remove();
    expect(k.rules).toEqual([]);
    expect(p.boundLinks).toEqual([]);
  });

  /** the bench lab's client: the trusted access network 10.10.2.0/24 lies inside the intranet 10.10.0.0/16 */
  async function client() {
    const net = new MemoryNetConfig();
    net.createInterface('ethi', 'ether');
    net.linkUpNow('ethi');
    net.createInterface('hwmip0', 'tun');
    net.linkUpNow('hwmip0');
    net.addAddressNow('hwmip0', '10.10.0.77/32');
    const p = new PolicyRoutes({ hoa: '10.10.0.77', homeAgent: '10.10.0.2', intranet: ['10.10.0.0/16'], tuns: ['hwvpn0'], net });
    await p.install();
    // what the MipDriver adds: the intranet into its TUN (table 434, rule 1002)
    net.replaceRouteNow({ dst: '10.10.0.0/16', dev: 'hwmip0', src: '10.10.0.77', table: MIP_TABLE, scope: 'global' });
    net.addRuleNow({ to: '10.10.0.0/16', table: MIP_TABLE, pref: PREF.mipRoutes });
    net.addAddressNow('ethi', '10.10.2.100/24');
    return { net, p };
  }

  it('without it the kernel refuses the default route via a gateway inside the intranet; with it, it takes it', async () => {
    const { net } = await client();
    expect(net.showRules().some((r) => r.startsWith('993:'))).toBe(true);
    net.replaceRouteNow({ dst: 'default', via: '10.10.2.1', dev: 'ethi' });
    expect(net.showRoutes()).toContain('default via 10.10.2.1 dev ethi');
    net.delRulesAtNow(PREF.boundToLink);
    net.delRouteNow({ dst: 'default' });
    expect(() => net.replaceRouteNow({ dst: 'default', via: '10.10.2.1', dev: 'ethi' })).toThrow(/Nexthop has invalid gateway/);
  });

  it('only lookups that name the device match it: an unbound socket\'s intranet traffic on the link\'s own subnet still goes into the tunnel', async () => {
    const { net } = await client();
    net.replaceRouteNow({ dst: 'default', via: '10.10.2.1', dev: 'ethi' });
    // an ordinary socket (oif 0): into the home-address TUN, never in clear on ethi
    expect(net.decide({ dst: '10.10.2.5', proto: 6, dport: 80 })).toMatchObject({ kind: 'unicast', dev: 'hwmip0', table: MIP_TABLE });
    expect(net.decide({ dst: '10.10.9.9', proto: 6, dport: 80 })).toMatchObject({ kind: 'unicast', dev: 'hwmip0' });
    // a socket bound to ethi: its own subnet on the link, but never the intranet through the link's default route
    expect(net.decide({ dst: '10.10.2.5', oif: 'ethi', proto: 6, dport: 80 })).toMatchObject({ kind: 'unicast', dev: 'ethi', table: 'main' });
    expect(net.decide({ dst: '10.10.9.9', oif: 'ethi', proto: 6, dport: 80 })).not.toMatchObject({ gateway: '10.10.2.1' });
    // the internet: main's default, as before
    expect(net.decide({ dst: '203.0.113.9', proto: 6, dport: 80 })).toMatchObject({ kind: 'unicast', dev: 'ethi', gateway: '10.10.2.1' });
  });
});
