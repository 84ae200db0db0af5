/**
 * The profile on disk without its secrets: PSKs and MN-HA keys go to the OS
 * keystore (Electron safeStorage, injected as `seal`/`unseal`) in a side file;
 * the JSON file keeps "<redacted>" where they were. The renderer only ever
 * sees the redacted JSON; saving it back with "<redacted>" keeps the stored
 * secret, a new value replaces it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseProfile, ProfileError, redactProfileJson } from '../app/config/profile.ts';
import type { ProfileDocument, ProfileSaveResult } from './ipc/schema.ts';

export const REDACTED = '<redacted>';
const SECRET_KEYS = new Set(['psk', 'key', 'secret', 'password']);

/** Secrets by their dotted JSON path, e.g. { "vpn.auth.psk": "…" }. */
export type SecretMap = Record<string, string>;

export function splitSecrets(json: unknown, path = ''): SecretMap {
  const out: SecretMap = {};
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return out;
  for (const [k, v] of Object.entries(json)) {
    const p = path ? `${path}.${k}` : k;
    if (SECRET_KEYS.has(k) && typeof v === 'string' && v !== REDACTED) out[p] = v;
    else Object.assign(out, splitSecrets(v, p));
  }
  return out;
}

/** Puts stored secrets back where the JSON says "<redacted>". */
export function mergeSecrets(json: unknown, secrets: SecretMap, path = ''): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    const p = path ? `${path}.${k}` : k;
    out[k] = v === REDACTED && secrets[p] !== undefined ? secrets[p] : mergeSecrets(v, secrets, p);
  }
  return out;
}

/** Validates profile text; the error names the field (ProfileError.field) or "(json)". */
export function validateProfileText(text: string): { ok: true; json: unknown } | { ok: false; field: string; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, field: '(json)', message: `not valid JSON: ${(e as Error).message}` };
  }
  try {
    parseProfile(json);
    return { ok: true, json };
  } catch (e) {
    if (e instanceof ProfileError) return { ok: false, field: e.field, message: e.message };
    throw e;
  }
}

export interface Keystore {
  available(): boolean;
  seal(plain: string): Buffer;
  unseal(sealed: Buffer): string;
}

export class ProfileStore {
  constructor(private readonly path: string, private readonly keystore: Keystore) {}

  private get secretsPath(): string {
    return `${this.path}.secrets`;
  }

  private storedSecrets(): SecretMap {
    if (!existsSync(this.secretsPath)) return {};
    return JSON.parse(this.keystore.unseal(readFileSync(this.secretsPath))) as SecretMap;
  }

  get(): ProfileDocument {
    if (!existsSync(this.path)) return { path: null, json: '{}', secretsStored: false };
    const raw: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
    return { path: this.path, json: JSON.stringify(redactProfileJson(raw), null, 2), secretsStored: existsSync(this.secretsPath) };
  }

  /** The full profile, secrets included — for the engine only, never for the renderer. */
  load(): unknown {
    return mergeSecrets(JSON.parse(readFileSync(this.path, 'utf8')), this.storedSecrets());
  }

  save(text: string): ProfileSaveResult {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return { ok: false, field: '(json)', message: `not valid JSON: ${(e as Error).message}` };
    }
    const full = mergeSecrets(json, this.storedSecrets());
    const checked = validateProfileText(JSON.stringify(full));
    if (!checked.ok) return checked;
    if (!this.keystore.available()) return { ok: false, field: '(keystore)', message: 'the OS keystore is not available; secrets cannot be stored safely' };
    writeFileSync(this.secretsPath, this.keystore.seal(JSON.stringify(splitSecrets(full))), { mode: 0o600 });
    writeFileSync(this.path, `${JSON.stringify(redactProfileJson(full), null, 2)}\n`, { mode: 0o600 });
    return { ok: true, path: this.path };
  }
}
