/**
 * `homeward ui --control <path> [--port <n>] [--profile <file>] [--json]`
 *
 * Serves the renderer to a browser for an engine that is already running
 * (a system service, or the demo's engine inside its namespace), talking to
 * it through its control socket — a Unix socket, so it works across network
 * namespaces. Prints {"type":"ui","url":"http://127.0.0.1:PORT/?token=…"}
 * and runs until SIGINT/SIGTERM or until the engine closes the socket.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectControlSocket } from '../io/control-socket.ts';
import { diagnosticsProvider, profileFromFile } from '../io/diagnostics.ts';
import { startUiServer } from '../io/ui-server.ts';
import { CliError, eachOption } from './main.ts';

export const RENDERER_DIST = resolve(fileURLToPath(new URL('../../renderer/dist', import.meta.url)));

export interface UiArgs {
  control: string;
  port?: number;
  json: boolean;
  /** the engine's profile, for the diagnostics archive (secrets scrubbed) */
  profile?: string;
}

export function parseUiArgs(argv: string[]): UiArgs {
  let control: string | undefined;
  let port: number | undefined;
  let json = false;
  let profile: string | undefined;
  eachOption(argv, (a, value) => {
    if (a === '--json') json = true;
    else if (a === '--profile') profile = value();
    else if (a === '--control') control = value();
    else if (a === '--port') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new CliError(`--port must be 1–65535, got ${v}`, 'USAGE');
      port = Number(v);
    } else throw new CliError(`ui: unknown option ${a}`, 'USAGE');
  });
  if (!control) throw new CliError('ui needs --control <path> (the running engine\'s control socket)', 'USAGE');
  return { control, json, ...(port === undefined ? {} : { port }), ...(profile === undefined ? {} : { profile }) };
}

export async function ui(argv: string[]): Promise<number> {
  const args = parseUiArgs(argv);
  let client;
  try {
    client = await connectControlSocket(args.control);
  } catch (e) {
    throw new CliError(`cannot reach the engine at ${args.control}: ${(e as Error).message} (is \`homeward run --control ${args.control}\` running?)`, 'CONTROL_UNREACHABLE');
  }
  const diagnostics = diagnosticsProvider({ engine: client, ...(args.profile ? { profile: profileFromFile(args.profile) } : {}) });
  const server = await startUiServer({ engine: client, root: RENDERER_DIST, diagnostics: diagnostics.build, ...(args.port === undefined ? {} : { port: args.port }) });
  const line = { type: 'ui', url: server.url };
  process.stdout.write(args.json ? `${JSON.stringify(line)}\n` : `Homeward UI: ${server.url}\n`);
  const ended = await new Promise<string>((res) => {
    process.once('SIGINT', () => res('signal'));
    process.once('SIGTERM', () => res('signal'));
    client.onClose(() => res('engine'));
  });
  await server.close();
  diagnostics.stop();
  client.close();
  if (ended === 'engine') {
    process.stderr.write('homeward ui: the engine closed its control socket\n');
    return 1;
  }
  return 0;
}
