/**
 * UDP sockets on every local address the VPN may use (MOBIKE), looking like
 * one transport: a send goes out of the sockets bound to its `local.addr`;
 * datagrams are reported with the first address's port numbers (the IKE
 * core knows one IKE port and one NAT-T port).
 */
import type { Datagram, Transmit } from '../ikev2/types.ts';
import type { NattHandle, UdpTransport } from './udp-transport.ts';

export class UdpPool implements UdpTransport {
  private readonly byAddr = new Map<string, UdpTransport>();
  private readonly opening = new Map<string, Promise<void>>();
  private handler?: (d: Datagram) => void;
  readonly stats = { rx: 0, tx: 0, txErrors: 0 };

  /** `open`: the sockets of another local address (Platform.openUdpTransport). */
  constructor(private readonly first: UdpTransport, private readonly open: (addr: string) => Promise<UdpTransport>) {
    this.adopt(first);
  }

  get localAddr(): string {
    return this.first.localAddr;
  }

  get ikePort(): number {
    return this.first.ikePort;
  }

  get nattPort(): number {
    return this.first.nattPort;
  }

  has(addr: string): boolean {
    return this.byAddr.has(addr);
  }

  addresses(): string[] {
    return [...this.byAddr.keys()];
  }

  /** Sockets on this address too (joins an open already under way). */
  async add(addr: string): Promise<void> {
    if (this.byAddr.has(addr)) return;
    const pending = this.opening.get(addr) ?? this.open(addr).then((t) => this.adopt(t));
    this.opening.set(addr, pending);
    try {
      await pending;
    } finally {
      this.opening.delete(addr);
    }
  }

  private adopt(t: UdpTransport): void {
    this.byAddr.set(t.localAddr, t);
    t.onDatagram((d) => {
      this.stats.rx++;
      const port = d.local.port === t.nattPort ? this.nattPort : this.ikePort;
      this.handler?.({ ...d, local: { addr: d.local.addr, port } });
    });
  }

  /** Closes the sockets of this address (never the first's). */
  remove(addr: string): void {
    const t = this.byAddr.get(addr);
    if (!t || t === this.first) return;
    this.byAddr.delete(addr);
    t.close();
  }

  onDatagram(h: (d: Datagram) => void): void {
    this.handler = h;
  }

  send(t: Transmit): void {
    const u = this.byAddr.get(t.local.addr);
    if (!u) {
      this.stats.txErrors++;
      return;
    }
    this.stats.tx++;
    u.send({ ...t, local: { addr: t.local.addr, port: t.local.port === this.nattPort ? u.nattPort : u.ikePort } });
  }

  /** The NAT-T socket of one local address, for the native data plane (undefined: none, or no descriptor). */
  nattOf(addr: string): NattHandle | undefined {
    return this.byAddr.get(addr)?.natt?.();
  }

  close(): void {
    for (const t of this.byAddr.values()) t.close();
    this.byAddr.clear();
  }
}
