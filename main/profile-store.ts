/**
 * The profile on disk without its secrets: PSKs and MN-HA keys go to the OS
 * keystore (Electron safeStorage, injected as `seal`/`unseal`) in a side file;
 * the JSON file keeps "<redacted>" where they were. The renderer only ever
 * sees the redacted JSON; saving it back with "<redacted>" keeps the stored
 * secret, a new value replaces it. safeStorage's Linux `basic_text` fallback
 * is not taken for encryption (safeStorageKeystore): saving is refused, with
 * the reason.
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
  /** Why available() is false, in words for the user. */
  unavailableReason?(): string;
  seal(plain: string): Buffer;
  unseal(sealed: Buffer): string;
}

/** The part of Electron's safeStorage the profile store uses (injected, so Node tests can fake it). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  /** Linux only in Electron: basic_text | gnome_libsecret | kwallet | kwallet5 | kwallet6 | unknown. */
  getSelectedStorageBackend?(): string;
  encryptString(plain: string): Buffer;
  decryptString(sealed: Buffer): string;
}

/** Linux backends that are no keyring: basic_text "encrypts" with a hard-coded key (obfuscation only). */
const NOT_A_KEYRING = new Set(['basic_text', 'unknown']);

/**
 * A Keystore over Electron's safeStorage that refuses to pass obfuscation off
 * as encryption: on Linux without a keyring (gnome-libsecret, KWallet),
 * Chromium falls back to `basic_text`, whose key is the same on every
 * machine; then nothing is sealed and the user is told why.
 */
export function safeStorageKeystore(safe: SafeStorageLike, platform: string = process.platform): Keystore {
  const reason = (): string | undefined => {
    if (!safe.isEncryptionAvailable()) return 'the OS keystore is not available; secrets cannot be stored safely';
    if (platform !== 'linux' || typeof safe.getSelectedStorageBackend !== 'function') return undefined;
    const backend = safe.getSelectedStorageBackend();
    if (!NOT_A_KEYRING.has(backend)) return undefined;
    return `Electron safeStorage uses the "${backend}" backend, which only obfuscates with a fixed key; secrets are not stored. `
      + 'Start a keyring (GNOME Keyring / libsecret or KWallet) and try again, or keep the secrets in a profile file readable only by you';
  };
  return {
    available: () => reason() === undefined,
    unavailableReason: () => reason() ?? '',
    seal: (plain) => {
      const why = reason();
      if (why !== undefined) throw new Error(why);
      return safe.encryptString(plain);
    },
    unseal: (sealed) => safe.decryptString(sealed),
  };
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
    if (!this.keystore.available()) {
      const why = this.keystore.unavailableReason?.() || 'the OS keystore is not available; secrets cannot be stored safely';
      return { ok: false, field: '(keystore)', message: why };
    }
    writeFileSync(this.secretsPath, this.keystore.seal(JSON.stringify(splitSecrets(full))), { mode: 0o600 });
    writeFileSync(this.path, `${JSON.stringify(redactProfileJson(full), null, 2)}\n`, { mode: 0o600 });
    return { ok: true, path: this.path };
  }
}
