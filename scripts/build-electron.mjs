#!/usr/bin/env node
// Bundles the Electron main process and its preload into single CommonJS files
// (main/index.cjs, main/preload.cjs): Electron cannot load our TypeScript, and a
// sandboxed preload must be one file. electron-builder.yml points at these.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildElectron(outDir = join(root, 'main')) {
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['electron'],
    // import.meta.url has no CommonJS twin: give the bundle its own file URL
    define: { 'import.meta.url': '__homewardFileUrl' },
    banner: { js: "const __homewardFileUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  };
  await build({ ...common, entryPoints: [join(root, 'main/index.ts')], outfile: join(outDir, 'index.cjs') });
  await build({ ...common, entryPoints: [join(root, 'main/preload.ts')], outfile: join(outDir, 'preload.cjs') });
  return { main: join(outDir, 'index.cjs'), preload: join(outDir, 'preload.cjs') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildElectron();
  console.log(`built ${out.main} and ${out.preload}`);
}
