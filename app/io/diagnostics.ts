/**
 * "Export diagnostics": one .tar.gz for IT, with every secret scrubbed.
 *
 *   homeward-diagnostics-<stamp>/
 *     README.txt        what is inside, when, which version/platform
 *     snapshot.json     the EngineSnapshot (log lines and error texts redacted)
 *     events.jsonl      recent EngineEvents, one per line (redacted)
 *     log.txt           human-readable log (redacted)
 *     timeline.txt      every handover: when, from → to, gap, care-of, trigger, trust
 *     counters.txt      traffic and drop counters with readable names
 *     versions.txt      Homeward, Node/Electron, OS
 *     profile.json      the profile with every secret replaced by "<redacted>"
 *
 * Redaction, in order: the exact secret values found in the profile (and their
 * hex forms), PEM private-key blocks, "hex:…" secrets, key=value / "key":"value"
 * pairs named like secrets, and long hex runs (≥ 32 digits — keys, not SPIs).
 * The tar (POSIX ustar) is written here with node:zlib; no dependency.
 */
import { readFileSync } from 'node:fs';
import { release, type as osType } from 'node:os';
import { redactProfileJson } from '../config/profile.ts';
import { counterLabel, type EngineSnapshot, type EngineSource, type HandoverRecord } from '../engine-snapshot.ts';
import type { EngineEvent } from '../events.ts';

export interface TarEntry { name: string; data: Uint8Array | string; mtimeSec?: number }

const enc = new TextEncoder();

function field(buf: Uint8Array, off: number, len: number, value: string): void {
  buf.set(enc.encode(value).subarray(0, len), off);
}

function octal(buf: Uint8Array, off: number, len: number, n: number): void {
  field(buf, off, len, `${n.toString(8).padStart(len - 1, '0')}\0`);
}

/** ustar header: name 100, mode 8, uid 8, gid 8, size 12, mtime 12, chksum 8, type 1, …, magic "ustar\0" at 257. */
function tarHeader(name: string, size: number, mtime: number): Uint8Array {
  if (enc.encode(name).length > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = new Uint8Array(512);
  field(h, 0, 100, name);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h[156] = 0x30; // '0' regular file
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  field(h, 265, 32, 'homeward');
  field(h, 297, 32, 'homeward');
  const sum = h.reduce((a, b) => a + b, 0);
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A gzip-compressed POSIX tar of the entries. */
export function writeTarGz(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? enc.encode(e.data) : e.data;
    parts.push(tarHeader(e.name, data.length, e.mtimeSec ?? 0), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024)); // two zero blocks end the archive
  // node:zlib only when an export is asked for, not in every engine's memory
  return new Uint8Array(process.getBuiltinModule('node:zlib').gzipSync(Buffer.concat(parts)));
}

const SECRET_NAMES = 'psk|key|secret|password|passphrase|private[_-]?key|mn[_-]?ha[_-]?key';
const PEM_PRIVATE = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g;
const HEX_SECRET = /hex:[0-9a-fA-F]+/g;
const KEY_VALUE = new RegExp(`("?(?:${SECRET_NAMES})"?\\s*[:=]\\s*)("[^"]*"|'[^']*'|[^\\s,;}]+)`, 'gi');
const LONG_HEX = /(?:0x)?[0-9a-fA-F]{32,}/g;

/** Secret strings to scrub verbatim: every value under a secret-named key in the raw profile, plus hex forms. */
export function collectSecrets(profileJson: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    for (const [k, val] of Object.entries(v)) {
      if (typeof val === 'string' && new RegExp(`^(${SECRET_NAMES})$`, 'i').test(k) && val.length >= 4) {
        out.add(val);
        const raw = val.startsWith('hex:') ? val.slice(4) : Buffer.from(val, 'utf8').toString('hex');
        out.add(raw.toLowerCase());
        out.add(raw.toUpperCase());
        if (!val.startsWith('hex:')) out.add(Buffer.from(val, 'utf8').toString('base64'));
      } else walk(val);
    }
  };
  walk(profileJson);
  return [...out].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

export function redactText(text: string, secrets: readonly string[] = []): string {
  let t = text;
  for (const s of secrets) t = t.split(s).join('<redacted>');
  return t
    .replace(PEM_PRIVATE, '<redacted private key>')
    .replace(HEX_SECRET, 'hex:<redacted>')
    .replace(KEY_VALUE, (_m, name: string) => `${name}<redacted>`)
    .replace(LONG_HEX, '<redacted hex>');
}

/** Applies redactText to every string (keys stay) in a JSON-like value. */
export function redactDeep<T>(v: T, secrets: readonly string[]): T {
  const walk = (x: unknown): unknown => {
    if (typeof x === 'string') return redactText(x, secrets);
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, val]) => [k, walk(val)]));
    return x;
  };
  return walk(v) as T;
}

export interface DiagnosticsInput {
  snapshot: EngineSnapshot;
  /** recent events, oldest first, with the wall-clock ms they were seen */
  events: readonly { at: number; event: EngineEvent }[];
  /** extra raw log lines (e.g. the runner's stderr) */
  logLines?: readonly string[];
  /** the profile JSON as loaded (secrets included — they are removed here) */
  profile?: unknown;
  /** wall-clock ms of the export */
  now: number;
  version?: string;
  platform?: string;
  /** component → version, e.g. { node: "20.19.0", electron: "45.4.1", kernel: "6.1.0" } */
  versions?: Record<string, string>;
}

const TRUST_WORDS: Record<NonNullable<HandoverRecord['trust']>, string> = {
  'home-agent-tnc': 'trusted: the home agent answered with TNC',
  'no-tnc': 'untrusted: no trusted answer from the home agent',
  'always-vpn': 'VPN forced by the Always VPN policy',
};

function gapText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function timelineText(handovers: readonly HandoverRecord[], iso: (ms: number) => string): string {
  if (handovers.length === 0) return 'no handovers\n';
  return handovers.map((h) => [
    iso(h.at), `${h.from} → ${h.to}`, `gap ${gapText(h.gapMs)}`, `care-of ${h.fromCoa ?? '—'} → ${h.toCoa ?? '—'}`,
    `trigger: ${h.trigger ?? 'unknown'}`, h.trust ? TRUST_WORDS[h.trust] : 'trust: not settled',
  ].join('  ')).join('\n') + '\n';
}

function countersText(s: EngineSnapshot): string {
  const c = s.counters;
  const lines = [
    `tunnel packets in        ${c.tunIn}`, `tunnel packets out       ${c.tunOut}`,
    `bytes in                 ${c.bytesIn}`, `bytes out                ${c.bytesOut}`,
    ...Object.entries(c.dropped).map(([k, v]) => `${counterLabel(k)}: ${v}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Version lines: Homeward's, the runtime's and the OS's. */
export function runtimeVersions(): Record<string, string> {
  const v: Record<string, string> = { node: process.versions.node, os: `${osType()} ${release()}` };
  if (process.versions.electron) v.electron = process.versions.electron;
  return v;
}

export function buildDiagnostics(input: DiagnosticsInput): { name: string; data: Uint8Array } {
  const secrets = input.profile === undefined ? [] : collectSecrets(input.profile);
  const stamp = new Date(input.now).toISOString().replace(/[:.]/g, '-');
  const dir = `homeward-diagnostics-${stamp}`;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const snapLog = input.snapshot.log.map((l) => `${iso(l.at)} ${l.level.padEnd(5)} ${l.msg}${l.ctx ? ` ${JSON.stringify(l.ctx)}` : ''}`);
  const log = [...snapLog, ...(input.logLines ?? [])].map((l) => redactText(l, secrets)).join('\n');
  const readme = [
    'Homeward diagnostics bundle', `created ${iso(input.now)}`,
    `version ${input.version ?? 'unknown'}, platform ${input.platform ?? 'unknown'}`,
    `mode ${input.snapshot.mode}, trusted ${input.snapshot.trusted}, policy ${input.snapshot.policy}`,
    '', 'snapshot.json  engine state when exported', 'events.jsonl   recent events, oldest first',
    'log.txt        log lines', 'timeline.txt   handovers with gap, care-of, trigger, trust',
    'counters.txt   counters with readable names', 'versions.txt   versions',
    'profile.json   profile, secrets replaced by <redacted>',
    '', 'Secrets (PSKs, private keys, MN-HA keys) are removed before writing.', '',
  ].join('\n');
  const mtimeSec = Math.floor(input.now / 1000);
  const entries: TarEntry[] = [
    { name: `${dir}/README.txt`, data: readme, mtimeSec },
    { name: `${dir}/snapshot.json`, data: `${JSON.stringify(redactDeep(input.snapshot, secrets), null, 2)}\n`, mtimeSec },
    { name: `${dir}/events.jsonl`, data: input.events.map((e) => JSON.stringify(redactDeep({ at: iso(e.at), ...e.event }, secrets))).join('\n') + '\n', mtimeSec },
    { name: `${dir}/log.txt`, data: `${log}\n`, mtimeSec },
    { name: `${dir}/timeline.txt`, data: redactText(timelineText(input.snapshot.handovers, iso), secrets), mtimeSec },
    { name: `${dir}/counters.txt`, data: countersText(input.snapshot), mtimeSec },
    {
      name: `${dir}/versions.txt`, mtimeSec,
      data: `${Object.entries({ homeward: input.version ?? 'unknown', platform: input.platform ?? 'unknown', ...input.versions }).map(([k, v]) => `${k} ${v}`).join('\n')}\n`,
    },
  ];
  if (input.profile !== undefined) {
    entries.push({ name: `${dir}/profile.json`, data: `${JSON.stringify(redactDeep(redactProfileJson(input.profile), secrets), null, 2)}\n`, mtimeSec });
  }
  return { name: `${dir}.tar.gz`, data: writeTarGz(entries) };
}

/** The `counters` events the archive keeps: the last minute of traffic (the engine sends one a second while they change). */
export const RECORDED_COUNTERS = 60;

/**
 * Keeps the engine's recent events, with the wall-clock time each was seen,
 * for the archive: the last `max` events other than `counters`, and the last
 * `maxCounters` of those in a ring of their own. Under traffic the engine
 * sends a `counters` event every second; in one list they pushed the moves
 * and errors out after half an hour, and the list was the one thing a heap
 * snapshot diff of the bench's soak found growing per second (≈ 0.3 KiB per
 * event, up to ≈ 0.6 MiB at the cap; docs/PERFORMANCE.md, *Engine memory*).
 * events() returns both in the order they came.
 */
export function recordEvents(engine: EngineSource, max = 2000, maxCounters = RECORDED_COUNTERS, clock: () => number = Date.now): { events(): { at: number; event: EngineEvent }[]; stop(): void } {
  type Rec = { seq: number; at: number; event: EngineEvent };
  const others: Rec[] = [];
  const counters: Rec[] = [];
  let seq = 0;
  const stop = engine.onEvent((event) => {
    const [ring, cap] = event.type === 'counters' ? [counters, maxCounters] : [others, max];
    ring.push({ seq: seq++, at: clock(), event });
    if (ring.length > cap) ring.splice(0, ring.length - cap);
  });
  const events = () => {
    const out: { at: number; event: EngineEvent }[] = [];
    let i = 0;
    let j = 0;
    while (i < others.length || j < counters.length) {
      const r = j >= counters.length || (i < others.length && others[i]!.seq < counters[j]!.seq) ? others[i++]! : counters[j++]!;
      out.push({ at: r.at, event: r.event });
    }
    return out;
  };
  return { events, stop };
}

export interface DiagnosticsProviderOptions {
  engine: EngineSource;
  /** the raw profile JSON (secrets included: they are what gets scrubbed), when this process can read it */
  profile?: () => unknown;
  version?: string;
}

/**
 * The `diagnostics` function the UI server (app/io/ui-server.ts) and the
 * desktop app call: every entry point (run --ui, ui, the demo, Electron)
 * builds the same archive this way.
 */
export function diagnosticsProvider(opts: DiagnosticsProviderOptions): { build: () => Promise<{ name: string; data: Uint8Array }>; stop(): void } {
  const recorder = recordEvents(opts.engine);
  return {
    build: async () => {
      let profile: unknown;
      try { profile = opts.profile?.(); } catch { profile = undefined; }
      return buildDiagnostics({
        snapshot: opts.engine.snapshot(), events: recorder.events(), now: Date.now(),
        version: opts.version ?? HOMEWARD_VERSION, platform: process.platform, versions: runtimeVersions(),
        ...(profile === undefined ? {} : { profile }),
      });
    },
    stop: recorder.stop,
  };
}

export const HOMEWARD_VERSION = '0.1.0';

/** Reads a profile file's JSON for the archive (secrets are scrubbed by buildDiagnostics). */
export function profileFromFile(path: string): () => unknown {
  return () => JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
