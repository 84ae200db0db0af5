/**
 * Issue 7 against the real engine: Debian's Chromium (playwright-core) drives
 * the renderer served by `homeward run --ui` while the MN roams T1 → U1 → T1
 * (topology: fixtures/engine-lab.ts). Chromium runs inside the MN's network
 * namespace (the UI server listens on its 127.0.0.1); playwright talks to it
 * over a pipe, so the namespace does not matter to it.
 *
 * Checked: the page shows each mode c → mc → c within one second of the
 * engine's `mode` event reaching the test; the timeline lists the handovers.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectControlSocket } from '../../app/io/control-socket.ts';
import { labAvailable, skipLine, type LabProcess } from './harness/index.ts';
import { createEngineLab, events, isMode, ROOT, TSX, waitEvent, type EngineLab } from './fixtures/engine-lab.ts';

const DIST = join(ROOT, 'renderer/dist/index.html');
const avail = labAvailable({ need: ['strongswan'] });
const ready = avail.ok && existsSync('/usr/bin/chromium') && existsSync(DIST);
if (!avail.ok) console.warn(skipLine('engine-ui', avail));
else if (!ready) console.warn('[lab] engine-ui: skipped (needs /usr/bin/chromium and renderer/dist: npm run build:renderer)');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!ready)('homeward run --ui: the renderer follows the real engine roaming (lab)', () => {
  let env: EngineLab;
  let mn: LabProcess;
  let context: BrowserContext;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    env = await createEngineLab();
    dir = mkdtempSync(join(tmpdir(), 'hw-engine-ui-'));
    chmodSync(dir, 0o700);
    mn = env.lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', env.profile, '--json', '--ui', '--control', join(dir, 'control.sock')], { env: env.env, label: 'homeward-run-ui' });
    const wrapper = join(dir, 'chromium-in-mn.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${env.lab.ns('mn')} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: wrapper, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await env?.lab.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Waits for the engine's next `mode` event, then for the page to show it, within one second. */
  async function expectShown(from: number, mode: string, timeoutMs = 30_000): Promise<number> {
    await waitEvent(mn, from, isMode(mode), `mode ${mode}`, timeoutMs);
    const t0 = performance.now();
    await page.waitForSelector(`[data-testid="mode-badge"][data-mode="${mode}"]`, { timeout: 1000 });
    return Math.round(performance.now() - t0);
  }

  it('shows c → mc → c within a second of each mode event, and the timeline lists the handovers', async () => {
    const ui = await waitEvent(mn, 0, (e) => e.type === 'ui', 'the ui event', 30_000);
    expect(String(ui.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    await page.goto(String(ui.url));
    const shown: Array<{ mode: string; ms: number }> = [];
    shown.push({ mode: 'c', ms: await expectShown(0, 'c') });
    let n = events(mn).length;
    await env.toU1();
    shown.push({ mode: 'mc', ms: await expectShown(n, 'mc') });
    // outside, with a live IKE SA: the status view and the diagnostic panel of the real engine
    const out = join(ROOT, 'test-results');
    mkdirSync(out, { recursive: true });
    await expect.poll(() => page.textContent('[data-testid="tia"]'), { timeout: 5000 }).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await page.screenshot({ path: join(out, 'engine-status-mc.png'), fullPage: true });
    await page.click('[data-testid="nav-diagnostics"]');
    await page.waitForSelector('[data-testid="diagnostics-view"]');
    await expect.poll(() => page.textContent('[data-testid="ike-sa"]'), { timeout: 5000 }).toMatch(/[0-9a-f]{16}/);
    await page.screenshot({ path: join(out, 'engine-diagnostics-mc.png'), fullPage: true });
    await page.click('[data-testid="nav-status"]');
    n = events(mn).length;
    await env.toT1();
    shown.push({ mode: 'c', ms: await expectShown(n, 'c') });
    console.log(`[engine-ui] mode shown after: ${shown.map((s) => `${s.mode} ${s.ms} ms`).join(', ')}`);
    await page.click('[data-testid="nav-timeline"]');
    await expect.poll(() => page.locator('[data-testid="handover"]').count(), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(out, 'engine-timeline.png'), fullPage: true });
    // the control socket: owner-only, and its snapshot agrees with the page
    const sock = join(dir, 'control.sock');
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const client = await connectControlSocket(sock);
    try {
      expect(client.snapshot()).toMatchObject({ mode: 'c', trusted: true, hoa: '10.1.0.50' });
      expect(client.snapshot().handovers.length).toBeGreaterThanOrEqual(2);
    } finally {
      client.close();
    }
    await mn.stop(10_000);
    expect(events(mn).some((e) => e.type === 'stopped')).toBe(true);
  }, 120_000);
});
