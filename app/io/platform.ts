/**
 * The operating system as the engine and its drivers see it (wireguard-go's
 * tun.Device / conn.Bind): everything they need from the outside world goes
 * through one `Platform` value passed in at construction — TUN devices, UDP
 * and raw sockets, network configuration, link notifications, the clock and
 * randomness. app/io/platform-linux.ts is the real one; test/fakes/ holds the
 * in-memory twins (MemoryTun, MemoryUdp on a simulated network, a manual
 * clock) that let unit tests drive the drivers without root.
 *
 * A driver never imports node:dgram, node:child_process, the native addon or
 * performance.now() itself: it asks its Platform.
 */
import type { Instant } from '../base/clock.ts';
import type { Link } from '../mobility/inputs.ts';
import type { AddressInfo, NetOp, RouteLookup, RouteSpec, RuleSpec } from './netconfig.ts';
import type { RawSocket, RawSocketOptions } from './raw-socket.ts';
import type { TunDevice } from './tun-device.ts';
import type { UdpTransport } from './udp-transport.ts';

/** One re-armable deadline (js-quic's setConnTimeoutTimer): arm(at) replaces the previous one; undefined disarms. */
export interface PlatformTimer {
  arm(at: Instant | undefined): void;
  stop(): void;
}

export interface PlatformClock {
  /** monotonic milliseconds */
  now(): Instant;
  /** wall-clock milliseconds since the epoch (certificate validity, registration identification) */
  wallNow(): number;
  /**
   * CLOCK_BOOTTIME in milliseconds: like now() but it also counts the time the
   * machine was suspended (now() stops then). The engine compares the two to
   * notice a suspend (app/base/liveness.ts ResumeDetector).
   */
  bootNow(): Instant;
  /** a timer that calls `onFire` once its armed deadline has passed on this clock */
  timer(onFire: () => void): PlatformTimer;
}

export interface DatagramOptions {
  /** local address to bind (default: any) */
  address?: string;
  /** local port (default: an ephemeral one) */
  port?: number;
  /** SO_BINDTODEVICE: send and receive only through this device */
  device?: string;
}

export interface DatagramPeer {
  address: string;
  port: number;
}

/** A plain UDP socket (Mobile IP registration, detection probes, RFC 3519 tunnel data). */
export interface DatagramSocket {
  /** the bound local address and port; port 0 until the bind completed */
  local(): DatagramPeer;
  /** resolves once bound (sends before that are queued) */
  readonly bound: Promise<void>;
  onMessage(handler: (bytes: Uint8Array, from: DatagramPeer) => void): void;
  /** errors after the bind (send failures, the address going away) */
  onError(handler: (e: Error) => void): void;
  send(bytes: Uint8Array, to: DatagramPeer): void;
  close(): void;
  /**
   * The device the socket is bound to (SO_BINDTODEVICE) — undefined when the
   * binding asked for in DatagramOptions could not be made. Absent: the one
   * asked for.
   */
  boundDevice?(): string | undefined;
  /** Moves the device binding ("" removes it); absent when the socket cannot be moved (open a new one). */
  bindToDevice?(device: string): void;
}

/** The network configuration a driver may change or read (app/io/netconfig.ts's NetConfig). */
export interface NetConfigPort {
  linkUp(dev: string): Promise<void>;
  linkDown(dev: string): Promise<void>;
  setMtu(dev: string, mtu: number): Promise<void>;
  addAddress(dev: string, cidr: string, opts?: { peer?: string }): Promise<void>;
  delAddress(dev: string, cidr: string, opts?: { peer?: string }): Promise<void>;
  addRoute(r: RouteSpec): Promise<void>;
  replaceRoute(r: RouteSpec): Promise<void>;
  delRoute(r: RouteSpec): Promise<void>;
  flushTable(table: number | string): Promise<void>;
  addRule(r: RuleSpec): Promise<void>;
  delRule(r: RuleSpec): Promise<void>;
  /** add unless an identical rule is there already */
  ensureRule(r: RuleSpec): Promise<void>;
  /** deletes every rule at this preference; resolves how many went */
  delRulesAt(pref: number, family?: 6): Promise<number>;
  /** false when there was no such link */
  delLink(dev: string): Promise<boolean>;
  copyRoutes(dev: string, from: number | string, to: number | string): Promise<void>;
  /** several changes at once, in order (iproute2: one `ip -batch` process); `mayFail` steps may fail */
  batch(ops: readonly NetOp[]): Promise<void>;
  getRoute(dst: string): Promise<RouteLookup>;
  listAddresses(dev?: string): Promise<AddressInfo[]>;
  /** every interface's name, with an address or not */
  listLinks(): Promise<string[]>;
}

export interface LinkWatchOptions {
  /** interfaces never to treat as an access link (our TUNs) */
  exclude?: string[];
  /** debounce a burst: wait this long after its last notification (default 0: read at the first) */
  quietMs?: number;
  /** …but never longer than this after its first (default 0) */
  maxDelayMs?: number;
  /** re-read the kernel's view this often even without notifications (0: never) */
  pollMs?: number;
  /** call the handler after every settled burst, not only when the primary link changed */
  everyBurst?: boolean;
}

/** Primary-link notifications (app/io/net-monitor.ts on Linux). */
export interface LinkWatcher {
  /** starts watching; resolves the primary link at that moment */
  start(): Promise<Link | null>;
  readonly link: Link | null;
  excludeInterface(name: string): void;
  close(): void;
}

export interface Platform {
  readonly clock: PlatformClock;
  random(n: number): Uint8Array;
  /** offloads: the device carries a virtio_net_hdr (IFF_VNET_HDR) so that the native data plane can use TSO and coalesced writes; reads and writes through the TunDevice stay plain packets. */
  openTun(name: string, opts?: { offloads?: boolean }): TunDevice;
  /** the IKE (500) and NAT-T (4500) pair on a local address (app/io/udp-transport.ts) */
  openUdpTransport(localAddr: string): Promise<UdpTransport>;
  openDatagram(opts?: DatagramOptions): DatagramSocket;
  openRaw(protocol: number, opts?: RawSocketOptions): RawSocket;
  readonly net: NetConfigPort;
  /** `routes`: the link's own routes in main, from the read that found it (the access link's rules need no read then) */
  watchLinks(onLink: (link: Link | null, eventAt: Instant, routes?: readonly RouteSpec[]) => void, opts?: LinkWatchOptions): LinkWatcher;
  /** the source address the host would use towards `dst` (undefined: no route) */
  sourceTowards(dst: string): Promise<string | undefined>;
  /** the device that holds this local address (undefined: none) */
  deviceOf(addr: string): string | undefined;
  /** runs a system tool with an argument array (never a shell); resolves stdout */
  runTool(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /**
   * A device's interface index and MTU (each absent when unknown). Optional:
   * without it a driver knows neither (tunnelled packets cannot be matched to
   * their arrival device, and no "fragmentation needed" is answered).
   */
  linkInfo?(dev: string): { ifindex?: number; mtu?: number };
}
