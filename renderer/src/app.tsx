import { useEffect } from 'react';
import { modeLabel } from '../../main/mode-text.ts';
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
      onLink: (up) => st.setLive(up),
    });
  }, [transport]);
}

export function App({ transport }: { transport: Transport }) {
  useFeed(transport);
  const view = useUi((s) => s.view);
  const mode = useEngine((s) => s.snapshot.mode);
  const live = useEngine((s) => s.live);
  const handovers = useEngine((s) => s.snapshot.handovers.length);
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand"><span className="brand-mark" aria-hidden>⌂</span>Homeward</div>
        <nav>
          {NAV.map((n) => (
            <button key={n.id} className={`nav-item ${view === n.id ? 'active' : ''}`} onClick={() => uiStore.getState().setView(n.id)} data-testid={`nav-${n.id}`}>
              {n.label}{n.id === 'timeline' && handovers > 0 && <span className="count">{handovers}</span>}
            </button>
          ))}
        </nav>
        <div className="sidebar-foot">
          <div className="sidebar-mode"><ModeChip mode={mode} /><span>{modeLabel(mode)}</span></div>
          <div className={`link-state ${live ? 'up' : 'down'}`}>{live ? 'Engine connected' : 'Engine not reachable — showing last known state'}</div>
        </div>
      </aside>
      <main className="content">
        {view === 'status' && <StatusView transport={transport} />}
        {view === 'timeline' && <TimelineView />}
        {view === 'diagnostics' && <DiagnosticsView transport={transport} />}
        {view === 'profile' && <ProfileView transport={transport} />}
      </main>
    </div>
  );
}
