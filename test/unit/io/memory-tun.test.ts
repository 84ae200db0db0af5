import { describe, expect, it } from 'vitest';
import { MemoryTun } from '../../fakes/memory-tun.ts';
import type { TunDevice } from '../../../app/io/tun-device.ts';

describe('MemoryTun', () => {
  it('delivers injected packets to the one handler and counts them', () => {
    const tun: MemoryTun = new MemoryTun('hwt0');
    const got: number[][] = [];
    tun.onPacket((p) => got.push([...p]));
    expect(tun.inject(new Uint8Array([0x45, 1, 2]))).toBe(true);
    expect(tun.inject(new Uint8Array([0x60]))).toBe(true);
    expect(got).toEqual([[0x45, 1, 2], [0x60]]);
    expect(tun.stats).toMatchObject({ rxPackets: 2, rxBytes: 4 });
    expect(() => tun.onPacket(() => undefined)).toThrow(/already registered/);
  });

  it('records copies of what the engine writes and calls onWrite', () => {
    const tun = new MemoryTun();
    const seen: Uint8Array[] = [];
    tun.onWrite = (p) => seen.push(p);
    const buf = new Uint8Array([1, 2, 3]);
    tun.write(buf);
    buf[0] = 9; // the engine reuses its buffer
    expect(tun.written.map((p) => [...p])).toEqual([[1, 2, 3]]);
    expect(seen).toHaveLength(1);
    expect(tun.stats).toMatchObject({ txPackets: 1, txBytes: 3, txDropped: 0 });
    expect(tun.drain()).toHaveLength(1);
    expect(tun.written).toHaveLength(0);
  });

  it('counts drops beyond its queue limit instead of throwing', () => {
    const tun = new MemoryTun('hwt0', 2);
    for (let i = 0; i < 5; i++) tun.write(new Uint8Array([i]));
    expect(tun.written.map((p) => p[0])).toEqual([0, 1]);
    expect(tun.stats.txDropped).toBe(3);
  });

  it('after close: idempotent, nothing delivered, write throws', async () => {
    const dev: TunDevice = new MemoryTun('hwt0');
    let calls = 0;
    dev.onPacket(() => calls++);
    await dev.close();
    await dev.close();
    expect((dev as MemoryTun).inject(new Uint8Array([0x45]))).toBe(false);
    expect(calls).toBe(0);
    expect(() => dev.write(new Uint8Array(1))).toThrow(/write after close/);
  });
});
