import { expect, it } from 'vitest';
import { runEspBench } from '../../../bench/esp.ts';

it('bench/esp.ts returns a JSON-able result covering every AEAD × backend and the encapsulation ratio', async () => {
  const r = await runEspBench({ cellMs: 5, sizes: [64] });
  expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  expect(r.cells.map((c) => `${c.alg}/${c.backend}`).sort()).toEqual([
    'aes128gcm16/noble', 'aes128gcm16/node', 'aes256gcm16/noble', 'aes256gcm16/node', 'chacha20poly1305/noble', 'chacha20poly1305/node',
  ]);
  for (const c of r.cells) {
    expect(c.packetsPerSecond).toBeGreaterThan(0);
    expect(c.mbitPerSecond).toBeCloseTo((c.packetsPerSecond * 64 * 8) / 1e6, 1);
  }
  expect(r.encapRatio).toHaveLength(1);
  expect(r.encapRatio[0]!.ratio).toBeCloseTo(r.encapRatio[0]!.bareUs / r.encapRatio[0]!.encapUs, 1);
  // the JS fallback is timed beside the native data path
  expect(r.encapRatio[0]!.jsEncapUs).toBeGreaterThan(0);
  expect(r.encapRatio[0]!.jsRatio).toBeCloseTo(r.encapRatio[0]!.bareUs / r.encapRatio[0]!.jsEncapUs, 1);
});
