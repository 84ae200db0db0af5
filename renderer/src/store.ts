/**
 * The engine store: a zustand mirror of the engine's snapshot, fed only by
 * the transport (snapshot on connect, then events folded with the shared
 * reducer). Views read it; they never decide protocol state.
 */
import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import { applyEvent, emptySnapshot, type EngineSnapshot } from '../../app/engine-snapshot.ts';
import type { EngineEvent } from '../../app/events.ts';

export interface EngineState {
  snapshot: EngineSnapshot;
  /** the engine is running and the transport is delivering (false: showing the last known state, greyed out) */
  live: boolean;
  /** why it is not live, in words */
  linkReason: string | null;
  /** has a first snapshot arrived */
  ready: boolean;
  /** last command error, shown as a banner */
  commandError: string | null;
  setSnapshot(s: EngineSnapshot): void;
  ingest(e: EngineEvent, nowMs: number): void;
  setLive(live: boolean, reason?: string | null): void;
  setCommandError(msg: string | null): void;
}

export function createEngineStore() {
  return createStore<EngineState>()((set) => ({
    snapshot: emptySnapshot(),
    live: false,
    linkReason: null,
    ready: false,
    commandError: null,
    setSnapshot: (snapshot) => set({ snapshot, ready: true }),
    ingest: (e, nowMs) => set((st) => ({ snapshot: applyEvent(st.snapshot, e, nowMs) })),
    setLive: (live, reason = null) => set({ live, linkReason: live ? null : reason }),
    setCommandError: (commandError) => set({ commandError }),
  }));
}

export const engineStore = createEngineStore();

export function useEngine<T>(select: (s: EngineState) => T): T {
  return useStore(engineStore, select);
}

export interface UiState {
  view: 'status' | 'timeline' | 'diagnostics' | 'profile';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logSearch: string;
  setView(v: UiState['view']): void;
  setLogLevel(l: UiState['logLevel']): void;
  setLogSearch(s: string): void;
}

export const uiStore = createStore<UiState>()((set) => ({
  view: 'status',
  logLevel: 'info',
  logSearch: '',
  setView: (view) => set({ view }),
  setLogLevel: (logLevel) => set({ logLevel }),
  setLogSearch: (logSearch) => set({ logSearch }),
}));

export function useUi<T>(select: (s: UiState) => T): T {
  return useStore(uiStore, select);
}
