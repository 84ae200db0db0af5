/**
 * The ONE typed IPC contract between main, preload and renderer (Mullvad's
 * ipc-schema.ts pattern). Grouped by domain; each entry is a marker whose type
 * parameters carry the payloads. main/ipc/helpers.ts derives from it:
 *
 *   main:      handleSnapshot(fn) / notifyEvent(payload)        per group
 *   renderer:  snapshot() / listenEvent(cb)                      per group
 *   channel:   `${group}-${key}`, e.g. "engine-snapshot"
 *
 * Add a call here and both sides get it, typed; nothing else crosses.
 */
import type { EngineCommand, EngineEvent } from '../../app/events.ts';
import type { EngineSnapshot } from '../../app/engine-snapshot.ts';

/** renderer → main request with a response (ipcRenderer.invoke / ipcMain.handle) */
export interface Invoke<Req, Res> { readonly kind: 'invoke'; readonly _req?: Req; readonly _res?: Res }
/** main → renderer push (webContents.send / ipcRenderer.on) */
export interface NotifyRenderer<T> { readonly kind: 'notifyRenderer'; readonly _payload?: T }

export const invoke = <Req, Res>(): Invoke<Req, Res> => ({ kind: 'invoke' });
export const notifyRenderer = <T>(): NotifyRenderer<T> => ({ kind: 'notifyRenderer' });

export interface AppSettings {
  /** desktop notification on every mode change */
  notifications: boolean;
  /** start with the window hidden (tray only) */
  startMinimized: boolean;
}

export const DEFAULT_SETTINGS: AppSettings = { notifications: true, startMinimized: false };

/** The profile as the renderer may see it: secrets are never sent to the renderer. */
export interface ProfileDocument {
  path: string | null;
  /** profile JSON text with every secret replaced by "<redacted>" */
  json: string;
  /** secrets are held by the OS keystore (Electron safeStorage), not the file */
  secretsStored: boolean;
}

export type ProfileSaveResult =
  | { ok: true; path: string }
  | { ok: false; field: string; message: string };

/** Whether main is attached to a running engine, and if not, why. */
export interface EngineStatus { running: boolean; reason: string | null }

export const ipcSchema = {
  engine: {
    snapshot: invoke<void, EngineSnapshot>(),
    event: notifyRenderer<EngineEvent>(),
    command: invoke<EngineCommand, void>(),
    /** the engine came or went (no service, socket closed, reattached) */
    status: notifyRenderer<EngineStatus>(),
    /** start the engine: the system service, or the bundle through pkexec */
    start: invoke<void, void>(),
  },
  profile: {
    get: invoke<void, ProfileDocument>(),
    save: invoke<{ json: string }, ProfileSaveResult>(),
    import: invoke<void, ProfileDocument | null>(),
  },
  diagnostics: {
    export: invoke<void, { path: string }>(),
  },
  settings: {
    get: invoke<void, AppSettings>(),
    set: invoke<Partial<AppSettings>, AppSettings>(),
    changed: notifyRenderer<AppSettings>(),
  },
} as const;

export type IpcSchema = typeof ipcSchema;

/** The name under which the preload exposes the renderer API (window.homeward). */
export const API_KEY = 'homeward';
