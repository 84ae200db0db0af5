/**
 * The local control endpoint of the headless runner: a Unix socket speaking
 * newline-delimited JSON, so an unprivileged GUI (main/) or a script can watch
 * and steer the privileged engine.
 *
 *   client                                   server
 *   {"id":1,"cmd":"snapshot"}            ──►
 *                                        ◄── {"id":1,"type":"success","value":<EngineSnapshot>}
 *   {"id":2,"cmd":"subscribe"}           ──►
 *                                        ◄── {"id":2,"type":"success","value":<EngineSnapshot>}
 *                                        ◄── {"event":<EngineEvent>}   … one per line, until close
 *   {"id":3,"cmd":"set-policy","policy":"always-vpn"} ──►
 *                                        ◄── {"id":3,"type":"success"} | {"id":3,"type":"error","error":"…"}
 *
 * Access control is the file system: the socket is created 0600 (or 0660 with
 * a `group`, for a "homeward" group the package creates) in a directory that
 * must not be world-writable unless sticky. The client refuses a socket not
 * owned by root or by the user itself (Mullvad checks the same).
 */
import type { ProfileEndpoint, SharedProfileDocument, SharedProfileSaveResult } from './profile-file.ts';
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { applyEvent, type EngineSnapshot, type EngineSource } from '../engine-snapshot.ts';
import type { EngineCommand, EngineEvent } from '../events.ts';

// Implementation
export const DEFAULT_CONTROL_SOCKET = '/run/homeward/control.sock';
export const MAX_LINE_BYTES = 64 * 1024;
const POLICIES = ['automatic', 'always-vpn'];

export class ControlSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlSocketError';
  }
}

/** Parses one request line into a command; throws ControlSocketError with the reason. */
export function parseRequest(line: string): { id: number | string | null; cmd: EngineCommand | { cmd: 'subscribe' } | ProfileRequest } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlSocketError('request is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ControlSocketError('request must be a JSON object');
  const o = v as Record<string, unknown>;
  const id = typeof o.id === 'number' || typeof o.id === 'string' ? o.id : null;
  switch (o.cmd) {
    case 'snapshot': case 'subscribe': case 'connect': case 'disconnect': case 're-detect':
      return { id, cmd: { cmd: o.cmd } };
    case 'profile-get':
      return { id, cmd: { cmd: 'profile-get' } };
    case 'profile-save':
      if (typeof o.json !== 'string') throw new ControlSocketError('profile-save needs "json": the profile text');
      return { id, cmd: { cmd: 'profile-save', json: o.json } };
    case 'set-policy':
      if (typeof o.policy !== 'string' || !POLICIES.includes(o.policy)) throw new ControlSocketError('set-policy needs "policy": "automatic" or "always-vpn"');
      return { id, cmd: { cmd: 'set-policy', policy: o.policy as 'automatic' | 'always-vpn' } };
    default:
      throw new ControlSocketError(`unknown cmd ${JSON.stringify(o.cmd)}`);
  }
}

/** requests whose handling threw (answered with an error, dropped) */
let rxErrors = 0;
export function controlRxErrors(): number {
  return rxErrors;
}

/** Splits a byte stream into lines, refusing lines over the limit. */
function lineReader(sock: Socket, onLine: (line: string) => void, onTooLong: () => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        onLine(line);
      } catch (e) {
        // one bad request is answered and dropped, never fatal to the engine
        rxErrors++;
        if (!sock.destroyed) sock.write(`${JSON.stringify({ id: null, type: 'error', error: `request dropped: ${(e as Error).message}` })}\n`);
      }
    }
    if (buf.length > MAX_LINE_BYTES) onTooLong();
  });
}

/** Refuses a socket directory others could use to swap our socket. */
export function checkSocketDirectory(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new ControlSocketError(`${dir} is not a directory`);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid && st.uid !== 0) throw new ControlSocketError(`${dir} is owned by uid ${st.uid}, not by us or root`);
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    throw new ControlSocketError(`${dir} is world-writable without the sticky bit; refusing to place the control socket there`);
  }
}

export interface ControlServerOptions {
  path: string;
  engine: EngineSource;
  /** group allowed to connect (socket becomes 0660); default: owner only (0600) */
  gid?: number;
  /** serve the engine's profile file (profile-get / profile-save) */
  profile?: ProfileEndpoint;
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

function removeStale(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlSocketError(`${path} exists and is not a socket`);
  unlinkSync(path);
}

/** The shared profile (app/io/profile-file.ts), for the desktop app to show and edit through the service. */
type ProfileRequest = { cmd: 'profile-get' } | { cmd: 'profile-save'; json: string };

function serveClient(sock: Socket, engine: EngineSource, profile?: ProfileEndpoint): void {
  let unsubscribe: (() => void) | null = null;
  const send = (o: unknown): void => {
    if (!sock.destroyed) sock.write(`${JSON.stringify(o)}\n`);
  };
  sock.on('close', () => unsubscribe?.());
  sock.on('error', () => sock.destroy());
  lineReader(sock, (line) => {
    let req;
    try {
      req = parseRequest(line);
    } catch (e) {
      send({ id: null, type: 'error', error: (e as Error).message });
      return;
    }
    const { id, cmd } = req;
    if (cmd.cmd === 'snapshot') return send({ id, type: 'success', value: engine.snapshot() });
    if (cmd.cmd === 'profile-get' || cmd.cmd === 'profile-save') {
      if (!profile) return send({ id, type: 'error', error: 'this engine does not serve its profile' });
      const done = cmd.cmd === 'profile-get' ? profile.get() : profile.save(cmd.json);
      void done.then((value) => send({ id, type: 'success', value }), (e: unknown) => send({ id, type: 'error', error: e instanceof Error ? e.message : String(e) }));
      return;
    }
    if (cmd.cmd === 'subscribe') {
      unsubscribe?.();
      send({ id, type: 'success', value: engine.snapshot() });
      unsubscribe = engine.onEvent((event) => send({ event }));
      return;
    }
    engine.command(cmd).then(
      () => send({ id, type: 'success' }),
      (e: unknown) => send({ id, type: 'error', error: e instanceof Error ? e.message : String(e) }),
    );
  }, () => {
    send({ id: null, type: 'error', error: `request line longer than ${MAX_LINE_BYTES} bytes` });
    sock.destroy();
  });
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  checkSocketDirectory(dirname(opts.path));
  removeStale(opts.path);
  const mode = opts.gid === undefined ? 0o600 : 0o660;
  const clients = new Set<Socket>();
  const server: Server = createServer((sock) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    serveClient(sock, opts.engine, opts.profile);
  });
  // The socket is bound inside listen(); a tight umask makes it private from its first instant.
  const oldMask = process.umask(0o777 & ~mode);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.path, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  if (opts.gid !== undefined) chownSync(opts.path, process.getuid?.() ?? 0, opts.gid);
  chmodSync(opts.path, mode);
  return {
    path: opts.path,
    close: () => new Promise<void>((resolve) => {
      server.close(() => {
        try { unlinkSync(opts.path); } catch { /* already gone */ }
        resolve();
      });
      for (const c of clients) c.destroy();
    }),
  };
}

export interface ControlClient extends EngineSource {
  onClose(cb: (reason: string) => void): () => void;
  /** the engine's profile, secrets redacted (when the engine serves it) */
  profileGet(): Promise<SharedProfileDocument>;
  profileSave(json: string): Promise<SharedProfileSaveResult>;
  close(): void;
}

type Reply = { id?: number | string | null; type?: 'success' | 'error'; value?: unknown; error?: string; event?: EngineEvent };

/** Checks the socket's owner, connects, subscribes, and mirrors the engine's snapshot locally. */
export async function connectControlSocket(path: string, opts: { now?: () => number } = {}): Promise<ControlClient> {
  const st = lstatSync(path);
  if (!st.isSocket()) throw new ControlSocketError(`${path} is not a socket`);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== uid) throw new ControlSocketError(`${path} is owned by uid ${st.uid}, not by root or us; refusing to talk to it`);
  const now = opts.now ?? Date.now;
  const sock = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: EngineEvent) => void>();
  const closers = new Set<(reason: string) => void>();
  let snapshot: EngineSnapshot | null = null;
  let nextId = 1;
  const request = (cmd: object): Promise<unknown> => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    sock.write(`${JSON.stringify({ id, ...cmd })}\n`);
  });
  lineReader(sock, (line) => {
    let r: Reply;
    try { r = JSON.parse(line) as Reply; } catch { return; }
    if (r.event) {
      if (snapshot) snapshot = applyEvent(snapshot, r.event, now());
      for (const l of listeners) l(r.event);
      return;
    }
    const p = typeof r.id === 'number' ? pending.get(r.id) : undefined;
    if (!p || typeof r.id !== 'number') return;
    pending.delete(r.id);
    if (r.type === 'success') p.resolve(r.value);
    else p.reject(new ControlSocketError(r.error ?? 'unknown error'));
  }, () => sock.destroy(new ControlSocketError('reply line too long')));
  sock.on('error', () => undefined);
  sock.on('close', () => {
    for (const p of pending.values()) p.reject(new ControlSocketError('control socket closed'));
    pending.clear();
    for (const c of closers) c('control socket closed');
  });
  snapshot = (await request({ cmd: 'subscribe' })) as EngineSnapshot;
  return {
    snapshot: () => snapshot!,
    onEvent: (cb) => { listeners.add(cb); return () => { listeners.delete(cb); }; },
    command: async (c) => {
      if (c.cmd === 'snapshot') { snapshot = (await request(c)) as EngineSnapshot; return; }
      await request(c);
    },
    onClose: (cb) => { closers.add(cb); return () => { closers.delete(cb); }; },
    profileGet: async () => (await request({ cmd: 'profile-get' })) as SharedProfileDocument,
    profileSave: async (json) => (await request({ cmd: 'profile-save', json })) as SharedProfileSaveResult,
    close: () => sock.destroy(),
  };
}
