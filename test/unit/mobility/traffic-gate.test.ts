import { describe, expect, it } from 'vitest';
import { TrafficGate } from '../../../app/mobility/traffic-gate.ts';

const pkt = (n: number, len = 100) => new Uint8Array(len).fill(n);

describe('TrafficGate (fail closed)', () => {
  it('starts closed: nothing passes before a mode is settled', () => {
    const g = new TrafficGate();
    expect(g.offer(pkt(1), 0)).toBe('dropped');
    expect(g.stats.droppedBlocked).toBe(1);
  });

  it('holds while detecting and releases in order, dropping stale packets', () => {
    const g = new TrafficGate({ maxPackets: 10, maxBytes: 10_000, maxAgeMs: 1000 });
    g.hold();
    expect(g.offer(pkt(1), 0)).toBe('held');
    expect(g.offer(pkt(2), 600)).toBe('held');
    expect(g.offer(pkt(3), 900)).toBe('held');
    const out = g.release(1500);
    expect(out.map((p) => p[0])).toEqual([2, 3]);
    expect(g.stats).toMatchObject({ held: 3, released: 2, droppedStale: 1 });
    expect(g.offer(pkt(4), 1600)).toBe('pass');
  });

  it('bounds the queue by packets and by bytes', () => {
    const g = new TrafficGate({ maxPackets: 2, maxBytes: 250, maxAgeMs: 1000 });
    g.hold();
    expect([g.offer(pkt(1), 0), g.offer(pkt(2), 0), g.offer(pkt(3), 0)]).toEqual(['held', 'held', 'dropped']);
    const h = new TrafficGate({ maxPackets: 10, maxBytes: 250, maxAgeMs: 1000 });
    h.hold();
    expect([h.offer(pkt(1), 0), h.offer(pkt(2), 0), h.offer(pkt(3, 60), 0)]).toEqual(['held', 'held', 'dropped']);
    expect(h.stats.droppedOverflow).toBe(1);
  });

  it('drop discards what was held and keeps discarding', () => {
    const g = new TrafficGate();
    g.hold();
    g.offer(pkt(1), 0);
    g.offer(pkt(2), 0);
    g.drop();
    expect(g.queued).toBe(0);
    expect(g.offer(pkt(3), 1)).toBe('dropped');
    expect(g.stats.droppedBlocked).toBe(3);
    expect(g.release(2)).toEqual([]);
  });
});
