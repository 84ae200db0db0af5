import { useEffect } from 'react';
import { statusWords } from '../../main/mode-text.ts';
import { ModeChip } from './components.tsx';
import { engineStore, uiStore, useEngine, useUi, type UiState } from './store.ts';
import type { Transport } from './transport.ts';
import { DiagnosticsView } from './views/diagnostics-view.tsx';
import { ProfileView } from './views/profile-view.tsx';
import { StatusView } from './views/status-view.tsx';
import { TimelineView } from './views/timeline-view.tsx';

const NAV: { id: UiState['view']; label: string }[] = [
  { id: 'status', label: 'Status' },
  { id: 'timeline', label: 'Timeline' },
  { id: 'diagnostics', label: 'Diagnostics' },
  { id: 'profile', label: 'Profile' },
];

/** Connects the transport to the store — the only writer of engine state in the renderer. */
function useFeed(transport: Transport): void {
  useEffect(() => {
    const st = engineStore.getState();
    return transport.subscribe({
      onSnapshot: (s) => st.setSnapshot(s),
      onEvent: (e) => engineStore.getState().ingest(e, Date.now()),
      onLink: (up, reason) => st.setLive(up, reason ?? null),
    });
  }, [transport]);
}

/** The engine is gone: say so above everything, with the way to start it where there is one. */
function EngineDown({ transport }: { transport: Transport }) {
  const reason = useEngine((s) => s.linkReason);
  const ready = useEngine((s) => s.ready);
  const start = transport.startEngine;
  return (
    <div className="banner banner-bad engine-down-banner" role="alert" data-testid="engine-down">
      <strong>Engine not running.</strong> Homeward is not moving or protecting your traffic{ready ? '; what you see below is the last known state' : ''}.
      {reason && <span className="muted-on-bad"> ({reason})</span>}
      {start && <button className="btn btn-primary" onClick={() => void start().catch((e: unknown) => engineStore.getState().setCommandError(`Could not start the engine: ${e instanceof Error ? e.message : String(e)}`))}>Start the engine…</button>}
    </div>
  );
}

function CommandError() {
  const error = useEngine((s) => s.commandError);
  if (!error) return null;
  return (
    <div className="banner banner-bad command-error" role="alert" data-testid="command-error">
      <span>{error}</span>
      <button className="btn btn-small" onClick={() => engineStore.getState().setCommandError(null)} aria-label="Dismiss this message">Dismiss</button>
    </div>
  );
}

export function App({ transport }: { transport: Transport }) {
  useFeed(transport);
  const view = useUi((s) => s.view);
  const s = useEngine((st) => st.snapshot);
  const live = useEngine((st) => st.live);
  const handovers = s.handovers.length;
  const words = statusWords(s, live);
  return (
    <div className={`app ${live ? '' : 'engine-down'}`}>
      {/* one polite announcement per change of what the status means: mode, trust, engine up or down */}
      <div className="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="announce">{`${words.title} — ${words.trust.label}`}</div>
      <aside className="sidebar">
        <div className="brand"><span className="brand-mark" aria-hidden>⌂</span>Homeward</div>
        <nav aria-label="Views">
          {NAV.map((n) => (
            <button key={n.id} className={`nav-item ${view === n.id ? 'active' : ''}`} aria-current={view === n.id ? 'page' : undefined}
              onClick={() => uiStore.getState().setView(n.id)} data-testid={`nav-${n.id}`}>
              {n.label}{n.id === 'timeline' && handovers > 0 && <span className="count" aria-label={`${handovers} ${handovers === 1 ? 'move' : 'moves'}`}>{handovers}</span>}
            </button>
          ))}
        </nav>
        <div className="sidebar-foot">
          <div className="sidebar-mode"><ModeChip mode={s.mode} /><span>{words.title}</span></div>
          <div className={`link-state ${live ? 'up' : 'down'}`} data-testid="link-state">{live ? 'Engine running' : 'Engine not running'}</div>
        </div>
      </aside>
      <main className="content">
        {!live && <EngineDown transport={transport} />}
        <CommandError />
        <div className="content-body" aria-disabled={!live}>
          {view === 'status' && <StatusView transport={transport} />}
          {view === 'timeline' && <TimelineView />}
          {view === 'diagnostics' && <DiagnosticsView transport={transport} />}
          {view === 'profile' && <ProfileView transport={transport} />}
        </div>
      </main>
    </div>
  );
}
