/**
 * The lab harness itself: run-time topology changes, NAT, loss, bridges,
 * unique names for concurrent labs, and teardown on every way out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Lab, PYTHON, isClean, labAvailable, leftovers, liveRunIds, skipLine, sweepStale, withLab,
} from './index.ts';

const avail = labAvailable({ need: ['iptables', 'scapy'] });
if (!avail.ok) console.warn(skipLine('harness.test.ts', avail));

const ABANDON = fileURLToPath(new URL('../fixtures/abandon-lab.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const CLEAN = { namespaces: [], links: [], processes: [], files: [] };

function lossPercent(pingOutput: string): number {
  const m = /(\d+(?:\.\d+)?)% packet loss/.exec(pingOutput);
  if (!m?.[1]) throw new Error(`no loss figure in ${pingOutput}`);
  return Number(m[1]);
}

describe.skipIf(!avail.ok)('lab topology and run-time changes', () => {
  let lab: Lab;
  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['client', 'router', 'server', 'other'],
      switches: ['inet'],
      links: [
        { a: 'client', b: 'router', aAddr: '192.168.7.2/24', bAddr: '192.168.7.1/24' },
        { a: 'router', b: 'inet', aAddr: '203.0.113.1/24' },
        { a: 'server', b: 'inet', aAddr: '203.0.113.9/24' },
        { a: 'other', b: 'inet', aAddr: '203.0.113.10/24', aIf: 'wan0' },
      ],
      routes: [{ host: 'client', to: 'default', via: '192.168.7.1' }],
      nat: [{ host: 'router', outIf: 'eth1' }],
    });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('names namespaces <runId>-<host> and interfaces eth<n> per host unless named', async () => {
    expect(lab.runId).toMatch(/^hw[0-9a-f]{4}$/);
    expect(lab.ns('client')).toBe(`${lab.runId}-client`);
    expect(() => lab.ns('nobody')).toThrow(/no host/);
    const links = (await lab.execOk('router', 'ip', ['-o', 'link'])).stdout;
    expect(links).toMatch(/ eth0@/);
    expect(links).toMatch(/ eth1@/);
    expect((await lab.execOk('other', 'ip', ['-o', 'link'])).stdout).toMatch(/ wan0@/);
    expect(lab.addr('other')).toBe('203.0.113.10');
  });

  it('bridges hosts on a switch and NATs the client behind the router', async () => {
    expect((await lab.exec('server', 'ping', ['-c1', '-W2', '203.0.113.10'])).code).toBe(0);
    const echo = lab.spawn('server', PYTHON, ['-u', '-c', [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      "s.bind(('0.0.0.0', 7777))",
      "print('ready', flush=True)",
      'd, a = s.recvfrom(99)',
      's.sendto(a[0].encode(), a)',
    ].join('\n')]);
    await echo.waitFor(/ready/, 10_000, 'stdout');
    const r = await lab.execOk('client', PYTHON, ['-c', [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      's.settimeout(5)',
      "s.sendto(b'x', ('203.0.113.9', 7777))",
      'print(s.recv(99).decode())',
    ].join('\n')]);
    expect(r.stdout.trim()).toBe('203.0.113.1'); // the server saw the router's outward address
    await echo.exited;
  });

  it('drops all, some, or no packets as loss rules are set and removed at run time', async () => {
    await lab.setLoss({ host: 'client', iface: 'eth0', direction: 'out', probability: 1 });
    expect((await lab.exec('client', 'ping', ['-c1', '-W1', '192.168.7.1'])).code).not.toBe(0);
    await lab.setLoss({ host: 'router', iface: 'eth0', direction: 'in', probability: 0.5 });
    await lab.setLoss({ host: 'client', iface: 'eth0', direction: 'out', probability: 0 });
    const rules = (await lab.execOk('router', 'iptables', ['-t', 'mangle', '-S'])).stdout;
    expect(rules).toMatch(/-A PREROUTING -i eth0 .*hwloss-in-eth0.*--probability 0\.5/);
    const half = await lab.exec('client', 'ping', ['-q', '-c', '200', '-i', '0.002', '-W', '1', '192.168.7.1']);
    const pct = lossPercent(half.stdout);
    expect(pct).toBeGreaterThan(25);
    expect(pct).toBeLessThan(75);
    await lab.clearLoss('router', 'eth0', 'in');
    expect((await lab.execOk('router', 'iptables', ['-t', 'mangle', '-S'])).stdout).not.toMatch(/hwloss/);
    const none = await lab.exec('client', 'ping', ['-q', '-c', '50', '-i', '0.002', '-W', '1', '192.168.7.1']);
    expect(lossPercent(none.stdout)).toBe(0);
  });

  it('takes links down and up, and moves addresses, at run time', async () => {
    await lab.linkDown('client', 'eth0');
    expect((await lab.exec('client', 'ping', ['-c1', '-W1', '192.168.7.1'])).code).not.toBe(0);
    expect((await lab.execOk('client', 'ip', ['route'])).stdout).not.toMatch(/^default/m); // the kernel dropped it
    await lab.linkUp('client', 'eth0');
    expect((await lab.exec('client', 'ping', ['-c1', '-W2', '192.168.7.1'])).code).toBe(0);
    expect((await lab.exec('client', 'ping', ['-c1', '-W2', '203.0.113.9'])).code).toBe(0); // default route restored

    await lab.addrAdd('client', 'eth0', '192.168.7.77/24');
    expect((await lab.exec('client', 'ping', ['-c1', '-W2', '-I', '192.168.7.77', '192.168.7.1'])).code).toBe(0);
    await lab.addrDel('client', 'eth0', '192.168.7.77/24');
    expect((await lab.execOk('client', 'ip', ['-o', 'addr'])).stdout).not.toContain('192.168.7.77');
    expect((await lab.exec('client', 'ping', ['-c1', '-W1', '-I', '192.168.7.77', '192.168.7.1'])).code).not.toBe(0);

    await lab.routeDel({ host: 'client', to: 'default', via: '192.168.7.1' });
    expect((await lab.exec('client', 'ping', ['-c1', '-W1', '203.0.113.9'])).code).not.toBe(0);
    await lab.routeAdd({ host: 'client', to: '203.0.113.0/24', via: '192.168.7.1' });
    expect((await lab.exec('client', 'ping', ['-c1', '-W2', '203.0.113.9'])).code).toBe(0);
  });
});

describe.skipIf(!avail.ok)('lab teardown', () => {
  const small = {
    hosts: ['a', 'b'],
    links: [{ a: 'a', b: 'b', aAddr: '198.51.100.1/24', bAddr: '198.51.100.2/24' }],
  };

  it('destroys the lab when the body throws, killing what it spawned', async () => {
    let runId = '';
    let pid = 0;
    await expect(withLab(small, async (lab) => {
      runId = lab.runId;
      pid = lab.spawn('b', 'sleep', ['300']).pid;
      expect((await lab.exec('a', 'ping', ['-c1', '-W2', '198.51.100.2'])).code).toBe(0);
      expect(leftovers(runId).namespaces).toHaveLength(2);
      throw new Error('test body failed');
    })).rejects.toThrow('test body failed');
    expect(runId).not.toBe('');
    expect(leftovers(runId)).toEqual(CLEAN);
    expect(liveRunIds()).not.toContain(runId);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    expect(alive).toBe(false);
  });

  it('gives two concurrently created labs distinct names', async () => {
    const [x, y] = await Promise.all([Lab.create(small), Lab.create(small)]);
    try {
      expect(x.runId).not.toBe(y.runId);
      expect(x.namespaces.filter((n) => y.namespaces.includes(n))).toEqual([]);
      expect((await x.exec('a', 'ping', ['-c1', '-W2', '198.51.100.2'])).code).toBe(0);
      expect((await y.exec('a', 'ping', ['-c1', '-W2', '198.51.100.2'])).code).toBe(0);
    } finally {
      await Promise.all([x.destroy(), y.destroy()]);
    }
    expect(isClean(leftovers(x.runId)) && isClean(leftovers(y.runId))).toBe(true);
  });

  it('removes everything when a process exits (uncaught throw, exit(), SIGTERM) without destroy()', async () => {
    for (const mode of ['throw', 'exit', 'wait'] as const) {
      const child = spawn(process.execPath, ['--import', 'tsx', ABANDON, mode], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      const { runId } = await firstJsonLine(child);
      if (mode === 'wait') {
        expect(leftovers(runId).namespaces).toHaveLength(2);
        child.kill('SIGTERM');
      }
      await new Promise((res) => child.once('exit', res));
      expect(leftovers(runId), mode).toEqual(CLEAN);
    }
  });

  it('sweepStale() removes what a SIGKILLed run left, and leaves live runs alone', async () => {
    const mine = await Lab.create(small);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', ABANDON, 'wait'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      const { runId } = await firstJsonLine(child);
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      const left = leftovers(runId);
      expect(left.namespaces).toHaveLength(2); // no handler ran
      expect(left.processes.length).toBeGreaterThan(0);
      const swept = sweepStale();
      expect(swept).toContain(runId);
      expect(swept).not.toContain(mine.runId);
      expect(leftovers(runId)).toEqual(CLEAN);
      expect((await mine.exec('a', 'ping', ['-c1', '-W2', '198.51.100.2'])).code).toBe(0);
    } finally {
      await mine.destroy();
    }
  });
});

function firstJsonLine(child: ReturnType<typeof spawn>): Promise<{ runId: string; pid: number }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no run id from child: ${err}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { runId: string; pid: number });
      }
    });
    child.once('exit', (code) => {
      if (!out.includes('{')) { clearTimeout(timer); reject(new Error(`child exited ${code} before its run id: ${err}`)); }
    });
  });
}
