/**
 * Binding liveness from one-sided traffic (app/mip4/binding-liveness.ts):
 * samples of the data path's packet counters on a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { BindingLiveness, type LivenessVerdict } from '../../../app/mip4/binding-liveness.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

/** Drives the sampler like the driver does: at each nextTimeout, with counters that grow as `traffic` says. */
function rig(livenessMs = 1000) {
  const clock = new ManualClock();
  const l = new BindingLiveness(livenessMs);
  let out = 0;
  let inbound = 0;
  const verdicts: Array<LivenessVerdict & { at: number }> = [];
  l.watch(true, clock.now(), out, inbound);
  /** runs `ms` of time; per period `send` packets go out and `receive` come in */
  const run = (ms: number, send: number, receive: number): void => {
    const end = clock.now() + ms;
    for (let t = l.nextTimeout(); t !== undefined && t <= end; t = l.nextTimeout()) {
      clock.advance(t - clock.now());
      out += send;
      inbound += receive;
      const v = l.sample(clock.now(), out, inbound);
      if (v) verdicts.push({ ...v, at: clock.now() });
    }
    clock.advance(end - clock.now());
  };
  return { clock, l, verdicts, run };
}

describe('BindingLiveness', () => {
  it('two-sided traffic: nothing to say, however long', () => {
    const r = rig();
    r.run(60_000, 5, 5);
    expect(r.verdicts).toEqual([]);
  });

  it('outbound flowing, inbound stops: suspect within livenessMs + one period; inbound back → back', () => {
    const r = rig();
    r.run(2000, 12, 12);
    const stoppedAt = r.clock.now();
    r.run(1500, 12, 0);
    expect(r.verdicts).toHaveLength(1);
    const s = r.verdicts[0]!;
    expect(s.kind).toBe('suspect');
    expect(s.at - stoppedAt).toBeGreaterThanOrEqual(1000);
    expect(s.at - stoppedAt).toBeLessThanOrEqual(1000 + r.l.periodMs);
    expect(r.l.suspect).toBe(true);
    r.run(500, 12, 12);
    expect(r.verdicts[1]).toMatchObject({ kind: 'back' });
    expect(r.verdicts[1]!.silentMs).toBeGreaterThanOrEqual(1500);
    expect(r.l.suspect).toBe(false);
    expect(r.l.thresholdMs).toBe(1000);
  });

  it('nothing sent: inbound silence is no reason to suspect anything', () => {
    const r = rig();
    r.run(1000, 3, 3);
    r.run(120_000, 0, 0);
    expect(r.verdicts).toEqual([]);
  });

  it('one-way traffic that never gets an answer: suspicions back off 1, 2, 4 … × livenessMs, up to 64 ×', () => {
    const r = rig();
    r.run(10 * 60_000, 1, 0);
    const at = r.verdicts.map((v) => v.at);
    expect(r.verdicts.every((v) => v.kind === 'suspect')).toBe(true);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // each window opens at the sample before the first new packet: gap = threshold (rounded to the period)
    expect(gaps.slice(0, 6)).toEqual([2000, 4000, 8000, 16_000, 32_000, 64_000]);
    expect(new Set(gaps.slice(6))).toEqual(new Set([64_000]));
    // an answer resets the threshold
    r.run(250, 1, 1);
    expect(r.l.thresholdMs).toBe(1000);
  });

  it('an accepted registration starts a new window; not watching (no binding, mode f) samples nothing', () => {
    const r = rig();
    r.run(800, 4, 0);
    r.l.confirmed(r.clock.now());
    r.run(800, 4, 0);
    expect(r.verdicts).toEqual([]);
    r.run(400, 4, 0);
    expect(r.verdicts.map((v) => v.kind)).toEqual(['suspect']);
    r.l.watch(false, r.clock.now(), 0, 0);
    expect(r.l.nextTimeout()).toBeUndefined();
    expect(r.l.suspect).toBe(false);
    // watching again: the counters' values then are the baseline (no burst of "new" outbound)
    r.l.watch(true, r.clock.now(), 10_000, 0);
    expect(r.l.sample(r.clock.now() + 250, 10_000, 0)).toBeUndefined();
  });

  it('livenessMs 0 is off; a negative value is refused', () => {
    const l = new BindingLiveness(0);
    l.watch(true, 0, 0, 0);
    expect(l.enabled).toBe(false);
    expect(l.nextTimeout()).toBeUndefined();
    expect(() => new BindingLiveness(-1)).toThrow(RangeError);
  });
});
