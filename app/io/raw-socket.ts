/**
 * Raw IPv4 sockets (native addon target `raw_socket`, native-tunnel/src/raw_socket.cc):
 * the user-space Mobile IP tunnels (protocol 4 IP-in-IP, 47 GRE, 55 minimal)
 * and ICMP agent advertisements/solicitations (protocol 1).
 *
 * Received packets include the IPv4 header. Sending without `hdrincl` gives
 * the payload to the kernel, which adds the IPv4 header (source chosen by
 * routing); with `hdrincl` the caller sends the whole packet, outer header
 * included (needed when the outer source must be a specific address).
 */
import { createRequire } from 'node:module';

export interface RawSocketOptions {
  hdrincl?: boolean;
  /** SO_BINDTODEVICE (CAP_NET_ADMIN). */
  device?: string;
  ttl?: number;
  multicastTtl?: number;
}

export interface RawSocket {
  readonly protocol: number;
  /** One handler; packets are whole IPv4 datagrams. */
  onPacket(handler: (pkt: Uint8Array) => void): void;
  /** false when the kernel had no buffer space (the packet is dropped and counted). */
  send(payload: Uint8Array, dst: string): boolean;
  joinMulticast(group: string, ifaddr: string): void;
  close(): void;
  readonly stats: { rxPackets: number; txPackets: number; txDropped: number };
}

interface NativeRawSocket {
  readonly name: string;
  start(cb: (pkt: Buffer) => void): void;
  send(payload: Uint8Array, dst: string): number;
  joinMulticast(group: string, ifaddr: string): void;
  close(): void;
}

type NativeCtor = new (protocol: number, opts?: RawSocketOptions) => NativeRawSocket;

let ctor: NativeCtor | undefined;

/** HOMEWARD_RAW_ADDON may point at a raw_socket.node built elsewhere (the lab builds one when the tree has none). */
function loadNative(): NativeCtor {
  if (ctor) return ctor;
  const require = createRequire(import.meta.url);
  const path = process.env.HOMEWARD_RAW_ADDON ?? '../../native-tunnel/build/Release/raw_socket.node';
  try {
    ctor = (require(path) as { RawSocket: NativeCtor }).RawSocket;
  } catch (e) {
    throw new Error(`the raw-socket addon is not built (${(e as Error).message}); run npm ci or node-gyp rebuild --directory native-tunnel`, { cause: e });
  }
  return ctor;
}

export function openRawSocket(protocol: number, opts: RawSocketOptions = {}): RawSocket {
  const Native = loadNative();
  const sock = new Native(protocol, opts);
  const stats = { rxPackets: 0, txPackets: 0, txDropped: 0 };
  let closed = false;
  let started = false;
  return {
    protocol,
    stats,
    onPacket(handler) {
      if (started) throw new Error('RawSocket.onPacket: a handler is already registered');
      started = true;
      sock.start((pkt) => {
        stats.rxPackets++;
        handler(new Uint8Array(pkt.buffer, pkt.byteOffset, pkt.byteLength));
      });
    },
    send(payload, dst) {
      if (closed) throw new Error('RawSocket.send: socket is closed');
      const n = sock.send(payload, dst);
      if (n < 0) {
        stats.txDropped++;
        return false;
      }
      stats.txPackets++;
      return true;
    },
    joinMulticast(group, ifaddr) {
      sock.joinMulticast(group, ifaddr);
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}

/**
 * A TUN device (IFF_TUN | IFF_NO_PI) on the same addon, shaped like the
 * engine's TunDevice (app/io/tun-device.ts). A stop-gap so the Mobile IP data
 * path and the reference agents run before the TUN addon is in the tree.
 */
export interface RawTun {
  readonly name: string;
  onPacket(handler: (pkt: Uint8Array) => void): void;
  write(pkt: Uint8Array): void;
  close(): Promise<void>;
  readonly stats: { rxPackets: number; txPackets: number; rxBytes: number; txBytes: number; txDropped: number };
}

export function openRawTun(name: string): RawTun {
  const Native = loadNative();
  const dev = new Native(0, { tun: name } as RawSocketOptions);
  const stats = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, txDropped: 0 };
  let closed = false;
  return {
    name: dev.name,
    stats,
    onPacket(handler) {
      dev.start((pkt) => {
        stats.rxPackets++;
        stats.rxBytes += pkt.length;
        handler(new Uint8Array(pkt.buffer, pkt.byteOffset, pkt.byteLength));
      });
    },
    write(pkt) {
      if (closed) throw new Error(`TUN ${dev.name}: write after close`);
      const n = (dev.send as (p: Uint8Array) => number)(pkt);
      if (n < 0) stats.txDropped++;
      else {
        stats.txPackets++;
        stats.txBytes += pkt.length;
      }
    },
    close() {
      if (!closed) {
        closed = true;
        dev.close();
      }
      return Promise.resolve();
    },
  };
}
