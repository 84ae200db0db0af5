#!/usr/bin/env node
// `npx homeward …`: runs the TypeScript CLI through tsx's loader, so the lab,
// the tests and users run the very same sources.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../app/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
