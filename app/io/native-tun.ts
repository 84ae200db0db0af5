/**
 * TunDevice on the native addon (native-tunnel/src/tun.cc): reads are driven
 * by a libuv poll handle on the non-blocking descriptor and arrive in batches;
 * writes that find the descriptor full wait in a bounded queue.
 */
import { loadTunAddon, type NativeTun } from '../../native-tunnel/index.ts';
import type { TunDevice, TunStats } from './tun-device.ts';

export class NativeTunDevice implements TunDevice {
  private readonly dev: NativeTun;
  private started = false;
  private closed = false;
  private lastErrorValue: Error | undefined;

  constructor(name: string, opts: { offloads?: boolean } = {}) {
    const Tun = loadTunAddon();
    this.dev = new Tun(name, { offloads: opts.offloads === true });
  }

  /** The device has IFF_VNET_HDR (the native data plane turns TSO on while it owns the descriptor). */
  get offloads(): boolean {
    return this.dev.offloads;
  }

  get name(): string {
    return this.dev.name;
  }

  /** The descriptor, for the native data plane (app/io/native-esp-path.ts), which then reads and writes it instead of onPacket/write. */
  get fd(): number {
    return this.dev.fd;
  }

  /** false: the native data plane reads the descriptor (mode mc's Mobile IP pass), the handler gets nothing; true: read again. */
  setReading(on: boolean): void {
    if (!this.closed) this.dev.setReading(on);
  }

  get stats(): TunStats {
    const s = this.dev.stats();
    return { rxPackets: s.rxPackets, txPackets: s.txPackets, rxBytes: s.rxBytes, txBytes: s.txBytes, txDropped: s.txDropped };
  }

  /** Packets waiting for the kernel to accept them. */
  get txQueued(): number {
    return this.dev.stats().txQueued;
  }

  /** The error that stopped reading, if any. */
  get lastError(): Error | undefined {
    return this.lastErrorValue;
  }

  onPacket(handler: (pkt: Uint8Array) => void, onError?: (err: Error) => void): void {
    if (this.closed) throw new Error(`TUN ${this.name}: onPacket after close`);
    if (this.started) throw new Error(`TUN ${this.name}: a packet handler is already registered`);
    this.started = true;
    this.dev.start(
      (batch) => {
        for (const pkt of batch) {
          if (this.closed) return; // the handler closed the device mid-batch
          handler(pkt);
        }
      },
      (err) => {
        this.lastErrorValue = err;
        onError?.(err);
      },
    );
  }

  write(pkt: Uint8Array): void {
    if (this.closed) {
      throw Object.assign(new Error(`TUN ${this.name}: write after close`), { code: 'ERR_TUN_CLOSED' });
    }
    this.dev.write(pkt); // drops are counted by the addon (stats.txDropped)
  }

  mtu(): number {
    return this.dev.mtu();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.dev.close();
    }
    return Promise.resolve();
  }
}

/** Opens (creates) a TUN device; `name` may be a pattern such as "hw%d". Needs CAP_NET_ADMIN. */
export function openTun(name: string, opts?: { offloads?: boolean }): NativeTunDevice {
  return new NativeTunDevice(name, opts);
}
