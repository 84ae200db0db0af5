#!/usr/bin/env -S node --max-semi-space-size=2
// `npx homeward …` (package.json's bin). Runs the compiled engine
// (dist/engine/homeward.mjs, built by scripts/build-engine.mjs during `npm ci`
// and scripts/setup.sh) when it is there and no source it was built from has
// changed since; otherwise the TypeScript sources through tsx's loader, so an
// edit is never hidden behind a stale bundle. HOMEWARD_FROM_SOURCE=1 forces
// the sources.
//
// Start-up (docs/PERFORMANCE.md, *Start-up*): this file is CommonJS because
// Node 20 sets up its ES module loader for an .mjs main file, about 20 ms of
// CPU before the first line runs; `--help`, no arguments and `--version` are
// answered from dist/engine/help.cjs (app/cli/help.ts alone) after a stat of
// that one source, with one synchronous write. Every other command imports
// the ES module bundle, which brings the loader up then.
//
// --max-semi-space-size=2 (MiB) caps V8's young generation at 2 x 2 MiB
// instead of growing it to 2 x 16 MiB under traffic: the Mobile IP data path
// still allocates per packet in JavaScript, and the young generation's growth
// was most of the engine's RSS growth in the bench's soak (+34.8 -> +10.6 MiB
// over 4 minutes; docs/PERFORMANCE.md, *Engine memory*); mode mc throughput did
// not drop with it. V8 reads the option only at start-up, hence the #! line
// (coreutils env -S); the service's unit and main/engine-start.ts pass it too.
'use strict';
const { readFileSync, statSync, writeSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const DIST = join(root, 'dist', 'engine');

/**
 * The manifest of the bundle in dir when every source in the list that
 * pick() takes from it is older than the build, else null. A source that is
 * gone cannot run through tsx either (an installed copy ships no sources).
 */
function currentManifest(dir, base, pick) {
  if (process.env.HOMEWARD_FROM_SOURCE === '1') return null;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
  const inputs = pick(manifest);
  if (typeof manifest.builtAt !== 'number' || !Array.isArray(inputs)) return null;
  for (const input of inputs) {
    const st = statSync(join(base, input), { throwIfNoEntry: false });
    if (st && st.mtimeMs > manifest.builtAt) return null;
  }
  return manifest;
}

/** The bundle's entry when it is current, else null. */
function freshBundle(dir = DIST, base = root) {
  const manifest = currentManifest(dir, base, (m) => m.inputs);
  return manifest && join(dir, manifest.entry ?? 'homeward.mjs');
}

/**
 * dist/engine/help.cjs (app/cli/help.ts) when it and the sources it loads
 * are current, else null: checked without a stat of every other source.
 */
function freshQuick(dir = DIST, base = root) {
  const manifest = currentManifest(dir, base, (m) => m.quick?.inputs);
  return manifest && typeof manifest.quick.entry === 'string' ? join(dir, manifest.quick.entry) : null;
}

/** Whether quickAnswer() (app/cli/help.ts) may answer these arguments; it has the last word. */
function mayBeQuick(argv) {
  return argv.length === 0 || argv[0] === '--version' || argv.includes('--help') || argv.includes('-h');
}

/**
 * Writes to fd 1 directly: process.stdout would first build a stream over it
 * (net or tty, a few ms). A non-blocking stdout that is full (EAGAIN) gets the
 * rest through process.stdout, which waits for it.
 */
function writeOut(text, fd = 1, write = writeSync, fallback = (rest) => process.stdout.write(rest)) {
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += write(fd, buf, off, buf.length - off);
  } catch (e) {
    if (e?.code !== 'EAGAIN') throw e;
    fallback(buf.subarray(off));
  }
}

/**
 * Runs the CLI: the quick answer, the bundle or the sources. argv is
 * process.argv.slice(2) (the bundle, app/cli/bin.ts, reads process.argv
 * itself); dir and base are for the tests.
 */
async function start(argv, dir = DIST, base = root) {
  const quick = mayBeQuick(argv) ? freshQuick(dir, base) : null;
  let answer = null;
  try {
    answer = quick && require(quick).quickAnswer(argv);
  } catch {
    // a manifest that names a help.cjs no longer there (or of another shape): the full path answers instead
  }
  if (typeof answer === 'string') {
    writeOut(`${answer}\n`);
    return;
  }
  const bundle = freshBundle(dir, base);
  if (bundle) {
    // sets process.exitCode itself (app/cli/bin.ts)
    await import(pathToFileURL(bundle).href);
    return;
  }
  // the ES module build of tsx's API: its CommonJS build (tsx 4.23) registers its loader by a path relative to
  // the wrong directory (dist/esm/api/esm/index.mjs: ERR_MODULE_NOT_FOUND), so every edited source failed here
  (await import('tsx/esm/api')).register();
  const { main } = await import(pathToFileURL(join(base, 'app/cli/main.ts')).href);
  process.exitCode = await main(argv);
}

module.exports = { freshBundle, freshQuick, mayBeQuick, writeOut, start };

if (require.main === module) {
  start(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`homeward: ${e?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
