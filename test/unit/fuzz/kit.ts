/**
 * Shared machinery of the fuzz suite (property-based tests with fast-check).
 *
 * Two sizes, one set of properties:
 *   npm test       a fixed seed and a bounded number of runs per target
 *   npm run fuzz   HOMEWARD_FUZZ_RUNS per decoder (1 M), HOMEWARD_FUZZ_CORE_RUNS
 *                  per core handler (100 k) and a random seed, printed;
 *                  HOMEWARD_FUZZ_SEED replays one (test/unit/fuzz/run.mjs
 *                  sets them from --runs / --core-runs / --seed).
 *
 * Inputs are random bytes and mutations of genuine encodings (bit flips,
 * byte edits, length-field edits, truncation, insertion, deletion,
 * appended junk). The decoder property: a value or a DecodeError (the
 * project's typed decode error and its subclasses), nothing else.
 */
import fc from 'fast-check';
import { afterAll, expect } from 'vitest';
import { bytesToHex, DecodeError, equalBytes } from '../../../app/base/bytes.ts';

/** Bounded default: a few thousand runs per decoder. */
const DEFAULT_RUNS = 3000;

export const FUZZ_RUNS = Number(process.env['HOMEWARD_FUZZ_RUNS'] ?? DEFAULT_RUNS);
/** Core handlers are slower (crypto, state): a tenth as many inputs unless HOMEWARD_FUZZ_CORE_RUNS says. */
export const CORE_RUNS = Number(process.env['HOMEWARD_FUZZ_CORE_RUNS'] ?? Math.max(300, Math.floor(FUZZ_RUNS / 10)));
export const FUZZ_SEED = process.env['HOMEWARD_FUZZ_SEED'] !== undefined ? Number(process.env['HOMEWARD_FUZZ_SEED']) : 0x5eed_f022;
/** Generous per-test timeout: proportional to the run count. */
export const FUZZ_TIMEOUT_MS = Math.max(60_000, FUZZ_RUNS * 2, CORE_RUNS * 20);

if (!Number.isSafeInteger(FUZZ_RUNS) || FUZZ_RUNS < 1) throw new Error(`HOMEWARD_FUZZ_RUNS must be a positive integer, got ${process.env['HOMEWARD_FUZZ_RUNS']}`);
if (!Number.isSafeInteger(CORE_RUNS) || CORE_RUNS < 1) throw new Error(`HOMEWARD_FUZZ_CORE_RUNS must be a positive integer, got ${process.env['HOMEWARD_FUZZ_CORE_RUNS']}`);
if (!Number.isSafeInteger(FUZZ_SEED)) throw new Error(`HOMEWARD_FUZZ_SEED must be an integer, got ${process.env['HOMEWARD_FUZZ_SEED']}`);

export interface TargetSummary {
  target: string;
  runs: number;
  rejected: number;
  accepted: number;
}

const summaries: TargetSummary[] = [];

afterAll(() => {
  if (summaries.length === 0) return;
  const w = Math.max(...summaries.map((s) => s.target.length));
  const lines = summaries.map((s) => `  ${s.target.padEnd(w)}  runs ${String(s.runs).padStart(9)}  typed-rejections ${String(s.rejected).padStart(9)}  accepted ${String(s.accepted).padStart(9)}`);
  const total = summaries.reduce((n, s) => n + s.runs, 0);
  process.stdout.write(`\nfuzz summary (seed ${FUZZ_SEED}): ${summaries.length} targets passed, ${total} inputs, no untyped exception\n${lines.join('\n')}\n`);
});

/** Counts one target's outcomes; record() adds it to the file's summary. */
export class Tally {
  runs = 0;
  rejected = 0;
  accepted = 0;
  constructor(readonly target: string) {}
  record(): void {
    summaries.push({ target: this.target, runs: this.runs, rejected: this.rejected, accepted: this.accepted });
  }
}

export function fcParams(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, seed: FUZZ_SEED };
}

/**
 * fc.assert with stack traces off while it runs: most inputs end in a typed
 * error, and capturing a stack is most of the cost of one. A failure is
 * replayed once with stacks on, so its report still has one.
 */
export function assertFast<T>(prop: fc.IProperty<T>, numRuns: number): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let details: fc.RunDetails<T>;
  try {
    details = fc.check(prop, fcParams(numRuns)) as fc.RunDetails<T>;
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (details.failed) {
    // stateless properties fail again here, with a stack; stateful ones (cores) may not, so the first error is kept as the cause
    const replay = { ...fcParams(numRuns), ...(details.counterexamplePath ? { path: details.counterexamplePath } : {}) };
    fc.assert(prop, replay);
    throw new Error(`${fc.defaultReportMessage(details) ?? 'property failed'}\ncaused by: ${String(details.errorInstance)}`, { cause: details.errorInstance });
  }
}

// ── inputs ─────────────────────────────────────────────────────────────

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u16'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'append'; bytes: Uint8Array };

const INTERESTING_U8 = [0, 1, 2, 3, 4, 7, 8, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U16 = [0, 1, 3, 4, 5, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** Positions are fractions of the sample's length, so one mutation fits every sample. */
const pos = fc.noBias(fc.integer({ min: 0, max: 0xffff })).map((n) => n / 0x10000);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, value: fc.oneof(fc.constantFrom(...INTERESTING_U8), fc.integer({ min: 0, max: 255 })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('u16' as const), at: pos, value: fc.oneof(fc.constantFrom(...INTERESTING_U16), fc.integer({ min: 0, max: 0xffff })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('u32' as const), at: pos, value: fc.constantFrom(...INTERESTING_U32) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, n: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
);

export function mutate(sample: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = sample.slice();
  for (const m of mutations) {
    const at = m.op === 'append' ? 0 : Math.floor(m.at * (b.length + (m.op === 'insert' ? 1 : 0)));
    switch (m.op) {
      case 'flip': if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit); break;
      case 'set': if (b.length > 0) b[at] = m.value; break;
      case 'u16': if (b.length >= 2) { const i = Math.min(at, b.length - 2); b[i] = m.value >> 8; b[i + 1] = m.value & 0xff; } break;
      case 'u32': if (b.length >= 4) { const i = Math.min(at, b.length - 4); b[i] = m.value >>> 24; b[i + 1] = (m.value >>> 16) & 0xff; b[i + 2] = (m.value >>> 8) & 0xff; b[i + 3] = m.value & 0xff; } break;
      case 'truncate': b = b.slice(0, at); break;
      case 'insert': { const o = new Uint8Array(b.length + m.bytes.length); o.set(b.subarray(0, at)); o.set(m.bytes, at); o.set(b.subarray(at), at + m.bytes.length); b = o; break; }
      case 'delete': b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.n)]); break;
      case 'append': { const o = new Uint8Array(b.length + m.bytes.length); o.set(b); o.set(m.bytes, b.length); b = o; break; }
    }
  }
  return b;
}

export interface InputOptions {
  /** Genuine encodings made with our encoders; mutated copies are half the inputs. */
  genuine: readonly Uint8Array[];
  /** Longest random input (default 96). */
  maxRandomLength?: number;
  /** Repairs checksums after mutating, so the decoder is exercised past them (applied to half the mutants). */
  fixup?: (b: Uint8Array) => Uint8Array;
}

/** Random bytes, or a genuine sample with 1–4 mutations (optionally with its checksums repaired). */
export function inputs(o: InputOptions): fc.Arbitrary<Uint8Array> {
  const random = fc.uint8Array({ maxLength: o.maxRandomLength ?? 96 });
  if (o.genuine.length === 0) return random;
  const mutant = fc.tuple(fc.integer({ min: 0, max: o.genuine.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([i, ms, fix]) => {
      const b = mutate(o.genuine[i]!, ms);
      if (!fix || !o.fixup) return b;
      try {
        return o.fixup(b);
      } catch {
        return b; // too mangled to repair: use as is
      }
    });
  return fc.oneof({ weight: 1, arbitrary: random }, { weight: 3, arbitrary: mutant });
}

// ── the decoder property ───────────────────────────────────────────────

export function isTypedDecodeError(e: unknown): e is DecodeError {
  return e instanceof DecodeError;
}

/** Rethrows e; an error that is not an instance of `cls` is wrapped so the property fails (cheaper than expect in a hot loop). */
export function onlyThrows(cls: new (...a: never[]) => Error, e: unknown): never {
  if (e instanceof cls) throw e;
  throw new Error(`expected ${cls.name}, got ${String(e)}`, { cause: e });
}

export interface DecoderTarget<T> extends InputOptions {
  name: string;
  decode: (b: Uint8Array) => T;
  /** Canonical codecs: re-encoding a decoded value is a fixed point (encode ∘ decode ∘ encode = encode), and genuine samples come back byte for byte. */
  encode?: (v: T) => Uint8Array;
  /** Genuine samples the encoder does not reproduce byte for byte (e.g. reserved fields), by index. */
  notByteExact?: ReadonlySet<number>;
  runs?: number;
}

/** Runs the property; returns the tally (already added to the summary). */
export function fuzzDecoder<T>(t: DecoderTarget<T>): Tally {
  const tally = new Tally(t.name);
  // the genuine samples decode, and (canonical codecs) re-encode byte for byte
  t.genuine.forEach((g, i) => {
    const v = t.decode(g);
    if (t.encode && v !== undefined && !t.notByteExact?.has(i)) expect(t.encode(v), `${t.name}: genuine sample ${i} re-encodes`).toEqual(g);
  });
  assertFast(fc.property(inputs(t), (bytes) => {
    tally.runs++;
    let v: T;
    try {
      v = t.decode(bytes);
    } catch (e) {
      if (isTypedDecodeError(e)) {
        tally.rejected++;
        return;
      }
      throw e;
    }
    tally.accepted++;
    if (t.encode && v !== undefined) {
      const once = t.encode(v);
      const twice = t.encode(t.decode(once));
      if (!equalBytes(once, twice)) throw new Error(`${t.name}: re-encoding is not a fixed point: ${bytesToHex(once)} then ${bytesToHex(twice)}`);
    }
  }), t.runs ?? FUZZ_RUNS);
  tally.record();
  return tally;
}

/** For result-typed decoders that must never throw: counts ok / typed failures. */
export function fuzzTotal(t: InputOptions & { name: string; run: (b: Uint8Array) => boolean; runs?: number }): Tally {
  const tally = new Tally(t.name);
  assertFast(fc.property(inputs(t), (bytes) => {
    tally.runs++;
    if (t.run(bytes)) tally.accepted++;
    else tally.rejected++;
  }), t.runs ?? FUZZ_RUNS);
  tally.record();
  return tally;
}
