/**
 * ESP anti-replay window (RFC 4303 §3.4.3) as a ring of 32-bit words
 * (RFC 6479): sliding forward clears at most the whole ring, never shifts.
 *
 *        top - size + 1                      top
 *   ... ──┼───────────── window ─────────────┼── ahead ─▶
 *    too old (reject)       bit set = seen        new (accept)
 *
 * Two steps, because the window may move only for authentic packets:
 *   check(seq)   before the ICV: is seq acceptable?   (no state change)
 *   update(seq)  after the ICV verified: record it    (false if not acceptable)
 * Sequence numbers are 32-bit (no ESN); 0 is never valid.
 */

// Specification (RFC 4303 §3.4.3: 32 minimum, 64 default); Implementation: libipsec's 128

export const DEFAULT_REPLAY_WINDOW = 128;
export const MIN_REPLAY_WINDOW = 64;
export const MAX_REPLAY_WINDOW = 4096;
const MAX_SEQ = 0xffff_ffff;

export class ReplayWindow {
  readonly size: number;
  private readonly words: Uint32Array;
  private readonly mask: number;
  private topSeq = 0;

  constructor(size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < MIN_REPLAY_WINDOW || size > MAX_REPLAY_WINDOW) {
      throw new RangeError(`replay window of ${size}, want ${MIN_REPLAY_WINDOW}..${MAX_REPLAY_WINDOW}`);
    }
    this.size = size;
    let n = 1;
    while (n < Math.ceil(size / 32) + 1) n *= 2; // one spare word so the bottom word can be partly stale
    this.words = new Uint32Array(n);
    this.mask = n - 1;
  }

  /** Highest sequence number accepted so far (0 before the first packet). */
  get top(): number {
    return this.topSeq;
  }

  check(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) return false;
    if (seq > this.topSeq) return true;
    if (this.topSeq - seq >= this.size) return false;
    return (this.words[(seq >>> 5) & this.mask]! & (1 << (seq & 31))) === 0;
  }

  update(seq: number): boolean {
    if (!this.check(seq)) return false;
    if (seq > this.topSeq) {
      const from = Math.floor(this.topSeq / 32) + 1;
      const to = Math.floor(seq / 32);
      const clear = Math.min(to - from + 1, this.words.length);
      for (let i = 0; i < clear; i++) this.words[(from + i) & this.mask] = 0;
      this.topSeq = seq;
    }
    this.words[(seq >>> 5) & this.mask]! |= 1 << (seq & 31);
    return true;
  }
}
