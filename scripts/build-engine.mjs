#!/usr/bin/env node
// Compiles the engine (app/cli/bin.ts and everything it imports) to plain
// JavaScript in dist/engine/: `homeward --help` then starts without a
// TypeScript compiler in memory, and the packaged service runs it with
// Electron's own Node (ELECTRON_RUN_AS_NODE=1). Run by `npm ci` (prepare) and
// scripts/setup.sh.
//
// Code splitting keeps each subcommand in its own chunk. app/cli/help.ts is
// also built alone as CommonJS (dist/engine/help.cjs): bin/homeward.cjs
// answers `--help`, no arguments and `--version` from it without Node's ES
// module loader. dist/engine/manifest.json lists every source the bundle was
// built from with the build time, and under `quick` the sources help.cjs was
// built from: bin/homeward.cjs runs the bundle (or help.cjs) only while none
// of those sources is newer, and the TypeScript sources (tsx) otherwise, so
// an edit is never hidden behind a stale bundle.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * native-tunnel/index.ts finds its .node files next to itself
 * (createRequire(import.meta.url)); in the bundle import.meta.url is the
 * chunk's, two levels below the root like native-tunnel/index.ts is one: point
 * it back at native-tunnel/ (also right in app.asar.unpacked).
 */
const addonRequire = {
  name: 'addon-require',
  setup(b) {
    b.onLoad({ filter: /native-tunnel[\\/]index\.ts$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const src = await readFile(args.path, 'utf8');
      const fixed = src.replaceAll('createRequire(import.meta.url)', "createRequire(new URL('../../native-tunnel/index.js', import.meta.url))");
      if (fixed === src) throw new Error('build-engine: native-tunnel/index.ts no longer calls createRequire(import.meta.url); update scripts/build-engine.mjs');
      return { contents: fixed, loader: 'ts' };
    });
  },
};

/**
 * app/crypto/lazy-noble.ts loads two @noble modules on first use through
 * createRequire(import.meta.url), which would need node_modules at run time:
 * in the bundle its `load('<specifier>')` calls become plain `require(…)`,
 * which esbuild bundles as lazily initialised modules (evaluated on the first
 * call, like the sources), so `homeward run` does not build their tables.
 */
export const LAZY_REQUIRE_FILES = /app[\\/]crypto[\\/]lazy-noble\.ts$/;
export function rewriteLazyRequires(src) {
  const out = src
    .replace(/^const load = createRequire\(import\.meta\.url\);$/m, '')
    .replace(/^import \{ createRequire \} from 'node:module';$/m, '')
    .replaceAll(/\bload\('([^']+)'\)/g, "require('$1')");
  if (out.includes('createRequire') || !/require\('/.test(out)) throw new Error('build-engine: app/crypto/lazy-noble.ts no longer has the `const load = createRequire(import.meta.url)` / load(\'…\') shape; update scripts/build-engine.mjs');
  return out;
}
const lazyRequire = {
  name: 'lazy-require',
  setup(b) {
    b.onLoad({ filter: LAZY_REQUIRE_FILES }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      return { contents: rewriteLazyRequires(await readFile(args.path, 'utf8')), loader: 'ts' };
    });
  },
};

/**
 * The sources an output file and the chunks it imports statically were built
 * from: everything that runs when it is loaded (a dynamic import would run
 * code whose sources bin/homeward.cjs does not check, so it is refused).
 */
export function staticInputs(metafile, outFile) {
  const key = (p) => relative(root, join(root, p));
  const outputs = new Map(Object.entries(metafile.outputs).map(([p, o]) => [key(p), o]));
  const seen = new Set();
  const sources = new Set();
  const visit = (p) => {
    if (seen.has(p)) return;
    seen.add(p);
    const o = outputs.get(p);
    if (!o) throw new Error(`build-engine: no output ${p} in the metafile`);
    for (const i of Object.keys(o.inputs)) sources.add(key(i));
    for (const imp of o.imports) {
      if (imp.kind === 'dynamic-import') throw new Error(`build-engine: ${p} imports ${imp.path} dynamically; bin/homeward.cjs checks only its static inputs`);
      if (!imp.external) visit(key(imp.path));
    }
  };
  visit(relative(root, outFile));
  return [...sources].sort();
}

export async function buildEngine(outDir = join(root, 'dist', 'engine')) {
  const startedAt = Date.now();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { homeward: join(root, 'app/cli/bin.ts') },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // the bundle must not depend on node_modules at run time (the service has none)
    packages: 'bundle',
    banner: { js: "import { createRequire as __hwCreateRequire } from 'node:module'; const require = __hwCreateRequire(import.meta.url);" },
    plugins: [addonRequire, lazyRequire],
    metafile: true,
    legalComments: 'none',
    // no comments, no indentation: V8 keeps each chunk's source in the heap
    // for the life of the process, and a comment with one non-Latin-1
    // character (§, —, ⋅ …) made a whole chunk a two-byte string. Names stay,
    // so stack traces still say which function (docs/PERFORMANCE.md, *Engine memory*).
    minifyWhitespace: true,
    logLevel: 'warning',
  });
  // help.cjs: one CommonJS file with no imports, which bin/homeward.cjs require()s without Node's ES module loader
  const help = await build({
    entryPoints: { help: join(root, 'app/cli/help.ts') },
    outdir: outDir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'bundle',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const inputs = [...new Set([...Object.keys(result.metafile.inputs), ...Object.keys(help.metafile.inputs)])].map((p) => relative(root, join(root, p))).sort();
  const quick = { entry: 'help.cjs', inputs: staticInputs(help.metafile, join(outDir, 'help.cjs')) };
  if (!quick.inputs.includes('app/cli/help.ts')) throw new Error(`build-engine: help.cjs was not built from app/cli/help.ts (${quick.inputs.join(', ')})`);
  const manifest = { builtAt: startedAt, entry: 'homeward.mjs', inputs, quick };
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return { dir: outDir, entry: join(outDir, 'homeward.mjs'), inputs: inputs.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildEngine();
  console.log(`built ${relative(root, out.entry)} from ${out.inputs} sources`);
}
