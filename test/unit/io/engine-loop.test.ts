/** The engine's loop: one chain, one timer at the earliest deadline, a failing core isolated (MemoryClock, no sleeps). */
import { describe, expect, it } from 'vitest';
import type { Instant } from '../../../app/base/clock.ts';
import { EngineLoop, type Deadline } from '../../../app/io/engine-loop.ts';
import type { PlatformTimer } from '../../../app/io/platform.ts';
import { MemoryClock } from '../../fakes/memory-platform.ts';

/** A core with one deadline that moves `period` on at each timeout. */
class Ticker implements Deadline {
  readonly fired: Instant[] = [];
  constructor(public at: Instant | undefined, private readonly period: number, private readonly fail = false) {}
  nextTimeout(): Instant | undefined {
    return this.at;
  }
  handleTimeout(now: Instant): void {
    this.fired.push(now);
    this.at = now + this.period;
    if (this.fail) throw new Error('core failed');
  }
}

/** Counts the timers the loop makes and how often it arms them. */
function countingClock(): { clock: MemoryClock; timers: number; arms: Array<Instant | undefined> } {
  const clock = new MemoryClock();
  const out = { clock, timers: 0, arms: [] as Array<Instant | undefined> };
  const make = clock.timer.bind(clock);
  clock.timer = (onFire): PlatformTimer => {
    out.timers++;
    const t = make(onFire);
    return { arm: (at) => (out.arms.push(at), t.arm(at)), stop: () => t.stop() };
  };
  return out;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('EngineLoop', () => {
  it('drives several cores with one timer, armed at the earliest deadline', async () => {
    const c = countingClock();
    const t0 = c.clock.now();
    const errors: Error[] = [];
    const loop = new EngineLoop(c.clock, (e) => errors.push(e));
    const fast = new Ticker(t0 + 100, 100);
    const slow = new Ticker(t0 + 250, 1000);
    loop.add(fast);
    loop.add(slow);
    expect(c.timers).toBe(1);
    expect(c.arms.at(-1)).toBe(t0 + 100);
    for (const step of [100, 100, 50, 50]) {
      c.clock.advance(step);
      await settle();
    }
    expect(fast.fired).toEqual([t0 + 100, t0 + 200, t0 + 300]);
    expect(slow.fired).toEqual([t0 + 250]);
    expect(c.arms).toContain(t0 + 250); // re-armed for the slow core between two of the fast one's
    expect(c.timers).toBe(1);
    expect(errors).toEqual([]);
    loop.close();
  });

  it('a failing core is reported and the others still run; removed cores are no longer driven', async () => {
    const c = countingClock();
    const t0 = c.clock.now();
    const errors: Error[] = [];
    const loop = new EngineLoop(c.clock, (e) => errors.push(e));
    const bad = new Ticker(t0 + 10, 10, true);
    const good = new Ticker(t0 + 10, 10);
    loop.add(bad);
    loop.add(good);
    c.clock.advance(10);
    await settle();
    expect(errors.map((e) => e.message)).toEqual(['core failed']);
    expect(good.fired).toEqual([t0 + 10]);
    loop.remove(bad);
    c.clock.advance(10);
    await settle();
    expect(bad.fired).toHaveLength(1);
    expect(good.fired).toHaveLength(2);
    loop.removeAll();
    expect(c.arms.at(-1)).toBeUndefined();
    loop.close();
  });

  it('after() and sleep() share the timer; operations run in order on the chain', async () => {
    const c = countingClock();
    const loop = new EngineLoop(c.clock, () => undefined);
    const order: string[] = [];
    let slept = false;
    void loop.sleep(50).then(() => (slept = true));
    loop.after(20, () => order.push('after 20'));
    void loop.enqueue(async () => {
      await Promise.resolve();
      order.push('first');
    });
    void loop.enqueue(() => void order.push('second'));
    await loop.idle();
    expect(order).toEqual(['first', 'second']);
    c.clock.advance(20);
    await settle();
    expect(order).toEqual(['first', 'second', 'after 20']);
    expect(slept).toBe(false);
    c.clock.advance(30);
    await settle();
    expect(slept).toBe(true);
    expect(c.timers).toBe(1);
    loop.close();
  });
});
