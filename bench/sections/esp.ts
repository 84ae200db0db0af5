/**
 * The ESP micro-benchmark (bench/esp.ts, its own module): imported
 * dynamically so that this framework runs before it exists. Its result is
 * kept raw in results.json; the encapsulation ratio (our full ESP
 * encapsulation / the bare AEAD call at 1400 bytes) becomes a figure.
 */
import { existsSync } from 'node:fs';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import type { Progress, SectionOutput } from './section.ts';

export const ESP_MODULE = new URL('../esp.ts', import.meta.url);
const CANDIDATES = ['default', 'runEspBench', 'espBench', 'benchEsp', 'runEsp', 'run', 'main'];

/** The benchmark function a module exports: the first of CANDIDATES, else its only exported function. */
export function pickBenchFunction(mod: Record<string, unknown>): { name: string; fn: () => unknown } | { reason: string } {
  for (const name of CANDIDATES) {
    const v = mod[name];
    if (typeof v === 'function') return { name, fn: v as () => unknown };
  }
  const fns = Object.entries(mod).filter(([, v]) => typeof v === 'function');
  const only = fns.length === 1 ? fns[0] : undefined;
  if (only) return { name: only[0], fn: only[1] as () => unknown };
  return { reason: `bench/esp.ts exports ${fns.length} functions (${fns.map(([n]) => n).join(', ') || 'none'}); expected one of ${CANDIDATES.join(', ')}` };
}

/** The per-packet times at one size from bench/esp.ts's `encapRatio` list ({size, encapUs, bareUs, …}). */
export function encapTimes(raw: unknown, size: number): { encapUs: number; bareUs: number } | { reason: string } {
  const list = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).encapRatio : undefined;
  if (!Array.isArray(list)) return { reason: 'bench/esp.ts returned no encapRatio list' };
  const row = list.find((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && (x as Record<string, unknown>).size === size);
  if (row === undefined) return { reason: `bench/esp.ts measured no encapRatio at ${size} bytes` };
  const { encapUs, bareUs } = row;
  if (typeof encapUs !== 'number' || typeof bareUs !== 'number' || !(encapUs > 0) || !(bareUs > 0)) {
    return { reason: `bench/esp.ts encapRatio at ${size} bytes lacks positive encapUs/bareUs` };
  }
  return { encapUs, bareUs };
}

export async function espSection(progress: Progress): Promise<SectionOutput> {
  // packets per second both ways, so the ratio column reads like every other row: ours / baseline, higher is better
  const fig = (ours: Measured, bare: Measured = ours): Figure[] => [{
    key: 'esp.encapRatio1400', label: 'ESP encapsulate (native data path) vs bare node:crypto AES-256-GCM call, 1400 B', unit: 'packets/s', homeward: ours, baseline: bare,
    note: 'bench/esp.ts, one core, no I/O; ratio = encapRatio (its raw figures are under raw.esp)',
  }];
  if (!existsSync(ESP_MODULE)) return { figures: fig(missing('bench/esp.ts is not in the tree yet')) };
  const mod = (await import(ESP_MODULE.href)) as Record<string, unknown>;
  const pick = pickBenchFunction(mod);
  if ('reason' in pick) return { figures: fig(missing(pick.reason)) };
  progress(`esp: bench/esp.ts ${pick.name}() …`);
  const result = await pick.fn();
  // the issue wants the per-AEAD, per-backend, per-size table printed side by side
  if (typeof mod.formatEspTable === 'function') process.stdout.write(`${(mod.formatEspTable as (r: unknown) => string)(result)}\n\n`);
  const raw: unknown = JSON.parse(JSON.stringify(result) ?? 'null');
  const t = encapTimes(raw, 1400);
  if ('reason' in t) return { figures: fig(missing(t.reason)), raw };
  return { figures: fig(measured(1e6 / t.encapUs), measured(1e6 / t.bareUs)), raw };
}
