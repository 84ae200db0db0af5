import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLAY_WINDOW, ReplayWindow } from '../../../app/crypto/replay-window.ts';

/** check then update, as an inbound SA does after a good ICV. */
function accept(w: ReplayWindow, seq: number): boolean {
  return w.check(seq) && w.update(seq);
}

describe('ReplayWindow (RFC 4303 §3.4.3)', () => {
  it('defaults to 128 and rejects sizes below 64', () => {
    expect(new ReplayWindow().size).toBe(DEFAULT_REPLAY_WINDOW);
    expect(DEFAULT_REPLAY_WINDOW).toBe(128);
    expect(() => new ReplayWindow(32)).toThrow(RangeError);
    expect(() => new ReplayWindow(64.5)).toThrow(RangeError);
    expect(new ReplayWindow(64).size).toBe(64);
  });

  it('first packet: any seq ≥ 1 is accepted, 0 never', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toBe(false);
    expect(w.update(0)).toBe(false);
    expect(w.check(1)).toBe(true);
    expect(accept(w, 1000)).toBe(true);
    expect(w.top).toBe(1000);
  });

  it('duplicates are rejected, in order and out of order', () => {
    const w = new ReplayWindow();
    for (const s of [1, 2, 3, 5]) expect(accept(w, s)).toBe(true);
    expect(w.check(3)).toBe(false);
    expect(w.check(5)).toBe(false);
    expect(accept(w, 4)).toBe(true); // late but new
    expect(w.check(4)).toBe(false);
  });

  it('exactly at the left edge is accepted, one further is rejected', () => {
    const w = new ReplayWindow(128);
    accept(w, 1000);
    expect(w.check(1000 - 127)).toBe(true); // top - size + 1
    expect(w.check(1000 - 128)).toBe(false); // top - size
    expect(accept(w, 873)).toBe(true);
    expect(w.check(873)).toBe(false);
  });

  it('far ahead shifts the window and forgets (rejects) everything left of it', () => {
    const w = new ReplayWindow(64);
    for (let s = 1; s <= 64; s++) accept(w, s);
    expect(accept(w, 10_000)).toBe(true);
    expect(w.top).toBe(10_000);
    for (const s of [1, 64, 9_936]) expect(w.check(s), String(s)).toBe(false);
    // inside the new window nothing is marked yet, though the ring reused the old words
    for (const s of [9_937, 9_950, 9_999]) expect(w.check(s), String(s)).toBe(true);
    expect(w.check(10_000)).toBe(false);
  });

  it('moving forward by a little keeps the marks still inside the window', () => {
    const w = new ReplayWindow(128);
    for (let s = 1; s <= 300; s += 2) accept(w, s); // odd numbers
    expect(accept(w, 333)).toBe(true);
    for (let s = 206; s <= 299; s++) expect(w.check(s), String(s)).toBe(s % 2 === 0);
    expect(w.check(205)).toBe(false); // left of 333 - 127
  });

  it('check never changes state: only update moves the window', () => {
    const w = new ReplayWindow();
    accept(w, 10);
    expect(w.check(500)).toBe(true);
    expect(w.top).toBe(10);
    expect(w.check(9)).toBe(true);
    expect(w.check(500)).toBe(true);
  });

  it('handles the 32-bit end of the sequence space and rejects beyond it', () => {
    const w = new ReplayWindow();
    expect(accept(w, 0xffff_fff0)).toBe(true);
    expect(accept(w, 0xffff_ffff)).toBe(true);
    expect(w.check(0xffff_ffff)).toBe(false);
    expect(accept(w, 0xffff_fff1)).toBe(true);
    expect(w.check(2 ** 32)).toBe(false);
    expect(w.check(-1)).toBe(false);
    expect(w.check(1)).toBe(false);
  });

  it('agrees with a naive set-based model on a pseudo-random walk', () => {
    for (const size of [64, 100, 128, 1024]) {
      const w = new ReplayWindow(size);
      const seen = new Set<number>();
      let top = 0;
      let x = 12345;
      for (let i = 0; i < 5000; i++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        const seq = Math.max(1, top + (x % (3 * size)) - 2 * size);
        const want = seq > top || (top - seq < size && !seen.has(seq));
        expect(w.check(seq), `size ${size} step ${i} seq ${seq} top ${top}`).toBe(want);
        if (want) {
          w.update(seq);
          seen.add(seq);
          top = Math.max(top, seq);
        }
      }
    }
  });
});
