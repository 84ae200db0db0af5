/**
 * How the GUI reaches the engine. Two implementations of one interface:
 *  - in-process (the engine hosted by main; needs CAP_NET_ADMIN, so only when
 *    the app itself was granted it), and
 *  - the privileged headless runner's control socket (the normal Linux set-up:
 *    `homeward run --control /run/homeward/control.sock` as a system service,
 *    the GUI unprivileged) — see app/io/control-socket.ts.
 */
import type { EngineSource } from '../app/engine-snapshot.ts';
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
