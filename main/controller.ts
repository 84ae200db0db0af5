/**
 * Main's wiring, free of `electron` imports so Node tests can run it with
 * fakes: engine ⇄ IPC handlers, engine events → renderer push, tray model,
 * notifications on mode changes.
 *
 *   EngineConnection ──event──► snapshot (applyEvent) ──► tray (applyTray)
 *          ▲                           │                 ├─► notifyEvent (all windows)
 *          └── command ◄── IPC handlers / tray actions   └─► notification (mode changed)
 */
import type { EngineSnapshot } from '../app/engine-snapshot.ts';
import type { EngineEvent, Mode } from '../app/events.ts';
import type { EngineConnection } from './engine-connection.ts';
import { createIpcMain, type IpcMainLike, type WebContentsLike } from './ipc/helpers.ts';
import { ipcSchema, type AppSettings, type EngineStatus, type ProfileDocument, type ProfileSaveResult } from './ipc/schema.ts';
import { modeNotification, type ModeNotification } from './mode-text.ts';
import { applyTray, buildTrayModel, type TrayAction, type TrayAdapterDeps, type TrayModel } from './tray.ts';

export interface SettingsStore {
  get(): AppSettings;
  set(patch: Partial<AppSettings>): AppSettings;
}

export interface DesktopDeps {
  engine: EngineConnection;
  ipcMain: IpcMainLike;
  targets: () => readonly WebContentsLike[];
  trustSender?: (event: unknown) => boolean;
  tray: Omit<TrayAdapterDeps, 'onAction'> | null;
  notify: (n: ModeNotification) => void;
  settings: SettingsStore;
  profile: { get(): ProfileDocument; save(json: string): ProfileSaveResult; import(): Promise<ProfileDocument | null> };
  exportDiagnostics: () => Promise<{ path: string }>;
  /** whether the engine runs (the supervised control-socket connection); absent: always running (hosted) */
  engineStatus?: { current(): EngineStatus; onChange(cb: (s: EngineStatus) => void): () => void };
  /** "Start the engine…": the service or the bundle through pkexec (main/engine-start.ts) */
  startEngine?: () => Promise<void>;
  copyDiagnostics: () => Promise<void>;
  showWindow: () => void;
  quit: () => void;
  /** longest wait for a clean disconnect on quit */
  quitTimeoutMs?: number;
}

export interface Desktop {
  handleTrayAction(a: TrayAction): Promise<void>;
  trayModel(): TrayModel | null;
  dispose(): void;
}

function wireIpc(deps: DesktopDeps, settingsChanged: () => void): ReturnType<typeof createIpcMain<typeof ipcSchema>> {
  const ipc = createIpcMain(ipcSchema, deps.ipcMain, { targets: deps.targets, ...(deps.trustSender ? { trustSender: deps.trustSender } : {}) });
  ipc.engine.handleSnapshot(() => {
    const st = deps.engineStatus?.current();
    if (st && !st.running) throw new Error(st.reason ?? 'the engine is not running');
    return deps.engine.snapshot();
  });
  ipc.engine.handleCommand((c) => deps.engine.command(c));
  ipc.engine.handleStart(async () => {
    if (!deps.startEngine) throw new Error('this app cannot start the engine: start the homeward service');
    await deps.startEngine();
  });
  ipc.profile.handleGet(() => deps.profile.get());
  ipc.profile.handleSave(({ json }) => deps.profile.save(json));
  ipc.profile.handleImport(() => deps.profile.import());
  ipc.diagnostics.handleExport(() => deps.exportDiagnostics());
  ipc.settings.handleGet(() => deps.settings.get());
  ipc.settings.handleSet((patch) => {
    const next = deps.settings.set(patch);
    settingsChanged();
    return next;
  });
  return ipc;
}

export function startDesktop(deps: DesktopDeps): Desktop {
  let model: TrayModel | null = null;
  let lastMode: Mode | null = deps.engine.snapshot().mode;
  const refreshTray = (s: EngineSnapshot): void => {
    if (deps.tray) model = applyTray({ ...deps.tray, onAction: (a) => void desktop.handleTrayAction(a) }, buildTrayModel(s, deps.settings.get()), model);
  };
  const ipc = wireIpc(deps, () => {
    ipc.settings.notifyChanged(deps.settings.get());
    refreshTray(deps.engine.snapshot());
  });
  const onEvent = (e: EngineEvent): void => {
    ipc.engine.notifyEvent(e);
    const s = deps.engine.snapshot();
    if (e.type === 'mode') {
      const n = modeNotification(lastMode, e.mode, deps.settings.get().notifications);
      lastMode = e.mode;
      if (n) deps.notify(n);
    }
    refreshTray(s);
  };
  const unsubscribe = deps.engine.onEvent(onEvent);
  const offStatus = deps.engineStatus?.onChange((st) => {
    ipc.engine.notifyStatus(st);
    if (!st.running) deps.notify({ title: 'Homeward engine not running', body: st.reason ?? 'The engine stopped.' });
    refreshTray(deps.engine.snapshot());
  });
  refreshTray(deps.engine.snapshot());

  const desktop: Desktop = {
    async handleTrayAction(a) {
      switch (a) {
        case 'connect': return deps.engine.command({ cmd: 'connect' });
        case 'disconnect': return deps.engine.command({ cmd: 'disconnect' });
        case 'policy-automatic': return deps.engine.command({ cmd: 'set-policy', policy: 'automatic' });
        case 'policy-always-vpn': return deps.engine.command({ cmd: 'set-policy', policy: 'always-vpn' });
        case 're-detect': return deps.engine.command({ cmd: 're-detect' });
        case 'open-window': return deps.showWindow();
        case 'copy-diagnostics': return deps.copyDiagnostics();
        case 'toggle-notifications':
          deps.settings.set({ notifications: !deps.settings.get().notifications });
          ipc.settings.notifyChanged(deps.settings.get());
          return refreshTray(deps.engine.snapshot());
        case 'quit': {
          // clean deregistration and IKE DELETE first, bounded so Quit always quits
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timeout = new Promise<void>((ok) => { timer = setTimeout(ok, deps.quitTimeoutMs ?? 3000); });
          await Promise.race([deps.engine.command({ cmd: 'disconnect' }).catch(() => undefined), timeout]);
          clearTimeout(timer);
          return deps.quit();
        }
      }
    },
    trayModel: () => model,
    dispose: () => { unsubscribe(); offStatus?.(); },
  };
  return desktop;
}
