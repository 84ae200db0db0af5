import { describe, expect, it } from 'vitest';
import { Debouncer, selectPrimaryLink, type IpAddrInfo, type IpRouteInfo } from '../../../app/net/link-select.ts';

const addrs: IpAddrInfo[] = [
  { ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
  { ifname: 'eth0', flags: ['UP'], addr_info: [{ family: 'inet', local: '192.168.1.20', prefixlen: 24, scope: 'global' }] },
  { ifname: 'wlan0', flags: ['UP'], addr_info: [{ family: 'inet', local: '172.16.5.9', prefixlen: 24, scope: 'global' }] },
  { ifname: 'hw0', flags: ['UP'], addr_info: [{ family: 'inet', local: '10.10.0.77', prefixlen: 32, scope: 'global' }] },
];

describe('selectPrimaryLink', () => {
  it('takes the lowest-metric default route and its address', () => {
    const routes: IpRouteInfo[] = [
      { dst: 'default', dev: 'wlan0', gateway: '172.16.5.1', metric: 600 },
      { dst: 'default', dev: 'eth0', gateway: '192.168.1.1', metric: 100 },
    ];
    expect(selectPrimaryLink(addrs, routes)).toEqual({ iface: 'eth0', addr: '192.168.1.20' });
  });

  it('prefers the route\'s prefsrc and skips excluded devices (our TUN)', () => {
    const routes: IpRouteInfo[] = [
      { dst: 'default', dev: 'hw0', metric: 0 },
      { dst: 'default', dev: 'wlan0', prefsrc: '172.16.5.9', metric: 600 },
    ];
    expect(selectPrimaryLink(addrs, routes, new Set(['hw0']))).toEqual({ iface: 'wlan0', addr: '172.16.5.9' });
  });

  it('falls back to an up interface with a global address, else null', () => {
    expect(selectPrimaryLink(addrs, [], new Set(['hw0']))).toEqual({ iface: 'eth0', addr: '192.168.1.20' });
    const down = addrs.map((a) => (a.ifname === 'lo' ? a : { ...a, flags: ['BROADCAST'] }));
    expect(selectPrimaryLink(down, [])).toBeNull();
  });
});

describe('Debouncer', () => {
  it('settles quietMs after the last event of a burst, reporting the burst\'s first event', () => {
    const d = new Debouncer(30, 100);
    expect(d.event(0)).toBe(30);
    expect(d.event(20)).toBe(50);
    expect(d.poll(49)).toEqual({ settled: false, wakeAt: 50 });
    expect(d.poll(50)).toEqual({ settled: true, firstAt: 0 });
    expect(d.deadline()).toBeNull();
    expect(d.poll(60)).toBeNull();
  });

  it('never adds more than maxDelayMs to the first event of a storm', () => {
    const d = new Debouncer(30, 100);
    let due = 0;
    for (let t = 0; t <= 200; t += 10) due = d.event(t);
    expect(due).toBe(100);
    expect(d.poll(100)).toEqual({ settled: true, firstAt: 0 });
  });

  it('a timer that fires early is told when to ask again; the burst is neither lost nor merged into the next one', () => {
    const d = new Debouncer(20, 100);
    d.event(1000.6);
    // the timer was set for 20 ms but libuv fired it at 1020.2 (its loop time is whole milliseconds)
    const early = d.poll(1020.2);
    expect(early).toEqual({ settled: false, wakeAt: 1020.6 });
    expect(d.poll(1020.6)).toEqual({ settled: true, firstAt: 1000.6 });
    // a later burst starts its own clock: its first event is not the stale one from before
    d.event(5000);
    expect(d.poll(5020)).toEqual({ settled: true, firstAt: 5000 });
  });
});
