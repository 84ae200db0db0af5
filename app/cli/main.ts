/**
 * The headless CLI. One JSON object per line on stdout with --json; human
 * text otherwise. Commands and event names are contracts (see README.md):
 * keep them stable, extend them freely.
 */
import { readFile } from 'node:fs/promises';
import { ProfileError, type Profile } from '../config/profile.ts';
import { commandOf, quickAnswer } from './help.ts';

export { USAGE } from './help.ts';

/** Loads and checks a profile: schema, proposals and the files it names (app/cli/profile-check.ts). */
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
  const { checkProfile } = await import('./profile-check.ts');
  return checkProfile(json);
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

/** The hint for a missing privilege: both capabilities the engine needs, and two ways to get them. */
export const NO_PRIVILEGE_HINT =
  'the engine needs CAP_NET_ADMIN (TUN devices, addresses, routes) and CAP_NET_RAW (raw sockets): ' +
  'run it as root, or grant both with `sudo setcap cap_net_admin,cap_net_raw+ep "$(command -v node)"`';

/** True when an error says a privilege was missing (EPERM/EACCES from the kernel or a tool). */
export function isPrivilegeError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return code === 'EPERM' || code === 'EACCES' || /Operation not permitted|needs CAP_NET_(ADMIN|RAW)/i.test(msg);
}

/** Options taken by profile check (the only subcommand parsed here). */
function parseProfileCheck(argv: string[]): string {
  let file: string | undefined;
  for (const a of argv) {
    if (a === '--json') continue;
    if (a.startsWith('-')) throw new CliError(`profile check: unknown option ${a}`, 'USAGE');
    if (file !== undefined) throw new CliError(`profile check takes one file, got ${file} and ${a}`, 'USAGE');
    file = a;
  }
  if (file === undefined) throw new CliError('profile check needs a file: homeward profile check <file>', 'USAGE');
  return file;
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  try {
    const quick = quickAnswer(argv);
    if (quick !== null) {
      process.stdout.write(`${quick}\n`);
      return 0;
    }
    const command = commandOf(argv);
    if (command === 'profile check') {
      const file = parseProfileCheck(argv.slice(2));
      const p = await loadProfile(file);
      if (json) emit({ type: 'profile', valid: true, vpn: p.vpn !== undefined, mip: p.mnHaAuth !== undefined });
      else process.stdout.write(`${file}: valid (home address ${p.homeAddress}, home agent ${p.homeAgent}${p.vpn ? `, VPN gateway ${p.vpn.gateway}` : ', no VPN'})\n`);
      return 0;
    }
    if (command === 'vpn up') {
      const { vpnUp } = await import('./vpn.ts');
      return await vpnUp(argv.slice(2));
    }
    if (command === 'run') {
      const { run } = await import('./run.ts');
      return await run(argv.slice(1));
    }
    if (command === 'ui') {
      const { ui } = await import('./ui.ts');
      return await ui(argv.slice(1));
    }
    if (command === 'demo move') {
      const { demoMove } = await import('./demo-move.ts');
      return await demoMove(argv.slice(2), json);
    }
    if (command === 'mip register') {
      const { mipRegister } = await import('./mip.ts');
      return await mipRegister(argv.slice(2));
    }
    throw new CliError(`unknown command: ${argv.join(' ')} (see homeward --help)`, 'USAGE');
  } catch (e) {
    const code = e instanceof ProfileError ? 'PROFILE_INVALID' : e instanceof CliError ? e.code : isPrivilegeError(e) ? 'NO_PRIVILEGE' : 'INTERNAL';
    const field = e instanceof ProfileError ? e.field : undefined;
    const message = code === 'NO_PRIVILEGE' ? `${(e as Error).message}\n  ${NO_PRIVILEGE_HINT}` : e instanceof Error ? e.message : String(e);
    // people read stderr; with --json the same error is also an event on stdout for programs
    process.stderr.write(`homeward: ${message}\n`);
    if (json) emit({ type: 'error', code, message, ...(field ? { field } : {}) });
    return code === 'USAGE' ? 64 : 1;
  }
}
