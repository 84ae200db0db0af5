#!/usr/bin/env -S node --max-semi-space-size=2
// The same command as bin/homeward.cjs (package.json's bin, `npx homeward`),
// for the callers that name this file: the lab tests, the bench's lab and
// scripts/demo.ts. All the logic is in bin/homeward.cjs, which is CommonJS so
// that `homeward --help` starts without Node's ES module loader.
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';

const cli = createRequire(import.meta.url)('./homeward.cjs');

// npm-style links point here too: compare the real path only when argv[1] is not this file already
const self = import.meta.filename;
if (process.argv[1] && (process.argv[1] === self || realpathSync(process.argv[1]) === self)) {
  await cli.start(process.argv.slice(2));
}
