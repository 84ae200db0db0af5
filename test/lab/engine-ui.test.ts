/**
 * Issue 7 against the real engine, run through the demo (issue 9): `npm run
 * demo -- --manual` builds the enterprise, runs `homeward run` in the
 * laptop's namespace and serves the renderer from its own process through
 * the engine's control socket; Debian's Chromium (playwright-core) drives the
 * page while `homeward demo move` moves the laptop T1 → U1 → T1.
 *
 * Checked: the page shows each mode c → mc → c within one second of the
 * engine's `mode` event (read from the control socket); in mc it shows the
 * TIA and the diagnostic panel the IKE SA; the timeline lists the handovers;
 * the control socket is owner-only and agrees with the page; Ctrl-C ends the
 * demo with nothing left behind. The status screenshot in mc is the one in
 * the README (test-results/demo-status-mc.png → docs/screenshot-demo.png).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectControlSocket, type ControlClient } from '../../app/io/control-socket.ts';
import type { EngineEvent } from '../../app/events.ts';
import { labAvailable, skipLine } from './harness/index.ts';
import { ROOT, TSX } from './fixtures/engine-lab.ts';
import { CHROMIUM_ARGS, startManualDemo, type ManualDemo } from './fixtures/manual-demo.ts';

const DIST = join(ROOT, 'renderer/dist/index.html');
const avail = labAvailable({ need: ['strongswan'] });
const ready = avail.ok && existsSync('/usr/bin/chromium') && existsSync(DIST);
if (!avail.ok) console.warn(skipLine('engine-ui', avail));
else if (!ready) console.warn('[lab] engine-ui: skipped (needs /usr/bin/chromium and renderer/dist: npm run build:renderer)');


describe.skipIf(!ready)('the desktop UI follows the real engine: npm run demo -- --manual (lab)', () => {
  let demo: ManualDemo;
  let browser: Browser;
  let page: Page;
  let client: ControlClient | undefined;
  const modes: Array<{ mode: string; at: number }> = [];

  beforeAll(async () => {
    demo = startManualDemo('hw-engine-ui-');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await browser?.close().catch(() => undefined);
    await demo?.stop();
  });

  const printed = (re: RegExp): Promise<RegExpExecArray> => demo.printed(re);

  async function move(to: string): Promise<string> {
    const p = spawn(process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'demo', 'move', to, '--socket', demo.socket], { cwd: ROOT });
    let text = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => { text += d; });
    p.stderr!.setEncoding('utf8').on('data', (d: string) => { text += d; });
    const code = await new Promise<number | null>((r) => p.on('exit', r));
    expect(code, text).toBe(0);
    return text;
  }

  /** Waits for the engine's next `mode` event (from index n), then for the page to show it, within one second. */
  async function expectShown(n: number, mode: string): Promise<number> {
    const deadline = Date.now() + 30_000;
    while (!modes.slice(n).some((m) => m.mode === mode)) {
      if (Date.now() > deadline) throw new Error(`no mode ${mode} event: ${JSON.stringify(modes)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = performance.now();
    await page.waitForSelector(`[data-testid="mode-badge"][data-mode="${mode}"]`, { timeout: 1000 });
    return Math.round(performance.now() - t0);
  }

  it('shows c → mc → c within a second of each mode event; diagnostics, timeline and control socket agree', async () => {
    const url = (await printed(/UI:\s+(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32})/))[1]!;
    const control = (await printed(/control socket: (\/\S+)/))[1]!;
    expect(statSync(control).mode & 0o777).toBe(0o600);
    client = await connectControlSocket(control);
    client.onEvent((e: EngineEvent) => { if (e.type === 'mode') modes.push({ mode: e.mode, at: performance.now() }); });
    expect(client.snapshot()).toMatchObject({ mode: 'c', trusted: true, hoa: '10.1.0.50' });

    await page.goto(url);
    await page.waitForSelector('[data-testid="mode-badge"][data-mode="c"]', { timeout: 5000 });
    const shown: Array<{ mode: string; ms: number }> = [];
    let n = modes.length;
    expect(await move('U1')).toMatch(/moved to U1: mode mc/);
    shown.push({ mode: 'mc', ms: await expectShown(n, 'mc') });

    // outside, with a live IKE SA: the status view (the README's screenshot) and the diagnostic panel
    const results = join(ROOT, 'test-results');
    mkdirSync(results, { recursive: true });
    await expect.poll(() => page.textContent('[data-testid="tia"]'), { timeout: 5000 }).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await page.screenshot({ path: join(results, 'demo-status-mc.png'), fullPage: true });
    await page.click('[data-testid="nav-diagnostics"]');
    await page.waitForSelector('[data-testid="diagnostics-view"]');
    await expect.poll(() => page.textContent('[data-testid="ike-sa"]'), { timeout: 5000 }).toMatch(/[0-9a-f]{16}/);
    await page.screenshot({ path: join(results, 'demo-diagnostics-mc.png'), fullPage: true });
    await page.click('[data-testid="nav-status"]');

    n = modes.length;
    expect(await move('T1')).toMatch(/moved to T1: mode c/);
    shown.push({ mode: 'c', ms: await expectShown(n, 'c') });
    console.log(`[engine-ui] mode shown after: ${shown.map((s) => `${s.mode} ${s.ms} ms`).join(', ')}`);
    await page.click('[data-testid="nav-timeline"]');
    await expect.poll(() => page.locator('[data-testid="handover"]').count(), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(results, 'demo-timeline.png'), fullPage: true });
    expect(client.snapshot()).toMatchObject({ mode: 'c', trusted: true });
    expect(client.snapshot().handovers.length).toBeGreaterThanOrEqual(2);

    // Ctrl-C: the demo deregisters, closes the TCP session, removes everything, and says so
    client.close();
    client = undefined;
    demo.proc.kill('SIGINT');
    const code = await new Promise<number | null>((r) => demo.proc.once('exit', r));
    expect(demo.output()).toMatch(/TCP session: \d+ of \d+ bytes echoed, unbroken, every byte checked/);
    expect(demo.output()).toMatch(/left behind: nothing/);
    expect(code, demo.output().slice(-2000)).toBe(0);
  }, 180_000);
});
