/**
 * Where the renderer's data comes from — chosen once at start-up:
 *  - in Electron, the preload's window.homeward (main/ipc/schema.ts), or
 *  - in a browser, the headless runner's UI server (app/io/ui-server.ts):
 *    GET /api/snapshot, SSE /api/events, POST /api/command, with the token
 *    from the page URL.
 * Both look the same to the stores. No protocol logic here.
 */
import type { EngineSnapshot } from '../../app/engine-snapshot.ts';
import type { EngineCommand, EngineEvent } from '../../app/events.ts';
import type { ProfileDocument, ProfileSaveResult } from '../../main/ipc/schema.ts';
import type { HomewardApi } from '../../main/preload-api.ts';

export interface Transport {
  kind: 'electron' | 'browser';
  /** Subscribes: `onSnapshot` on (re)connect, `onEvent` for each event, `onLink` for the engine's health (with the reason when down). */
  subscribe(h: { onSnapshot(s: EngineSnapshot): void; onEvent(e: EngineEvent): void; onLink(up: boolean, reason?: string): void }): () => void;
  /** Rejects with a message a person can read when the engine refused or could not be reached. */
  command(c: EngineCommand): Promise<void>;
  /** Saves the archive; resolves to what to tell the user, rejects with why it failed. */
  exportDiagnostics(): Promise<string>;
  /** Starts the engine (the desktop app, through pkexec), when this transport can. */
  startEngine?: () => Promise<void>;
  /** null when profiles cannot be saved from here (browser against the runner) */
  profile: { get(): Promise<ProfileDocument>; save(json: string): Promise<ProfileSaveResult> } | null;
}

declare global {
  interface Window { homeward?: HomewardApi }
}

function electronTransport(api: HomewardApi): Transport {
  return {
    kind: 'electron',
    subscribe(h) {
      const off = api.engine.listenEvent(h.onEvent);
      const offStatus = api.engine.listenStatus((st) => {
        if (!st.running) return h.onLink(false, st.reason ?? 'the engine is not running');
        api.engine.snapshot().then((s) => { h.onSnapshot(s); h.onLink(true); }, (e: unknown) => h.onLink(false, errorText(e)));
      });
      api.engine.snapshot().then((s) => { h.onSnapshot(s); h.onLink(true); }, (e: unknown) => h.onLink(false, errorText(e)));
      return () => { off(); offStatus(); };
    },
    command: async (c) => {
      try { await api.engine.command(c); } catch (e) { throw new Error(errorText(e), { cause: e }); }
    },
    exportDiagnostics: async () => `Saved to ${(await api.diagnostics.export()).path}`,
    startEngine: () => api.engine.start(),
    profile: { get: () => api.profile.get(), save: (json) => api.profile.save({ json }) },
  };
}

function browserTransport(token: string): Transport {
  const headers = { 'x-homeward-token': token };
  return {
    kind: 'browser',
    subscribe(h) {
      const es = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
      es.addEventListener('snapshot', (m) => { h.onSnapshot(JSON.parse((m as MessageEvent<string>).data) as EngineSnapshot); h.onLink(true); });
      es.addEventListener('engine', (m) => {
        const st = JSON.parse((m as MessageEvent<string>).data) as { running: boolean; reason: string | null };
        h.onLink(st.running, st.reason ?? undefined);
      });
      es.onmessage = (m: MessageEvent<string>) => h.onEvent(JSON.parse(m.data) as EngineEvent);
      // the server is the engine (run --ui) or ends with it (homeward ui): a lost stream means the engine is gone
      es.onerror = () => h.onLink(false, 'the connection to the engine was lost');
      return () => es.close();
    },
    async command(c) {
      let r: Response;
      try {
        r = await fetch('/api/command', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(c) });
      } catch {
        throw new Error('the engine is not reachable');
      }
      if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${r.status}`);
    },
    async exportDiagnostics() {
      let r: Response;
      try {
        r = await fetch(`/api/diagnostics?token=${encodeURIComponent(token)}`, { headers });
      } catch {
        throw new Error('the engine is not reachable');
      }
      if (!r.ok) throw new Error(`${r.status === 404 ? 'this server cannot build diagnostics' : `HTTP ${r.status}`}: ${(await r.text().catch(() => '')).trim()}`);
      const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') ?? '')?.[1] ?? 'homeward-diagnostics.tar.gz';
      const url = URL.createObjectURL(await r.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return `Saved ${name} to your downloads`;
    },
    profile: null,
  };
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // Electron prefixes errors thrown in main: "Error invoking remote method 'engine-command': Error: …"
  return msg.replace(/^Error invoking remote method '[^']+': (Error: )?/, '');
}

export function chooseTransport(): Transport {
  if (window.homeward) return electronTransport(window.homeward);
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  return browserTransport(token);
}
