import { describe, expect, it } from 'vitest';
import {
  buildAddressArgs,
  buildLinkArgs,
  buildRouteArgs,
  buildRuleArgs,
  CAP_NET_ADMIN_HINT,
  NetConfig,
  NetConfigError,
  nsArgs,
  parseAddresses,
  parseRouteGet,
} from '../../../app/io/netconfig.ts';

describe('netconfig argument builders', () => {
  it('link: mtu and up/down', () => {
    expect(buildLinkArgs('hw0', { up: true })).toEqual(['link', 'set', 'dev', 'hw0', 'up']);
    expect(buildLinkArgs('hw0', { mtu: 1400, up: false })).toEqual(['link', 'set', 'dev', 'hw0', 'mtu', '1400', 'down']);
    expect(() => buildLinkArgs('hw0', { mtu: 20 })).toThrow(RangeError);
    expect(() => buildLinkArgs('hw0', { mtu: 1400.5 })).toThrow(RangeError);
  });

  it('addresses, with an optional peer', () => {
    expect(buildAddressArgs('add', 'hw0', '10.99.0.1/24')).toEqual(['addr', 'add', '10.99.0.1/24', 'dev', 'hw0']);
    expect(buildAddressArgs('del', 'hw0', '10.0.0.1/32', { peer: '10.0.0.2' })).toEqual([
      'addr', 'del', '10.0.0.1/32', 'peer', '10.0.0.2', 'dev', 'hw0',
    ]);
  });

  it('routes: every field in iproute2 order, only when given', () => {
    expect(buildRouteArgs('add', { dst: 'default', via: '192.0.2.1', dev: 'eth0', src: '192.0.2.9', metric: 50, table: 100 })).toEqual([
      'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0', 'src', '192.0.2.9', 'metric', '50', 'table', '100',
    ]);
    expect(buildRouteArgs('del', { dst: '10.0.0.0/8' })).toEqual(['route', 'del', '10.0.0.0/8']);
    expect(buildRouteArgs('replace', { dst: '10.1.0.0/16', dev: 'hw0', table: 'main' })).toEqual([
      'route', 'replace', '10.1.0.0/16', 'dev', 'hw0', 'table', 'main',
    ]);
    expect(() => buildRouteArgs('add', { dst: '10.0.0.0/8', metric: -1 })).toThrow(RangeError);
    expect(buildRouteArgs('replace', { dst: '10.10.0.0/16', dev: 'hwmip0', table: 434, scope: 'global' })).toEqual([
      'route', 'replace', '10.10.0.0/16', 'dev', 'hwmip0', 'table', '434', 'scope', 'global',
    ]);
    expect(() => buildRouteArgs('add', { dst: '10.0.0.0/8', scope: 'site' as 'global' })).toThrow(/bad scope/);
  });

  it('rules: lookup a table, or an action', () => {
    expect(buildRuleArgs('add', { to: '198.51.100.7/32', table: 'main', pref: 100 })).toEqual([
      'rule', 'add', 'to', '198.51.100.7/32', 'lookup', 'main', 'pref', '100',
    ]);
    expect(buildRuleArgs('add', { to: '198.51.100.7/32', action: 'unreachable', pref: 101 })).toEqual([
      'rule', 'add', 'to', '198.51.100.7/32', 'unreachable', 'pref', '101',
    ]);
    expect(buildRuleArgs('del', { pref: 101 })).toEqual(['rule', 'del', 'pref', '101']);
    expect(() => buildRuleArgs('add', { to: '10.0.0.0/8' })).toThrow(/table or an action/);
  });

  it('rejects values iproute2 would read as options, or that contain spaces', () => {
    expect(() => buildAddressArgs('add', '-all', '10.0.0.1/24')).toThrow(TypeError);
    expect(() => buildRouteArgs('add', { dst: '-6' })).toThrow(TypeError);
    expect(() => buildRouteArgs('add', { dst: '10.0.0.0/8', dev: 'a b' })).toThrow(TypeError);
    expect(() => buildLinkArgs('sixteen-chars-xx', { up: true })).toThrow(/interface name/);
    expect(() => nsArgs('')).toThrow(TypeError);
    expect(nsArgs('lab1')).toEqual(['-n', 'lab1']);
    expect(nsArgs(undefined)).toEqual([]);
  });
});

describe('netconfig parsers', () => {
  it('ip -j route get', () => {
    const out = '[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.9","flags":[],"uid":0,"cache":[]}]';
    expect(parseRouteGet(out)).toEqual({ dst: '8.8.8.8', gateway: '192.0.2.1', dev: 'eth0', prefsrc: '192.0.2.9' });
    expect(() => parseRouteGet('[]')).toThrow(/no route/);
    expect(() => parseRouteGet('RTNETLINK answers')).toThrow(/did not print JSON/);
  });

  it('ip -j addr show: one entry per address, peer only when it differs', () => {
    const out = JSON.stringify([
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536,
        addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
      { ifindex: 5, ifname: 'hw0', flags: ['POINTOPOINT', 'NOARP'], mtu: 1400,
        addr_info: [
          { family: 'inet', local: '10.0.0.1', address: '10.0.0.2', prefixlen: 32, scope: 'global' },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
          { family: 'bogus', local: 'x', prefixlen: 1 },
        ] },
      { ifindex: 6, flags: [] },
    ]);
    expect(parseAddresses(out)).toEqual([
      { dev: 'lo', ifindex: 1, mtu: 65536, up: true, family: 'inet', address: '127.0.0.1', prefixLen: 8, scope: 'host' },
      { dev: 'hw0', ifindex: 5, mtu: 1400, up: false, family: 'inet', address: '10.0.0.1', prefixLen: 32, peer: '10.0.0.2', scope: 'global' },
      { dev: 'hw0', ifindex: 5, mtu: 1400, up: false, family: 'inet6', address: 'fe80::1', prefixLen: 64, scope: 'link' },
    ]);
    expect(() => parseAddresses('{}')).toThrow(/not a JSON array/);
  });
});

describe('NetConfig', () => {
  it('prefixes every command with the namespace and parses the replies', async () => {
    const calls: string[][] = [];
    const net = new NetConfig({
      netns: 'lab1',
      runner: (args) => {
        calls.push([...args]);
        return Promise.resolve(args.includes('get') ? '[{"dst":"10.0.0.2","dev":"hw0"}]' : '');
      },
    });
    await net.linkUp('hw0');
    await net.setMtu('hw0', 1400);
    await net.addRoute({ dst: '10.1.0.0/16', dev: 'hw0' });
    expect(await net.getRoute('10.0.0.2')).toEqual({ dst: '10.0.0.2', dev: 'hw0' });
    expect(calls).toEqual([
      ['-n', 'lab1', 'link', 'set', 'dev', 'hw0', 'up'],
      ['-n', 'lab1', 'link', 'set', 'dev', 'hw0', 'mtu', '1400'],
      ['-n', 'lab1', 'route', 'add', '10.1.0.0/16', 'dev', 'hw0'],
      ['-n', 'lab1', '-j', 'route', 'get', '10.0.0.2'],
    ]);
  });

  it('errors carry the command and stderr; EPERM names the CAP_NET_ADMIN fix', () => {
    const denied = new NetConfigError(['ip', 'link', 'set', 'dev', 'hw0', 'up'], 'RTNETLINK answers: Operation not permitted\n', 2);
    expect(denied.message).toBe(`ip link set dev hw0 up failed: RTNETLINK answers: Operation not permitted; ${CAP_NET_ADMIN_HINT}`);
    expect(denied.permissionDenied).toBe(true);
    const other = new NetConfigError(['ip', 'route', 'add', '10.0.0.0/8'], 'Error: Nexthop has invalid gateway.', 2);
    expect(other.message).toBe('ip route add 10.0.0.0/8 failed: Error: Nexthop has invalid gateway.');
    expect(other.permissionDenied).toBe(false);
    expect(other.stderr).toContain('Nexthop');
  });
});

describe('defaultIpRunner (real iproute2, read-only)', () => {
  it('a failing command rejects with NetConfigError carrying ip’s stderr and the argument list', async () => {
    const err = (await new NetConfig().getRoute('not.an.address').catch((e: unknown) => e)) as NetConfigError;
    expect(err).toBeInstanceOf(NetConfigError);
    expect(err.command).toEqual(['ip', '-j', 'route', 'get', 'not.an.address']);
    expect(err.stderr.length).toBeGreaterThan(0);
    expect(err.message).toContain('ip -j route get not.an.address failed: ');
  });
});
