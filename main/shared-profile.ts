/**
 * The desktop app's profile is the service's: /etc/homeward/profile.json,
 * read and written through the engine's control socket (app/io/profile-file.ts
 * on the service's side: secrets never reach the app, "<redacted>" keeps them,
 * every save is checked like `homeward profile check`). With no engine
 * running, Import installs the chosen file as that profile through pkexec,
 * after the same check here, so a first profile can be put in place before the
 * service can start (its unit waits for the file).
 */
import type { ControlClient } from '../app/io/control-socket.ts';
import { ProfileError } from '../app/config/profile.ts';
import type { ProfileDocument, ProfileSaveResult } from './ipc/schema.ts';
import { SHARED_PROFILE } from './engine-start.ts';

export interface SharedProfileDeps {
  remote(): ControlClient | null;
  /** validates parsed profile JSON; throws ProfileError naming the field */
  check(json: unknown): Promise<unknown>;
  /** copies a file to SHARED_PROFILE as an administrator (pkexec install …) */
  install(file: string): Promise<void>;
  readText(file: string): Promise<string>;
}

export const NO_ENGINE = 'the engine is not running: start it to see or change its profile, or import one';

export function pkexecInstallArgs(file: string): { cmd: string; args: string[] } {
  return { cmd: 'pkexec', args: ['install', '-D', '-m', '0600', '-o', 'homeward', '-g', 'homeward', file, SHARED_PROFILE] };
}

export function sharedProfile(deps: SharedProfileDeps) {
  return {
    async get(): Promise<ProfileDocument> {
      const r = deps.remote();
      if (!r) return { path: null, json: '{}', secretsStored: false };
      return r.profileGet();
    },
    async save(json: string): Promise<ProfileSaveResult> {
      const r = deps.remote();
      if (!r) return { ok: false, field: '(engine)', message: NO_ENGINE };
      return r.profileSave(json);
    },
    /** Import a file: through the engine when it runs, else installed with pkexec after the check. */
    async importFile(file: string): Promise<ProfileDocument> {
      const text = await deps.readText(file);
      const r = deps.remote();
      if (r) {
        const saved = await r.profileSave(text);
        if (!saved.ok) throw new Error(`${saved.field}: ${saved.message}`);
        return r.profileGet();
      }
      let json: unknown;
      try { json = JSON.parse(text); } catch (e) { throw new Error(`(json): not valid JSON: ${(e as Error).message}`, { cause: e }); }
      try {
        await deps.check(json);
      } catch (e) {
        if (e instanceof ProfileError) throw new Error(`${e.field}: ${e.message}`, { cause: e });
        throw e;
      }
      await deps.install(file);
      return { path: SHARED_PROFILE, json: '{}', secretsStored: false };
    },
  };
}
