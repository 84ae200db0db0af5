/**
 * The desktop app without a service (issue 22): the window still opens,
 * greyed out, saying why; it re-attaches on its own when the engine comes
 * back, and "Start the engine…" runs the right pkexec command line.
 */
import { describe, expect, it } from 'vitest';
import type { ControlClient } from '../../../app/io/control-socket.ts';
import { startDesktop } from '../../../main/controller.ts';
import { supervise, type EngineStatus } from '../../../main/engine-connection.ts';
import { engineStartCommand } from '../../../main/engine-start.ts';
import { DEFAULT_SETTINGS } from '../../../main/ipc/schema.ts';
import type { ModeNotification } from '../../../main/mode-text.ts';
import { exposeApi } from '../../../main/preload-api.ts';
import { ScriptedEngine } from '../../ui/scripted-engine.ts';
import { FakeIpc } from './fake-electron.ts';

/** A control client over a scripted engine, closable like a socket. */
function fakeClient(engine: ScriptedEngine): ControlClient & { die(reason: string): void; closedByUs: boolean } {
  const closers = new Set<(r: string) => void>();
  const c = {
    closedByUs: false,
    snapshot: () => engine.snapshot(),
    onEvent: (cb: Parameters<ScriptedEngine['onEvent']>[0]) => engine.onEvent(cb),
    command: (cmd: Parameters<ScriptedEngine['command']>[0]) => engine.command(cmd),
    onClose: (cb: (r: string) => void) => { closers.add(cb); return () => { closers.delete(cb); }; },
    profileGet: async () => ({ path: '/etc/homeward/profile.json', json: '{}', secretsStored: false }),
    profileSave: async () => ({ ok: true as const, path: '/etc/homeward/profile.json' }),
    close: () => { c.closedByUs = true; },
    die: (reason: string) => { for (const cl of closers) cl(reason); },
  };
  return c;
}

/** Manual timers: nothing runs until the test fires them. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  return {
    setTimer: (fn: () => void) => { const id = next++; pending.set(id, fn); return id; },
    clearTimer: (id: unknown) => { pending.delete(id as number); },
    async fire() {
      const fns = [...pending.values()];
      pending.clear();
      for (const f of fns) f();
      await new Promise((r) => setImmediate(r));
    },
    get count() { return pending.size; },
  };
}

const enoent = () => Object.assign(new Error('connect ENOENT /run/homeward/control.sock'), { code: 'ENOENT' });

describe('supervise(): the app\'s connection to the service', () => {
  it('with no service: not running, with a reason; attaches when it appears; says so when it dies; attaches again', async () => {
    const engine = new ScriptedEngine(() => 1000);
    let up = false;
    let client = fakeClient(engine);
    const timers = manualTimers();
    const seen: EngineStatus[] = [];
    const sup = supervise({ path: '/run/homeward/control.sock', connect: async () => { if (!up) throw enoent(); return client; }, ...timers });
    sup.onStatus((s) => seen.push(s));
    await new Promise((r) => setImmediate(r));
    expect(sup.status()).toEqual({ running: false, reason: 'the Homeward service is not running (no engine at /run/homeward/control.sock)' });
    await expect(sup.command({ cmd: 'connect' })).rejects.toThrow(/the engine is not running: the Homeward service is not running/);
    expect(timers.count).toBe(1);

    up = true;
    await timers.fire();
    expect(sup.status()).toEqual({ running: true, reason: null });
    engine.emit({ type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: '10.10.0.50' });
    expect(sup.snapshot().mode).toBe('mc');
    await sup.command({ cmd: 're-detect' });
    expect(engine.commands).toEqual([{ cmd: 're-detect' }]);

    up = false;
    client.die('control socket closed');
    expect(sup.status()).toEqual({ running: false, reason: 'the engine stopped (control socket closed)' });
    expect(sup.snapshot().mode).toBe('mc'); // the last known state stays visible (greyed out)
    expect(timers.count).toBe(1);

    up = true;
    client = fakeClient(engine);
    await sup.retryNow();
    expect(sup.status().running).toBe(true);
    expect(seen.map((s) => s.running)).toEqual([false, true, false, true]); // connecting… → no service → up → stopped → up
    sup.close();
    expect(client.closedByUs).toBe(true);
  });

  it('the window is told at once, refuses a snapshot while the engine is gone, and Start reaches the starter', async () => {
    const ipc = new FakeIpc();
    const engine = new ScriptedEngine(() => 1000);
    let status: EngineStatus = { running: false, reason: 'the Homeward service is not running' };
    const listeners = new Set<(s: EngineStatus) => void>();
    const notes: ModeNotification[] = [];
    let started = 0;
    let settings = { ...DEFAULT_SETTINGS };
    const desktop = startDesktop({
      engine: { ...engine, snapshot: () => engine.snapshot(), onEvent: (cb) => engine.onEvent(cb), command: (c) => engine.command(c), onClose: () => () => undefined, close: () => undefined },
      ipcMain: ipc.ipcMain, targets: () => [ipc.webContents], tray: null, notify: (n) => notes.push(n),
      settings: { get: () => settings, set: (p) => (settings = { ...settings, ...p }) },
      profile: { get: () => ({ path: null, json: '{}', secretsStored: false }), save: () => ({ ok: true, path: 'x' }), import: async () => null },
      exportDiagnostics: async () => ({ path: 'x' }), copyDiagnostics: async () => undefined, showWindow: () => undefined, quit: () => undefined,
      engineStatus: { current: () => status, onChange: (cb) => { listeners.add(cb); return () => listeners.delete(cb); } },
      startEngine: async () => { started++; },
    });
    const api = exposeApi({ exposeInMainWorld: () => undefined }, ipc.ipcRenderer);
    const pushed: EngineStatus[] = [];
    api.engine.listenStatus((s) => pushed.push(s));
    await expect(api.engine.snapshot()).rejects.toThrow(/the Homeward service is not running/);
    await api.engine.start();
    expect(started).toBe(1);
    status = { running: true, reason: null };
    for (const l of listeners) l(status);
    expect((await api.engine.snapshot()).mode).toBe('offline');
    status = { running: false, reason: 'the engine stopped (control socket closed)' };
    for (const l of listeners) l(status);
    expect(pushed).toEqual([{ running: true, reason: null }, { running: false, reason: 'the engine stopped (control socket closed)' }]);
    expect(notes.at(-1)).toEqual({ title: 'Homeward engine not running', body: 'the engine stopped (control socket closed)' });
    desktop.dispose();
  });
});

describe('Start the engine… (pkexec)', () => {
  it('starts the installed service, else runs the compiled engine with Electron\'s Node on the shared profile', () => {
    expect(engineStartCommand({ unitInstalled: true, execPath: '/opt/Homeward/homeward-desktop', bundle: 'b', socket: '/run/homeward/control.sock' }))
      .toEqual({ cmd: 'pkexec', args: ['systemctl', 'start', 'homeward.service'] });
    expect(engineStartCommand({ unitInstalled: false, execPath: '/tmp/.mount_x/homeward-desktop', bundle: '/tmp/.mount_x/resources/app.asar.unpacked/dist/engine/homeward.mjs', socket: '/run/homeward/control.sock' }))
      .toEqual({
        cmd: 'pkexec',
        args: ['env', 'ELECTRON_RUN_AS_NODE=1', '/tmp/.mount_x/homeward-desktop', '--max-semi-space-size=2', '/tmp/.mount_x/resources/app.asar.unpacked/dist/engine/homeward.mjs',
          'run', '--profile', '/etc/homeward/profile.json', '--control', '/run/homeward/control.sock', '--control-group', 'homeward'],
      });
  });
});
