/**
 * `homeward demo move <T1|U1|U2|T2> [--socket <path>] [--json]` — moves the demo's laptop
 * (`npm run demo -- --manual`) to another network, through the demo's own
 * Unix socket (root only, like the demo). Prints the mode the engine settled
 * in on the new network and the handover gap.
 *
 * Protocol: one JSON line each way — {"cmd":"move","to":"U1"} →
 * {"ok":true,"to":"U1","mode":"mc","gapMs":…} | {"ok":false,"error":"…"}.
 */
import { createConnection } from 'node:net';
import { CliError } from './main.ts';

export const DEMO_SOCKET = '/run/homeward-demo/demo.sock';
export const DEMO_NETWORKS = ['T1', 'U1', 'U2', 'T2'] as const;
export type DemoNetwork = (typeof DEMO_NETWORKS)[number];

export function isDemoNetwork(v: string): v is DemoNetwork {
  return (DEMO_NETWORKS as readonly string[]).includes(v);
}

export async function demoMove(argv: string[], json: boolean): Promise<number> {
  let path = DEMO_SOCKET;
  let to: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') continue;
    if (a === '--socket') {
      const v = argv[++i];
      if (v === undefined) throw new CliError('--socket needs a path', 'USAGE');
      path = v;
    } else if (a.startsWith('-')) throw new CliError(`demo move: unknown option ${a}`, 'USAGE');
    else if (to !== undefined) throw new CliError(`demo move takes one network, got ${to} and ${a}`, 'USAGE');
    else to = a;
  }
  if (!to || !isDemoNetwork(to)) throw new CliError(`demo move needs one of ${DEMO_NETWORKS.join(', ')}, got ${to ?? 'nothing'}`, 'USAGE');
  const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ cmd: 'move', to })}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try { resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>); } catch (e) { reject(e as Error); }
      sock.end();
    });
    sock.on('error', (e) => reject(new CliError(`no demo is running (${path}: ${e.message}); start one with: sudo npm run demo -- --manual`, 'DEMO_NOT_RUNNING')));
  });
  if (json) process.stdout.write(`${JSON.stringify({ type: 'demo-move', ...reply })}\n`);
  else if (reply.ok) process.stdout.write(`moved to ${to}: mode ${String(reply.mode)}${reply.gapMs === undefined ? '' : `, handover gap ${String(reply.gapMs)} ms`}\n`);
  else process.stderr.write(`homeward: move to ${to} failed: ${String(reply.error)}\n`);
  return reply.ok ? 0 : 1;
}
