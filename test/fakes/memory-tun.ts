/**
 * In-memory twin of a TUN device for unit tests: `inject` plays the kernel
 * sending a packet; what the engine writes lands in `written` (and `onWrite`).
 * Same contract as app/io/native-tun.ts: one handler, nothing after close,
 * write after close throws, drops counted when the queue limit is hit.
 */
import type { TunDevice, TunStats } from '../../app/io/tun-device.ts';

export class MemoryTun implements TunDevice {
  readonly stats: TunStats = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, txDropped: 0 };
  /** Copies of the packets the engine wrote, oldest first. */
  readonly written: Uint8Array[] = [];
  /** Called for each packet the engine writes (after it is recorded). */
  onWrite: ((pkt: Uint8Array) => void) | undefined;
  /** Where written packets go next (MemoryHost.addTun: into the host's routing, as if received on this device). */
  kernel: ((pkt: Uint8Array) => void) | undefined;
  /** Called once when the device is closed (MemoryHost.addTun: the interface goes away). */
  onClosed: (() => void) | undefined;
  private handler: ((pkt: Uint8Array) => void) | undefined;
  private closedFlag = false;

  /** `maxWritten`: beyond this many unread packets in `written`, writes are dropped (like a full queue). */
  constructor(
    readonly name = 'hwmem0',
    private readonly maxWritten = Infinity,
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  onPacket(handler: (pkt: Uint8Array) => void): void {
    if (this.closedFlag) throw new Error(`TUN ${this.name}: onPacket after close`);
    if (this.handler) throw new Error(`TUN ${this.name}: a packet handler is already registered`);
    this.handler = handler;
  }

  /** Deliver a packet as if the kernel routed it into the device; false if nobody could receive it. */
  inject(pkt: Uint8Array): boolean {
    if (this.closedFlag || !this.handler) return false;
    this.stats.rxPackets++;
    this.stats.rxBytes += pkt.length;
    this.handler(pkt.slice());
    return true;
  }

  write(pkt: Uint8Array): void {
    if (this.closedFlag) {
      throw Object.assign(new Error(`TUN ${this.name}: write after close`), { code: 'ERR_TUN_CLOSED' });
    }
    if (this.written.length >= this.maxWritten) {
      this.stats.txDropped++;
      return;
    }
    const copy = pkt.slice(); // the engine may reuse its buffer
    this.written.push(copy);
    this.stats.txPackets++;
    this.stats.txBytes += copy.length;
    this.onWrite?.(copy);
    this.kernel?.(copy);
  }

  /** Removes and returns everything written so far. */
  drain(): Uint8Array[] {
    return this.written.splice(0);
  }

  close(): Promise<void> {
    if (!this.closedFlag) this.onClosed?.();
    this.closedFlag = true;
    this.handler = undefined;
    return Promise.resolve();
  }
}
