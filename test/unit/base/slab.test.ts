import { describe, expect, it } from 'vitest';
import { Slab } from '../../../app/base/bytes.ts';

describe('Slab: per-packet buffers without a backing-store allocation each', () => {
  it('hands out zeroed, non-overlapping, 8-aligned ranges and never the same bytes twice', () => {
    const s = new Slab(1024);
    const seen: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const b = s.alloc(100);
      expect(b.length).toBe(100);
      expect(b.byteOffset % 8).toBe(0);
      expect(b.every((x) => x === 0)).toBe(true);
      b.fill(0xff);
      for (const o of seen) {
        const overlap = o.buffer === b.buffer && b.byteOffset < o.byteOffset + o.length && o.byteOffset < b.byteOffset + b.length;
        expect(overlap).toBe(false);
      }
      seen.push(b);
    }
    // 40 × 104 bytes do not fit one 1 KiB slab: later ranges come from fresh ones
    expect(new Set(seen.map((b) => b.buffer)).size).toBeGreaterThan(1);
  });

  it('a request larger than a quarter slab gets its own buffer', () => {
    const s = new Slab(1024);
    const big = s.alloc(600);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(600);
  });
});
