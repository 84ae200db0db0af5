/**
 * Serves the renderer to an ordinary browser (`homeward run --ui`), on
 * 127.0.0.1 only, behind a random 128-bit token:
 *
 *   GET  /?token=T                 index.html (asset URLs rewritten to carry T)
 *   GET  /assets/…?token=T         built files from renderer/dist, no listings
 *   GET  /api/snapshot             EngineSnapshot              (token: header or query)
 *   GET  /api/events?token=T       text/event-stream: "snapshot" first, then one
 *                                  "message" per EngineEvent
 *   POST /api/command              EngineCommand JSON → 204 | 400 | 500
 *   GET  /api/diagnostics          the diagnostics archive, when a provider is given
 *
 * Every request must carry the token (compared in constant time), name this
 * server as its Host, and — if it has an Origin or a cross-site fetch
 * metadata — come from this very origin. Anything else gets 403, so a web page
 * in another tab or a DNS-rebinding attacker cannot read or steer the engine.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, normalize, resolve, sep } from 'node:path';
import type { EngineSource } from '../engine-snapshot.ts';
import type { EngineCommand } from '../events.ts';

// Implementation
export const TOKEN_HEADER = 'x-homeward-token';
const MAX_BODY = 4096;
const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};
const POLICIES = ['automatic', 'always-vpn'];

export interface UiServerOptions {
  engine: EngineSource;
  /** the built renderer (renderer/dist) */
  root: string;
  /** fixed token for tests; random 128-bit otherwise */
  token?: string;
  port?: number;
  diagnostics?: () => Promise<{ name: string; data: Uint8Array }>;
  /** Where a handler failure is reported (default: a JSON log line on stderr); it never ends the process. */
  onError?: (message: string) => void;
  /** Where a refused malformed request is reported (counted; default: not reported) */
  onRefused?: (message: string) => void;
}

export interface UiServer {
  url: string;
  origin: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** Validates a command body; returns it typed or a reason. */
export function parseCommand(v: unknown): EngineCommand | string {
  if (typeof v !== 'object' || v === null) return 'body must be a JSON object';
  const o = v as Record<string, unknown>;
  switch (o.cmd) {
    case 'connect': case 'disconnect': case 're-detect': case 'snapshot': return { cmd: o.cmd };
    case 'set-policy':
      return typeof o.policy === 'string' && POLICIES.includes(o.policy)
        ? { cmd: 'set-policy', policy: o.policy as 'automatic' | 'always-vpn' }
        : 'set-policy needs "policy": "automatic" or "always-vpn"';
    default: return `unknown cmd ${JSON.stringify(o.cmd)}`;
  }
}

function tokenMatches(given: string | null, token: Buffer): boolean {
  if (given === null) return false;
  const g = Buffer.from(given, 'utf8');
  // timingSafeEqual needs equal lengths; on a mismatch compare the token with itself and fail anyway
  const sameLength = g.length === token.length;
  return timingSafeEqual(sameLength ? g : token, token) && sameLength;
}

function baseHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function reply(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'Content-Type': type });
  res.end(body);
}

/** The request target as a URL, or null when it does not parse (`GET //[` …): never throws. */
export function parseTarget(req: IncomingMessage, origin: string): URL | null {
  try {
    return new URL(req.url ?? '/', origin);
  } catch {
    return null;
  }
}

/** The access check; returns null when allowed, else the reason for the 403. */
export function refusal(req: IncomingMessage, host: string, origin: string, token: Buffer): string | null {
  if (req.headers.host !== host) return 'wrong Host';
  const o = req.headers.origin;
  if (o !== undefined && o !== origin) return 'wrong Origin';
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site request';
  if (req.method === 'POST' && o === undefined) return 'POST without Origin';
  const url = parseTarget(req, origin);
  if (!url) return 'unparsable request target';
  const h = req.headers[TOKEN_HEADER];
  const given = typeof h === 'string' ? h : url.searchParams.get('token');
  return tokenMatches(given, token) ? null : 'missing or wrong token';
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY) throw new Error('body too large');
  }
  return body;
}

async function serveStatic(res: ServerResponse, root: string, pathname: string, token: string): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return reply(res, 400, 'bad request: malformed percent-encoding\n');
  }
  const rel = pathname === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = resolve(root, normalize(rel));
  if (file !== root && !file.startsWith(root + sep)) return reply(res, 404, 'not found');
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) return reply(res, 404, 'not found');
  let data: Buffer | string = await readFile(file);
  if (extname(file) === '.html') {
    // assets must carry the token too: rewrite local src/href
    data = data.toString('utf8').replace(/(src|href)="(?!https?:|data:|#)([^"?]+)"/g, (_m, attr: string, p: string) => `${attr}="${p}?token=${token}"`);
  }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  res.end(data);
}

/** An engine behind a connection that can go away (the control socket's client). */
interface ClosableSource { onClose?(cb: (reason: string) => void): () => void }

/**
 * The event stream. Besides the snapshot and the events, an `engine` event
 * {"running":false,"reason":…} tells the page at once when the engine behind
 * a control socket has gone (the page greys out and says so); when this
 * process is the engine, its death closes the stream, which the page sees too.
 */
function serveEvents(req: IncomingMessage, res: ServerResponse, engine: EngineSource, gone: () => string | null): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
  const engineState = (reason: string | null): void => {
    res.write(`event: engine\ndata: ${JSON.stringify({ running: reason === null, reason })}\n\n`);
  };
  res.write(`event: snapshot\ndata: ${JSON.stringify(engine.snapshot())}\n\n`);
  const unsubscribe = engine.onEvent((e) => res.write(`data: ${JSON.stringify(e)}\n\n`));
  const already = gone();
  if (already !== null) engineState(already);
  const offClose = (engine as ClosableSource).onClose?.((reason) => engineState(reason || 'the engine closed its control socket'));
  req.on('close', () => { unsubscribe(); offClose?.(); });
}

async function serveCommand(req: IncomingMessage, res: ServerResponse, engine: EngineSource): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readBody(req));
  } catch (e) {
    return reply(res, 400, JSON.stringify({ error: `invalid body: ${(e as Error).message}` }), 'application/json');
  }
  const cmd = parseCommand(parsed);
  if (typeof cmd === 'string') return reply(res, 400, JSON.stringify({ error: cmd }), 'application/json');
  try {
    await engine.command(cmd);
    res.writeHead(204).end();
  } catch (e) {
    reply(res, 500, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }), 'application/json');
  }
}

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const token = opts.token ?? randomBytes(16).toString('hex');
  const tokenBuf = Buffer.from(token, 'utf8');
  const root = resolve(opts.root);
  let host = '';
  let origin = '';
  const sockets = new Set<Socket>();
  let engineGone: string | null = null;
  (opts.engine as ClosableSource).onClose?.((reason) => { engineGone = reason || 'the engine closed its control socket'; });
  const report = opts.onError ?? ((message: string) => process.stderr.write(`${JSON.stringify({ type: 'log', level: 'error', msg: message })}\n`));
  const fail = (res: ServerResponse, e: unknown): void => {
    report(`ui-server: request failed: ${e instanceof Error ? e.message : String(e)}`);
    if (!res.headersSent) reply(res, 500, 'internal error\n');
    else res.destroy();
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    baseHeaders(res);
    // a request line that is no URL (`GET //[`) is the client's fault: 400, before anything else looks at it
    const url = parseTarget(req, origin);
    if (!url) {
      opts.onRefused?.(`ui-server: dropped a request whose target is no URL (${JSON.stringify((req.url ?? '').slice(0, 64))}): 400`);
      return reply(res, 400, 'bad request: unparsable request target\n');
    }
    const why = refusal(req, host, origin, tokenBuf);
    if (why) return reply(res, 403, `forbidden: ${why}\n`);
    const { pathname } = url;
    const route = `${req.method} ${pathname}`;
    if (route === 'GET /api/snapshot') return reply(res, 200, JSON.stringify(opts.engine.snapshot()), 'application/json');
    if (route === 'GET /api/events') return serveEvents(req, res, opts.engine, () => engineGone);
    if (route === 'POST /api/command') return void serveCommand(req, res, opts.engine).catch((e: unknown) => fail(res, e));
    if (route === 'GET /api/diagnostics' && opts.diagnostics) {
      return void opts.diagnostics().then(({ name, data }) => {
        res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Disposition': `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"` });
        res.end(data);
      }, (e: unknown) => fail(res, e));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed');
    if (pathname.startsWith('/api/')) return reply(res, 404, 'not found');
    void serveStatic(res, root, pathname, token).catch((e: unknown) => fail(res, e));
  };
  // one bad request never ends the process: any throw answers 500 and is logged
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      fail(res, e);
    }
  });
  server.on('clientError', (e, socket) => {
    opts.onRefused?.(`ui-server: dropped a malformed HTTP request (${e.message}): 400`);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;
  return {
    url: `${origin}/?token=${token}`, origin, token, port,
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      for (const s of sockets) s.destroy();
    }),
  };
}
