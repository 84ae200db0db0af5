/**
 * Detection times from the engine's event stream (`homeward run --json`):
 * `{"type":"mode","mode":"c"|"mc"|…}` lines, stamped on arrival.
 *
 *   trusted:  address event → mode "c", settled (no other mode until the next move)
 *   outside:  address event → mode "mc" settled and the first ping reply through it
 */
import type { StampedEvent } from './parse.ts';

/**
 * When the stream entered `mode` for good after a move at `moveAtMs`: the
 * time of the last mode event in [moveAtMs, untilMs) if that event is
 * `mode`, else null (it never got there, or left again before the next move).
 */
export function settledModeAt(events: readonly StampedEvent[], mode: string, moveAtMs: number, untilMs: number): number | null {
  const modes = events.filter((e) => e.event.type === 'mode' && e.atMs >= moveAtMs && e.atMs < untilMs);
  const last = modes[modes.length - 1];
  if (last === undefined || last.event.mode !== mode) return null;
  // the start of the final run of `mode` events (repeats of the same mode do not reset it)
  let start = last.atMs;
  for (let i = modes.length - 1; i >= 0 && modes[i]?.event.mode === mode; i--) start = modes[i]?.atMs ?? start;
  return start;
}

/** Trusted detection for one move, ms; null when mode "c" did not settle. */
export function trustedDetectionMs(events: readonly StampedEvent[], moveAtMs: number, untilMs: number): number | null {
  const at = settledModeAt(events, 'c', moveAtMs, untilMs);
  return at === null ? null : at - moveAtMs;
}

/**
 * Outside detection for one move, ms: until mode "mc" settled and a reply
 * (receive times in ms since the epoch) came through after the move.
 */
export function outsideDetectionMs(events: readonly StampedEvent[], replyTimes: readonly number[], moveAtMs: number, untilMs: number): number | null {
  const at = settledModeAt(events, 'mc', moveAtMs, untilMs);
  if (at === null) return null;
  const firstReply = replyTimes.filter((t) => t >= moveAtMs && t < untilMs).sort((a, b) => a - b)[0];
  if (firstReply === undefined) return null;
  return Math.max(at, firstReply) - moveAtMs;
}
