/** Captive-portal checks (issue 19): what an answer means, and the watch's probe/poll cycle on a fake clock. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CaptivePortalWatch, classifyProbe, probeCaptivePortal, type ProbeResult } from '../../../app/io/captive-portal.ts';

const PROBE = 'http://probe.example/generate_204';

describe('classifyProbe', () => {
  it('204 is open; a redirect is a portal at its target; any page is a portal at the probe URL', () => {
    expect(classifyProbe(PROBE, 204, undefined)).toEqual({ kind: 'open' });
    expect(classifyProbe(PROBE, 302, 'http://10.9.0.1/login?x=1')).toEqual({ kind: 'portal', url: 'http://10.9.0.1/login?x=1' });
    expect(classifyProbe(PROBE, 307, '/login')).toEqual({ kind: 'portal', url: 'http://probe.example/login' });
    expect(classifyProbe(PROBE, 200, undefined)).toEqual({ kind: 'portal', url: PROBE });
  });
});

describe('probeCaptivePortal (a real HTTP server on loopback)', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function serve(status: number, location?: string): Promise<string> {
    server = createServer((_req, res) => {
      res.writeHead(status, location ? { location } : {});
      res.end(status === 204 ? undefined : '<html>log in</html>');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/generate_204`;
  }

  it('reads a 302 from a portal', async () => {
    const url = await serve(302, 'http://portal.example/login');
    expect(await probeCaptivePortal(url, '127.0.0.1')).toEqual({ kind: 'portal', url: 'http://portal.example/login' });
  });

  it('reads 204 as open', async () => {
    const url = await serve(204);
    expect(await probeCaptivePortal(url, '127.0.0.1')).toEqual({ kind: 'open' });
  });

  it('nothing listening: unreachable, no throw', async () => {
    const url = await serve(204);
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    expect((await probeCaptivePortal(url, '127.0.0.1')).kind).toBe('unreachable');
  });
});

describe('CaptivePortalWatch', () => {
  afterEach(() => vi.useRealTimers());

  function rig(answers: ProbeResult[]) {
    vi.useFakeTimers();
    const events: string[] = [];
    let cleared = 0;
    const probes: string[] = [];
    const w = new CaptivePortalWatch({
      probeUrl: PROBE, afterMs: 1000, pollMs: 1000,
      emit: (ev) => events.push(ev.state === 'detected' ? `detected ${ev.url}` : 'cleared'),
      onCleared: () => cleared++,
      probe: (_url, from) => {
        probes.push(from);
        return Promise.resolve(answers.shift() ?? { kind: 'open' });
      },
    });
    return { w, events, probes, cleared: () => cleared };
  }

  it('late VPN → probe → portal reported once → polled every second → cleared, VPN retried', async () => {
    const portal: ProbeResult = { kind: 'portal', url: 'http://10.9.0.1/login' };
    const r = rig([portal, portal, portal, { kind: 'open' }]);
    r.w.linkChanged({ iface: 'eth1', addr: '198.51.100.100' });
    await vi.advanceTimersByTimeAsync(999);
    expect(r.probes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.events).toEqual(['detected http://10.9.0.1/login']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(r.probes).toEqual(Array(4).fill('198.51.100.100'));
    expect(r.events).toEqual(['detected http://10.9.0.1/login', 'cleared']);
    expect(r.cleared()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.probes).toHaveLength(4); // no more polling once open
  });

  it('the VPN answering first means no probe at all', async () => {
    const r = rig([]);
    r.w.linkChanged({ iface: 'eth1', addr: '198.51.100.100' });
    r.w.settled();
    await vi.advanceTimersByTimeAsync(5000);
    expect(r.probes).toEqual([]);
  });

  it('a new link forgets the old link\'s portal', async () => {
    const r = rig([{ kind: 'portal', url: 'http://10.9.0.1/login' }]);
    r.w.linkChanged({ iface: 'eth1', addr: '198.51.100.100' });
    await vi.advanceTimersByTimeAsync(1000);
    r.w.linkChanged({ iface: 'eth2', addr: '192.168.50.100' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.probes).toEqual(['198.51.100.100', '192.168.50.100']);
    expect(r.cleared()).toBe(0);
    r.w.stop();
  });
});
