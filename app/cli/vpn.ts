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
import { ProfileError, parseProfile } from '../config/profile.ts';
import type { Profile } from '../config/profile.ts';
import { ProposalStringError, parseProposals } from '../ikev2/proposal-string.ts';
import type { IkeEventJson } from '../ikev2/types.ts';
import { VpnDriver } from '../io/vpn-driver.ts';

export function validateProposal(proposal: string, field: string): void {
  try {
    parseProposals(field.endsWith('esp') ? 'esp' : 'ike', proposal);
  } catch (e) {
    if (e instanceof ProposalStringError) throw new ProfileError(field, e.message);
    throw e;
  }
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
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
  const p = parseProfile(json, { validateProposal });
  if (!p.vpn) throw new ProfileError('vpn', 'is required for `vpn up`');
  return p;
}

export async function vpnUp(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = (e: IkeEventJson): void => {
    if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else process.stdout.write(`${Object.entries(e).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')}\n`);
  };
  const profilePath = option(argv, '--profile');
  if (!profilePath) {
    out({ type: 'error', code: 'USAGE', message: 'vpn up needs --profile <file>' });
    return 64;
  }
  let profile: Profile;
  try {
    profile = await loadVpnProfile(profilePath);
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    out({ type: 'error', code: 'PROFILE_INVALID', message: e.message, field: e.field });
    return 1;
  }
  const keylog = option(argv, '--keylog');
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
