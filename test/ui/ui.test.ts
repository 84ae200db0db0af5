/**
 * The renderer in Debian's Chromium against the UI server, fed by a scripted
 * engine that roams inside (c) → outside (mc) → inside (c).
 *
 * To run the same test against the real engine, replace `new ScriptedEngine(Date.now)`
 * by the runner's engine (`homeward run --profile P --ui` prints the URL as a
 * {"type":"ui"} event) — the page and every assertion stay the same.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from '../../app/io/ui-server.ts';
import type { Mode } from '../../app/events.ts';
import { roamingScript, ScriptedEngine } from './scripted-engine.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DIST = join(ROOT, 'renderer/dist');
const OUT = join(ROOT, 'test-results');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server: UiServer;
let engine: ScriptedEngine;
let context: BrowserContext;
let page: Page;
let profileDir: string;

beforeAll(async () => {
  await build({ configFile: join(ROOT, 'vite.config.ts'), root: join(ROOT, 'renderer'), logLevel: 'warn' });
  engine = new ScriptedEngine(Date.now);
  server = await startUiServer({ engine, root: DIST });
  profileDir = mkdtempSync(join(tmpdir(), 'hw-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true,
    viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1,
  });
  page = context.pages()[0] ?? await context.newPage();
  mkdirSync(OUT, { recursive: true });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

async function http(path: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(`${server.origin}${path}`, { headers })).status;
}

/** Emits one step's events; after each mode event, the badge must show the mode within one second. */
async function play(step: { events: Parameters<ScriptedEngine['emit']>[0][] }, latencies: { mode: Mode; ms: number }[]): Promise<void> {
  for (const e of step.events) {
    const t0 = performance.now();
    engine.emit(e);
    if (e.type === 'mode') {
      await page.waitForSelector(`[data-testid="mode-badge"][data-mode="${e.mode}"]`, { timeout: 1000 });
      latencies.push({ mode: e.mode, ms: Math.round(performance.now() - t0) });
    }
    await new Promise((r) => setTimeout(r, 120)); // a human-scale pause between events
  }
}

describe('desktop UI in Chromium', () => {
  it('refuses requests without the token, with a wrong token, or from another Origin', async () => {
    expect(await http('/')).toBe(403);
    expect(await http('/api/snapshot')).toBe(403);
    expect(await http(`/api/snapshot?token=${'f'.repeat(32)}`)).toBe(403);
    expect(await http(`/api/snapshot?token=${server.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await http(`/api/snapshot?token=${server.token}`)).toBe(200);
  });

  it('a page from another origin cannot read the snapshot (the browser sees the 403)', async () => {
    const other = await context.newPage();
    await other.goto('about:blank');
    const status = await other.evaluate(async (url) => {
      try { return (await fetch(url)).status; } catch { return -1; }
    }, `${server.origin}/api/snapshot?token=${server.token}`);
    expect([403, -1]).toContain(status);
    await other.close();
  });

  it('follows the roam c → mc → c within a second of each mode event, lists the handovers, and looks like a product', async () => {
    await page.goto(server.url);
    await page.waitForSelector('[data-testid="mode-badge"][data-mode="offline"]', { timeout: 5000 });
    const steps = roamingScript();
    const latencies: { mode: Mode; ms: number }[] = [];
    await play(steps[0]!, latencies);
    await play(steps[1]!, latencies);
    await play(steps[2]!, latencies);
    await expect.poll(() => page.textContent('[data-testid="mode-label"]')).toBe('Outside — secured by VPN');
    expect(await page.textContent('[data-testid="tia"]')).toBe('10.200.0.9');
    expect(await page.textContent('[data-testid="trust"]')).toBe('Untrusted network');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, 'status-view.png'), fullPage: true });

    await page.click('[data-testid="nav-diagnostics"]');
    await page.waitForSelector('[data-testid="diagnostics-view"]');
    expect(await page.textContent('[data-testid="ike-sa"]')).toContain('8a3f00c2d14e9b71');
    expect(await page.textContent('[data-testid="child-sas"]')).toContain('c1a2b3c4');
    await page.fill('input[type="search"]', 'i-HA');
    await expect.poll(() => page.locator('[data-testid="log"] li').count()).toBe(1);
    await page.fill('input[type="search"]', '');
    await page.screenshot({ path: join(OUT, 'diagnostics-view.png'), fullPage: true });

    await page.click('[data-testid="nav-status"]');
    await play(steps[3]!, latencies);
    expect(latencies.map((l) => l.mode)).toEqual(['detecting', 'c', 'detecting', 'mc', 'detecting', 'c']);
    for (const l of latencies) expect(l.ms, `mode ${l.mode} shown after ${l.ms} ms`).toBeLessThan(1000);

    await page.click('[data-testid="nav-timeline"]');
    const moves = page.locator('[data-testid="handover"]');
    await expect.poll(() => moves.count()).toBe(3);
    const listed = await moves.evaluateAll((els) => els.map((el) => `${el.getAttribute('data-from')}>${el.getAttribute('data-to')}`));
    expect(listed).toEqual(['mc>c', 'c>mc', 'detecting>c']);
    expect(await page.textContent('[data-testid="timeline-view"]')).toContain('1.84 s');
    await page.screenshot({ path: join(OUT, 'timeline-view.png'), fullPage: true });
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    copyFileSync(join(OUT, 'status-view.png'), join(ROOT, 'docs/screenshot-status.png'));
  });

  it('buttons send commands through the server to the engine', async () => {
    await page.click('[data-testid="nav-status"]');
    await page.click('button[role="radio"]:has-text("Always VPN")');
    await page.click('button:has-text("Re-detect now")');
    await expect.poll(() => engine.commands.slice(-2)).toEqual([{ cmd: 'set-policy', policy: 'always-vpn' }, { cmd: 're-detect' }]);
  });

  it('profile editor shows a validation error next to the named field', async () => {
    await page.click('[data-testid="nav-profile"]');
    await page.fill('input[data-field="homeAddress"]', '10.10.0.500');
    await page.fill('input[data-field="homeAgent"]', '10.10.0.1');
    expect(await page.textContent('[data-testid="error-homeAddress"]')).toContain('must be a dotted IPv4 address');
    await page.fill('input[data-field="homeAddress"]', '10.10.0.50');
    await page.fill('input[data-field="mnHaAuth.spi"]', '256');
    await page.fill('input[data-field="mnHaAuth.key"]', 'hex:0011');
    expect(await page.textContent('[data-testid="error-mnHaAuth.key"]')).toContain('at least 128 bits');
    await page.screenshot({ path: join(OUT, 'profile-view.png'), fullPage: true });
  });
});
