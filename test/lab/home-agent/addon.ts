/**
 * Makes sure the native addons (native-tunnel: homeward_tun, raw_socket, ha_forward) are
 * built and not older than their sources before a lab test starts processes
 * that load them. `npm ci` builds them; this only catches a stale or missing
 * build while developing. Two vitest workers may ask at once: a lock
 * directory serialises the build.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from '../harness/exec.ts';

const NATIVE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../native-tunnel');
const OUTPUTS = ['homeward_tun.node', 'raw_socket.node', 'ha_forward.node'].map((f) => join(NATIVE, 'build/Release', f));
const LOCK = '/tmp/homeward-native-build.lock';
const NODE_GYP = '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js';

function fresh(): boolean {
  if (!OUTPUTS.every((o) => existsSync(o))) return false;
  const sources = [join(NATIVE, 'binding.gyp'), ...readdirSync(join(NATIVE, 'src')).map((f) => join(NATIVE, 'src', f))];
  const newestSource = Math.max(...sources.map((s) => statSync(s).mtimeMs));
  return Math.min(...OUTPUTS.map((o) => statSync(o).mtimeMs)) >= newestSource;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 300_000) rmdirSync(LOCK); // left by a crash
      if (Date.now() > deadline) throw new Error(`native build lock ${LOCK} held too long`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmdirSync(LOCK);
  }
}

/** Builds the addons if needed; returns the environment for processes that load them. */
export async function rawAddonEnv(): Promise<NodeJS.ProcessEnv> {
  if (!fresh()) {
    await withLock(async () => {
      if (fresh()) return;
      const nodedir = existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
      const gyp = existsSync(NODE_GYP) ? [NODE_GYP] : [join(NATIVE, '../node_modules/.bin/node-gyp')];
      await runOk(process.execPath, [...gyp, 'rebuild', '--directory', NATIVE, ...nodedir], { timeoutMs: 240_000 });
    });
  }
  return { ...process.env };
}
