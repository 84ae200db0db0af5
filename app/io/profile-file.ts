/**
 * The one profile the service runs with (/etc/homeward/profile.json), served
 * over the control socket so the unprivileged desktop app can show and edit
 * it (issue 22): it reads it with every secret replaced by "<redacted>", and
 * saving keeps a secret wherever the text still says "<redacted>". A save is
 * checked like `homeward profile check` (the error names the field) and
 * written atomically, owner-only; the running engine applies it at its next
 * start.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProfileError, redactProfileJson } from '../config/profile.ts';

export const REDACTED = '<redacted>';

export interface SharedProfileDocument { path: string | null; json: string; secretsStored: boolean }
export type SharedProfileSaveResult = { ok: true; path: string } | { ok: false; field: string; message: string };

export interface ProfileEndpoint {
  get(): Promise<SharedProfileDocument>;
  save(json: string): Promise<SharedProfileSaveResult>;
}

/** Puts the current values back where the new JSON still says "<redacted>". */
export function keepRedacted(next: unknown, current: unknown): unknown {
  if (next === REDACTED) return current;
  if (typeof next !== 'object' || next === null) return next;
  if (Array.isArray(next)) return next.map((v, i) => keepRedacted(v, Array.isArray(current) ? current[i] : undefined));
  const cur = typeof current === 'object' && current !== null ? current as Record<string, unknown> : {};
  return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, keepRedacted(v, cur[k])]));
}

/** The endpoint for a profile file; `check` validates parsed JSON (throws ProfileError), e.g. app/cli/profile-check.ts. */
export function fileProfile(path: string, check: (json: unknown) => Promise<unknown>): ProfileEndpoint {
  const current = (): unknown => (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as unknown : undefined);
  return {
    get: async () => {
      const raw = current();
      if (raw === undefined) return { path, json: '{}', secretsStored: false };
      const redacted = JSON.stringify(redactProfileJson(raw), null, 2);
      return { path, json: redacted, secretsStored: redacted.includes(REDACTED) };
    },
    save: async (text) => {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return { ok: false, field: '(json)', message: `not valid JSON: ${(e as Error).message}` };
      }
      const full = keepRedacted(json, current());
      try {
        await check(full);
      } catch (e) {
        if (e instanceof ProfileError) return { ok: false, field: e.field, message: e.message };
        throw e;
      }
      const tmp = join(dirname(path), `.${Date.now()}.profile.tmp`);
      writeFileSync(tmp, `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, path);
      return { ok: true, path };
    },
  };
}
