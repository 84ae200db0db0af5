/**
 * The renderer in Debian's Chromium against the UI server, fed by a scripted
 * engine that roams inside (c) → outside (mc) → inside (c).
 *
 * To run the same test against the real engine, replace `new ScriptedEngine(Date.now)`
 * by the runner's engine (`homeward run --profile P --ui` prints the URL as a
 * {"type":"ui"} event) — the page and every assertion stay the same.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnosticsProvider } from '../../app/io/diagnostics.ts';
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

const PSK = 'correct-horse-battery-staple-42';
const MNHA_HEX = '00112233445566778899aabbccddeeff';
const SECRET_PROFILE = {
  homeAddress: '10.10.0.50', homeAgent: '10.10.0.1', mnHaAuth: { spi: 256, key: `hex:${MNHA_HEX}` },
  vpn: { gateway: '198.51.100.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: PSK } },
};

beforeAll(async () => {
  await build({ configFile: join(ROOT, 'vite.config.ts'), root: join(ROOT, 'renderer'), logLevel: 'warn' });
  engine = new ScriptedEngine(Date.now);
  // like `homeward run --ui`: the archive gets the profile as loaded, secrets included, and must scrub them
  server = await startUiServer({ engine, root: DIST, diagnostics: diagnosticsProvider({ engine, profile: () => SECRET_PROFILE }).build });
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
    await expect.poll(() => page.textContent('[data-testid="mode-label"]')).toBe('Protected by VPN');
    expect(await page.textContent('[data-testid="mode-detail"]')).toContain('mode mc');
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
    expect(await page.textContent('[data-testid="moves-count"]')).toMatch(/^3 moves/);
    // each row: words first, what triggered it, how trust was decided, both care-of addresses
    const outbound = page.locator('[data-testid="handover"][data-to="mc"]');
    expect(await outbound.locator('.move-label').textContent()).toBe('Protected by VPN');
    expect(await outbound.locator('[data-testid="handover-why"]').textContent()).toBe('Trigger: link change · Untrusted: no trusted answer from the home agent');
    expect(await outbound.locator('[data-testid="handover-coa"]').textContent()).toBe('10.10.1.23 → 10.200.0.9');
    expect(await page.locator('[data-testid="handover"][data-from="mc"] [data-testid="handover-why"]').textContent()).toContain('Trusted: the home agent answered with TNC');
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

/** Unpacks a .tar.gz with the system tar; every file's text by its path below the top directory. */
function untar(file: string): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'hw-untar-'));
  try {
    execFileSync('tar', ['-xzf', file, '-C', dir]);
    const out = new Map<string, string>();
    const top = readdirSync(dir)[0]!;
    for (const f of readdirSync(join(dir, top))) out.set(f, readFileSync(join(dir, top, f), 'utf8'));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the UI never lies about the tunnel', () => {
  it('shows a failed command instead of swallowing it', async () => {
    await page.goto(server.url);
    await page.waitForSelector('[data-testid="hero"]');
    engine.failNextCommand = 'the gateway did not answer';
    await page.click('button:has-text("Re-detect now")');
    const banner = page.locator('[data-testid="command-error"]');
    await banner.waitFor({ timeout: 2000 });
    expect(await banner.textContent()).toContain('Could not check the network again: the gateway did not answer');
    expect(await banner.getAttribute('role')).toBe('alert');
    await page.click('[data-testid="command-error"] button');
    await expect.poll(() => banner.count()).toBe(0);
  });

  it('announces mode changes in an aria-live region, in words', async () => {
    const live = page.locator('[data-testid="announce"]');
    expect(await live.getAttribute('aria-live')).toBe('polite');
    engine.emit({ type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa: '10.10.0.50', policy: 'automatic', connected: true, reason: 'link change' });
    await expect.poll(() => live.textContent()).toBe('Checking this network… — Checking…');
    engine.emit({ type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: '10.10.0.50', policy: 'always-vpn', connected: true });
    await expect.poll(() => live.textContent()).toBe('VPN forced by policy — Not checked (Always VPN)');
    engine.emit({ type: 'mode', mode: 'offline', trusted: false, coa: null, hoa: '10.10.0.50', policy: 'automatic', connected: false, reason: 'disconnected' });
    await expect.poll(() => page.textContent('[data-testid="mode-label"]')).toBe('Disconnected by you');
    expect(await page.textContent('[data-testid="trust"]')).toBe('Not connected');
  });

  it('downloads a diagnostics archive with the timeline, log, readable counters, redacted profile and versions, and no secret', async () => {
    engine.emit({ type: 'log', level: 'warn', msg: `debug dump psk=${PSK} key ${MNHA_HEX}` });
    await page.click('[data-testid="nav-diagnostics"]');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('button:has-text("Export diagnostics")')]);
    const file = join(profileDir, 'diag.tar.gz');
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^homeward-diagnostics-.*\.tar\.gz$/);
    await expect.poll(() => page.getAttribute('[data-testid="export-result"]', 'data-ok')).toBe('true');
    expect(await page.textContent('[data-testid="export-result"]')).toContain('Saved homeward-diagnostics-');
    const files = untar(file);
    expect([...files.keys()].sort()).toEqual(['README.txt', 'counters.txt', 'events.jsonl', 'log.txt', 'profile.json', 'snapshot.json', 'timeline.txt', 'versions.txt']);
    const all = [...files.values()].join('\n');
    for (const secret of [PSK, MNHA_HEX, MNHA_HEX.toUpperCase(), Buffer.from(PSK).toString('base64'), Buffer.from(PSK).toString('hex')]) {
      expect(all.includes(secret), `secret ${secret} in the archive`).toBe(false);
    }
    expect(JSON.parse(files.get('profile.json')!)).toMatchObject({ vpn: { auth: { psk: '<redacted>' } }, mnHaAuth: { key: '<redacted>' } });
    expect(files.get('timeline.txt')).toMatch(/c → mc {2}gap 1\.84 s {2}care-of 10\.10\.1\.23 → 10\.200\.0\.9 {2}trigger: link change/);
    expect(files.get('counters.txt')).toContain('replayed ESP packets: 1');
    expect(files.get('versions.txt')).toMatch(/^homeward 0\.1\.0$/m);
    expect(files.get('versions.txt')).toMatch(/^node \d+\.\d+/m);
    expect(files.get('log.txt')).toContain('debug dump psk=<redacted>');
  });

  it('says so when the export fails', async () => {
    const bare = await startUiServer({ engine, root: DIST }); // no diagnostics provider
    const p = await context.newPage();
    try {
      await p.goto(bare.url);
      await p.click('[data-testid="nav-diagnostics"]');
      await p.click('button:has-text("Export diagnostics")');
      await expect.poll(() => p.getAttribute('[data-testid="export-result"]', 'data-ok')).toBe('false');
      expect(await p.textContent('[data-testid="export-result"]')).toMatch(/^Export failed: this server cannot build diagnostics/);
    } finally {
      await p.close();
      await bare.close();
    }
  });

  it('dark mode follows the system, keyboard focus is visible, and 800×600 fits (screenshots in docs/)', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click('[data-testid="nav-status"]');
    engine.emit({ type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: '10.10.0.50', policy: 'automatic', connected: true, reason: 'home agent accepted through the VPN' });
    await page.waitForSelector('[data-testid="mode-badge"][data-mode="mc"]');
    await page.emulateMedia({ colorScheme: 'dark' });
    // (page code as strings: this file is type-checked without the DOM library)
    const bg = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
    const rgb = (bg.match(/\d+/g) ?? []).map(Number);
    expect(rgb[0]! + rgb[1]! + rgb[2]!, `dark background, got ${bg}`).toBeLessThan(3 * 60);
    const ink = await page.evaluate<string>(`getComputedStyle(document.querySelector('[data-testid="mode-label"]')).color`);
    expect((ink.match(/\d+/g) ?? []).map(Number).slice(0, 3).reduce((a: number, b: number) => a + b, 0), `light text, got ${ink}`).toBeGreaterThan(3 * 180);
    await page.screenshot({ path: join(ROOT, 'docs/screenshot-dark.png') });

    // keyboard only: Tab from the top reaches the nav items, then the policy toggle; each shows a 3 px outline
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('.brand'); // sets the sequential focus starting point to the top of the sidebar
    await page.keyboard.press('Tab');
    const first = await page.evaluate<string | null>(`document.activeElement.getAttribute('data-testid')`);
    expect(first).toBe('nav-status');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate<Record<string, string>>(`(() => {
      const el = document.activeElement;
      const st = getComputedStyle(el);
      return { id: el.getAttribute('data-testid'), style: st.outlineStyle, width: st.outlineWidth };
    })()`);
    expect(outline).toEqual({ id: 'nav-timeline', style: 'solid', width: '3px' });
    await page.screenshot({ path: join(ROOT, 'docs/screenshot-focus.png') });
    await page.focus('button[role="radio"]:has-text("Automatic")');
    await page.keyboard.press('Tab');
    const toggle = await page.evaluate<string>('(() => { const el = document.activeElement; const st = getComputedStyle(el); return el.textContent + " " + st.outlineStyle + " " + st.outlineWidth; })()');
    expect(toggle).toBe('Always VPN solid 3px');

    await page.setViewportSize({ width: 800, height: 600 });
    for (const v of ['status', 'timeline', 'diagnostics', 'profile']) {
      await page.click(`[data-testid="nav-${v}"]`);
      await page.waitForSelector(`[data-testid="${v}-view"]`);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow, `${v} view scrolls sideways at 800×600`).toBe(0);
    }
    await page.click('[data-testid="nav-status"]');
    await page.screenshot({ path: join(ROOT, 'docs/screenshot-800x600.png') });
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});

/** Spawns the engine stand-in (fixtures/engine-host.ts); resolves with its ready line. */
async function host(args: string[]): Promise<{ proc: ChildProcess; ready: Record<string, string> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/ui/fixtures/engine-host.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return { proc, ready: await firstJsonLine(proc) };
}

function firstJsonLine(proc: ChildProcess): Promise<Record<string, string>> {
  return new Promise((ok, ko) => {
    let buf = '';
    let err = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) ok(JSON.parse(buf.slice(0, nl)) as Record<string, string>);
    });
    proc.once('exit', (code) => ko(new Error(`exited ${code} before it was ready: ${err}`)));
  });
}

/** Kills the engine and returns how long the page took to say so. */
async function killAndTime(p: Page, proc: ChildProcess): Promise<number> {
  await p.waitForSelector('[data-testid="mode-badge"][data-mode="mc"][data-live="true"]', { timeout: 10_000 });
  const t0 = performance.now();
  proc.kill('SIGKILL');
  await p.waitForSelector('[data-testid="engine-down"]', { timeout: 5000 });
  const ms = performance.now() - t0;
  expect(await p.textContent('[data-testid="mode-label"]')).toBe('Engine not running');
  expect(await p.textContent('[data-testid="link-state"]')).toBe('Engine not running');
  expect(await p.isDisabled('button:has-text("Disconnect")')).toBe(true);
  return ms;
}

describe('engine killed: the UI says so within 2 s', () => {
  const procs: ChildProcess[] = [];
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hw-ui-kill-'));
    writeFileSync(join(dir, 'profile.json'), JSON.stringify(SECRET_PROFILE));
  });
  afterAll(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the engine serves the UI itself (homeward run --ui)', async () => {
    const { proc, ready } = await host(['serve', join(dir, 'profile.json')]);
    procs.push(proc);
    const p = await context.newPage();
    try {
      await p.goto(ready.url!);
      const ms = await killAndTime(p, proc);
      console.log(`[ui] run --ui: engine killed, page said so after ${Math.round(ms)} ms`);
      await p.screenshot({ path: join(ROOT, 'docs/screenshot-engine-down.png') });
      expect(ms).toBeLessThan(2000);
    } finally {
      await p.close();
    }
  });

  it('when the UI is served by homeward ui through the control socket', async () => {
    const sock = join(dir, 'control.sock');
    const { proc } = await host(['control', sock]);
    procs.push(proc);
    expect(statSync(sock).isSocket()).toBe(true);
    const ui = spawn(process.execPath, [join(ROOT, 'bin/homeward.mjs'), 'ui', '--control', sock, '--json', '--profile', join(dir, 'profile.json')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(ui);
    const line = await firstJsonLine(ui);
    const p = await context.newPage();
    try {
      await p.goto(line.url!);
      const ms = await killAndTime(p, proc);
      console.log(`[ui] homeward ui: engine killed, page said so after ${Math.round(ms)} ms`);
      expect(ms).toBeLessThan(2000);
    } finally {
      await p.close();
    }
  });
});
