import { describe, expect, it } from 'vitest';
import { OLD_PATH_GRACE_MS, OldPathGrace } from '../../../app/esp/old-path-grace.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

describe('MOBIKE old-path grace (RFC 4555 §3.5)', () => {
  it('the sockets of an address we left close once the grace period has passed', () => {
    const clock = new ManualClock();
    const g = new OldPathGrace();
    g.update(['192.0.2.2', '198.51.100.2'], new Set(['198.51.100.2']), clock.now());
    expect(g.retiring()).toEqual(['192.0.2.2']);
    expect(g.nextDeadline()).toBe(clock.now() + OLD_PATH_GRACE_MS);
    clock.advance(OLD_PATH_GRACE_MS - 1);
    expect(g.due(clock.now())).toEqual([]);
    clock.advance(1);
    expect(g.due(clock.now())).toEqual(['192.0.2.2']);
    expect(g.nextDeadline()).toBeUndefined();
  });

  it('a later update does not extend the grace; an address that is ours again stops it', () => {
    const clock = new ManualClock();
    const g = new OldPathGrace(1000);
    g.update(['a', 'b', 'c'], new Set(['c']), clock.now());
    const first = g.nextDeadline();
    clock.advance(600);
    g.update(['a', 'b', 'c'], new Set(['b', 'c']), clock.now());
    expect(g.nextDeadline()).toBe(first);
    expect(g.retiring()).toEqual(['a']);
    clock.advance(400);
    expect(g.due(clock.now())).toEqual(['a']);
  });

  it('an address the path came back to is forgotten, not closed', () => {
    const clock = new ManualClock();
    const g = new OldPathGrace(1000);
    g.update(['a', 'b'], new Set(['b']), clock.now());
    clock.advance(1000);
    expect(g.due(clock.now(), 'a')).toEqual([]);
    expect(g.retiring()).toEqual([]);
  });
});
