/**
 * Lab tool: `homeward mip register` with the registration client double
 * (test-core.ts) instead of app/mip4/registration.ts. Same arguments and
 * JSON events as the CLI.
 */
import { mipRegister } from '../../../../app/cli/mip.ts';
import { createTestCore } from './test-core.ts';

try {
  process.exitCode = await mipRegister(process.argv.slice(2), createTestCore);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ type: 'error', code: 'INTERNAL', message: (e as Error).message })}\n`);
  process.exitCode = 1;
}
