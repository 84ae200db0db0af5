/**
 * The Linux Platform (app/io/platform.ts): node's dgram, our native addon
 * (TUN, raw sockets, device-bound UDP descriptors), iproute2 for the network
 * configuration and `ip monitor` for link notifications, performance.now()
 * and node's CSPRNG.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Instant } from '../base/clock.ts';
import { openTun } from './native-tun.ts';
import { NetMonitor } from './net-monitor.ts';
import { NetConfig, runTool } from './netconfig.ts';
import type { DatagramOptions, DatagramPeer, DatagramSocket, Platform } from './platform.ts';
import { bindSocketToDevice, openRawSocket, openUdpSocketFd } from './raw-socket.ts';
import { DriverTimer, bootTimeNow, monotonicNow } from './system-clock.ts';
import { openUdpTransport } from './udp-transport.ts';
import { literalLookup } from './literal-lookup.ts';

/** A dgram socket behind the DatagramSocket interface; `device` binds through the addon (SO_BINDTODEVICE). */
export function openNodeDatagram(opts: DatagramOptions = {}): DatagramSocket {
  // literalLookup: a registration request leaves inside send(), not after the handler's other work
  const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
  let onError: (e: Error) => void = () => undefined;
  let closed = false;
  const bound = new Promise<void>((resolve, reject) => {
    sock.once('listening', () => resolve());
    sock.once('error', reject);
  });
  bound.then(() => sock.on('error', (e) => onError(e)), () => undefined);
  let fd: number | undefined;
  if (opts.device !== undefined && opts.address !== undefined) {
    try {
      fd = openUdpSocketFd(opts.address, opts.device);
    } catch {
      fd = undefined; // not (yet) our address, or no right to bind to a device: node's own bind reports it
    }
  }
  if (fd !== undefined) sock.bind({ fd });
  else sock.bind(opts.port ?? 0, opts.address);
  let device = fd === undefined ? undefined : opts.device;
  const movable = fd === undefined ? {} : {
    bindToDevice(dev: string): void {
      try {
        bindSocketToDevice(fd, dev);
        device = dev === '' ? undefined : dev;
      } catch (e) {
        device = undefined;
        throw e;
      }
    },
  };
  return {
    ...movable,
    boundDevice: () => device,
    bound,
    local(): DatagramPeer {
      try {
        const a = sock.address();
        return { address: a.address, port: a.port };
      } catch {
        return { address: opts.address ?? '0.0.0.0', port: 0 };
      }
    },
    onMessage(h) {
      sock.on('message', (m, r) => h(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), { address: r.address, port: r.port }));
    },
    onError(h) {
      onError = h;
    },
    send(bytes, to) {
      if (closed) return;
      sock.send(bytes, to.port, to.address, (err) => {
        if (err) onError(err);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}

/** The source address the kernel would use towards `dst` (a connected UDP socket's local address). */
export function sourceAddressTowards(dst: string, port = 434): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {
      s.close();
      resolve(undefined);
    });
    s.connect(port, dst, () => {
      const a = s.address().address;
      s.close();
      resolve(a === '0.0.0.0' ? undefined : a);
    });
  });
}

export function deviceOfAddress(addr: string): string | undefined {
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (list?.some((a) => a.family === 'IPv4' && a.address === addr)) return name;
  }
  return undefined;
}

/** A number from /sys/class/net/<dev>/<what>; undefined when it cannot be read. */
function sysNet(dev: string, what: 'ifindex' | 'mtu'): number | undefined {
  try {
    const v = Number(readFileSync(`/sys/class/net/${dev}/${what}`, 'utf8').trim());
    return Number.isInteger(v) && v >= (what === 'mtu' ? 68 : 1) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function linkInfo(dev: string): { ifindex?: number; mtu?: number } {
  const ifindex = sysNet(dev, 'ifindex');
  const mtu = sysNet(dev, 'mtu');
  return { ...(ifindex === undefined ? {} : { ifindex }), ...(mtu === undefined ? {} : { mtu }) };
}

export function linuxPlatform(): Platform {
  return {
    clock: {
      now: (): Instant => monotonicNow(),
      wallNow: () => Date.now(),
      bootNow: bootTimeNow,
      timer: (onFire) => new DriverTimer(onFire),
    },
    random: (n) => new Uint8Array(randomBytes(n)),
    openTun,
    openUdpTransport,
    openDatagram: openNodeDatagram,
    openRaw: openRawSocket,
    net: new NetConfig(),
    watchLinks: (onLink, opts) => new NetMonitor(onLink, opts),
    sourceTowards: (dst) => sourceAddressTowards(dst),
    deviceOf: deviceOfAddress,
    runTool,
    linkInfo,
  };
}
