import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../app/events.ts';
import { startDesktop, type Desktop, type SettingsStore } from '../../../main/controller.ts';
import { hostedEngine } from '../../../main/engine-connection.ts';
import { channelName, IpcError, ownRenderer } from '../../../main/ipc/helpers.ts';
import { DEFAULT_SETTINGS, ipcSchema, type AppSettings } from '../../../main/ipc/schema.ts';
import type { ModeNotification } from '../../../main/mode-text.ts';
import { exposeApi, type HomewardApi } from '../../../main/preload-api.ts';
import { ProfileStore } from '../../../main/profile-store.ts';
import { ScriptedEngine } from '../../ui/scripted-engine.ts';
import { FakeIpc, FakeTray } from './fake-electron.ts';

function memSettings(): SettingsStore {
  let s: AppSettings = { ...DEFAULT_SETTINGS };
  return { get: () => s, set: (p) => (s = { ...s, ...p }) };
}

let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

function rig() {
  dir = mkdtempSync(join(tmpdir(), 'hw-main-'));
  const ipc = new FakeIpc();
  const engine = new ScriptedEngine(() => 5000);
  const tray = new FakeTray();
  const notes: ModeNotification[] = [];
  const calls: string[] = [];
  const profiles = new ProfileStore(join(dir, 'profile.json'), {
    available: () => true, seal: (s) => Buffer.from(s, 'utf8').reverse(), unseal: (b) => Buffer.from(b).reverse().toString('utf8'),
  });
  const desktop: Desktop = startDesktop({
    engine: hostedEngine(engine, () => calls.push('stop')), ipcMain: ipc.ipcMain, targets: () => [ipc.webContents],
    trustSender: ownRenderer('file:///app/renderer/dist/index.html'),
    tray: { tray, buildMenu: (t) => t, iconPath: (i) => i },
    notify: (n) => notes.push(n), settings: memSettings(),
    profile: { get: () => profiles.get(), save: (j) => profiles.save(j), import: async () => null },
    exportDiagnostics: async () => ({ path: '/tmp/d.tar.gz' }), copyDiagnostics: async () => void calls.push('copy'),
    showWindow: () => calls.push('show'), quit: () => calls.push('quit'), quitTimeoutMs: 50,
  });
  const bridge: Record<string, unknown> = {};
  const api: HomewardApi = exposeApi({ exposeInMainWorld: (k, v) => { bridge[k] = v; } }, ipc.ipcRenderer);
  return { ipc, engine, tray, notes, calls, desktop, bridge, api, dir };
}

describe('preload', () => {
  it('exposes one key, window.homeward, with exactly the schema-derived functions', () => {
    const { bridge, ipc } = rig();
    expect(Object.keys(bridge)).toEqual(['homeward']);
    const api = bridge.homeward as Record<string, Record<string, unknown>>;
    expect(Object.keys(api).sort()).toEqual(Object.keys(ipcSchema).sort());
    expect(Object.keys(api.engine!).sort()).toEqual(['command', 'listenEvent', 'listenStatus', 'snapshot', 'start']);
    expect(Object.keys(api.settings!).sort()).toEqual(['get', 'listenChanged', 'set']);
    for (const group of Object.values(api)) {
      for (const v of Object.values(group)) {
        expect(typeof v).toBe('function');
        expect(v).not.toBe(ipc.ipcRenderer);
      }
    }
    expect(JSON.stringify(Object.keys(api))).not.toMatch(/ipcRenderer|invoke|send/);
  });

  it('push listeners get the payload only — never the event whose sender is ipcRenderer', () => {
    const { api, engine } = rig();
    const args: unknown[][] = [];
    const off = api.engine.listenEvent((...a: unknown[]) => void args.push(a));
    engine.emit({ type: 'liveness', state: 'ok', gateway: '198.51.100.1' });
    expect(args).toEqual([[{ type: 'liveness', state: 'ok', gateway: '198.51.100.1' }]]);
    off();
    engine.emit({ type: 'liveness', state: 'failed', gateway: '198.51.100.1' });
    expect(args).toHaveLength(1);
  });
});

describe('IPC handlers', () => {
  it('every invoke entry of the schema has a handler on its `${group}-${key}` channel', () => {
    const { ipc } = rig();
    const expected = Object.entries(ipcSchema).flatMap(([g, e]) => Object.entries(e).filter(([, v]) => v.kind === 'invoke').map(([k]) => channelName(g, k)));
    expect([...ipc.handlers.keys()].sort()).toEqual(expected.sort());
  });

  it('snapshot and commands go through to the engine; engine events are pushed to the window', async () => {
    const { api, engine, ipc } = rig();
    engine.emit({ type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: '10.10.0.50' });
    expect((await api.engine.snapshot()).mode).toBe('mc');
    await api.engine.command({ cmd: 'set-policy', policy: 'always-vpn' });
    await api.engine.command({ cmd: 're-detect' });
    expect(engine.commands).toEqual([{ cmd: 'set-policy', policy: 'always-vpn' }, { cmd: 're-detect' }]);
    expect(ipc.sent.filter((s) => s.channel === 'engine-event').map((s) => (s.payload as EngineEvent).type)).toEqual(['mode']);
  });

  it('errors come back as IpcError with the message, not as a crash', async () => {
    const { api, engine } = rig();
    engine.failNextCommand = 'no profile loaded';
    const err = await api.engine.command({ cmd: 'connect' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).message).toBe('no profile loaded');
    expect((err as IpcError).channel).toBe('engine-command');
  });

  it('refuses calls from a frame that is not ours', async () => {
    const { api, ipc, engine } = rig();
    ipc.senderUrl = 'https://evil.example/';
    await expect(api.engine.command({ cmd: 'disconnect' })).rejects.toThrow(/not a Homeward window/);
    expect(engine.commands).toEqual([]);
  });

  it('refuses another local page too: only our renderer\'s index.html, top-level, may call main', async () => {
    const { api, ipc, engine } = rig();
    for (const url of ['file:///home/user/Downloads/evil.html', 'file:///app/renderer/dist/index.html.evil', 'file://host/app/renderer/dist/index.html']) {
      ipc.senderUrl = url;
      await expect(api.engine.command({ cmd: 'disconnect' }), url).rejects.toThrow(/not a Homeward window/);
    }
    expect(engine.commands).toEqual([]);
    ipc.senderUrl = 'file:///app/renderer/dist/index.html#/diagnostics';
    await api.engine.command({ cmd: 'disconnect' });
    expect(engine.commands).toEqual([{ cmd: 'disconnect' }]);
    const trust = ownRenderer('file:///app/renderer/dist/index.html');
    expect(trust({ senderFrame: { url: 'file:///app/renderer/dist/index.html', parent: {} } }), 'an iframe').toBe(false);
    expect(trust({ senderFrame: { url: 'file:///app/renderer/dist/index.html', parent: null } })).toBe(true);
    expect(trust({}), 'no frame (destroyed)').toBe(false);
    expect(trust({ senderFrame: { url: 'not a url' } })).toBe(false);
  });

  it('settings.set pushes settings-changed and the tray checkbox follows', async () => {
    const { api, desktop } = rig();
    const seen: AppSettings[] = [];
    api.settings.listenChanged((s) => seen.push(s));
    await api.settings.set({ notifications: false });
    expect(seen).toEqual([{ notifications: false, startMinimized: false }]);
    expect(desktop.trayModel()?.items.find((i) => 'action' in i && i.action === 'toggle-notifications')).toMatchObject({ checked: false });
  });

  it('profile: save validates with a field-level error; secrets never return to the renderer', async () => {
    const { api, dir: d } = rig();
    const bad = await api.profile.save({ json: JSON.stringify({ homeAddress: '10.10.0.500', homeAgent: '10.10.0.1' }) });
    expect(bad).toMatchObject({ ok: false, field: 'homeAddress' });
    const good = { homeAddress: '10.10.0.50', homeAgent: '10.10.0.1', mnHaAuth: { spi: 256, key: 'hex:00112233445566778899aabbccddeeff' } };
    expect(await api.profile.save({ json: JSON.stringify(good) })).toMatchObject({ ok: true });
    const doc = await api.profile.get();
    expect(doc.json).not.toContain('00112233');
    expect(JSON.parse(doc.json).mnHaAuth.key).toBe('<redacted>');
    expect(readFileSync(join(d, 'profile.json'), 'utf8')).not.toContain('00112233');
    // saving the redacted text back keeps the stored key
    expect(await api.profile.save({ json: doc.json })).toMatchObject({ ok: true });
  });
});

describe('tray and notifications through the controller', () => {
  it('the tray follows engine events and notifications fire on mode changes only', () => {
    const { engine, tray, notes } = rig();
    expect(tray.image).toBe('offline');
    engine.emit({ type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa: '10.10.0.50' });
    expect(tray.image).toBe('detecting');
    engine.emit({ type: 'mode', mode: 'c', trusted: true, coa: '10.10.1.23', hoa: '10.10.0.50' });
    engine.emit({ type: 'counters', tunIn: 1, tunOut: 1, bytesIn: 1, bytesOut: 1, dropped: {} });
    expect(tray.image).toBe('inside');
    expect(notes.map((n) => n.title)).toEqual(['Inside the enterprise network (co-located)']);
  });

  it('tray actions become engine commands; Quit disconnects first, then quits', async () => {
    const { desktop, engine, calls } = rig();
    await desktop.handleTrayAction('policy-always-vpn');
    await desktop.handleTrayAction('open-window');
    await desktop.handleTrayAction('copy-diagnostics');
    await desktop.handleTrayAction('quit');
    expect(engine.commands).toEqual([{ cmd: 'set-policy', policy: 'always-vpn' }, { cmd: 'disconnect' }]);
    expect(calls).toEqual(['show', 'copy', 'quit']);
  });
});
