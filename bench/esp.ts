/**
 * ESP data-path micro-benchmark: seal+open throughput of our full ESP
 * encapsulation/decapsulation for each AEAD and each backend at 64, 576 and
 * 1400-byte inner packets, side by side, plus `encapRatio`: our full ESP
 * encapsulation as the data path runs it — the native seal of
 * native-tunnel/src/esp_core.h (header, padding, trailer, Seq, AEAD with the
 * SA's persistent OpenSSL context) — against the bare node:crypto AES-256-GCM
 * call on buffers of the same size (1.0 = no overhead beyond that call). The
 * JavaScript OutboundEspSa.encapsulate (the fallback) is timed beside it
 * (`jsEncapUs`).
 *
 *   npx tsx bench/esp.ts            prints a table (and the JSON with --json)
 *   import { runEspBench } …        returns a JSON-able object
 *
 * Bounded: each cell runs for `cellMs` (default 450 ms), ~12 s in all.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { EncrId } from '../app/wire/ikev2/constants.ts';
import { aeadBackends } from '../app/crypto/aead.ts';
import type { AeadBackend } from '../app/crypto/aead.ts';
import { encrKeyLength } from '../app/crypto/suite.ts';
import type { AeadAlg, CipherSuite } from '../app/crypto/suite.ts';
import { InboundEspSa, OutboundEspSa } from '../app/esp/esp-sa.ts';
import { loadDataplaneAddon } from '../native-tunnel/index.ts';

export interface EspBenchCell {
  alg: AeadAlg;
  backend: AeadBackend;
  size: number;
  /** seal+open pairs per second */
  packetsPerSecond: number;
  /** inner bytes through seal+open per second, in Mbit/s */
  mbitPerSecond: number;
}

export interface EspBenchResult {
  cellMs: number;
  cells: EspBenchCell[];
  /** per size: µs per packet of encapsulate vs the bare node AES-256-GCM call; ratio = bare / encapsulate (speed, 1 = as fast as the bare call) */
  encapRatio: { size: number; encapUs: number; bareUs: number; ratio: number; jsEncapUs: number; jsRatio: number }[];
  totalMs: number;
}

const ALGS: [AeadAlg, CipherSuite][] = [
  ['aes128gcm16', { encr: EncrId.AesGcm16, keyLength: 128 }],
  ['aes256gcm16', { encr: EncrId.AesGcm16, keyLength: 256 }],
  ['chacha20poly1305', { encr: EncrId.ChaCha20Poly1305 }],
];
const SIZES = [64, 576, 1400];

/** Runs fn in batches until ms have passed; returns calls per second. */
function rate(ms: number, fn: () => void): number {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  const start = performance.now();
  let n = 0;
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 64; i++) fn();
    n += 64;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

function innerPacket(size: number): Uint8Array {
  const p = randomBytes(size);
  p[0] = 0x45;
  return new Uint8Array(p);
}

function espCell(alg: AeadAlg, suite: CipherSuite, backend: AeadBackend, size: number, ms: number): EspBenchCell {
  const keys = { encr: new Uint8Array(randomBytes(encrKeyLength(suite))), integ: new Uint8Array(0) };
  const out = new OutboundEspSa({ spi: 0x1000, suite, keys, backend });
  const inb = new InboundEspSa({ spi: 0x1000, suite, keys, backend });
  const inner = innerPacket(size);
  const pps = rate(ms, () => {
    const r = out.encapsulate(inner);
    if (!r.ok || !inb.decapsulate(r.packet).ok) throw new Error('ESP round trip failed in the benchmark');
  });
  return { alg, backend, size, packetsPerSecond: Math.round(pps), mbitPerSecond: Math.round((pps * size * 8) / 1e4) / 100 };
}

/**
 * Ours against the bare call, side by side: ten interleaved rounds of each
 * (so a slow moment of the machine hits both); µs per packet are the
 * medians of the rounds and the ratio is theirs.
 */
function encapRatio(size: number, ms: number): EspBenchResult['encapRatio'][number] {
  const suite: CipherSuite = { encr: EncrId.AesGcm16, keyLength: 256 };
  const keymat = new Uint8Array(randomBytes(36));
  const out = new OutboundEspSa({ spi: 0x2000, suite, keys: { encr: keymat, integ: new Uint8Array(0) }, backend: 'node' });
  const inner = innerPacket(size);
  const jsEncapOnce = (): void => void out.encapsulate(inner);
  const native = new (loadDataplaneAddon().EspSa)({ dir: 'out', spi: 0x2000, alg: 'aes256gcm16', keymat });
  const slot = new Uint8Array(size + 64);
  const encapOnce = (): void => {
    if (native.sealInto(inner, slot) === 0) throw new Error('native seal refused in the benchmark');
  };
  // the bare call on a buffer of the same plaintext size (inner + trailer, 4-aligned)
  const key = keymat.subarray(0, 32);
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(8);
  const pt = new Uint8Array(Math.ceil((size + 2) / 4) * 4);
  const bareOnce = (): void => {
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    c.update(pt);
    c.final();
    c.getAuthTag();
  };
  const rounds = 10;
  const encap: number[] = [];
  const bare: number[] = [];
  const js: number[] = [];
  for (let r = 0; r < rounds; r++) {
    encap.push(rate(ms / rounds, encapOnce));
    bare.push(rate(ms / rounds, bareOnce));
    js.push(rate(ms / rounds, jsEncapOnce));
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const encapUs = 1e6 / med(encap);
  const bareUs = 1e6 / med(bare);
  const jsEncapUs = 1e6 / med(js);
  // ratios of the rounded times, so the fields agree with each other at any ratio
  return { size, encapUs: round(encapUs), bareUs: round(bareUs), ratio: round(round(bareUs) / round(encapUs)), jsEncapUs: round(jsEncapUs), jsRatio: round(round(bareUs) / round(jsEncapUs)) };
}

const round = (x: number): number => Math.round(x * 100) / 100;

export async function runEspBench(opts: { cellMs?: number; sizes?: number[] } = {}): Promise<EspBenchResult> {
  const cellMs = opts.cellMs ?? 450;
  const sizes = opts.sizes ?? SIZES;
  const t0 = performance.now();
  const cells: EspBenchCell[] = [];
  for (const [alg, suite] of ALGS) {
    for (const size of sizes) {
      for (const backend of aeadBackends(alg)) {
        cells.push(espCell(alg, suite, backend, size, cellMs));
        await new Promise((r) => setImmediate(r)); // let the event loop breathe between cells
      }
    }
  }
  const ratios = sizes.map((s) => encapRatio(s, cellMs));
  return { cellMs, cells, encapRatio: ratios, totalMs: Math.round(performance.now() - t0) };
}

export function formatEspTable(r: EspBenchResult): string {
  const rows = ['alg                size   backend  pkt/s (seal+open)   Mbit/s'];
  for (const c of r.cells) {
    rows.push(`${c.alg.padEnd(18)} ${String(c.size).padStart(5)}   ${c.backend.padEnd(7)}  ${String(c.packetsPerSecond).padStart(17)}  ${c.mbitPerSecond.toFixed(1).padStart(8)}`);
  }
  rows.push('', 'our full ESP encapsulation (native data path; JS fallback beside it) vs the bare node:crypto AES-256-GCM call on the same buffers');
  for (const e of r.encapRatio) {
    rows.push(`  ${String(e.size).padStart(5)} B: ${e.encapUs} µs vs ${e.bareUs} µs per packet → encapRatio ${e.ratio} (bare/encap speed); JS ${e.jsEncapUs} µs → ${e.jsRatio}`);
  }
  rows.push(`total ${r.totalMs} ms`);
  return rows.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runEspBench();
  console.log(formatEspTable(result));
  if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 1));
}
