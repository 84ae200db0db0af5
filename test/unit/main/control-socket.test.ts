import { mkdtempSync, rmSync, statSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkSocketDirectory, connectControlSocket, ControlSocketError, parseRequest, startControlServer, type ControlServer,
} from '../../../app/io/control-socket.ts';
import type { EngineEvent } from '../../../app/events.ts';
import { ScriptedEngine } from '../../ui/scripted-engine.ts';

let dir: string;
let server: ControlServer | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hw-ctl-'));
});
afterEach(async () => {
  await server?.close();
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

function rawExchange(path: string, lines: string[], expect: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const got: unknown[] = [];
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(lines.map((l) => `${l}\n`).join('')));
    sock.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) got.push(JSON.parse(p));
      if (got.length >= expect) { sock.destroy(); resolve(got); }
    });
    sock.on('error', reject);
  });
}

describe('control socket', () => {
  it('is created owner-only (0600)', async () => {
    const path = join(dir, 'control.sock');
    server = await startControlServer({ path, engine: new ScriptedEngine() });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).isSocket()).toBe(true);
  });

  it('refuses a world-writable directory without the sticky bit, accepts one with it', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => checkSocketDirectory(open)).toThrow(/world-writable/);
    chmodSync(open, 0o1777);
    expect(() => checkSocketDirectory(open)).not.toThrow();
  });

  it('refuses to replace a path that is not a socket', async () => {
    const path = join(dir, 'control.sock');
    writeFileSync(path, 'not a socket');
    await expect(startControlServer({ path, engine: new ScriptedEngine() })).rejects.toThrow(/not a socket/);
  });

  it('client mirrors the snapshot, streams events, and sends commands with ack or error', async () => {
    const path = join(dir, 'control.sock');
    let t = 1000;
    const engine = new ScriptedEngine(() => t);
    engine.emit({ type: 'mode', mode: 'c', trusted: true, coa: '10.10.1.23', hoa: '10.10.0.50' });
    server = await startControlServer({ path, engine });
    const client = await connectControlSocket(path, { now: () => t });
    expect(client.snapshot().mode).toBe('c');

    const seen: EngineEvent[] = [];
    const arrived = new Promise<void>((resolve) => client.onEvent((e) => { seen.push(e); if (seen.length === 2) resolve(); }));
    t = 2000;
    engine.emit({ type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa: '10.10.0.50' });
    engine.emit({ type: 'handover', from: 'c', to: 'mc', gapMs: 900 });
    await arrived;
    expect(seen.map((e) => e.type)).toEqual(['mode', 'handover']);
    expect(client.snapshot().mode).toBe('detecting');
    expect(client.snapshot().handovers[0]?.gapMs).toBe(900);

    await client.command({ cmd: 'set-policy', policy: 'always-vpn' });
    expect(engine.commands).toEqual([{ cmd: 'set-policy', policy: 'always-vpn' }]);
    engine.failNextCommand = 'not connected';
    await expect(client.command({ cmd: 'disconnect' })).rejects.toThrow('not connected');

    const closed = new Promise<string>((resolve) => client.onClose(resolve));
    await server.close();
    server = null;
    expect(await closed).toMatch(/closed/);
  });

  it('answers malformed requests with an error line and keeps serving', async () => {
    const path = join(dir, 'control.sock');
    server = await startControlServer({ path, engine: new ScriptedEngine() });
    const replies = await rawExchange(path, ['{nope', '{"cmd":"format-disk"}', '{"id":7,"cmd":"set-policy","policy":"never"}', '{"id":8,"cmd":"snapshot"}'], 4);
    expect(replies[0]).toMatchObject({ type: 'error', error: 'request is not valid JSON' });
    expect(replies[1]).toMatchObject({ type: 'error', error: expect.stringContaining('unknown cmd') });
    expect(replies[2]).toMatchObject({ type: 'error', error: expect.stringContaining('set-policy') });
    expect(replies[3]).toMatchObject({ id: 8, type: 'success', value: { mode: 'offline' } });
  });

  it('unsubscribes a client that goes away', async () => {
    const path = join(dir, 'control.sock');
    const engine = new ScriptedEngine();
    server = await startControlServer({ path, engine });
    const client = await connectControlSocket(path);
    expect(engine.listenerCount()).toBe(1);
    client.close();
    await vi.waitFor(() => expect(engine.listenerCount()).toBe(0), { timeout: 2000, interval: 5 });
  });

  it('parseRequest types the commands', () => {
    expect(parseRequest('{"cmd":"re-detect","id":"a"}')).toEqual({ id: 'a', cmd: { cmd: 're-detect' } });
    expect(() => parseRequest('[1]')).toThrow(ControlSocketError);
  });
});
