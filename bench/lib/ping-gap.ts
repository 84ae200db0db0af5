/**
 * The handover gap from `ping -D` output.
 *
 * `ping -D -i 0.02 <dst>` prints one line per reply, prefixed with the
 * wall-clock receive time in seconds:
 *
 *   [1700000000.123456] 64 bytes from 10.10.100.1: icmp_seq=42 ttl=63 time=0.512 ms
 *
 * Lost requests print nothing. A move's gap is the largest time between two
 * consecutive replies around it: the last reply before the move (or during
 * it) and the first one after. With no loss at all it equals the interval.
 */

export interface PingReply {
  /** receive time, ms since the epoch (same clock as Date.now()) */
  atMs: number;
  seq: number;
  rttMs: number | null;
}

const REPLY = /^\[(\d+(?:\.\d+)?)\]\s+\d+ bytes from [^:]+:\s+icmp_seq=(\d+)(?:\s+ttl=\d+)?(?:\s+time=([\d.]+)\s*ms)?/;

/** The replies in `ping -D` output, in output order; other lines are skipped. */
export function parsePingD(text: string): PingReply[] {
  const out: PingReply[] = [];
  for (const line of text.split('\n')) {
    const m = REPLY.exec(line.trim());
    if (!m) continue;
    out.push({ atMs: Number(m[1]) * 1000, seq: Number(m[2]), rttMs: m[3] !== undefined ? Number(m[3]) : null });
  }
  return out;
}

export interface GapResult {
  /** largest time between consecutive replies around the move, ms */
  gapMs: number;
  /** the same gap counted in lost sequence numbers × interval, ms */
  seqGapMs: number;
  /** first reply after the gap */
  resumedAtMs: number;
}

/**
 * The gap for a move made at `moveAtMs`: the largest distance between
 * consecutive replies (by receive time) where the later one arrives at or
 * after the move and before `untilMs` (the next move: the pair straddling
 * that one belongs to it).
 * Null when no reply arrived before the move, or none after it.
 */
export function gapAround(replies: readonly PingReply[], moveAtMs: number, untilMs: number, intervalMs: number): GapResult | null {
  const rs = [...replies].sort((a, b) => a.atMs - b.atMs);
  let best: GapResult | null = null;
  let sawBefore = false;
  for (let i = 1; i < rs.length; i++) {
    const prev = rs[i - 1] as PingReply;
    const cur = rs[i] as PingReply;
    if (prev.atMs < moveAtMs) sawBefore = true;
    if (cur.atMs < moveAtMs || cur.atMs >= untilMs) continue;
    const gapMs = cur.atMs - prev.atMs;
    if (best === null || gapMs > best.gapMs) {
      best = { gapMs, seqGapMs: Math.max(0, cur.seq - prev.seq) * intervalMs, resumedAtMs: cur.atMs };
    }
  }
  return sawBefore ? best : null;
}

/** Replies that arrived after `t` (ms since the epoch). */
export function repliesAfter(replies: readonly PingReply[], t: number): number {
  return replies.filter((r) => r.atMs > t).length;
}

/** The average round-trip time of `ping` output (its replies), or null. */
export function averageRtt(text: string): number | null {
  const summary = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\//.exec(text);
  if (summary) return Number(summary[1]);
  const rtts = text.split('\n').map((l) => /time=([\d.]+)\s*ms/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number);
  return rtts.length > 0 ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null;
}
