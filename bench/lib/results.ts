/**
 * Benchmark figures, the printed table and the shape of bench/results.json.
 *
 * Every figure has a Homeward side and, where one exists, a baseline side
 * (strongSwan's own client, or the bare AEAD call). A side that could not be
 * measured is `null` with a `reason`; nothing here ever invents a number.
 */
import { ratio, round } from './stats.ts';

export type Measured =
  | { value: number; samples?: number[]; note?: string }
  | { value: null; reason: string };

export interface Figure {
  /** stable key in results.json, e.g. "throughput.intranetToClientMbps" */
  key: string;
  /** the table's "figure" column */
  label: string;
  unit: string;
  /** undefined: a property of the lab, not of either client (the lab RTT) */
  homeward?: Measured;
  /** undefined: the figure has no baseline column */
  baseline?: Measured;
  note?: string;
}

export interface SectionOutcome {
  name: string;
  ok: boolean;
  durationS: number;
  error?: string;
}

export const measured = (value: number, extra: { samples?: number[]; note?: string } = {}): Measured => ({ value, ...extra });
export const missing = (reason: string): Measured => ({ value: null, reason });

/** Homeward / baseline for one figure, or null. */
export function figureRatio(f: Figure): number | null {
  return f.baseline === undefined || f.homeward === undefined ? null : ratio(f.homeward.value, f.baseline.value);
}

/**
 * The fixed top-level keys: where each comes from. "min-ratio" takes
 * the lower Homeward/baseline ratio of several figures (both directions of
 * the tunnel must keep up, so the worse one counts).
 */
export const TOP_LEVEL: ReadonlyArray<{ key: string; from: string[]; take: 'homeward' | 'baseline' | 'min-ratio' }> = [
  { key: 'throughputRatio', from: ['throughput.intranetToClientMbps', 'throughput.clientToIntranetMbps'], take: 'min-ratio' },
  { key: 'throughputMcRatio', from: ['throughputMc.intranetToClientMbps', 'throughputMc.clientToIntranetMbps'], take: 'min-ratio' },
  { key: 'encapRatio', from: ['esp.encapRatio1400'], take: 'min-ratio' },
  { key: 'mobikeGapMs', from: ['handover.mobikeGapMs'], take: 'homeward' },
  { key: 'mobikeRttMs', from: ['handover.mobikeRttMs'], take: 'homeward' },
  { key: 'mobikeGapMsStrongswan', from: ['handover.mobikeGapMs'], take: 'baseline' },
  { key: 'reauthGapMsStrongswan', from: ['handover.reauthGapMs'], take: 'baseline' },
  { key: 'labRttMs', from: ['handover.labRttMs'], take: 'baseline' },
  { key: 'detectionTrustedMs', from: ['detection.trustedMs'], take: 'homeward' },
  { key: 'detectionOutsideMs', from: ['detection.outsideMs'], take: 'homeward' },
  { key: 'detectionOutsideWorstMs', from: ['detection.outsideWorstMs'], take: 'homeward' },
  { key: 'ikeSetupMs', from: ['detection.ikeSetupMs'], take: 'homeward' },
  { key: 'ikeSetupMsStrongswan', from: ['detection.ikeSetupMs'], take: 'baseline' },
  { key: 'ikeSetupRatio', from: ['detection.ikeSetupMs'], take: 'min-ratio' },
  { key: 'rssIdleMiB', from: ['memory.rssIdleMiB'], take: 'homeward' },
  { key: 'rssGrowthMiB', from: ['memory.rssGrowthMiB'], take: 'homeward' },
  { key: 'helpStartS', from: ['startup.helpS'], take: 'homeward' },
  { key: 'recoveryResumeMs', from: ['recovery.resumeMs'], take: 'homeward' },
  { key: 'recoveryGatewayMs', from: ['recovery.gatewayMs'], take: 'homeward' },
  { key: 'recoveryHaMs', from: ['recovery.haMs'], take: 'homeward' },
];

export interface ResultsJson {
  schema: 1;
  generatedBy: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: Record<string, string | number>;
  /** the fixed keys of TOP_LEVEL: a number, or null with reasons[key] */
  [topLevel: string]: unknown;
  reasons: Record<string, string>;
  figures: Record<string, FigureJson>;
  sections: SectionOutcome[];
  raw: Record<string, unknown>;
}

export interface FigureJson {
  label: string;
  unit: string;
  homeward?: number | null;
  homewardReason?: string;
  homewardSamples?: number[];
  baseline?: number | null;
  baselineReason?: string;
  baselineSamples?: number[];
  ratio?: number | null;
  note?: string;
}

function side(prefix: 'homeward' | 'baseline', m: Measured): Partial<FigureJson> {
  if (m.value === null) return { [prefix]: null, [`${prefix}Reason`]: m.reason };
  return { [prefix]: m.value, ...(m.samples ? { [`${prefix}Samples`]: m.samples } : {}) };
}

function figureJson(f: Figure): FigureJson {
  const notes = [f.note, f.homeward?.value != null ? f.homeward.note : undefined, f.baseline?.value != null ? f.baseline.note : undefined]
    .filter((x): x is string => typeof x === 'string' && x !== '');
  return {
    label: f.label, unit: f.unit,
    ...(f.homeward !== undefined ? side('homeward', f.homeward) : {}),
    ...(f.baseline !== undefined ? side('baseline', f.baseline) : {}),
    ...(f.baseline !== undefined && f.homeward !== undefined ? { ratio: nullableRound(figureRatio(f)) } : {}),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  } as FigureJson;
}

const nullableRound = (x: number | null): number | null => (x === null ? null : round(x));

/** Why a figure is absent: its section (the key's prefix) failed, or did not run. */
export function absentReason(key: string, sections: readonly SectionOutcome[]): string {
  const name = key.split('.')[0] ?? key;
  const s = sections.find((x) => x.name === name);
  if (s === undefined) return `section ${name} did not run`;
  if (!s.ok) return `section ${name} failed: ${s.error ?? 'unknown error'}`;
  return `section ${name} produced no figure ${key}`;
}

function topLevel(spec: (typeof TOP_LEVEL)[number], byKey: Map<string, Figure>, sections: readonly SectionOutcome[]): { value: number | null; reason?: string } {
  const figs = spec.from.map((k) => byKey.get(k));
  const absent = spec.from.find((_, i) => figs[i] === undefined);
  if (absent !== undefined) return { value: null, reason: absentReason(absent, sections) };
  const present = figs as Figure[];
  if (spec.take === 'min-ratio') {
    const rs = present.map(figureRatio);
    if (rs.some((r) => r === null)) {
      const why = present.flatMap((f) => [f.homeward, f.baseline]).find((m) => m !== undefined && m.value === null);
      return { value: null, reason: why && why.value === null ? why.reason : 'a side is missing' };
    }
    return { value: Math.min(...(rs as number[])) };
  }
  const m = spec.take === 'homeward' ? present[0]?.homeward : present[0]?.baseline;
  if (m === undefined) return { value: null, reason: `figure ${spec.from[0]} has no ${spec.take} side` };
  return m.value === null ? { value: null, reason: m.reason } : { value: m.value };
}

/** results.json from the figures and section outcomes. */
export function buildResults(o: {
  figures: readonly Figure[];
  sections: readonly SectionOutcome[];
  startedAt: Date;
  finishedAt: Date;
  machine: Record<string, string | number>;
  /** sections' raw outputs by section name (bench/esp.ts's object, …) */
  raw?: Record<string, unknown>;
}): ResultsJson {
  const byKey = new Map(o.figures.map((f) => [f.key, f]));
  const top: Record<string, number | null> = {};
  const reasons: Record<string, string> = {};
  for (const spec of TOP_LEVEL) {
    const t = topLevel(spec, byKey, o.sections);
    top[spec.key] = t.value === null ? null : round(t.value);
    if (t.reason !== undefined) reasons[spec.key] = t.reason;
  }
  return {
    schema: 1,
    generatedBy: 'npm run bench (bench/run.ts)',
    startedAt: o.startedAt.toISOString(),
    finishedAt: o.finishedAt.toISOString(),
    durationS: round((o.finishedAt.getTime() - o.startedAt.getTime()) / 1000),
    machine: o.machine,
    ...top,
    reasons,
    figures: Object.fromEntries(o.figures.map((f) => [f.key, figureJson(f)])),
    sections: [...o.sections],
    raw: o.raw ?? {},
  };
}

const show = (m: Measured | undefined): string => (m === undefined ? '—' : m.value === null ? 'n/a' : String(round(m.value)));

/** The table printed at the end of a run (and pasted into docs/PERFORMANCE.md). */
export function formatTable(figures: readonly Figure[]): string {
  const rows = [['figure', 'Homeward', 'baseline', 'ratio', 'unit', 'note']];
  for (const f of figures) {
    const r = figureRatio(f);
    const why = [f.homeward, f.baseline].filter((m): m is Measured => m !== undefined && m.value === null)
      .map((m) => (m.value === null ? m.reason : '')).filter((x) => x !== '');
    const note = [f.note, ...why.map((w) => `not measured: ${w}`)].filter((x): x is string => !!x).join('; ');
    const noRatio = f.baseline === undefined || f.homeward === undefined;
    rows.push([f.label, show(f.homeward), show(f.baseline), r !== null ? round(r).toFixed(2) : noRatio ? '—' : 'n/a', f.unit, note]);
  }
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = rows.map((r) => `| ${r.map(cell).join(' | ')} |`);
  lines.splice(1, 0, `|${rows[0]?.map(() => '---').join('|')}|`);
  return lines.join('\n');
}
