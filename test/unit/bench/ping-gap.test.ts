import { describe, expect, it } from 'vitest';
import { averageRtt, gapAround, parsePingD, repliesAfter } from '../../../bench/lib/ping-gap.ts';

/** `ping -D -i 0.02` output: one reply every 20 ms from t0 (s), except the lost sequence numbers. */
function pingD(t0: number, seqs: number[], extra: Record<number, number> = {}): string {
  const lines = ['PING 10.10.100.1 (10.10.100.1) 56(84) bytes of data.'];
  for (const s of seqs) {
    const t = t0 + (s - 1) * 0.02 + (extra[s] ?? 0);
    lines.push(`[${t.toFixed(6)}] 64 bytes from 10.10.100.1: icmp_seq=${s} ttl=63 time=0.4${s % 10} ms`);
  }
  lines.push('', '--- 10.10.100.1 ping statistics ---', `${seqs.length + 5} packets transmitted, ${seqs.length} received`);
  return lines.join('\n');
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('parsePingD', () => {
  it('reads receive time (ms), sequence and rtt; skips other lines', () => {
    const r = parsePingD(pingD(1700000000, [1, 2]));
    expect(r).toHaveLength(2);
    expect(r[0]).toEqual({ atMs: 1700000000000, seq: 1, rttMs: 0.41 });
    expect(r[1]?.seq).toBe(2);
    expect(r[1]?.atMs).toBeCloseTo(1700000000020, 3);
  });
  it('ignores garbage, errors and lines without -D timestamps', () => {
    const text = 'From 10.10.0.1 icmp_seq=3 Destination Host Unreachable\n64 bytes from x: icmp_seq=4 ttl=1 time=1 ms\n[oops] 64 bytes\n';
    expect(parsePingD(text)).toEqual([]);
  });
});

describe('gapAround', () => {
  const t0 = 1700000000;
  const moveAt = (t0 + 0.5) * 1000; // between seq 26 (t0+0.50) and 27

  it('is the interval when nothing is lost', () => {
    const g = gapAround(parsePingD(pingD(t0, range(1, 100))), moveAt, Infinity, 20);
    expect(g?.gapMs).toBeCloseTo(20, 3);
    expect(g?.seqGapMs).toBe(20);
  });

  it('measures the outage from the last reply before to the first after the move', () => {
    // seq 27..41 lost: last reply seq 26 at +500 ms, next seq 42 at +820 ms
    const seqs = [...range(1, 26), ...range(42, 80)];
    const g = gapAround(parsePingD(pingD(t0, seqs)), moveAt, Infinity, 20);
    expect(g?.gapMs).toBeCloseTo(320, 3);
    expect(g?.seqGapMs).toBe(320);
    expect(g?.resumedAtMs).toBeCloseTo((t0 + 0.82) * 1000, 3);
  });

  it('uses receive times, so a late burst of replies does not hide the outage', () => {
    // seq 27..30 queued during the move and answered at +900 ms, 31..45 lost
    const seqs = [...range(1, 30), ...range(46, 60)];
    const late = Object.fromEntries(range(27, 30).map((s) => [s, 0.9 - (s - 1) * 0.02]));
    const g = gapAround(parsePingD(pingD(t0, seqs, late)), moveAt, Infinity, 20);
    expect(g?.gapMs).toBeCloseTo(400, 3);
    expect(g?.seqGapMs).toBe(20); // the sequence numbers alone would miss it
  });

  it('only looks at gaps that end after the move and before the next move', () => {
    // an earlier outage (seq 5..20) before the move, a small one after it
    const seqs = [...range(1, 4), ...range(21, 30), ...range(33, 60)];
    const g = gapAround(parsePingD(pingD(t0, seqs)), moveAt, (t0 + 0.65) * 1000, 20);
    expect(g?.gapMs).toBeCloseTo(60, 3);
  });

  it('gives back-to-back moves their own gaps (the pair straddling the next move is not this one\'s)', () => {
    // move 1 at +0.5 s: seq 27..31 lost (120 ms); move 2 at +1.0 s: seq 52..66 lost (320 ms)
    const seqs = [...range(1, 26), ...range(32, 51), ...range(67, 90)];
    const replies = parsePingD(pingD(t0, seqs));
    const move2 = (t0 + 1.0) * 1000 + 5;
    expect(gapAround(replies, moveAt, move2, 20)?.gapMs).toBeCloseTo(120, 3);
    expect(gapAround(replies, move2, Infinity, 20)?.gapMs).toBeCloseTo(320, 3);
  });

  it('is null without a reply before the move or after it', () => {
    expect(gapAround(parsePingD(pingD(t0, range(30, 40))), moveAt, Infinity, 20)).toBeNull();
    expect(gapAround(parsePingD(pingD(t0, range(1, 20))), moveAt, Infinity, 20)).toBeNull();
    expect(gapAround([], moveAt, Infinity, 20)).toBeNull();
  });

  it('counts replies after a time', () => {
    expect(repliesAfter(parsePingD(pingD(t0, range(1, 50))), moveAt)).toBe(24);
  });
});

describe('averageRtt', () => {
  it('prefers the summary line', () => {
    expect(averageRtt('rtt min/avg/max/mdev = 0.040/0.058/0.090/0.010 ms\n')).toBe(0.058);
  });
  it('falls back to the replies, and is null without any', () => {
    expect(averageRtt('64 bytes from x: icmp_seq=1 ttl=64 time=1.0 ms\n64 bytes from x: icmp_seq=2 ttl=64 time=3.0 ms\n')).toBe(2);
    expect(averageRtt('connect: Network is unreachable')).toBeNull();
  });
});
