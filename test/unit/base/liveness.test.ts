import { describe, expect, it } from 'vitest';
import { OneSidedLiveness, ResumeDetector } from '../../../app/base/liveness.ts';

describe('OneSidedLiveness', () => {
  it('sending with nothing back for silentMs asks for one check', () => {
    const l = new OneSidedLiveness({ silentMs: 1000 });
    const asks: number[] = [];
    let tx = 0;
    for (let t = 0; t <= 3000; t += 250) {
      tx += 10;
      if (l.sample(t, tx, 5)) asks.push(t);
    }
    expect(asks).toEqual([1250]); // first send seen at 250, suspect 1000 ms later, asked once
  });

  it('anything coming back keeps the path alive', () => {
    const l = new OneSidedLiveness({ silentMs: 1000 });
    let tx = 0;
    let rx = 0;
    for (let t = 0; t <= 5000; t += 250) {
      tx += 10;
      if (t % 750 === 0) rx++;
      expect(l.sample(t, tx, rx)).toBe(false);
    }
  });

  it('our own silence is no evidence; a new episode after an answer asks again', () => {
    const l = new OneSidedLiveness({ silentMs: 1000 });
    expect(l.sample(0, 0, 0)).toBe(false);
    expect(l.sample(250, 1, 0)).toBe(false); // one packet, then we go quiet
    for (let t = 500; t <= 3000; t += 250) expect(l.sample(t, 1, 0)).toBe(false);
    const asks: number[] = [];
    let tx = 1;
    let rx = 0;
    for (let t = 3250; t <= 8000; t += 250) {
      tx++;
      if (t === 5000) rx++; // the check answered
      if (l.sample(t, tx, rx)) asks.push(t);
    }
    expect(asks).toEqual([4250, 6250]);
  });
});

describe('ResumeDetector', () => {
  it('a frozen process: the monotonic clock jumped', () => {
    const d = new ResumeDetector(1000, 3000);
    expect(d.tick(0, 0)).toBeUndefined();
    expect(d.tick(1000, 1000)).toBeUndefined();
    expect(d.tick(2300, 2300)).toBeUndefined(); // a late tick is not a sleep
    expect(d.tick(42_300, 42_300)).toEqual({ sleptMs: 39_000, kind: 'freeze' });
  });

  it('a suspended machine: only the boot-time clock jumped', () => {
    const d = new ResumeDetector(1000, 3000);
    d.tick(0, 0);
    expect(d.tick(61_000, 1000)).toEqual({ sleptMs: 60_000, kind: 'suspend' });
  });
});
