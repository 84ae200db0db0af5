/**
 * Derives both sides of the IPC from the schema (main/ipc/schema.ts), so a
 * call can neither be misspelt nor carry the wrong payload type.
 *
 *   main:     ipc.engine.handleSnapshot(() => snap)   ipc.engine.notifyEvent(e)
 *   renderer: await api.engine.snapshot()             api.engine.listenEvent(cb)
 *
 * Handler results cross as { type: 'success', value } | { type: 'error', error };
 * the renderer side turns an error back into a thrown IpcError. Push listeners
 * get the payload only — never Electron's event object, whose `sender` is the
 * ipcRenderer itself.
 */
import type { Invoke, NotifyRenderer } from './schema.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- conditional types over the schema's markers */
type AnyInvoke = Invoke<any, any>;
type AnyNotify = NotifyRenderer<any>;

export type IpcResult<T> =
  | { type: 'success'; value: T }
  | { type: 'error'; error: { name: string; message: string } };

type InvokeFn<E> = E extends Invoke<infer Q, infer R>
  ? [Q] extends [void] ? () => Promise<R> : (arg: Q) => Promise<R>
  : never;
type ListenFn<E> = E extends NotifyRenderer<infer T> ? (cb: (payload: T) => void) => () => void : never;
type HandleFn<E> = E extends Invoke<infer Q, infer R> ? (fn: (arg: Q) => R | Promise<R>) => void : never;
type NotifyFn<E> = E extends NotifyRenderer<infer T> ? (payload: T) => void : never;

export type RendererGroup<G> =
  { [K in keyof G as G[K] extends AnyInvoke ? K : never]: InvokeFn<G[K]> } &
  { [K in keyof G as G[K] extends AnyNotify ? `listen${Capitalize<K & string>}` : never]: ListenFn<G[K]> };
export type MainGroup<G> =
  { [K in keyof G as G[K] extends AnyInvoke ? `handle${Capitalize<K & string>}` : never]: HandleFn<G[K]> } &
  { [K in keyof G as G[K] extends AnyNotify ? `notify${Capitalize<K & string>}` : never]: NotifyFn<G[K]> };
/* eslint-enable @typescript-eslint/no-explicit-any */

export type RendererApi<S> = { [G in keyof S]: RendererGroup<S[G]> };
export type MainApi<S> = { [G in keyof S]: MainGroup<S[G]> };

type Schema = Record<string, Record<string, { kind: 'invoke' | 'notifyRenderer' }>>;

/** The slices of Electron the helpers use — real objects in the app, fakes in tests. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: unknown, arg: unknown) => unknown): void;
}
export interface IpcRendererLike {
  invoke(channel: string, arg?: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}
export interface WebContentsLike {
  send(channel: string, payload: unknown): void;
  isDestroyed?(): boolean;
}

export class IpcError extends Error {
  constructor(readonly channel: string, readonly remoteName: string, message: string) {
    super(message);
    this.name = 'IpcError';
  }
}

export const channelName = (group: string, key: string): string => `${group}-${key}`;
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export interface IpcMainOptions {
  /** Renderers to push to (all open windows). */
  targets: () => readonly WebContentsLike[];
  /** Refuses calls from frames that are not ours (checked on every call). */
  trustSender?: (event: unknown) => boolean;
}

/**
 * trustSender for the desktop app: only the top-level frame showing our own
 * renderer page (its file:// URL, query and fragment aside) may call main.
 * Any other file:// page — a downloaded HTML file opened by a navigation, an
 * iframe — is refused.
 */
export function ownRenderer(indexUrl: string): (event: unknown) => boolean {
  const want = new URL(indexUrl);
  return (event) => {
    const frame = (event as { senderFrame?: { url?: unknown; parent?: unknown } } | null)?.senderFrame;
    if (!frame || typeof frame.url !== 'string' || (frame.parent !== undefined && frame.parent !== null)) return false;
    let got: URL;
    try {
      got = new URL(frame.url);
    } catch {
      return false;
    }
    return got.protocol === 'file:' && want.protocol === 'file:' && got.host === want.host && got.pathname === want.pathname;
  };
}

export function createIpcMain<S extends Schema>(schema: S, ipcMain: IpcMainLike, opts: IpcMainOptions): MainApi<S> {
  const api: Record<string, Record<string, unknown>> = {};
  for (const [group, entries] of Object.entries(schema)) {
    const g: Record<string, unknown> = (api[group] = {});
    for (const [key, entry] of Object.entries(entries)) {
      const channel = channelName(group, key);
      if (entry.kind === 'invoke') {
        g[`handle${cap(key)}`] = (fn: (arg: unknown) => unknown) => {
          ipcMain.handle(channel, async (event, arg): Promise<IpcResult<unknown>> => {
            if (opts.trustSender && !opts.trustSender(event)) {
              return { type: 'error', error: { name: 'Forbidden', message: `${channel}: sender is not a Homeward window` } };
            }
            try {
              return { type: 'success', value: await fn(arg) };
            } catch (e) {
              const err = e instanceof Error ? e : new Error(String(e));
              return { type: 'error', error: { name: err.name, message: err.message } };
            }
          });
        };
      } else {
        g[`notify${cap(key)}`] = (payload: unknown) => {
          for (const wc of opts.targets()) if (!wc.isDestroyed?.()) wc.send(channel, payload);
        };
      }
    }
  }
  return api as MainApi<S>;
}

export function createIpcRenderer<S extends Schema>(schema: S, ipcRenderer: IpcRendererLike): RendererApi<S> {
  const api: Record<string, Record<string, unknown>> = {};
  for (const [group, entries] of Object.entries(schema)) {
    const g: Record<string, unknown> = (api[group] = {});
    for (const [key, entry] of Object.entries(entries)) {
      const channel = channelName(group, key);
      if (entry.kind === 'invoke') {
        g[key] = async (arg?: unknown) => {
          const r = (await ipcRenderer.invoke(channel, arg)) as IpcResult<unknown>;
          if (r.type === 'error') throw new IpcError(channel, r.error.name, r.error.message);
          return r.value;
        };
      } else {
        g[`listen${cap(key)}`] = (cb: (payload: unknown) => void) => {
          const listener = (_event: unknown, payload: unknown): void => cb(payload);
          ipcRenderer.on(channel, listener);
          return () => {
            ipcRenderer.removeListener(channel, listener);
          };
        };
      }
    }
  }
  return api as RendererApi<S>;
}

/**
 * window.open from the renderer is denied, except the captive portal's login
 * page the engine reported (issue 19), which goes to the system browser: only
 * that exact URL, and only http(s).
 */
export function mayOpenExternally(url: string, portalUrl: string | undefined): boolean {
  if (portalUrl === undefined || url !== portalUrl) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
