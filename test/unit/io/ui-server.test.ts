import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from '../../../app/io/ui-server.ts';
import { ScriptedEngine } from '../../ui/scripted-engine.ts';

let root: string;
let server: UiServer;
let parent: string;
const engine = new ScriptedEngine(() => 1_700_000_000_000);

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** Raw HTTP so the test controls Host and Origin exactly (fetch would not let us). */
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

beforeAll(async () => {
  // the served root sits inside a fresh dir of ours, beside the file a traversal must not reach
  parent = mkdtempSync(join(tmpdir(), 'hw-ui-'));
  root = join(parent, 'root');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="./assets/app.js"></script><link rel="stylesheet" href="./assets/app.css">');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(parent, 'hw-outside.txt'), 'secret outside the root');
  engine.emit({ type: 'mode', mode: 'c', trusted: true, coa: '10.10.1.23', hoa: '10.10.0.50' });
  server = await startUiServer({ engine, root, diagnostics: async () => ({ name: 'd.tar.gz', data: new Uint8Array([31, 139]) }) });
});
afterAll(async () => {
  await server.close();
  rmSync(parent, { recursive: true, force: true });
});

const tok = () => server.token;

describe('ui-server access control', () => {
  it('binds 127.0.0.1 and prints a URL with a 128-bit token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
  });

  it('refuses a request without the token, with a wrong token, or a token of another length', async () => {
    for (const path of ['/', '/api/snapshot', '/assets/app.js', `/api/snapshot?token=${'0'.repeat(32)}`, '/api/snapshot?token=abc']) {
      const r = await http(path);
      expect(r.status, path).toBe(403);
      expect(r.body).not.toContain('10.10.0.50');
    }
  });

  it('refuses another Origin, a foreign Host (DNS rebinding) and cross-site fetches even with the token', async () => {
    const bad: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'http://127.0.0.1:1' },
      { host: `evil.example:${server.port}` },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of bad) {
      const r = await http(`/api/snapshot?token=${tok()}`, { headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
    }
    const post = await http('/api/command', { method: 'POST', headers: { 'x-homeward-token': tok(), origin: 'http://evil.example' }, body: '{"cmd":"disconnect"}' });
    expect(post.status).toBe(403);
    const noOrigin = await http('/api/command', { method: 'POST', headers: { 'x-homeward-token': tok() }, body: '{"cmd":"disconnect"}' });
    expect(noOrigin.status).toBe(403);
    expect(engine.commands).toEqual([]);
  });

  it('with the token: snapshot JSON, strict CSP, and index.html whose assets carry the token', async () => {
    const snap = await http('/api/snapshot', { headers: { 'x-homeward-token': tok() } });
    expect(snap.status).toBe(200);
    expect(JSON.parse(snap.body)).toMatchObject({ mode: 'c', hoa: '10.10.0.50' });
    expect(snap.headers['content-security-policy']).toContain("default-src 'none'");
    expect(snap.headers['content-security-policy']).toContain("script-src 'self'");
    const page = await http(`/?token=${tok()}`, { headers: { 'sec-fetch-site': 'none' } });
    expect(page.status).toBe(200);
    expect(page.body).toContain(`src="./assets/app.js?token=${tok()}"`);
    expect(page.body).toContain(`href="./assets/app.css?token=${tok()}"`);
    const js = await http(`/assets/app.js?token=${tok()}`);
    expect(js.headers['content-type']).toContain('text/javascript');
  });

  it('no directory listing, no escape from the root', async () => {
    expect((await http(`/assets/?token=${tok()}`)).status).toBe(404);
    expect((await http(`/assets?token=${tok()}`)).status).toBe(404);
    expect((await http(`/..%2fhw-outside.txt?token=${tok()}`)).status).toBe(404);
    expect((await http(`/../hw-outside.txt?token=${tok()}`)).body).not.toContain('secret outside');
  });

  it('commands: valid ones reach the engine, invalid ones are 400, engine failures 500', async () => {
    const headers = { 'x-homeward-token': tok(), origin: server.origin, 'content-type': 'application/json' };
    expect((await http('/api/command', { method: 'POST', headers, body: '{"cmd":"set-policy","policy":"always-vpn"}' })).status).toBe(204);
    expect(engine.commands.at(-1)).toEqual({ cmd: 'set-policy', policy: 'always-vpn' });
    const bad = await http('/api/command', { method: 'POST', headers, body: '{"cmd":"set-policy","policy":"sometimes"}' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toContain('set-policy');
    expect((await http('/api/command', { method: 'POST', headers, body: 'not json' })).status).toBe(400);
    engine.failNextCommand = 'engine stopped';
    const failed = await http('/api/command', { method: 'POST', headers, body: '{"cmd":"connect"}' });
    expect(failed.status).toBe(500);
    expect(failed.body).toContain('engine stopped');
  });

  it('event stream: the snapshot first, then each event as it happens', async () => {
    const chunks: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${tok()}` }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          chunks.push(d);
          const all = chunks.join('');
          if (all.includes('event: snapshot') && !all.includes('"handover"')) {
            engine.emit({ type: 'handover', from: 'c', to: 'mc', gapMs: 777 });
          }
          if (all.includes('"gapMs":777')) { req.destroy(); resolve(); }
        });
      });
      req.on('error', (e) => (chunks.join('').includes('777') ? resolve() : reject(e)));
      req.end();
    });
    const text = chunks.join('');
    expect(text.indexOf('event: snapshot')).toBeLessThan(text.indexOf('"type":"handover"'));
    expect(text).toMatch(/data: \{"type":"handover","from":"c","to":"mc","gapMs":777\}\n\n/);
  });

  it('serves the diagnostics archive as a download', async () => {
    const r = await http(`/api/diagnostics?token=${tok()}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-disposition']).toBe('attachment; filename="d.tar.gz"');
  });
});

/** One request written byte for byte on a raw socket (a client that is not a browser); resolves with the whole answer. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { got += d; if (got.includes('\r\n\r\n')) sock.end(); });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

describe('ui-server never dies of one request', () => {
  it('GET //[ (no URL at all) is answered 400 and the server keeps serving', async () => {
    const answer = await raw(server.port, `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await http(`/api/snapshot?token=${tok()}`)).status).toBe(200);
  });

  it('says what it dropped: the unparsable target and the unparsable request line are reported', async () => {
    const refused: string[] = [];
    const s2 = await startUiServer({ engine: new ScriptedEngine(), root, onRefused: (m) => refused.push(m) });
    try {
      await raw(s2.port, `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${s2.port}\r\nConnection: close\r\n\r\n`);
      await raw(s2.port, 'GARBAGE\r\n\r\n');
      expect(refused).toHaveLength(2);
      expect(refused[0]).toContain('"//["');
      expect(refused[1]).toContain('malformed HTTP request');
    } finally {
      await s2.close();
    }
  });

  it('a request line the HTTP parser rejects is answered 400', async () => {
    const answer = await raw(server.port, 'GARBAGE\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await http(`/api/snapshot?token=${tok()}`)).status).toBe(200);
  });

  it('malformed percent-encoding in a static path is 400, not a 500 or a crash', async () => {
    expect((await http(`/%E0%A4%A?token=${tok()}`)).status).toBe(400);
  });

  it('a handler that throws answers 500, is reported, and the next request works', async () => {
    const errors: string[] = [];
    let broken = true;
    const flaky = {
      snapshot: () => {
        if (broken) throw new Error('snapshot exploded');
        return engine.snapshot();
      },
      onEvent: engine.onEvent.bind(engine),
      command: engine.command.bind(engine),
    } as unknown as typeof engine;
    const s2 = await startUiServer({ engine: flaky, root, onError: (m) => errors.push(m) });
    try {
      const r = await raw(s2.port, `GET /api/snapshot?token=${s2.token} HTTP/1.1\r\nHost: 127.0.0.1:${s2.port}\r\nConnection: close\r\n\r\n`);
      expect(r).toMatch(/^HTTP\/1\.1 500 /);
      expect(r).not.toContain('snapshot exploded');
      expect(errors).toEqual([expect.stringContaining('snapshot exploded')]);
      broken = false;
      const ok = await raw(s2.port, `GET /api/snapshot?token=${s2.token} HTTP/1.1\r\nHost: 127.0.0.1:${s2.port}\r\nConnection: close\r\n\r\n`);
      expect(ok).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await s2.close();
    }
  });
});
