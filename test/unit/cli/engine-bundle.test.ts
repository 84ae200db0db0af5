/**
 * The compiled engine (scripts/build-engine.mjs): it runs without tsx or a
 * TypeScript compiler, and bin/homeward.cjs uses it (and its help.cjs) only
 * while it is current, so an edited source is never hidden behind a stale
 * bundle.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { COMMAND_HELP, USAGE, quickAnswer } from '../../../app/cli/help.ts';
import { main } from '../../../app/cli/main.ts';
import { engineStartCommand } from '../../../main/engine-start.ts';
// @ts-expect-error plain JavaScript, no declarations
import { buildEngine, rewriteLazyRequires } from '../../../scripts/build-engine.mjs';

type Bin = {
  freshBundle: (dir: string, base: string) => string | null;
  freshQuick: (dir: string, base: string) => string | null;
  mayBeQuick: (argv: string[]) => boolean;
  writeOut: (text: string, fd: number, write: (fd: number, b: Buffer, off: number, len: number) => number, fallback: (rest: Buffer) => void) => void;
};
const { freshBundle, freshQuick, mayBeQuick, writeOut } = createRequire(import.meta.url)('../../../bin/homeward.cjs') as Bin;
const INSTALLED = fileURLToPath(new URL(`../../../${(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { bin: { homeward: string } }).bin.homeward}`, import.meta.url));

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hw-engine-bundle-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the compiled engine', () => {
  it('prints the help with no TypeScript compiler loaded, and bundles every subcommand', async () => {
    const out = join(dir, 'dist', 'engine');
    const built = (await buildEngine(out)) as { entry: string; inputs: number };
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { inputs: string[]; builtAt: number };
    expect(manifest.inputs).toContain('app/cli/run.ts');
    expect(manifest.inputs).toContain('app/mip4/registration.ts');
    expect(manifest.inputs.filter((p) => /node_modules\/(tsx|typescript|esbuild)\//.test(p))).toEqual([]);
    // self-contained: every import is a chunk of its own or a Node built-in, so nothing can pull tsx in
    const specifiers = readdirSync(out).filter((f) => f.endsWith('.mjs'))
      .flatMap((f) => [...readFileSync(join(out, f), 'utf8').matchAll(/^(?:import|export)\b[^\n]*?from\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]!));
    expect(specifiers.length).toBeGreaterThan(5);
    expect(specifiers.filter((s) => !s.startsWith('./') && !s.startsWith('node:'))).toEqual([]);
    const r = spawnSync(process.execPath, [built.entry, '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(USAGE);
    const sub = spawnSync(process.execPath, [built.entry, 'run', '--help'], { encoding: 'utf8' });
    expect(sub.stdout).toMatch(/^Usage: homeward run --profile/);
    const bad = spawnSync(process.execPath, [built.entry, 'vpn', 'up', '--frobnicate'], { encoding: 'utf8' });
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/unknown option --frobnicate/);
    // @noble's AES and NIST modules are bundled, but evaluated only where app/crypto/lazy-noble.ts asks for them
    const code = readdirSync(out).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
    for (const init of ['init_aes()', 'init_nist()']) {
      // the bundle has no layout (minifyWhitespace): count the call sites, not the lines
      expect(code.split(init).length - 1, init).toBe(1);
      expect(code, init).toMatch(new RegExp(`\\?\\?=\\s*\\(${init.replace(/[()]/g, '\\$&')},\\s*__toCommonJS\\(`));
    }
    // no comment or string keeps a chunk's source a two-byte string in V8's heap
    expect(code.split('').filter((c) => c.charCodeAt(0) > 0x7f)).toEqual([]);
  }, 60_000);

  it('turns lazy-noble.ts\'s createRequire loads into bundled requires, and refuses a file of another shape', () => {
    const src = readFileSync(new URL('../../../app/crypto/lazy-noble.ts', import.meta.url), 'utf8');
    const out = rewriteLazyRequires(src) as string;
    expect(out).not.toMatch(/createRequire|\bload\(/);
    expect(out).toContain("require('@noble/ciphers/aes.js')");
    expect(out).toContain("require('@noble/curves/nist.js')");
    expect(() => rewriteLazyRequires("import { createRequire } from 'node:module';\nconst req = createRequire(import.meta.url);\nreq('x');\n")).toThrow(/lazy-noble/);
  });

  it('the installed command, bin/homeward.mjs, the service unit and the desktop app\'s start command give the engine the same V8 option', () => {
    const option = '--max-semi-space-size=2';
    expect(INSTALLED).toMatch(/bin[\\/]homeward\.cjs$/);
    const probe = join(dir, 'exec-argv.mjs');
    writeFileSync(probe, 'process.on("exit", () => process.stderr.write(JSON.stringify(process.execArgv)));\n');
    for (const bin of [INSTALLED, fileURLToPath(new URL('../../../bin/homeward.mjs', import.meta.url))]) {
      expect(readFileSync(bin, 'utf8').split('\n')[0], bin).toBe(`#!/usr/bin/env -S node ${option}`);
      // run as the installed command runs it: by its #! line
      const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
      expect(r.stdout, bin).toBe('homeward 0.1.0\n');
      const seen = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--import ${probe}` } });
      expect(JSON.parse(seen.stderr), bin).toContain(option);
    }
    const unit = readFileSync(fileURLToPath(new URL('../../../build/linux/homeward.service', import.meta.url)), 'utf8');
    expect(/^ExecStart=\S+ (\S+) /m.exec(unit)?.[1]).toBe(option);
    expect(engineStartCommand({ unitInstalled: false, execPath: '/x/homeward-desktop', bundle: '/x/homeward.mjs', socket: '/run/s' }).args.slice(2, 5))
      .toEqual(['/x/homeward-desktop', option, '/x/homeward.mjs']);
  });

  it('bin/homeward.cjs takes the bundle only while no source it was built from is newer', () => {
    const base = join(dir, 'tree');
    const bundleDir = join(base, 'dist', 'engine');
    mkdirSync(join(base, 'app'), { recursive: true });
    mkdirSync(bundleDir, { recursive: true });
    writeFileSync(join(base, 'app', 'a.ts'), '');
    writeFileSync(join(base, 'app', 'b.ts'), '');
    const builtAt = Date.now();
    const old = new Date(builtAt - 60_000);
    utimesSync(join(base, 'app', 'a.ts'), old, old);
    utimesSync(join(base, 'app', 'b.ts'), old, old);
    writeFileSync(join(bundleDir, 'manifest.json'), JSON.stringify({ builtAt, entry: 'homeward.mjs', inputs: ['app/a.ts', 'app/b.ts', 'app/gone.ts'] }));
    expect(freshBundle(bundleDir, base)).toBe(join(bundleDir, 'homeward.mjs'));
    const later = new Date(builtAt + 5_000);
    utimesSync(join(base, 'app', 'b.ts'), later, later);
    expect(freshBundle(bundleDir, base)).toBeNull();
    utimesSync(join(base, 'app', 'b.ts'), old, old);
    process.env.HOMEWARD_FROM_SOURCE = '1';
    try {
      expect(freshBundle(bundleDir, base)).toBeNull();
    } finally {
      delete process.env.HOMEWARD_FROM_SOURCE;
    }
    expect(freshBundle(join(base, 'nowhere'), base)).toBeNull();
  });

  it('bin/homeward.cjs runs the TypeScript sources through tsx when asked to (HOMEWARD_FROM_SOURCE=1, as after an edit)', () => {
    // a subcommand past the quick answers: app/cli/main.ts itself, loaded through tsx's loader
    const r = spawnSync(process.execPath, [INSTALLED, 'profile', 'check', join(dir, 'no-such-profile.json')], {
      encoding: 'utf8', env: { ...process.env, HOMEWARD_FROM_SOURCE: '1' }, timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find module/);
    expect(r.stderr + r.stdout).toMatch(/no-such-profile\.json/);
    expect(r.status).not.toBe(0);
  });

  it('bin/homeward.cjs takes help.cjs while help.ts is current, whatever else changed, and never when help.ts changed', () => {
    const base = join(dir, 'quick-tree');
    const bundleDir = join(base, 'dist', 'engine');
    mkdirSync(join(base, 'app', 'cli'), { recursive: true });
    mkdirSync(bundleDir, { recursive: true });
    const builtAt = Date.now();
    const old = new Date(builtAt - 60_000);
    const later = new Date(builtAt + 5_000);
    for (const f of ['app/cli/help.ts', 'app/cli/run.ts']) {
      writeFileSync(join(base, f), '');
      utimesSync(join(base, f), old, old);
    }
    writeFileSync(join(bundleDir, 'manifest.json'), JSON.stringify({ builtAt, entry: 'homeward.mjs', inputs: ['app/cli/help.ts', 'app/cli/run.ts'], quick: { entry: 'help.cjs', inputs: ['app/cli/help.ts'] } }));
    expect(freshQuick(bundleDir, base)).toBe(join(bundleDir, 'help.cjs'));
    // an edit elsewhere stales the bundle but not the help, which is built from help.ts alone
    utimesSync(join(base, 'app/cli/run.ts'), later, later);
    expect(freshBundle(bundleDir, base)).toBeNull();
    expect(freshQuick(bundleDir, base)).toBe(join(bundleDir, 'help.cjs'));
    utimesSync(join(base, 'app/cli/help.ts'), later, later);
    expect(freshQuick(bundleDir, base)).toBeNull();
    utimesSync(join(base, 'app/cli/help.ts'), old, old);
    process.env.HOMEWARD_FROM_SOURCE = '1';
    try {
      expect(freshQuick(bundleDir, base)).toBeNull();
    } finally {
      delete process.env.HOMEWARD_FROM_SOURCE;
    }
    // a manifest from before the quick entry: no quick path, the bundle as before
    writeFileSync(join(bundleDir, 'manifest.json'), JSON.stringify({ builtAt, entry: 'homeward.mjs', inputs: ['app/cli/help.ts'] }));
    expect(freshQuick(bundleDir, base)).toBeNull();
    expect(freshBundle(bundleDir, base)).toBe(join(bundleDir, 'homeward.mjs'));
  });

  it('answers --help, no arguments and --version as app/cli/main.ts does, and only those', async () => {
    const lines = [[], ['--help'], ['-h'], ['--version'], ['run', '--help'], ['vpn', 'up', '-h'], ['profile', 'check', '--help'], ['mip', 'register', '--json', '--help'], ['frobnicate', '--help'], ['run', '--profile', 'x.json'], ['profile', 'check'], ['vpn', 'up', '--version']];
    for (const argv of lines) {
      const answer = quickAnswer(argv);
      // bin/homeward.cjs's cheap filter lets every quick line through (quickAnswer has the last word)
      if (answer !== null) expect(mayBeQuick(argv), argv.join(' ')).toBe(true);
      if (answer === null) continue;
      const written: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((s: string) => { written.push(s); return true; }) as typeof process.stdout.write;
      try {
        expect(await main(argv), argv.join(' ')).toBe(0);
      } finally {
        process.stdout.write = write;
      }
      expect(written.join(''), argv.join(' ')).toBe(`${answer}\n`);
    }
    expect(quickAnswer(['run', '--help'])).toBe(COMMAND_HELP.run);
    expect(quickAnswer(['run', '--profile', 'x.json'])).toBeNull();
    expect(quickAnswer(['vpn', 'up', '--version'])).toBeNull();
  });

  it('prints the help without Node\'s ES module loader when help.cjs is current, and the same text as the bundle', async () => {
    const out = join(dir, 'dist', 'engine');
    await buildEngine(out);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { quick: { entry: string; inputs: string[] } };
    expect(manifest.quick).toEqual({ entry: 'help.cjs', inputs: ['app/cli/help.ts'] });
    const probe = join(dir, 'loaded.cjs');
    writeFileSync(probe, 'process.on("exit", () => { const l = process.moduleLoadList.slice(); require("node:fs").writeSync(2, JSON.stringify(l)); });\n');
    // bin/homeward.cjs run against this build: start() with its dist dir and the repository as the sources' base
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const runner = join(dir, 'start.cjs');
    writeFileSync(runner, `require(${JSON.stringify(INSTALLED)}).start(process.argv.slice(2), ${JSON.stringify(out)}, ${JSON.stringify(root)});\n`);
    for (const argv of [['--help'], ['run', '--help'], ['--version']]) {
      const r = spawnSync(process.execPath, ['--require', probe, runner, ...argv], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      expect(r.stdout, argv.join(' ')).toBe(`${quickAnswer(argv)!}\n`);
      expect(JSON.parse(r.stderr) as string[], argv.join(' ')).not.toContain('NativeModule internal/modules/esm/loader');
      const viaBundle = spawnSync(process.execPath, [join(out, 'homeward.mjs'), ...argv], { encoding: 'utf8' });
      expect(viaBundle.stdout).toBe(r.stdout);
    }
    // a manifest naming a help.cjs that is gone: the bundle answers
    rmSync(join(out, 'help.cjs'));
    const gone = spawnSync(process.execPath, ['--require', probe, runner, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(gone.stdout).toBe('homeward 0.1.0\n');
    expect(JSON.parse(gone.stderr) as string[]).toContain('NativeModule internal/modules/esm/loader');
  }, 60_000);

  it('writes the whole text to fd 1, and hands what a full non-blocking stdout refused to process.stdout', () => {
    const text = 'x'.repeat(10) + '✓';
    const got: Buffer[] = [];
    writeOut(text, 1, (_fd, b, off, len) => { const n = Math.min(4, len); got.push(Buffer.from(b.subarray(off, off + n))); return n; }, () => { throw new Error('no fallback expected'); });
    expect(Buffer.concat(got).toString()).toBe(text);
    const first: Buffer[] = [];
    let rest: Buffer | undefined;
    let calls = 0;
    writeOut(text, 1, (_fd, b, off, len) => {
      if (calls++ > 0) throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
      first.push(Buffer.from(b.subarray(off, off + 5)));
      return Math.min(5, len);
    }, (r) => { rest = Buffer.from(r); });
    expect(Buffer.concat([...first, rest!]).toString()).toBe(text);
    expect(() => writeOut(text, 1, () => { throw Object.assign(new Error('EBADF'), { code: 'EBADF' }); }, () => undefined)).toThrow(/EBADF/);
  });
});
