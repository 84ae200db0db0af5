/**
 * The compiled engine's entry point (scripts/build-engine.mjs bundles it to
 * dist/engine/homeward.mjs): runs the CLI with this process's arguments.
 * `node dist/engine/homeward.mjs …`, `bin/homeward.mjs …` and, in the .deb's
 * service, `ELECTRON_RUN_AS_NODE=1 homeward-desktop …/homeward.mjs run …`
 * all end up here.
 */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
