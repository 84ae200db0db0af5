import { describe, expect, it } from 'vitest';
import { absentReason, buildResults, figureRatio, formatTable, measured, missing, TOP_LEVEL, type Figure } from '../../../bench/lib/results.ts';
import { median, ratio, round } from '../../../bench/lib/stats.ts';

describe('median / ratio / round', () => {
  it('median of odd, even, unsorted and non-finite samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([5, NaN, Infinity, 1])).toBe(3);
    expect(median([])).toBeNull();
    expect(median([NaN])).toBeNull();
  });
  it('ratio is null when a side is missing or the baseline is not positive', () => {
    expect(ratio(50, 200)).toBe(0.25);
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(2, 0)).toBeNull();
    expect(ratio(2, null)).toBeNull();
  });
  it('round keeps more decimals for small values', () => {
    expect(round(1234.567)).toBe(1234.6);
    expect(round(12.3456)).toBe(12.35);
    expect(round(0.05812)).toBe(0.058);
  });
});

const started = new Date('2025-01-01T00:00:00Z');
const finished = new Date('2025-01-01T00:10:30Z');

function figures(): Figure[] {
  return [
    { key: 'throughput.intranetToClientMbps', label: 'a', unit: 'Mbit/s', homeward: measured(150), baseline: measured(300) },
    { key: 'throughput.clientToIntranetMbps', label: 'b', unit: 'Mbit/s', homeward: measured(90), baseline: measured(100) },
    { key: 'handover.labRttMs', label: 'rtt', unit: 'ms', baseline: measured(0.06) },
    { key: 'handover.mobikeGapMs', label: 'gap', unit: 'ms', homeward: missing('homeward vpn up not available: x'), baseline: measured(140, { samples: [130, 140, 150] }) },
    { key: 'esp.encapRatio1400', label: 'esp', unit: 'packets/s', homeward: measured(90_000), baseline: measured(100_000) },
  ];
}

describe('buildResults', () => {
  const sections = [
    { name: 'throughput', ok: true, durationS: 30 },
    { name: 'handover', ok: true, durationS: 100 },
    { name: 'detection', ok: false, durationS: 2, error: 'lab exploded' },
  ];
  const r = buildResults({ figures: figures(), sections, startedAt: started, finishedAt: finished, machine: { cpus: 2 }, raw: { esp: { cells: [] } } });

  it('has every fixed top-level key, a number or null with a reason', () => {
    for (const { key } of TOP_LEVEL) {
      expect(r).toHaveProperty(key);
      const v = r[key];
      if (v === null) expect(typeof r.reasons[key]).toBe('string');
      else expect(typeof v).toBe('number');
    }
  });

  it('throughputRatio is the worse direction; encapRatio is ours / bare', () => {
    expect(r.throughputRatio).toBe(0.5);
    expect(r.encapRatio).toBe(0.9);
    expect(r.mobikeGapMsStrongswan).toBe(140);
    expect(r.labRttMs).toBe(0.06);
  });

  it('a missing side keeps its reason; a failed section is named in the reason', () => {
    expect(r.mobikeGapMs).toBeNull();
    expect(r.reasons.mobikeGapMs).toMatch(/homeward vpn up not available/);
    expect(r.detectionTrustedMs).toBeNull();
    expect(r.reasons.detectionTrustedMs).toBe('section detection failed: lab exploded');
    expect(r.reasons.rssIdleMiB).toBe('section memory did not run');
  });

  it('keeps raw figures, samples and reasons per figure, and survives JSON', () => {
    const again = JSON.parse(JSON.stringify(r)) as typeof r;
    expect(again.figures['handover.mobikeGapMs']).toEqual({
      label: 'gap', unit: 'ms', homeward: null, homewardReason: 'homeward vpn up not available: x',
      baseline: 140, baselineSamples: [130, 140, 150], ratio: null,
    });
    expect(again.figures['handover.labRttMs']).toEqual({ label: 'rtt', unit: 'ms', baseline: 0.06 });
    expect(again.figures['throughput.intranetToClientMbps']?.ratio).toBe(0.5);
    expect(again.durationS).toBe(630);
    expect(again.raw).toEqual({ esp: { cells: [] } });
    expect(again.sections).toHaveLength(3);
  });

  it('never turns a missing figure into a number', () => {
    const none = buildResults({ figures: [], sections: [], startedAt: started, finishedAt: finished, machine: {} });
    for (const { key } of TOP_LEVEL) expect(none[key]).toBeNull();
  });
});

describe('figureRatio / absentReason / formatTable', () => {
  it('ratio only with both sides', () => {
    const [a, , rtt, gap] = figures();
    expect(figureRatio(a as Figure)).toBe(0.5);
    expect(figureRatio(rtt as Figure)).toBeNull();
    expect(figureRatio(gap as Figure)).toBeNull();
  });
  it('absentReason distinguishes failed, not run and silent sections', () => {
    expect(absentReason('esp.x', [{ name: 'esp', ok: true, durationS: 1 }])).toBe('section esp produced no figure esp.x');
  });
  it('prints one row per figure with n/a and the reason for missing sides', () => {
    const t = formatTable(figures()).split('\n');
    expect(t[0]).toBe('| figure | Homeward | baseline | ratio | unit | note |');
    expect(t).toHaveLength(2 + 5);
    expect(t[2]).toBe('| a | 150 | 300 | 0.50 | Mbit/s |  |');
    expect(t[4]).toBe('| rtt | — | 0.06 | — | ms |  |');
    expect(t[5]).toMatch(/^\| gap \| n\/a \| 140 \| n\/a \| ms \| not measured: homeward vpn up not available: x \|$/);
  });
});
