/**
 * The fail-closed gate for user traffic from the TUN device.
 *
 *   pass  — packets go through the settled mode's tunnel
 *   hold  — packets are queued (bounded by count, bytes and age) while the
 *           mode is being settled, and sent when it is
 *   drop  — packets are discarded and counted (offline, blocked, disconnected)
 *
 * Nothing is ever sent in clear: the gate only decides whether a packet may
 * enter the tunnel now, later, or never. Pure: time comes in as `now`.
 */
import type { Instant } from '../base/clock.ts';

export interface GateLimits {
  maxPackets: number;
  maxBytes: number;
  /** held packets older than this are discarded on release (the sender has retransmitted) */
  maxAgeMs: number;
}

export const DEFAULT_GATE_LIMITS: GateLimits = { maxPackets: 512, maxBytes: 1 << 20, maxAgeMs: 10_000 };

export type GateVerdict = 'pass' | 'held' | 'dropped';

export class TrafficGate {
  private state: 'pass' | 'hold' | 'drop' = 'drop';
  private queue: Array<{ pkt: Uint8Array; at: Instant }> = [];
  private queuedBytes = 0;
  readonly stats = { passed: 0, held: 0, released: 0, droppedBlocked: 0, droppedOverflow: 0, droppedStale: 0 };

  constructor(private readonly limits: GateLimits = DEFAULT_GATE_LIMITS) {}

  get mode(): 'pass' | 'hold' | 'drop' {
    return this.state;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** A packet from the TUN: may it go now? */
  offer(pkt: Uint8Array, now: Instant): GateVerdict {
    if (this.state === 'pass') {
      this.stats.passed++;
      return 'pass';
    }
    if (this.state === 'drop') {
      this.stats.droppedBlocked++;
      return 'dropped';
    }
    if (this.queue.length >= this.limits.maxPackets || this.queuedBytes + pkt.length > this.limits.maxBytes) {
      this.stats.droppedOverflow++;
      return 'dropped';
    }
    this.queue.push({ pkt, at: now });
    this.queuedBytes += pkt.length;
    this.stats.held++;
    return 'held';
  }

  hold(): void {
    if (this.state !== 'hold') this.state = 'hold';
  }

  /** Stop holding and discard what was held. */
  drop(): void {
    this.stats.droppedBlocked += this.queue.length;
    this.clear();
    this.state = 'drop';
  }

  /** Open the gate; returns the held packets still fresh enough to send, oldest first. */
  release(now: Instant): Uint8Array[] {
    this.state = 'pass';
    const fresh = this.queue.filter((q) => now - q.at <= this.limits.maxAgeMs).map((q) => q.pkt);
    this.stats.droppedStale += this.queue.length - fresh.length;
    this.stats.released += fresh.length;
    this.clear();
    return fresh;
  }

  private clear(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }
}
