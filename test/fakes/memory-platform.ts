/**
 * The in-memory Platform (app/io/platform.ts) for one MemoryHost: TUN
 * devices are MemoryTuns that become the host's interfaces, sockets are the
 * host's MemoryUdpTransport / MemoryDatagram / MemoryRaw, `net` is the
 * host's MemoryNetConfig, link notifications come from MemoryLinkWatcher,
 * the clock is the net's MemoryClock and randomness is seeded (repeatable)
 * unless asked otherwise. runTool is refused (and recorded): drivers must
 * not need system tools in unit tests; pass `runTool` to script one.
 *
 * Everything the twins offer, from one import:
 *   import { MemoryNet, memoryPlatform, … } from '../../fakes/memory-platform.ts';
 */
import { randomBytes } from 'node:crypto';
import type { Instant } from '../../app/base/clock.ts';
import type { DatagramOptions, LinkWatchOptions, Platform } from '../../app/io/platform.ts';
import type { RawSocketOptions } from '../../app/io/raw-socket.ts';
import type { Link } from '../../app/mobility/inputs.ts';
import { MemoryClock as MemoryClockClass, type MemoryClock } from './memory-clock.ts';
import { MemoryLinkWatcher } from './memory-link-watcher.ts';
import type { MemoryHost } from './memory-net.ts';
import type { MemoryNetConfig } from './memory-netconfig.ts';
import { MemoryDatagram, MemoryRaw, MemoryUdpTransport } from './memory-sockets.ts';
import { MemoryTun } from './memory-tun.ts';

export { MemoryClock, type MemoryClockOptions } from './memory-clock.ts';
export { ALL_HOSTS, Masquerade, MemoryHost, MemoryLink, MemoryNet, SocketError, describePacket, rewrite, type AddInterfaceOptions, type LinkFilter, type MasqueradeOptions } from './memory-net.ts';
export { MemoryNetConfig, tableName, type Flow, type MemoryInterface, type MemoryRoute, type MemoryRule, type RouteDecision } from './memory-netconfig.ts';
export { MemoryDatagram, MemoryRaw, MemoryUdpTransport } from './memory-sockets.ts';
export { MemoryLinkWatcher, hostView } from './memory-link-watcher.ts';
export { MemoryTun } from './memory-tun.ts';

export interface MemoryPlatformOptions {
  /** seed of the repeatable random source (default 1); `crypto`: node's CSPRNG instead */
  seed?: number | 'crypto';
  /** scripted system tools (default: every call rejects) */
  runTool?: (cmd: string, args: readonly string[]) => Promise<string>;
}

export interface MemoryPlatform extends Platform {
  openTun(name: string): MemoryTun;
  openUdpTransport(localAddr: string): Promise<MemoryUdpTransport>;
  openDatagram(opts?: DatagramOptions): MemoryDatagram;
  openRaw(protocol: number, opts?: RawSocketOptions): MemoryRaw;
  watchLinks(onLink: (link: Link | null, eventAt: Instant) => void, opts?: LinkWatchOptions): MemoryLinkWatcher;
  /**
   * a device's ifindex and MTU ({} when the host has no such device): mip15's optional Platform.linkInfo
   * (always there; declared optional as Platform declares it, so `if (p.linkInfo)` in tests stays valid)
   */
  linkInfo?(dev: string): { ifindex?: number; mtu?: number };
  readonly host: MemoryHost;
  readonly clock: MemoryClock;
  readonly net: MemoryNetConfig;
  /** the TUN devices opened, by name (the latest one of each name) */
  readonly tuns: Map<string, MemoryTun>;
  /** every socket and watcher opened, for assertions (closed ones included) */
  readonly opened: { udp: MemoryUdpTransport[]; datagrams: MemoryDatagram[]; raw: MemoryRaw[]; watchers: MemoryLinkWatcher[] };
  /** every runTool call */
  readonly toolCalls: Array<{ cmd: string; args: readonly string[] }>;
}

/** xorshift128+: repeatable bytes for tests (never for real keys) */
function seededRandom(seed: number): (n: number) => Uint8Array {
  let s0 = (seed ^ 0x9e3779b9) >>> 0 || 1;
  let s1 = Math.imul(seed, 0x85ebca6b) >>> 0 || 2;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let x = s0;
      const y = s1;
      s0 = y;
      x ^= x << 23;
      x ^= x >>> 17;
      x ^= y ^ (y >>> 26);
      s1 = x >>> 0;
      out[i] = (s0 + s1) & 0xff;
    }
    return out;
  };
}

/** `clock`, when given, must be the host's net's clock (the one its timers and deliveries run on). */
export function memoryPlatform(host: MemoryHost, opts?: MemoryPlatformOptions): MemoryPlatform;
export function memoryPlatform(host: MemoryHost, clock: MemoryClock, opts?: MemoryPlatformOptions): MemoryPlatform;
export function memoryPlatform(host: MemoryHost, a?: MemoryClock | MemoryPlatformOptions, b?: MemoryPlatformOptions): MemoryPlatform {
  const clock = host.net.clock;
  if (a instanceof MemoryClockClass && a !== clock) throw new Error('memoryPlatform: the clock must be the MemoryNet\'s (new MemoryNet(clock))');
  const opts: MemoryPlatformOptions = (a instanceof MemoryClockClass ? b : a) ?? {};
  const tuns = new Map<string, MemoryTun>();
  const opened: MemoryPlatform['opened'] = { udp: [], datagrams: [], raw: [], watchers: [] };
  const toolCalls: MemoryPlatform['toolCalls'] = [];
  const random = opts.seed === 'crypto' ? (n: number) => new Uint8Array(randomBytes(n)) : seededRandom(opts.seed ?? 1);
  return {
    host, clock, tuns, opened, toolCalls,
    net: host.config,
    random,
    openTun(name) {
      // like the kernel's TUNSETIFF on a name in use by another device
      if (host.config.interfaces.has(name)) throw Object.assign(new Error(`TUNSETIFF ${name}: Device or resource busy`), { code: 'EBUSY' });
      const tun = new MemoryTun(name);
      host.addTun(tun);
      tuns.set(name, tun);
      return tun;
    },
    openUdpTransport(localAddr) {
      try {
        const t = new MemoryUdpTransport(host, localAddr);
        opened.udp.push(t);
        return Promise.resolve(t);
      } catch (e) {
        return Promise.reject(e as Error);
      }
    },
    openDatagram(o) {
      const d = new MemoryDatagram(host, o);
      opened.datagrams.push(d);
      return d;
    },
    openRaw(protocol, o) {
      const r = new MemoryRaw(host, protocol, o);
      opened.raw.push(r);
      return r;
    },
    watchLinks(onLink, o) {
      const w = new MemoryLinkWatcher(host, onLink, o);
      opened.watchers.push(w);
      return w;
    },
    sourceTowards(dst) {
      const d = host.config.decide({ dst });
      return Promise.resolve(d.kind === 'local' ? dst : d.kind === 'unicast' ? d.prefsrc : undefined);
    },
    deviceOf: (addr) => host.config.deviceOf(addr),
    linkInfo(dev) {
      const i = host.config.interfaces.get(dev);
      return i ? { ifindex: i.ifindex, mtu: i.mtu } : {};
    },
    runTool(cmd, args) {
      toolCalls.push({ cmd, args: [...args] });
      if (opts.runTool) return opts.runTool(cmd, args);
      return Promise.reject(new Error(`runTool(${cmd} ${args.join(' ')}): no system tools in the memory platform`));
    },
  };
}
