/**
 * The compiled engine (scripts/build-engine.mjs): it runs without tsx or a
 * TypeScript compiler, and bin/homeward.mjs uses it only while it is current,
 * so an edited source is never hidden behind a stale bundle.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { USAGE } from '../../../app/cli/help.ts';
import { engineStartCommand } from '../../../main/engine-start.ts';
// @ts-expect-error plain JavaScript, no declarations
import { buildEngine, rewriteLazyRequires } from '../../../scripts/build-engine.mjs';
// @ts-expect-error plain JavaScript, no declarations
import { freshBundle } from '../../../bin/homeward.mjs';

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
      const lines = code.split('\n').filter((l) => l.includes(init));
      expect(lines.length, init).toBe(1);
      expect(lines[0], init).toMatch(/\?\?= \(init_\w+\(\), __toCommonJS\(/);
    }
  }, 60_000);

  it('turns lazy-noble.ts\'s createRequire loads into bundled requires, and refuses a file of another shape', () => {
    const src = readFileSync(new URL('../../../app/crypto/lazy-noble.ts', import.meta.url), 'utf8');
    const out = rewriteLazyRequires(src) as string;
    expect(out).not.toMatch(/createRequire|\bload\(/);
    expect(out).toContain("require('@noble/ciphers/aes.js')");
    expect(out).toContain("require('@noble/curves/nist.js')");
    expect(() => rewriteLazyRequires("import { createRequire } from 'node:module';\nconst req = createRequire(import.meta.url);\nreq('x');\n")).toThrow(/lazy-noble/);
  });

  it('bin/homeward.mjs, the service unit and the desktop app\'s start command give the engine the same V8 option', () => {
    const option = '--max-semi-space-size=2';
    const bin = fileURLToPath(new URL('../../../bin/homeward.mjs', import.meta.url));
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${option}`);
    // run as the installed command runs it: by its #! line
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(r.stdout).toBe('homeward 0.1.0\n');
    const probe = join(dir, 'exec-argv.mjs');
    writeFileSync(probe, 'process.on("exit", () => process.stderr.write(JSON.stringify(process.execArgv)));\n');
    const seen = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--import ${probe}` } });
    expect(JSON.parse(seen.stderr)).toContain(option);
    const unit = readFileSync(fileURLToPath(new URL('../../../build/linux/homeward.service', import.meta.url)), 'utf8');
    expect(/^ExecStart=\S+ (\S+) /m.exec(unit)?.[1]).toBe(option);
    expect(engineStartCommand({ unitInstalled: false, execPath: '/x/homeward-desktop', bundle: '/x/homeward.mjs', socket: '/run/s' }).args.slice(2, 5))
      .toEqual(['/x/homeward-desktop', option, '/x/homeward.mjs']);
  });

  it('bin/homeward.mjs takes the bundle only while no source it was built from is newer', () => {
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
});
