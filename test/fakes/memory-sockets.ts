/**
 * The sockets of a MemoryHost, behind the interfaces the drivers use:
 * MemoryUdpTransport (app/io/udp-transport.ts: the IKE 500 / NAT-T 4500
 * pair on one local address, an ephemeral port when one is taken; no
 * natt(): the native data plane is not simulated), MemoryDatagram
 * (DatagramSocket: a plain UDP socket, optionally bound to a device) and
 * MemoryRaw (RawSocket: a raw IPv4 socket of one protocol, with hdrincl,
 * a device binding, TTLs and IP_PKTINFO's arrival ifindex).
 *
 * Handlers run from MemoryNet.flush(), never inside the send that caused
 * them. Errors a real socket reports asynchronously (no route) arrive on
 * onError the same way.
 */
import type { Datagram, Transmit } from '../../app/ikev2/types.ts';
import type { DatagramOptions, DatagramPeer, DatagramSocket } from '../../app/io/platform.ts';
import type { RawSocket, RawSocketOptions } from '../../app/io/raw-socket.ts';
import { IKE_PORT, NATT_PORT, type UdpTransport } from '../../app/io/udp-transport.ts';
import { decodeIpv4Header, encodeIpv4 } from '../../app/wire/ip/ipv4-header.ts';
import { rewrite, SocketError, type MemoryHost } from './memory-net.ts';
import { isMulticast } from './memory-netconfig.ts';

export class MemoryUdpTransport implements UdpTransport {
  readonly stats = { rx: 0, tx: 0, txErrors: 0 };
  readonly ikePort: number;
  readonly nattPort: number;
  private handler: ((d: Datagram) => void) | undefined;
  private readonly ike;
  private readonly nattSock;
  private closed = false;

  constructor(
    private readonly host: MemoryHost,
    readonly localAddr: string,
  ) {
    const bindPreferred = (port: number, deliver: Parameters<MemoryHost['bindUdp']>[3]): ReturnType<MemoryHost['bindUdp']> => {
      try {
        return host.bindUdp(localAddr, port, undefined, deliver);
      } catch (e) {
        if ((e as SocketError).code !== 'EADDRINUSE') throw e;
        return host.bindUdp(localAddr, 0, undefined, deliver);
      }
    };
    const listen = (port: () => number) => (payload: Uint8Array, from: DatagramPeer): void => {
      if (this.closed) return;
      this.stats.rx++;
      this.handler?.({ bytes: payload, local: { addr: localAddr, port: port() }, remote: { addr: from.address, port: from.port } });
    };
    this.ike = bindPreferred(IKE_PORT, listen(() => this.ikePort));
    try {
      this.nattSock = bindPreferred(NATT_PORT, listen(() => this.nattPort));
    } catch (e) {
      host.unbindUdp(this.ike);
      throw e;
    }
    this.ikePort = this.ike.port;
    this.nattPort = this.nattSock.port;
  }

  onDatagram(handler: (d: Datagram) => void): void {
    this.handler = handler;
  }

  send(t: Transmit): void {
    if (this.closed) return;
    const s = t.local.port === this.nattPort ? this.nattSock : this.ike;
    this.stats.tx++;
    const r = this.host.sendUdp(s, t.bytes, { address: t.remote.addr, port: t.remote.port });
    if (!r.ok) this.stats.txErrors++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unbindUdp(this.ike);
    this.host.unbindUdp(this.nattSock);
  }
}

export class MemoryDatagram implements DatagramSocket {
  readonly bound: Promise<void>;
  private readonly binding;
  private messageHandlers: Array<(bytes: Uint8Array, from: DatagramPeer) => void> = [];
  private errorHandler: (e: Error) => void = () => undefined;
  private closed = false;
  /** every datagram sent, in order (for assertions) */
  readonly sent: Array<{ bytes: Uint8Array; to: DatagramPeer }> = [];

  constructor(
    private readonly host: MemoryHost,
    private readonly opts: DatagramOptions = {},
  ) {
    try {
      this.binding = host.bindUdp(opts.address ?? '0.0.0.0', opts.port ?? 0, opts.device, (payload, from) => {
        if (!this.closed) for (const h of this.messageHandlers) h(payload, from);
      });
      this.bound = Promise.resolve();
    } catch (e) {
      this.binding = undefined;
      this.bound = Promise.reject(e as Error);
      this.bound.catch(() => undefined);
    }
  }

  local(): DatagramPeer {
    return this.binding ? { address: this.binding.addr, port: this.binding.port } : { address: this.opts.address ?? '0.0.0.0', port: 0 };
  }

  /** the device the socket is bound to (SO_BINDTODEVICE), undefined when none (mip15's DatagramSocket.boundDevice) */
  boundDevice(): string | undefined {
    return this.binding?.device;
  }

  /** moves the device binding ("" removes it); a device the host lacks is ENODEV (mip15's DatagramSocket.bindToDevice) */
  bindToDevice(device: string): void {
    if (!this.binding) return;
    if (device !== '' && !this.host.config.interfaces.has(device)) throw new SocketError('ENODEV', `no device ${device} on ${this.host.name}`);
    this.binding.device = device === '' ? undefined : device;
  }

  onMessage(handler: (bytes: Uint8Array, from: DatagramPeer) => void): void {
    this.messageHandlers.push(handler);
  }

  onError(handler: (e: Error) => void): void {
    this.errorHandler = handler;
  }

  send(bytes: Uint8Array, to: DatagramPeer): void {
    if (this.closed || !this.binding) return;
    this.sent.push({ bytes: bytes.slice(), to });
    const r = this.host.sendUdp(this.binding, bytes, to);
    if (!r.ok && r.error) {
      const e = r.error;
      this.host.net.enqueue(() => this.errorHandler(e));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.binding) this.host.unbindUdp(this.binding);
  }
}

export class MemoryRaw implements RawSocket {
  readonly stats = { rxPackets: 0, txPackets: 0, txDropped: 0 };
  private handler: ((pkt: Uint8Array, ifindex: number) => void) | undefined;
  private readonly binding;
  private closed = false;

  constructor(
    private readonly host: MemoryHost,
    readonly protocol: number,
    private readonly opts: RawSocketOptions = {},
  ) {
    if (opts.device !== undefined && !host.config.interfaces.has(opts.device)) throw new SocketError('ENODEV', `no device ${opts.device} on ${host.name}`);
    this.binding = {
      protocol,
      device: opts.device,
      deliver: (pkt: Uint8Array, iface: { ifindex: number }): void => {
        if (this.closed || !this.handler) return;
        this.stats.rxPackets++;
        this.handler(pkt, opts.pktinfo ? iface.ifindex : 0);
      },
    };
    host.addRaw(this.binding);
  }

  onPacket(handler: (pkt: Uint8Array, ifindex: number) => void): void {
    if (this.handler) throw new Error('RawSocket.onPacket: a handler is already registered');
    this.handler = handler;
  }

  send(payload: Uint8Array, dst: string): boolean {
    if (this.closed) throw new Error('RawSocket.send: socket is closed');
    let pkt: Uint8Array;
    if (this.opts.hdrincl) {
      // the kernel fills in the total length and header checksum (and the source when 0.0.0.0); the
      // destination is the header's, as with a real IP_HDRINCL socket
      try {
        const h = decodeIpv4Header(payload, false);
        pkt = rewrite(payload, h, {});
      } catch {
        this.stats.txDropped++;
        return false;
      }
    } else {
      const ttl = isMulticast(dst) ? this.opts.multicastTtl ?? 1 : this.opts.ttl;
      pkt = encodeIpv4({ src: '0.0.0.0', dst, protocol: this.protocol, ...(ttl !== undefined ? { ttl } : {}) }, payload);
    }
    const r = this.host.output(pkt, this.opts.device);
    if (!r.ok) {
      this.stats.txDropped++;
      return false;
    }
    this.stats.txPackets++;
    return true;
  }

  joinMulticast(group: string, ifaddr: string): void {
    const dev = this.host.config.deviceOf(ifaddr);
    if (dev === undefined) throw new SocketError('EADDRNOTAVAIL', `${ifaddr} is not an address of ${this.host.name}`);
    this.host.joinGroup(group, dev);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.removeRaw(this.binding);
  }
}
