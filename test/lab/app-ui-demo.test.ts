/**
 * Issue 22 against the real engine, through the demo (`npm run demo --
 * --manual`): Debian's Chromium downloads the diagnostics archive from the
 * demo's UI and finds none of the run's secrets in it; then the engine process
 * is killed and the page must say "Engine not running" within 2 s; a SIGHUP
 * (the terminal closed) still makes the demo remove everything.
 *
 * The engine is found by the control socket path on its command line, killed by its pid;
 * the secrets are read from the profile it was started with.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable, skipLine } from './harness/index.ts';
import { ROOT } from './fixtures/engine-lab.ts';
import { CHROMIUM_ARGS, startManualDemo, type ManualDemo } from './fixtures/manual-demo.ts';

const avail = labAvailable({ need: ['strongswan'] });
const ready = avail.ok && existsSync('/usr/bin/chromium') && existsSync(join(ROOT, 'renderer/dist/index.html'));
if (!avail.ok) console.warn(skipLine('app-ui-demo', avail));
else if (!ready) console.warn('[lab] app-ui-demo: skipped (needs /usr/bin/chromium and renderer/dist: npm run build)');


/** The pid of the engine serving this control socket: the one process started with `--control <path>` (unique per run). */
function enginePidFor(path: string): number {
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try { argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (argv.includes('run') && argv[argv.indexOf('--control') + 1] === path && !argv.includes('ip')) found.push(Number(d));
  }
  if (found.length !== 1) throw new Error(`expected one engine for ${path}, found ${JSON.stringify(found)}`);
  return found[0]!;
}

describe.skipIf(!ready)('the UI against the real engine: diagnostics without secrets, engine killed (lab)', () => {
  let demo: ManualDemo;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    demo = startManualDemo('hw-app-ui-');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
    page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
  });

  const printed = (re: RegExp): Promise<RegExpExecArray> => demo.printed(re);

  it('exports a secret-free archive, then shows the killed engine within 2 s; the demo still cleans up', async () => {
    const url = (await printed(/UI:\s+(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32})/))[1]!;
    const control = (await printed(/control socket: (\/\S+)/))[1]!;
    const enginePid = enginePidFor(control);
    const argv = readFileSync(`/proc/${enginePid}/cmdline`, 'utf8').split('\0');
    const profile = JSON.parse(readFileSync(argv[argv.indexOf('--profile') + 1]!, 'utf8')) as { mnHaAuth: { key: string }; vpn: { auth: { psk: string } } };
    const secrets = [profile.vpn.auth.psk, profile.mnHaAuth.key, profile.mnHaAuth.key.replace(/^hex:/, '')];

    await page.goto(url);
    await page.waitForSelector('[data-testid="mode-badge"][data-mode="c"][data-live="true"]', { timeout: 10_000 });
    await page.click('[data-testid="nav-diagnostics"]');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.click('button:has-text("Export diagnostics")')]);
    const archive = join(demo.dir, 'diag.tar.gz');
    await download.saveAs(archive);
    const unpacked = join(demo.dir, 'diag');
    execFileSync('mkdir', ['-p', unpacked]);
    execFileSync('tar', ['-xzf', archive, '-C', unpacked]);
    const top = join(unpacked, readdirSync(unpacked)[0]!);
    const files = readdirSync(top).sort();
    expect(files).toEqual(['README.txt', 'counters.txt', 'events.jsonl', 'log.txt', 'profile.json', 'snapshot.json', 'timeline.txt', 'versions.txt']);
    const all = files.map((f) => readFileSync(join(top, f), 'utf8')).join('\n');
    for (const s of secrets) expect(all.includes(s), `a secret of this run is in the archive: ${s.slice(0, 6)}…`).toBe(false);
    expect(JSON.parse(readFileSync(join(top, 'profile.json'), 'utf8'))).toMatchObject({ vpn: { auth: { psk: '<redacted>' } }, mnHaAuth: { key: '<redacted>' } });
    await page.click('[data-testid="nav-status"]');

    const t0 = performance.now();
    process.kill(enginePid, 'SIGKILL');
    await page.waitForSelector('[data-testid="engine-down"]', { timeout: 5000 });
    const ms = Math.round(performance.now() - t0);
    console.log(`[app-ui-demo] engine killed, the page said so after ${ms} ms`);
    expect(ms).toBeLessThan(2000);
    expect(await page.textContent('[data-testid="mode-label"]')).toBe('Engine not running');

    // a closed terminal (SIGHUP) must tear the demo down like Ctrl-C
    demo.proc.kill('SIGHUP');
    const exit = await new Promise<{ code: number | null; signal: string | null }>((r) => demo.proc.once('exit', (code, signal) => r({ code, signal })));
    expect(exit.signal, demo.output().slice(-2000)).toBeNull();
    expect(demo.output()).toMatch(/stopping: deregistering/);
    expect(demo.output()).toMatch(/left behind: nothing/);
  }, 180_000);
});
