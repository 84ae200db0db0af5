/**
 * The TUN addon on a real kernel (root only): each case runs
 * test/native/tun-echo.ts in a fresh network namespace and checks the one
 * JSON line it prints. Skipped, with one line saying why, without root or
 * without `ip netns`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NS = `hwt${randomBytes(4).toString('hex')}`;

function probeNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('ip', ['netns', 'add', NS], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `ip netns add failed: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`;
  }
}

const whyNot = probeNetns();
if (whyNot) console.log(`test/native/tun.test.ts skipped: ${whyNot} (the TUN addon test needs root and network namespaces)`);

const hasCapsh = existsSync('/usr/sbin/capsh') || existsSync('/sbin/capsh') || existsSync('/usr/bin/capsh');

function nsList(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

/** Runs the child in the namespace (optionally without CAP_NET_ADMIN); its JSON line. */
function runChild(mode: string, dropNetAdmin = false): Promise<Record<string, unknown>> {
  const node = [process.execPath, '--import', 'tsx', 'test/native/tun-echo.ts', mode];
  const cmd = dropNetAdmin ? ['capsh', '--drop=cap_net_admin', '--', '-c', `exec ${node.join(' ')}`] : node;
  return new Promise((res, rej) => {
    execFile('ip', ['netns', 'exec', NS, ...cmd], { cwd: ROOT, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const line = stdout.split('\n').filter((l) => l.startsWith('{')).pop();
      if (err || line === undefined) {
        rej(new Error(`tun-echo.ts ${mode} failed (${err?.message ?? 'no JSON line'}):\n${stdout}\n${stderr}`));
        return;
      }
      res(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

describe.skipIf(whyNot !== undefined)('native TUN addon in a fresh namespace', () => {
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'pipe' });
    } finally {
      expect(nsList()).not.toMatch(new RegExp(`^${NS}\\b`, 'm'));
    }
  });

  it('the kernel answers an ICMP echo written into the device, and the reply reads back intact', async () => {
    const r = await runChild('echo');
    expect(r.ok, String(r.error)).toBe(true);
    expect(r.name).toBe('hwtun0');
    expect(r.offloads).toBe(false);
    const sent = r.sent as { id: number; seq: number; dataHex: string };
    // checksums were verified by decodeIpv4Header / decodeIcmpEcho in the child
    expect(r.reply).toEqual({ src: '10.99.0.1', dst: '10.99.0.2', id: sent.id, seq: sent.seq, dataHex: sent.dataHex });
    expect(sent.dataHex).toHaveLength(112);
    const stats = r.stats as Record<string, number>;
    expect(stats.txPackets).toBe(1);
    expect(stats.txBytes).toBe(20 + 8 + 56);
    expect(stats.txDropped).toBe(0);
    expect(stats.rxPackets).toBeGreaterThanOrEqual(1);
    expect(stats.rxBytes).toBeGreaterThanOrEqual(84);
  });

  it('a device with IFF_VNET_HDR ({offloads: true}) carries the same plain packets through start()/write()', async () => {
    const r = await runChild('echo-vnet');
    expect(r.ok, String(r.error)).toBe(true);
    expect(r.offloads).toBe(true);
    const sent = r.sent as { id: number; seq: number; dataHex: string };
    expect(r.reply).toEqual({ src: '10.99.0.1', dst: '10.99.0.2', id: sent.id, seq: sent.seq, dataHex: sent.dataHex });
    const stats = r.stats as Record<string, number>;
    expect(stats.txBytes).toBe(20 + 8 + 56); // the 10-byte header is not counted as packet bytes
    expect(stats.txDropped).toBe(0);
  });

  it('netconfig configured the device: MTU via SIOCGIFMTU, the connected route and the address list', async () => {
    const r = await runChild('echo');
    expect(r.mtu).toBe(1400);
    expect(r.route).toMatchObject({ dst: '10.99.0.2', dev: 'hwtun0', prefsrc: '10.99.0.1' });
    expect(r.addrs).toContainEqual(
      expect.objectContaining({ dev: 'hwtun0', family: 'inet', address: '10.99.0.1', prefixLen: 24, up: true, mtu: 1400 }),
    );
  });

  it('close() is idempotent, no packet arrives after close even mid-batch, write after close throws, the loop is released', async () => {
    // the child exits on its own only if close() released the poll handle
    const r = await runChild('close');
    expect(r.ok).toBe(true);
    expect(r.beforeClose).toBe(1);
    expect(r.afterClose).toBe(0);
    expect(r.rxPackets as number).toBeGreaterThan(1); // more replies were read than delivered
    expect(r.second).toBe('resolved');
    expect(r.writeError).toEqual({ message: 'TUN hwtun0: write after close', code: 'ERR_TUN_CLOSED' });
  });

  it.skipIf(!hasCapsh)('without CAP_NET_ADMIN, opening says EPERM and names the fix', async () => {
    const r = await runChild('perm', true);
    expect(r.ok).toBe(true);
    expect(r.code).toBe('EPERM');
    expect(r.syscall).toBe('ioctl(TUNSETIFF)');
    expect(r.message).toContain('needs CAP_NET_ADMIN: run as root, or grant it with `sudo setcap cap_net_admin+ep $(command -v node)`');
  });
});
