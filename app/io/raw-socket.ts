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
import { loadRawSocketAddon } from '../../native-tunnel/index.ts';

export interface RawSocketOptions {
  hdrincl?: boolean;
  /** SO_BINDTODEVICE (CAP_NET_ADMIN). */
  device?: string;
  ttl?: number;
  multicastTtl?: number;
  /** IP_PKTINFO: each packet comes with the index of the device it arrived on. */
  pktinfo?: boolean;
}

export interface RawSocket {
  readonly protocol: number;
  /** The descriptor (-1 once closed), for a native reader that takes over instead of onPacket (absent in fakes). */
  readonly fd?: number;
  /** One handler; packets are whole IPv4 datagrams; `ifindex` is the arrival device with `pktinfo` (0 otherwise). */
  onPacket(handler: (pkt: Uint8Array, ifindex: number) => void): void;
  /** false when the packet was dropped (and counted): no buffer space, too big, or no route right now. */
  send(payload: Uint8Array, dst: string): boolean;
  /** Many packets in one system call (sendmmsg): payloads[i] to dsts[i]; how many the kernel took (the rest counted dropped). */
  sendBatch?(payloads: Uint8Array[], dsts: string[]): number;
  /**
   * With `hdrincl`: packets i < count at slab[i * stride], lengths[i] bytes each, each to the
   * destination of its own IPv4 header, in one sendmmsg per 64 — for a sender that builds its
   * packets in one preallocated buffer (no array, string or allocation per packet). How many the kernel took.
   */
  sendSlots?(slab: Uint8Array, stride: number, lengths: Uint32Array, count: number): number;
  joinMulticast(group: string, ifaddr: string): void;
  close(): void;
  readonly stats: { rxPackets: number; txPackets: number; txDropped: number };
}

interface NativeRawSocket {
  readonly fd: number;
  /** one call per readiness event: the packets (views of one buffer) and their arrival devices */
  start(cb: (pkts: Uint8Array[], ifindexes: Int32Array) => void): void;
  send(payload: Uint8Array, dst: string): number;
  sendMany(payloads: Uint8Array[], dsts: string[]): number;
  sendSlots(slab: Uint8Array, stride: number, lengths: Uint32Array, count: number): number;
  joinMulticast(group: string, ifaddr: string): void;
  close(): void;
}

type NativeCtor = new (protocol: number, opts?: RawSocketOptions) => NativeRawSocket;
interface NativeAddon {
  RawSocket: NativeCtor;
  udpSocket(address: string, device?: string): number;
  bindToDevice(fd: number, device: string): void;
}

let addon: NativeAddon | undefined;

function loadAddon(): NativeAddon {
  addon ??= loadRawSocketAddon() as NativeAddon;
  return addon;
}

function loadNative(): NativeCtor {
  return loadAddon().RawSocket;
}

/**
 * A UDP socket descriptor bound to `address`:0 and, when given, to `device`
 * (SO_BINDTODEVICE: it then receives only what arrives on that device) — for
 * node's `dgram` `bind({ fd })`, which has no device binding of its own.
 */
export function openUdpSocketFd(address: string, device?: string): number {
  return device === undefined ? loadAddon().udpSocket(address) : loadAddon().udpSocket(address, device);
}

/** Moves a descriptor from openUdpSocketFd to another device ("" removes the binding). */
export function bindSocketToDevice(fd: number, device: string): void {
  loadAddon().bindToDevice(fd, device);
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
    get fd() {
      return sock.fd;
    },
    onPacket(handler) {
      if (started) throw new Error('RawSocket.onPacket: a handler is already registered');
      started = true;
      sock.start((pkts, ifindexes) => {
        for (let i = 0; i < pkts.length && !closed; i++) {
          stats.rxPackets++;
          handler(pkts[i]!, ifindexes[i]!);
        }
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
    sendBatch(payloads, dsts) {
      if (closed) throw new Error('RawSocket.sendBatch: socket is closed');
      const n = payloads.length === 0 ? 0 : sock.sendMany(payloads, dsts);
      stats.txPackets += n;
      stats.txDropped += payloads.length - n;
      return n;
    },
    sendSlots(slab, stride, lengths, count) {
      if (closed) throw new Error('RawSocket.sendSlots: socket is closed');
      const n = count === 0 ? 0 : sock.sendSlots(slab, stride, lengths, count);
      stats.txPackets += n;
      stats.txDropped += count - n;
      return n;
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
