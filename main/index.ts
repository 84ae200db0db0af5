/**
 * Electron entry (main process). Thin on purpose: it creates the Electron
 * objects and hands them to startDesktop (main/controller.ts), which Node
 * tests drive with fakes.
 *
 * Privilege model (Linux): the GUI never runs as root. The engine needs
 * CAP_NET_ADMIN (TUN, routes) and CAP_NET_RAW (Mobile IP raw sockets); the
 * deb installs it as the `homeward` system service (build/linux/after-install.sh)
 * with exactly those ambient capabilities, and its control socket
 * /run/homeward/control.sock (0660, group `homeward`) is what this process
 * attaches to. HOMEWARD_CONTROL_SOCKET overrides the path.
 *
 * Window: contextIsolation, sandbox, no nodeIntegration, no webview, no
 * navigation or new windows, CSP on every response, preload = main/preload.ts
 * (bundled to one CommonJS file for the sandbox, see electron-builder.yml).
 */
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, Notification, safeStorage, session, Tray } from 'electron';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildDiagnostics } from '../app/io/diagnostics.ts';
import { startDesktop } from './controller.ts';
import { attachToRunner } from './engine-connection.ts';
import { ownRenderer } from './ipc/helpers.ts';
import { DEFAULT_SETTINGS, type AppSettings } from './ipc/schema.ts';
import { ProfileStore, safeStorageKeystore } from './profile-store.ts';
import type { MenuTemplateItem, TrayIcon } from './tray.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RENDERER = join(here, '..', 'renderer', 'dist', 'index.html');
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function settingsStore(file: string): { get(): AppSettings; set(p: Partial<AppSettings>): AppSettings } {
  let current: AppSettings = { ...DEFAULT_SETTINGS };
  try { current = { ...current, ...(JSON.parse(readFileSync(file, 'utf8')) as Partial<AppSettings>) }; } catch { /* first run */ }
  return {
    get: () => current,
    set: (p) => {
      current = { ...current, ...p };
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(current, null, 2));
      return current;
    },
  };
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1120, height: 760, minWidth: 860, minHeight: 560, show: false, title: 'Homeward',
    webPreferences: {
      preload: join(here, 'preload.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false,
      webviewTag: false, spellcheck: false,
    },
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void win.loadFile(RENDERER);
  return win;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) return app.quit();
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((d, cb) => cb({ responseHeaders: { ...d.responseHeaders, 'Content-Security-Policy': [CSP] } }));
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  const engine = await attachToRunner(process.env.HOMEWARD_CONTROL_SOCKET);
  const settings = settingsStore(join(app.getPath('userData'), 'settings.json'));
  const profiles = new ProfileStore(join(app.getPath('userData'), 'profile.json'), safeStorageKeystore(safeStorage));
  let win: BrowserWindow | null = null;
  const showWindow = (): void => {
    if (!win || win.isDestroyed()) win = createWindow();
    win.show();
    win.focus();
  };
  const diagnostics = () => buildDiagnostics({
    snapshot: engine.snapshot(), events: [], now: Date.now(), version: app.getVersion(), platform: process.platform,
    profile: (() => { try { return profiles.load(); } catch { return undefined; } })(),
  });
  const desktop = startDesktop({
    engine, ipcMain, settings,
    targets: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
    trustSender: ownRenderer(pathToFileURL(RENDERER).href),
    tray: {
      tray: new Tray(join(here, 'assets', 'tray-offline.png')),
      buildMenu: (t: MenuTemplateItem[]) => Menu.buildFromTemplate(t),
      iconPath: (i: TrayIcon) => join(here, 'assets', `tray-${i}.png`),
    },
    notify: (n) => new Notification({ title: n.title, body: n.body, silent: true }).show(),
    profile: {
      get: () => profiles.get(),
      save: (json) => profiles.save(json),
      import: async () => {
        const r = await dialog.showOpenDialog({ filters: [{ name: 'Homeward profile', extensions: ['json'] }], properties: ['openFile'] });
        const file = r.filePaths[0];
        if (r.canceled || !file) return null;
        const saved = profiles.save(readFileSync(file, 'utf8'));
        if (!saved.ok) throw new Error(`${saved.field}: ${saved.message}`);
        return profiles.get();
      },
    },
    exportDiagnostics: async () => {
      const { name, data } = diagnostics();
      const r = await dialog.showSaveDialog({ defaultPath: join(app.getPath('downloads'), name) });
      if (r.canceled || !r.filePath) throw new Error('export cancelled');
      writeFileSync(r.filePath, data, { mode: 0o600 });
      return { path: r.filePath };
    },
    copyDiagnostics: async () => {
      const { name, data } = diagnostics();
      const path = join(app.getPath('downloads'), name);
      writeFileSync(path, data, { mode: 0o600 });
      clipboard.writeText(path);
    },
    showWindow,
    quit: () => app.quit(),
  });
  engine.onClose((reason) => new Notification({ title: 'Homeward engine stopped', body: reason }).show());
  app.on('window-all-closed', () => undefined); // keep running in the tray
  app.on('before-quit', () => { desktop.dispose(); engine.close(); });
  if (!settings.get().startMinimized) showWindow();
}

void main();
