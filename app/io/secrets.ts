/**
 * Stored secrets (issue 20): a profile field `{"secret": "<name>"}` is looked
 * up here at connect time, so the profile file holds no password.
 *
 *   1. Secret Service (the desktop keyring, Linux) through Debian's
 *      `secret-tool` (libsecret-tools), attribute homeward-secret=<name>:
 *        secret-tool store --label "Homeward <name>" homeward-secret <name>
 *      tried when a session bus is there (DBUS_SESSION_BUS_ADDRESS).
 *   2. A root-only file for the system service: <dir>/<name>, dir =
 *      $HOMEWARD_SECRETS_DIR or /etc/homeward/secrets. Refused (with the
 *      reason) if group or others may read it, or it belongs to neither root
 *      nor us. One trailing newline is dropped.
 *
 * Errors name the secret and where we looked, never a value.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET_NAME } from '../config/auth.ts';
import { runTool } from './netconfig.ts';
import type { SecretRef } from '../config/auth.ts';

export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

export const DEFAULT_SECRETS_DIR = '/etc/homeward/secrets';

export interface SecretStoreOptions {
  dir?: string;
  /** false: do not ask the Secret Service (tests, the system service) */
  secretService?: boolean;
}

function secretTool(name: string): Promise<string | undefined> {
  return runTool('secret-tool', ['lookup', 'homeward-secret', name], 5000).then((out) => (out.length === 0 ? undefined : out), () => undefined);
}

/** The secret stored as a root-only file; undefined if there is no such file. */
export function readSecretFile(dir: string, name: string): string | undefined {
  if (!SECRET_NAME.test(name)) throw new SecretError(`secret name ${JSON.stringify(name)} is not valid`);
  const path = join(dir, name);
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretError(`secret "${name}": cannot read ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new SecretError(`secret "${name}": ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new SecretError(`secret "${name}": ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== uid) throw new SecretError(`secret "${name}": ${path} belongs to uid ${st.uid}, neither root nor us`);
  const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  if (text.length === 0) throw new SecretError(`secret "${name}": ${path} is empty`);
  return text;
}

export async function resolveSecret(ref: SecretRef, opts: SecretStoreOptions = {}): Promise<string> {
  if ('value' in ref) return ref.value;
  const dir = opts.dir ?? process.env.HOMEWARD_SECRETS_DIR ?? DEFAULT_SECRETS_DIR;
  const useService = opts.secretService ?? process.env.DBUS_SESSION_BUS_ADDRESS !== undefined;
  if (useService) {
    const v = await secretTool(ref.secret);
    if (v !== undefined) return v.replace(/\r?\n$/, '');
  }
  const fromFile = readSecretFile(dir, ref.secret);
  if (fromFile !== undefined) return fromFile;
  throw new SecretError(`secret "${ref.secret}" is not stored: not in ${useService ? 'the Secret Service (secret-tool) nor ' : ''}${join(dir, ref.secret)}`);
}
