/**
 * Can lab tests run here? Checked synchronously so that test files can write
 *
 *   const avail = labAvailable({ need: ['strongswan', 'tshark'] });
 *   if (!avail.ok) console.warn(skipLine('smoke', avail));
 *   describe.skipIf(!avail.ok)('...', () => { ... });
 *
 * CI runs as root with every package installed, so there nothing is skipped.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { CHARON } from './strongswan.ts';

/** The interpreter that has python3-scapy (a pyenv shim on PATH may not). */
export const PYTHON = '/usr/bin/python3';

export type LabNeed = 'strongswan' | 'tcpdump' | 'tshark' | 'scapy' | 'openssl' | 'iptables' | 'freeradius';

export interface LabAvailability {
  ok: boolean;
  reason?: string;
}

const cache = new Map<string, LabAvailability>();

export function labAvailable(opts: { need?: LabNeed[] } = {}): LabAvailability {
  const key = [...(opts.need ?? [])].sort().join(',');
  const hit = cache.get(key);
  if (hit) return hit;
  const result = check(opts.need ?? []);
  cache.set(key, result);
  return result;
}

/** One line for the test log saying why a lab file is skipped. */
export function skipLine(what: string, a: LabAvailability): string {
  return `[lab] ${what}: skipped: ${a.reason ?? 'unknown reason'}`;
}

function check(need: LabNeed[]): LabAvailability {
  if (process.platform !== 'linux') return { ok: false, reason: `needs Linux, this is ${process.platform}` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'needs root (network namespaces); run the lab tests as root' };
  }
  const probe = `hwprobe${process.pid.toString(16)}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
  } catch (e) {
    return { ok: false, reason: `"ip netns add" fails: ${firstLine(e)}` };
  } finally {
    try { execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' }); } catch { /* not created */ }
  }
  for (const n of need) {
    const missing = missingTool(n);
    if (missing) return { ok: false, reason: missing };
  }
  return { ok: true };
}

function missingTool(n: LabNeed): string | undefined {
  const tryRun = (cmd: string, args: string[], pkg: string): string | undefined => {
    try {
      execFileSync(cmd, args, { stdio: 'pipe', timeout: 20_000 });
      return undefined;
    } catch (e) {
      return `${cmd} not usable (install ${pkg}): ${firstLine(e)}`;
    }
  };
  switch (n) {
    case 'strongswan':
      try { accessSync(CHARON, constants.X_OK); } catch { return `${CHARON} missing (install strongswan-charon)`; }
      // (swanctl --version needs a running daemon: look for the binary instead)
      return onPath('swanctl') ? undefined : 'swanctl missing (install strongswan-swanctl)';
    case 'tcpdump': return tryRun('tcpdump', ['--version'], 'tcpdump');
    case 'tshark': return tryRun('tshark', ['--version'], 'tshark');
    case 'scapy': return tryRun(PYTHON, ['-c', 'import scapy.contrib.ikev2'], 'python3-scapy');
    case 'openssl': return tryRun('openssl', ['version'], 'openssl');
    case 'iptables': return tryRun('iptables', ['-V'], 'iptables');
    case 'freeradius': return onPath('freeradius') ? undefined : 'freeradius missing (install freeradius)';
  }
}

function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  return dirs.some((d) => {
    try { accessSync(`${d}/${cmd}`, constants.X_OK); return true; } catch { return false; }
  });
}

function firstLine(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string };
  const text = (err.stderr ? err.stderr.toString() : '') || err.message || String(e);
  return text.trim().split('\n')[0] ?? '';
}
