import { describe, expect, it } from 'vitest';
import { BenchOptionError, secondHalfGrowth, selectSections, soakSampleMs } from '../../../bench/lib/options.ts';
import { BenchParseError, parseGnuTime } from '../../../bench/lib/parse.ts';

const KNOWN = ['startup', 'throughput', 'memory', 'esp'];

describe('selectSections', () => {
  it('runs everything with neither --only nor BENCH_ONLY', () => {
    expect(selectSections([], undefined, KNOWN)).toBeUndefined();
    expect(selectSections([], ' , ', KNOWN)).toBeUndefined();
  });
  it('takes --only lists in both spellings, repeated, before BENCH_ONLY', () => {
    expect(selectSections(['--only', 'startup,memory'], 'esp', KNOWN)).toEqual(['startup', 'memory']);
    expect(selectSections(['--only=memory', '--only', 'esp, memory'], undefined, KNOWN)).toEqual(['memory', 'esp']);
    expect(selectSections([], 'esp,startup', KNOWN)).toEqual(['esp', 'startup']);
  });
  it('refuses an unknown section, a missing list and other options, naming them', () => {
    expect(() => selectSections(['--only', 'strtup'], undefined, KNOWN)).toThrow(/no such bench section: strtup \(sections: startup, throughput, memory, esp\)/);
    expect(() => selectSections([], 'memory,soak', KNOWN)).toThrow(/soak/);
    expect(() => selectSections(['--only'], undefined, KNOWN)).toThrow(BenchOptionError);
    expect(() => selectSections(['--only', '--fast'], undefined, KNOWN)).toThrow(/needs a list/);
    expect(() => selectSections(['--only='], undefined, KNOWN)).toThrow(/names no section/);
    expect(() => selectSections(['--fast'], undefined, KNOWN)).toThrow(/unknown option --fast/);
  });
});

describe('soakSampleMs', () => {
  it('samples every 30 s in the 10-minute soak and 20 times over shorter ones, at most every 2 s', () => {
    expect(soakSampleMs(10)).toBe(30_000);
    expect(soakSampleMs(30)).toBe(30_000);
    expect(soakSampleMs(2)).toBe(6_000);
    expect(soakSampleMs(0.25)).toBe(2_000);
  });
  it('refuses a soak that is not a positive number', () => {
    expect(() => soakSampleMs(Number('ten'))).toThrow(/BENCH_SOAK_MINUTES/);
    expect(() => soakSampleMs(0)).toThrow(BenchOptionError);
  });
});

describe('secondHalfGrowth', () => {
  it('is the last reading minus the middle sample', () => {
    expect(secondHalfGrowth([70, 72, 75, 76], 78)).toBe(3);
    expect(secondHalfGrowth([70, 72, 75], 74.5)).toBe(2.5);
    expect(secondHalfGrowth([71], 70)).toBe(-1);
    expect(secondHalfGrowth([], 70)).toBeNull();
  });
});

describe('parseGnuTime', () => {
  it('reads wall, user, system and peak RSS from the last stderr line', () => {
    expect(parseGnuTime('some warning\n0.08 0.05 0.01 48772\n')).toEqual({ wallS: 0.08, userS: 0.05, sysS: 0.01, maxRssKiB: 48772 });
    expect(parseGnuTime('1 0 0 4000')).toEqual({ wallS: 1, userS: 0, sysS: 0, maxRssKiB: 4000 });
  });
  it('throws when the command did not end with that line', () => {
    expect(() => parseGnuTime('Command exited with non-zero status 1\n')).toThrow(BenchParseError);
    expect(() => parseGnuTime('')).toThrow(/%e %U %S %M/);
  });
});
