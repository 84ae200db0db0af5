/**
 * The user's view of the tunnel (the UI's traffic card): packets and bytes
 * in (delivered to the home address) and out, and drops by cause —
 * published once a second while they change. One of the engine loop's
 * Deadlines (app/io/engine-loop.ts).
 */
import type { Instant } from '../base/clock.ts';
import type { CountersEvent } from '../events.ts';
import type { TrafficGate } from '../mobility/traffic-gate.ts';
import type { Deadline } from './engine-loop.ts';
import type { MipPort } from './engine-config.ts';

export const COUNTERS_MS = 1000;

export class EngineCounters implements Deadline {
  private at?: Instant;
  private last = '';

  constructor(private readonly mip: MipPort, private readonly gate: TrafficGate, private readonly publish: (c: CountersEvent) => void) {}

  /** The first publication one period from `now`. */
  start(now: Instant): void {
    this.at = now + COUNTERS_MS;
  }

  nextTimeout(): Instant | undefined {
    return this.at;
  }

  handleTimeout(now: Instant): void {
    this.at = Math.max((this.at ?? now) + COUNTERS_MS, now);
    const c = this.counters();
    if (!c) return;
    const key = JSON.stringify(c);
    if (key === this.last) return;
    this.last = key;
    this.publish(c);
  }

  counters(): CountersEvent | undefined {
    const t = this.mip.tunStats;
    if (!t) return undefined;
    const g = this.gate.stats;
    const m = this.mip.stats;
    return {
      type: 'counters', tunIn: t.txPackets, tunOut: t.rxPackets, bytesIn: t.txBytes, bytesOut: t.rxBytes,
      dropped: { blocked: g.droppedBlocked, overflow: g.droppedOverflow, stale: g.droppedStale, noBinding: m.droppedNoBinding, malformed: m.droppedMalformed, wrongSource: m.droppedWrongSource, wrongPath: m.droppedWrongPath, tunWrite: t.txDropped },
    };
  }
}
