/**
 * How the GUI reaches the engine. Two implementations of one interface:
 *  - in-process (the engine hosted by main; needs CAP_NET_ADMIN, so only when
 *    the app itself was granted it), and
 *  - the privileged headless runner's control socket (the normal Linux set-up:
 *    `homeward run --control /run/homeward/control.sock` as a system service,
 *    the GUI unprivileged) — see app/io/control-socket.ts.
 *
 * The desktop app uses the second through `supervise()`: it never gives up on
 * the service. When there is no socket, or it closes, the status says so at
 * once (the window greys out and offers to start the engine) and it retries
 * every `retryMs` until the engine is back.
 */
import { emptySnapshot, type EngineSnapshot, type EngineSource } from '../app/engine-snapshot.ts';
import type { EngineCommand, EngineEvent } from '../app/events.ts';
import { connectControlSocket, DEFAULT_CONTROL_SOCKET, type ControlClient } from '../app/io/control-socket.ts';

export interface EngineConnection extends EngineSource {
  /** Called when the connection to a remote engine is lost (never for in-process). */
  onClose(cb: (reason: string) => void): () => void;
  close(): void;
}

/** Attaches to the headless runner's control socket. */
export async function attachToRunner(path: string = DEFAULT_CONTROL_SOCKET): Promise<EngineConnection> {
  const client: ControlClient = await connectControlSocket(path);
  return client;
}

/** Wraps an engine hosted in this process. */
export function hostedEngine(engine: EngineSource, stop: () => void): EngineConnection {
  return {
    snapshot: () => engine.snapshot(),
    onEvent: (cb) => engine.onEvent(cb),
    command: (c) => engine.command(c),
    onClose: () => () => undefined,
    close: stop,
  };
}

export interface EngineStatus { running: boolean; reason: string | null }

export interface SupervisedEngine extends EngineConnection {
  status(): EngineStatus;
  onStatus(cb: (s: EngineStatus) => void): () => void;
  /** Try to attach now (after the user started the engine), instead of at the next retry. */
  retryNow(): Promise<void>;
}

export interface SuperviseOptions {
  path: string;
  connect?: (path: string) => Promise<ControlClient>;
  retryMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

/** A short, human reason for a failed attach. */
function whyNot(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return `the Homeward service is not running (no engine at ${path})`;
  if (code === 'EACCES') return `not allowed to use ${path}: add yourself to the homeward group (sudo adduser $USER homeward) and log in again`;
  return `cannot reach the engine at ${path}: ${e instanceof Error ? e.message : String(e)}`;
}

/** The control-socket connection the desktop app lives on: attaches, re-attaches, and always says whether the engine runs. */
export function supervise(opts: SuperviseOptions): SupervisedEngine {
  const connect = opts.connect ?? connectControlSocket;
  const retryMs = opts.retryMs ?? 2000;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  let client: ControlClient | null = null;
  let last: EngineSnapshot = emptySnapshot();
  let status: EngineStatus = { running: false, reason: 'connecting to the engine…' };
  let timer: unknown = null;
  let closed = false;
  let attaching: Promise<void> | null = null;
  const events = new Set<(e: EngineEvent) => void>();
  const statusListeners = new Set<(s: EngineStatus) => void>();
  const closers = new Set<(reason: string) => void>();

  const setStatus = (s: EngineStatus): void => {
    if (s.running === status.running && s.reason === status.reason) return;
    status = s;
    for (const l of statusListeners) l(s);
  };
  const schedule = (): void => {
    if (closed || timer !== null) return;
    timer = setTimer(() => { timer = null; void attach(); }, retryMs);
  };
  const attach = (): Promise<void> => {
    if (attaching) return attaching;
    attaching = (async () => {
      try {
        const c = await connect(opts.path);
        if (closed) return c.close();
        client = c;
        last = c.snapshot();
        c.onEvent((e) => { last = c.snapshot(); for (const l of events) l(e); });
        c.onClose((reason) => {
          if (client !== c) return;
          client = null;
          setStatus({ running: false, reason: `the engine stopped (${reason})` });
          for (const l of closers) l(reason);
          schedule();
        });
        setStatus({ running: true, reason: null });
      } catch (e) {
        setStatus({ running: false, reason: whyNot(e, opts.path) });
        schedule();
      } finally {
        attaching = null;
      }
    })();
    return attaching;
  };
  void attach();

  return {
    snapshot: () => (client ? client.snapshot() : last),
    onEvent: (cb) => { events.add(cb); return () => { events.delete(cb); }; },
    command: async (c: EngineCommand) => {
      if (!client) throw new Error(`the engine is not running: ${status.reason ?? 'not attached'}`);
      await client.command(c);
    },
    onClose: (cb) => { closers.add(cb); return () => { closers.delete(cb); }; },
    close: () => {
      closed = true;
      if (timer !== null) clearTimer(timer);
      client?.close();
      client = null;
    },
    status: () => status,
    onStatus: (cb) => { statusListeners.add(cb); return () => { statusListeners.delete(cb); }; },
    retryNow: async () => {
      if (timer !== null) { clearTimer(timer); timer = null; }
      if (!client) await attach();
    },
  };
}
