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
  /** Subscribes: `onSnapshot` on (re)connect, `onEvent` for each event, `onLink` for connection health. */
  subscribe(h: { onSnapshot(s: EngineSnapshot): void; onEvent(e: EngineEvent): void; onLink(up: boolean): void }): () => void;
  command(c: EngineCommand): Promise<void>;
  exportDiagnostics(): Promise<string>;
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
      api.engine.snapshot().then((s) => { h.onSnapshot(s); h.onLink(true); }, () => h.onLink(false));
      return off;
    },
    command: (c) => api.engine.command(c),
    exportDiagnostics: async () => (await api.diagnostics.export()).path,
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
      es.onmessage = (m: MessageEvent<string>) => h.onEvent(JSON.parse(m.data) as EngineEvent);
      es.onerror = () => h.onLink(false);
      return () => es.close();
    },
    async command(c) {
      const r = await fetch('/api/command', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(c) });
      if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${r.status}`);
    },
    async exportDiagnostics() {
      const a = document.createElement('a');
      a.href = `/api/diagnostics?token=${encodeURIComponent(token)}`;
      a.download = '';
      a.click();
      return 'downloaded by the browser';
    },
    profile: null,
  };
}

export function chooseTransport(): Transport {
  if (window.homeward) return electronTransport(window.homeward);
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  return browserTransport(token);
}
