/**
 * The native TUN addon (src/tun.cc, target `homeward_tun`), typed.
 *
 * Low level: app/io/native-tun.ts wraps it into the engine's TunDevice.
 * Only app/io may import this module (an ESLint rule keeps the cores out).
 */
import { createRequire } from 'node:module';

export interface NativeTunStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  /** packets waiting for the descriptor to become writable */
  txQueued: number;
}

/** Thrown by the addon for a failed system call. */
export interface NativeTunError extends Error {
  /** errno name, e.g. 'EPERM'; 'ERR_TUN_CLOSED' for a write after close */
  code: string;
  errno?: number;
  syscall?: string;
}

export interface NativeTun {
  /** The kernel's name for the device (a pattern such as "hw%d" resolved). */
  readonly name: string;
  readonly closed: boolean;
  /** Start reading: one call per readiness event with up to 64 packets. */
  start(onPackets: (batch: Uint8Array[]) => void, onError?: (err: NativeTunError) => void): void;
  /** 1 written, 0 queued until writable, negative errno when dropped (-EAGAIN: queue full). */
  write(pkt: Uint8Array): number;
  mtu(): number;
  stats(): NativeTunStats;
  /** Idempotent; no callback runs afterwards. */
  close(): void;
}

export type NativeTunCtor = new (name: string) => NativeTun;

export const ADDON_PATH = './build/Release/homeward_tun.node';

let cached: NativeTunCtor | undefined;

/** Loads the addon once; a clear error when it has not been built. */
export function loadTunAddon(): NativeTunCtor {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let mod: { Tun?: NativeTunCtor };
  try {
    mod = require(ADDON_PATH) as { Tun?: NativeTunCtor };
  } catch (e) {
    throw new Error(
      `the TUN addon native-tunnel/build/Release/homeward_tun.node is not built (${(e as Error).message}); ` +
        'run npm ci, or `npm run build:native` (node-gyp rebuild --directory native-tunnel)',
      { cause: e },
    );
  }
  if (typeof mod.Tun !== 'function') throw new Error('the TUN addon does not export Tun; rebuild it with `npm run build:native`');
  cached = mod.Tun;
  return cached;
}

/** The raw-socket addon (src/raw_socket.cc, target `raw_socket`), wrapped by app/io/raw-socket.ts. */
export const RAW_ADDON_PATH = './build/Release/raw_socket.node';

export function loadRawSocketAddon(): unknown {
  const require = createRequire(import.meta.url);
  try {
    return require(RAW_ADDON_PATH);
  } catch (e) {
    throw new Error(
      `the raw-socket addon native-tunnel/build/Release/raw_socket.node is not built (${(e as Error).message}); ` +
        'run npm ci, or `npm run build:native` (node-gyp rebuild --directory native-tunnel)',
      { cause: e },
    );
  }
}
