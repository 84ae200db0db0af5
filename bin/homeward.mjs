#!/usr/bin/env -S node --max-semi-space-size=2
// `npx homeward …`. Runs the compiled engine (dist/engine/homeward.mjs, built
// by scripts/build-engine.mjs during `npm ci` and scripts/setup.sh) when it is
// there and no source it was built from has changed since; otherwise the
// TypeScript sources through tsx's loader, so an edit is never hidden behind a
// stale bundle. HOMEWARD_FROM_SOURCE=1 forces the sources.
//
// --max-semi-space-size=2 (MiB) caps V8's young generation at 2 x 2 MiB
// instead of growing it to 2 x 16 MiB under traffic: the Mobile IP data path
// still allocates per packet in JavaScript, and the young generation's growth
// was most of the engine's RSS growth in the bench's soak (+34.8 -> +10.6 MiB
// over 4 minutes; docs/PERFORMANCE.md, *Engine memory*); mode mc throughput did
// not drop with it. V8 reads the option only at start-up, hence the #! line
// (coreutils env -S); the service's unit and main/engine-start.ts pass it too.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundle's entry when it is current, else null. Exported for the tests. */
export function freshBundle(dir = join(root, 'dist', 'engine'), base = root) {
  if (process.env.HOMEWARD_FROM_SOURCE === '1') return null;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
  if (typeof manifest.builtAt !== 'number' || !Array.isArray(manifest.inputs)) return null;
  for (const input of manifest.inputs) {
    // a source that is gone cannot run through tsx either (an installed copy ships no sources)
    const st = statSync(join(base, input), { throwIfNoEntry: false });
    if (st && st.mtimeMs > manifest.builtAt) return null;
  }
  return join(dir, manifest.entry ?? 'homeward.mjs');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1])) {
  const bundle = freshBundle();
  if (bundle) {
    await import(pathToFileURL(bundle).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    const { main } = await import('../app/cli/main.ts');
    process.exitCode = await main(process.argv.slice(2));
  }
}
