/**
 * The headless CLI. One JSON object per line on stdout with --json; human
 * text otherwise. Commands and event names are contracts (see README.md):
 * keep them stable, extend them freely.
 */
import { readFile } from 'node:fs/promises';
import { ProfileError, parseProfile, type Profile } from '../config/profile.ts';

export const USAGE = `homeward — RFC 5266 mobile node (Mobile IPv4 + IKEv2/MOBIKE)

Usage:
  homeward profile check <file>              validate a profile; names the bad field
  homeward vpn up --profile <file> [--json] [--keylog <file>]
  homeward mip register --profile <file> [--json]
  homeward run --profile <file> [--json] [--ui] [--control <path> [--control-group <group>]] [--tun <name>] [--policy automatic|always-vpn]
  homeward run --cleanup [--tun <name>]   remove the rules and TUNs a killed run left (fail-closed until then)
  homeward ui --control <path> [--port <n>] [--json]   serve the UI for a running engine
  homeward demo move <T1|U1|U2|T2> [--socket <path>]  move the demo's laptop (npm run demo -- --manual)
  homeward --help | --version

Profile fields are documented in docs/PROFILE.md.`;

export async function loadProfile(path: string): Promise<Profile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read profile ${path}: ${(e as Error).message}`, 'PROFILE_UNREADABLE');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`profile ${path} is not valid JSON: ${(e as Error).message}`, 'PROFILE_INVALID');
  }
  return parseProfile(json);
}

export class CliError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** Walks `--flag [value]` options: calls `on(flag, value)`, where value() takes the next word or fails naming the flag. */
export function eachOption(argv: string[], on: (flag: string, value: () => string) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    on(flag, () => {
      const v = argv[++i];
      if (v === undefined) throw new CliError(`${flag} needs a value`, 'USAGE');
      return v;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  try {
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (argv[0] === '--version') {
      process.stdout.write('homeward 0.1.0\n');
      return 0;
    }
    if (argv[0] === 'profile' && argv[1] === 'check' && argv[2]) {
      const p = await loadProfile(argv[2]);
      if (json) emit({ type: 'profile', valid: true, vpn: p.vpn !== undefined, mip: p.mnHaAuth !== undefined });
      else process.stdout.write(`${argv[2]}: valid\n`);
      return 0;
    }
    if (argv[0] === 'vpn' && argv[1] === 'up') {
      const { vpnUp } = await import('./vpn.ts');
      return await vpnUp(argv.slice(2));
    }
    if (argv[0] === 'run') {
      const { run } = await import('./run.ts');
      return await run(argv.slice(1));
    }
    if (argv[0] === 'ui') {
      const { ui } = await import('./ui.ts');
      return await ui(argv.slice(1));
    }
    if (argv[0] === 'demo' && argv[1] === 'move') {
      const { demoMove } = await import('./demo-move.ts');
      return await demoMove(argv.slice(2), json);
    }
    if (argv[0] === 'mip' && argv[1] === 'register') {
      const { mipRegister } = await import('./mip.ts');
      return await mipRegister(argv.slice(2));
    }
    throw new CliError(`unknown command: ${argv.join(' ')}\n\n${USAGE}`, 'USAGE');
  } catch (e) {
    const code = e instanceof ProfileError ? 'PROFILE_INVALID' : e instanceof CliError ? e.code : 'INTERNAL';
    const field = e instanceof ProfileError ? e.field : undefined;
    if (json) emit({ type: 'error', code, message: (e as Error).message, ...(field ? { field } : {}) });
    else process.stderr.write(`homeward: ${(e as Error).message}\n`);
    return code === 'USAGE' ? 64 : 1;
  }
}
