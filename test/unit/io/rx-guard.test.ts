import { describe, expect, it } from 'vitest';
import { RxGuard } from '../../../app/io/rx-guard.ts';

describe('RxGuard', () => {
  it('counts every throw, reports at most once per interval, and never rethrows', () => {
    let t = 0;
    const reports: string[] = [];
    let drops = 0;
    const g = new RxGuard('a test packet', (m) => reports.push(m), () => drops++, 1000, () => t);
    const handler = g.wrap((n: number) => {
      if (n < 0) throw new RangeError(`bad ${n}`);
    });
    handler(1);
    for (let i = 0; i < 5; i++) handler(-1);
    expect(g.dropped).toBe(5);
    expect(drops).toBe(5);
    expect(reports).toEqual(['dropped a test packet whose handling failed (1 so far): RangeError: bad -1']);
    t = 1000;
    handler(-2);
    expect(reports).toHaveLength(2);
    expect(reports[1]).toMatch(/\(6 so far\).*bad -2/);
  });

  it('a failing reporter does not make the drop fatal', () => {
    const g = new RxGuard('x', () => { throw new Error('log gone'); });
    expect(() => g.run(() => { throw new Error('boom'); })).not.toThrow();
    expect(g.dropped).toBe(1);
  });
});
