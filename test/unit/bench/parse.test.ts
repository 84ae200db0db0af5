import { describe, expect, it } from 'vitest';
import { BenchParseError, iperfMbps, JsonLineStamper, vmRssKiB } from '../../../bench/lib/parse.ts';
import { outsideDetectionMs, settledModeAt, trustedDetectionMs } from '../../../bench/lib/detection.ts';
import { encapTimes, pickBenchFunction } from '../../../bench/sections/esp.ts';
import { strongswanClientConf } from '../../../bench/lab/peers.ts';

describe('iperfMbps', () => {
  it('reads the receiver side of a TCP run', () => {
    const doc = { start: {}, end: { sum_sent: { bits_per_second: 2e8 }, sum_received: { bits_per_second: 1.785e8 } } };
    expect(iperfMbps(JSON.stringify(doc))).toBeCloseTo(178.5, 6);
  });
  it('turns iperf3 errors and junk into BenchParseError', () => {
    expect(() => iperfMbps('{"error": "unable to connect to server: Connection refused"}')).toThrow(/Connection refused/);
    expect(() => iperfMbps('iperf3: error')).toThrow(BenchParseError);
    expect(() => iperfMbps('{"end": {}}')).toThrow(/sum_received/);
    expect(() => iperfMbps('[1]')).toThrow(BenchParseError);
  });
});

describe('vmRssKiB', () => {
  it('reads VmRSS from /proc/<pid>/status', () => {
    expect(vmRssKiB('Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  100752 kB\nRssAnon:\t 1 kB\n')).toBe(100752);
  });
  it('throws without it (kernel thread, exited process)', () => {
    expect(() => vmRssKiB('Name:\tkthreadd\n')).toThrow(BenchParseError);
  });
});

describe('JsonLineStamper', () => {
  it('stamps complete JSON lines on arrival, across chunk boundaries, skipping other text', () => {
    const s = new JsonLineStamper();
    expect(s.push('{"type":"mode","mo', 10)).toEqual([]);
    expect(s.push('de":"c"}\nhuman text\n{broken\n{"type":"x"}\n', 20)).toHaveLength(2);
    expect(s.events).toEqual([{ atMs: 20, event: { type: 'mode', mode: 'c' } }, { atMs: 20, event: { type: 'x' } }]);
  });

  it('a line with the writer\'s own stamp `t` keeps it: two lines read in one chunk are not made simultaneous', () => {
    const s = new JsonLineStamper();
    s.push('{"type":"ike-sa","state":"connecting","t":1000.25}\n{"type":"child-sa","state":"installed","t":1004.5}\n{"type":"log"}\n', 2000);
    expect(s.events.map((e) => e.atMs)).toEqual([1000.25, 1004.5, 2000]);
  });
});

describe('detection from the event stream', () => {
  const mode = (atMs: number, m: string) => ({ atMs, event: { type: 'mode', mode: m } });
  const stream = [mode(900, 'mc'), mode(1010, 'detecting'), mode(1400, 'c'), mode(1450, 'c'), mode(3020, 'detecting'), mode(4100, 'mc')];

  it('trusted: from the move to the first of the final run of mode c', () => {
    expect(settledModeAt(stream, 'c', 1000, 3000)).toBe(1400);
    expect(trustedDetectionMs(stream, 1000, 3000)).toBe(400);
  });
  it('null when the mode was left again or never reached', () => {
    expect(trustedDetectionMs(stream, 1000, 3500)).toBeNull();
    expect(trustedDetectionMs([mode(1010, 'detecting')], 1000, 3000)).toBeNull();
  });
  it('outside: mode mc and the first reply after the move, whichever is later', () => {
    expect(outsideDetectionMs(stream, [4300, 4320], 3000, 6000)).toBe(1300);
    expect(outsideDetectionMs(stream, [4050], 3000, 6000)).toBe(1100);
    expect(outsideDetectionMs(stream, [], 3000, 6000)).toBeNull();
  });
});

describe('esp section helpers', () => {
  it('picks the benchmark function by name, or the only exported one', () => {
    const f = async () => ({});
    expect(pickBenchFunction({ runEspBench: f, helper: 1 })).toMatchObject({ name: 'runEspBench' });
    expect(pickBenchFunction({ other: f, CONST: 2 })).toMatchObject({ name: 'other' });
    expect(pickBenchFunction({ a: f, b: f })).toHaveProperty('reason');
  });
  it('finds the 1400-byte encapsulation times and rejects malformed ones', () => {
    const raw = { encapRatio: [{ size: 64, encapUs: 5, bareUs: 4 }, { size: 1400, encapUs: 10, bareUs: 8, ratio: 1.25 }] };
    expect(encapTimes(raw, 1400)).toEqual({ encapUs: 10, bareUs: 8 });
    expect(encapTimes(raw, 576)).toHaveProperty('reason');
    expect(encapTimes({ encapRatio: [{ size: 1400, encapUs: 0, bareUs: 8 }] }, 1400)).toHaveProperty('reason');
    expect(encapTimes(null, 1400)).toHaveProperty('reason');
  });
});

describe('strongswanClientConf', () => {
  it('one setting per line, mobike switch, virtual IP request', () => {
    const c = strongswanClientConf({ gateway: '192.0.2.1', remoteTs: '10.10.0.0/24', mobike: false, psk: 'p' });
    expect(c).toMatch(/^\s+mobike = no$/m);
    expect(c).toMatch(/^\s+vips = 0\.0\.0\.0$/m);
    expect(c).toMatch(/^\s+remote_ts = 10\.10\.0\.0\/24$/m);
    for (const line of c.split('\n')) expect((line.match(/ = /g) ?? []).length).toBeLessThanOrEqual(1);
    expect(strongswanClientConf({ gateway: 'g', remoteTs: 'r', mobike: true })).toMatch(/mobike = yes/);
  });
});
