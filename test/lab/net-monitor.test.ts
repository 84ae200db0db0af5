/**
 * The network monitor against a real kernel: a client with two access links
 * (A and B); address and default-route changes become link events, and a
 * change that does not move the primary link produces none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labAvailable, skipLine, sweepStale, type LabProcess } from './harness/index.ts';

const avail = labAvailable();
if (!avail.ok) console.warn(skipLine('net-monitor.test.ts', avail));

describe.skipIf(!avail.ok)('network monitor (lab)', () => {
  let lab: Lab;
  let probe: LabProcess;
  const events = () =>
    probe
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; link: { iface: string; addr: string } | null });

  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['client', 'ra', 'rb'],
      links: [
        { a: 'client', b: 'ra', aAddr: '192.0.2.2/24', bAddr: '192.0.2.1/24' },
        { a: 'client', b: 'rb', aAddr: '198.51.100.2/24', bAddr: '198.51.100.1/24' },
      ],
      routes: [{ host: 'client', to: 'default', via: '192.0.2.1' }],
    });
    probe = lab.spawn('client', process.execPath, ['--import', 'tsx', 'test/lab/fixtures/net-monitor-probe.ts'], { label: 'net-monitor' });
    await probe.waitFor(/"initial"/, 20_000);
  });
  afterAll(() => lab?.destroy());

  it('reports the initial primary link', () => {
    expect(events()[0]).toEqual({ type: 'initial', link: { iface: 'eth0', addr: '192.0.2.2' } });
  });

  it('follows the default route from A to B and back, and ignores changes that do not move it', async () => {
    await lab.routeAdd({ host: 'client', to: 'default', via: '198.51.100.1', metric: 10 });
    // a lower-priority default on B does not move the primary link; an unrelated address does not either
    await lab.addrAdd('client', 'eth1', '198.51.100.77/24');
    await lab.routeDel({ host: 'client', to: 'default', via: '192.0.2.1' });
    await probe.waitFor(/"iface":"eth1"/, 5000);
    await lab.routeAdd({ host: 'client', to: 'default', via: '192.0.2.1', metric: 1 });
    await probe.waitFor(/"type":"link","link":\{"iface":"eth0"/, 5000);
    const links = events().filter((e) => e.type === 'link').map((e) => e.link?.iface);
    expect(links).toEqual(['eth1', 'eth0']);
  });

  it('reports no link when the last address goes away', async () => {
    await lab.linkDown('client', 'eth0');
    await lab.linkDown('client', 'eth1');
    await probe.waitFor(/"link":null/, 5000);
    expect(events().at(-1)).toEqual({ type: 'link', link: null });
  });
});
