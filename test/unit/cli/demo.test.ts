/**
 * The demo's contract outside the lab: its flags, the README's main command,
 * and `homeward demo move` / `homeward ui` refusing bad input with a clear
 * message (the lab runs the demo itself: test/lab/demo.test.ts).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUiArgs } from '../../../app/cli/ui.ts';
import { main } from '../../../app/cli/main.ts';
import { DEMO_SOCKET } from '../../../app/cli/demo-move.ts';
import { DemoUsageError, explainUnavailable, parseDemoArgs } from '../../../scripts/demo.ts';

const ROOT = join(import.meta.dirname, '../../..');

describe('npm run demo: flags', () => {
  it('defaults to the scripted tour with the UI, every 10 s, on the default socket', () => {
    expect(parseDemoArgs([])).toEqual({ manual: false, headless: false, intervalS: 10, socket: DEMO_SOCKET });
  });
  it('takes --manual --headless --duration --interval --port --socket', () => {
    expect(parseDemoArgs(['--manual', '--duration', '90', '--interval', '5', '--port', '8443', '--socket', '/tmp/x.sock']))
      .toEqual({ manual: true, headless: false, durationS: 90, intervalS: 5, port: 8443, socket: '/tmp/x.sock' });
    expect(parseDemoArgs(['--headless'])).toMatchObject({ headless: true });
  });
  it('names the bad flag', () => {
    expect(() => parseDemoArgs(['--duration', 'soon'])).toThrow(/--duration needs a number of 1/);
    expect(() => parseDemoArgs(['--interval', '1'])).toThrow(/--interval needs a number of 3/);
    expect(() => parseDemoArgs(['--port', '70000'])).toThrow(/--port/);
    expect(() => parseDemoArgs(['--socket', 'relative.sock'])).toThrow(/--socket needs an absolute path/);
    expect(() => parseDemoArgs(['--headless', '--port', '8080'])).toThrow(/makes no sense with --headless/);
    expect(() => parseDemoArgs(['--fast'])).toThrow(DemoUsageError);
  });
});

describe('npm run demo: what it says when it cannot run', () => {
  it('names the missing piece and the command that fixes it', () => {
    expect(explainUnavailable({ ok: true })).toBeUndefined();
    expect(explainUnavailable({ ok: false, reason: 'needs root (network namespaces); run the lab tests as root' })).toBe('the demo builds network namespaces and needs root: sudo npm run demo');
    expect(explainUnavailable({ ok: false, reason: '/usr/lib/ipsec/charon missing (install strongswan-charon)' })).toMatch(/charon missing .*sudo bash scripts\/setup\.sh$/);
    expect(explainUnavailable({ ok: false, reason: '"ip netns add" fails: Operation not permitted' })).toMatch(/^network namespaces are not available here \("ip netns add" fails/);
  });
});

describe('the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const after = (marker: string) => readme.split(`<!-- ${marker} -->`)[1]!.split('\n').find((l) => l && !l.startsWith('```'));
  it('leads with the demo as its main command, and the demo script exists', () => {
    expect(after('main-command')).toBe('bash scripts/setup.sh && npm run demo');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.demo).toBe('tsx scripts/demo.ts');
    expect(readme.indexOf('npm run demo')).toBeLessThan(readme.indexOf('## What works'));
    expect(readme).toContain('](docs/screenshot-demo.png)');
  });
});

describe('homeward demo move / homeward ui: bad input', () => {
  it('demo move names the networks and exits 64 on a wrong one', async () => {
    const out = await captureStdout(() => main(['demo', 'move', 'U9', '--json']));
    expect(out.code).toBe(64);
    expect(out.text).toMatch(/demo move needs one of T1, U1, U2, T2, got U9/);
  });
  it('demo move says no demo is running and how to start one', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'hw-demo-move-')), 'none.sock');
    const out = await captureStdout(() => main(['demo', 'move', 'U1', '--socket', sock, '--json']));
    expect(out.code).toBe(1);
    expect(out.text).toMatch(/no demo is running .*sudo npm run demo -- --manual/);
  });
  it('ui needs --control and a sane port', () => {
    expect(() => parseUiArgs([])).toThrow(/ui needs --control <path>/);
    expect(() => parseUiArgs(['--control', '/run/x.sock', '--port', '0'])).toThrow(/--port must be 1–65535/);
    expect(parseUiArgs(['--control', '/run/x.sock', '--port', '9000', '--json'])).toEqual({ control: '/run/x.sock', port: 9000, json: true });
  });
});

async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; text: string }> {
  const orig = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => { text += String(chunk); return true; }) as typeof process.stdout.write;
  try {
    return { code: await fn(), text };
  } finally {
    process.stdout.write = orig;
  }
}
