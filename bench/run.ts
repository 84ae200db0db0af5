/**
 * `npm run bench`: the side-by-side benchmarks of issue 8, in one run on one
 * lab, Homeward beside strongSwan's own client (or the bare AEAD call).
 *
 * Each section runs in its own try/catch: a failing one is reported with its
 * error and the others still run. At the end: one table on stdout,
 * bench/results.json (every raw figure, the issue's ratio keys, null +
 * reason for whatever could not be measured) and the table in
 * docs/PERFORMANCE.md between its bench-table markers. Progress on stderr.
 *
 * Options: `--only throughput,handover,…` (or BENCH_ONLY=…) runs a subset
 * (results.json is then written to /tmp/homeward-bench-results.partial.json);
 * BENCH_MOVES (default 10); BENCH_SOAK_MINUTES (default 10, the issue's
 * figure; a shorter soak samples RSS 20 times).
 *
 * `startup` runs first, right after the engine bundle is built and before any
 * lab exists: it times a command a user starts on their own machine, not one
 * that waits behind this run's lab teardown.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { labAvailable } from '../test/lab/harness/index.ts';
import { BenchOptionError, selectSections } from './lib/options.ts';
import { buildResults, formatTable, type Figure, type SectionOutcome } from './lib/results.ts';
import { detectionSection } from './sections/detection.ts';
import { espSection } from './sections/esp.ts';
import { handoverSection } from './sections/handover.ts';
import { memorySection } from './sections/memory.ts';
import { recoverySection } from './sections/recovery.ts';
import type { Progress, Section } from './sections/section.ts';
import { throughputSection } from './sections/throughput.ts';
import { throughputMcSection } from './sections/throughput-mc.ts';
import { startupSection } from './sections/startup.ts';

const RESULTS = new URL('./results.json', import.meta.url);
const PARTIAL = new URL('file:///tmp/homeward-bench-results.partial.json');
const DOC = new URL('../docs/PERFORMANCE.md', import.meta.url);
const START_MARK = '<!-- bench-table:start -->';
const END_MARK = '<!-- bench-table:end -->';

const SECTIONS: Section[] = [
  { name: 'startup', run: startupSection },
  { name: 'throughput', run: throughputSection },
  { name: 'throughput-mc', run: throughputMcSection },
  { name: 'handover', run: handoverSection },
  { name: 'detection', run: detectionSection },
  { name: 'memory', run: memorySection },
  { name: 'recovery', run: recoverySection },
  { name: 'esp', run: espSection },
];
const LAB_SECTIONS = new Set(['throughput', 'throughput-mc', 'handover', 'detection', 'memory', 'recovery']);

const t0 = Date.now();
const progress: Progress = (line) => process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(0)}s] ${line}\n`);

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'n/a';
  }
}

function machine(): Record<string, string | number> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: release(),
    strongswan: version('dpkg-query', ['-W', '-f', '${Version}', 'strongswan-charon']),
    iperf3: version('iperf3', ['--version']),
  };
}

/** Replaces the table between the markers of docs/PERFORMANCE.md (if both are there). */
function updateDoc(table: string, stamp: string): void {
  if (!existsSync(DOC)) return;
  const doc = readFileSync(DOC, 'utf8');
  const a = doc.indexOf(START_MARK);
  const b = doc.indexOf(END_MARK);
  if (a < 0 || b < a) return;
  writeFileSync(DOC, `${doc.slice(0, a + START_MARK.length)}\n${stamp}\n\n${table}\n${doc.slice(b)}`);
}

/** The engine bundle bin/homeward.mjs runs while it is current (scripts/build-engine.mjs): built first, so the run measures it and not a tsx fallback. */
function buildEngine(): void {
  const script = new URL('../scripts/build-engine.mjs', import.meta.url);
  if (!existsSync(script)) return;
  try {
    execFileSync(process.execPath, [script.pathname], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    progress('engine bundle built (scripts/build-engine.mjs)');
  } catch (e) {
    progress(`engine bundle NOT built, Homeward runs through tsx: ${(e as Error).message.slice(0, 200)}`);
  }
}

async function main(): Promise<void> {
  const only = selectSections(process.argv.slice(2), process.env.BENCH_ONLY, SECTIONS.map((s) => s.name));
  buildEngine();
  const started = new Date();
  const lab = labAvailable({ need: ['strongswan', 'iptables'] });
  const figures: Figure[] = [];
  const outcomes: SectionOutcome[] = [];
  const raw: Record<string, unknown> = {};
  for (const s of SECTIONS) {
    if (only && !only.includes(s.name)) continue;
    const st = Date.now();
    progress(`section ${s.name}`);
    try {
      if (LAB_SECTIONS.has(s.name) && !lab.ok) throw new Error(`the lab is not available here: ${lab.reason ?? ''}`);
      const out = await s.run(progress);
      const list = Array.isArray(out) ? out : out.figures;
      if (!Array.isArray(out) && out.raw !== undefined) raw[s.name] = out.raw;
      figures.push(...list);
      outcomes.push({ name: s.name, ok: true, durationS: (Date.now() - st) / 1000 });
    } catch (e) {
      const error = (e as Error).message ?? String(e);
      progress(`section ${s.name} FAILED: ${error}`);
      outcomes.push({ name: s.name, ok: false, durationS: (Date.now() - st) / 1000, error: error.slice(0, 2000) });
    }
  }
  const results = buildResults({ figures, sections: outcomes, startedAt: started, finishedAt: new Date(), machine: machine(), raw });
  const table = formatTable(figures);
  process.stdout.write(`${table}\n\n`);
  for (const key of ['throughputRatio', 'throughputMcRatio', 'encapRatio', 'rssIdleMiB', 'helpStartS', 'mobikeGapMs', 'mobikeGapMsStrongswan', 'labRttMs', 'detectionTrustedMs', 'detectionOutsideMs', 'detectionOutsideWorstMs', 'ikeSetupMs', 'ikeSetupMsStrongswan', 'ikeSetupRatio', 'recoveryResumeMs', 'recoveryGatewayMs', 'recoveryHaMs']) {
    const why = results.reasons[key];
    process.stdout.write(`${key}: ${String(results[key])}${why ? ` (${why})` : ''}\n`);
  }
  for (const o of outcomes.filter((x) => !x.ok)) process.stdout.write(`section ${o.name} failed: ${o.error ?? ''}\n`);
  const target = only ? PARTIAL : RESULTS;
  writeFileSync(target, `${JSON.stringify(results, null, 2)}\n`);
  if (!only) updateDoc(table, `Run of ${results.finishedAt} (${results.durationS} s, ${String(results.machine.cpus)} cores, Node ${process.version}, strongSwan ${String(results.machine.strongswan)}).`);
  progress(`wrote ${target.pathname} in ${results.durationS} s`);
}

try {
  await main();
} catch (e) {
  if (!(e instanceof BenchOptionError)) throw e;
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 64;
}
