/**
 * `homeward vpn up --profile <file> [--json] [--keylog <file>]`
 *
 * Validates the profile (proposal strings included), brings the tunnel up
 * and prints one JSON object per line for every event (human text without
 * --json). Runs until SIGINT/SIGTERM, then sends DELETE and removes
 * everything it set up. Exit status: 0 after a clean stop, 1 when the SA
 * failed (the error event names the IKEv2 notify), 64 for usage errors.
 */
import { readFile } from 'node:fs/promises';
import { ProfileError } from '../config/profile.ts';
import type { Profile } from '../config/profile.ts';
import type { IkeEvent } from '../ikev2/types.ts';
import { VpnDriver } from '../io/vpn-driver.ts';
import { humanLine } from './human.ts';
import { CliError, eachOption } from './main.ts';
import { checkProfile } from './profile-check.ts';

export { validateProposal } from './profile-check.ts';

interface VpnStoppedEvent {
  type: 'stopped';
  code?: string;
  espIn: number;
  espOut: number;
}

export interface VpnArgs {
  profile: string;
  json: boolean;
  keylog?: string;
}

export function parseVpnArgs(argv: string[]): VpnArgs {
  const out: VpnArgs = { profile: '', json: false };
  eachOption(argv, (a, value) => {
    if (a === '--json') out.json = true;
    else if (a === '--profile') out.profile = value();
    else if (a === '--keylog') out.keylog = value();
    else throw new CliError(`vpn up: unknown option ${a}`, 'USAGE');
  });
  if (!out.profile) throw new CliError('vpn up needs --profile <file>', 'USAGE');
  return out;
}

async function loadVpnProfile(path: string): Promise<Profile> {
  const text = await readFile(path, 'utf8').catch((e: Error) => {
    throw new ProfileError('(file)', `cannot read ${path}: ${e.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProfileError('(file)', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const p = await checkProfile(json);
  if (!p.vpn) throw new ProfileError('vpn', 'is required for `vpn up`');
  return p;
}

/** The last line of `vpn up`: how it ended and what the tunnel carried. */
interface VpnStoppedEvent {
  type: 'stopped';
  code?: string;
  espIn: number;
  espOut: number;
}

/** HOMEWARD_EVENT_TIMES=1: each JSON line carries `t`, the wall clock in ms when it was written (as `homeward run`'s; the bench's IKE setup clock) */
const EVENT_TIMES = process.env.HOMEWARD_EVENT_TIMES === '1';

export async function vpnUp(argv: string[]): Promise<number> {
  const args = parseVpnArgs(argv);
  const json = args.json;
  // events on stdout (JSON with --json, sentences without); errors also, always, on stderr
  /** the driver's events, and ours: `stopped` when the tunnel is down */
  const out = (e: IkeEvent | VpnStoppedEvent): void => {
    if (json) process.stdout.write(`${JSON.stringify(EVENT_TIMES ? { ...e, t: Math.round((performance.timeOrigin + performance.now()) * 100) / 100 } : e)}\n`);
    if (e.type === 'error') process.stderr.write(`homeward: ${humanLine(e)}\n`);
    else if (!json) process.stdout.write(`${humanLine(e)}\n`);
  };
  let profile: Profile;
  try {
    profile = await loadVpnProfile(args.profile);
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    out({ type: 'error', code: 'PROFILE_INVALID', message: e.message, field: e.field });
    return 1;
  }
  const keylog = args.keylog;
  // standalone: the driver watches the links itself and roams with MOBIKE ({"type":"mobike-update","from","to","ms"})
  const driver = new VpnDriver({ profile, emit: out, monitor: true, ...(keylog ? { keylog } : {}) });
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    void driver.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await driver.start();
    out({ type: 'stopped', ...(result.error ? { code: result.error.code } : {}), espIn: driver.counters.espIn, espOut: driver.counters.espOut });
    return result.error ? 1 : 0;
  } catch (e) {
    const name = (e as Error).name;
    const code = name === 'SecretError' ? 'SECRET_UNAVAILABLE'
      : name === 'CredentialError' || (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'CREDENTIALS_INVALID' : 'INTERNAL';
    out({ type: 'error', code, message: (e as Error).message, fatal: true });
    await driver.stop().catch(() => undefined);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
