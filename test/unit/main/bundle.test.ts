/**
 * The Electron bundles (scripts/build-electron.mjs) are what electron-builder
 * packages; Electron itself cannot start here, so this builds them and loads
 * the preload bundle in Node against a recording fake `electron` module.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs build script without types
import { buildElectron } from '../../../scripts/build-electron.mjs';

const dir = mkdtempSync(join(tmpdir(), 'hw-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const requiresOf = (code: string) => [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!))].sort();

describe('Electron bundles', () => {
  it('main and preload bundle to CommonJS that needs only electron and node builtins', async () => {
    const out = (await buildElectron(dir)) as { main: string; preload: string };
    const main = readFileSync(out.main, 'utf8');
    const preload = readFileSync(out.preload, 'utf8');
    expect(requiresOf(preload)).toEqual(['electron']);
    for (const r of requiresOf(main)) expect(r === 'electron' || r.startsWith('node:'), r).toBe(true);
    expect(main).not.toMatch(/import_meta\s*=\s*\{\}/);
  });

  it('the preload bundle exposes exactly one API object and never ipcRenderer itself', () => {
    const fake = join(dir, 'node_modules', 'electron');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'index.js'), `
      const calls = [];
      const ipcRenderer = { invoke: async () => ({ type: 'success', value: null }), on() {}, removeListener() {}, send() {}, sendSync() {} };
      module.exports = { calls, ipcRenderer, contextBridge: { exposeInMainWorld: (k, v) => calls.push([k, v]) } };
    `);
    const req = createRequire(join(dir, 'preload.cjs'));
    req('./preload.cjs');
    const { calls, ipcRenderer } = req('electron') as { calls: Array<[string, Record<string, unknown>]>; ipcRenderer: object };
    expect(calls.map(([k]) => k)).toEqual(['homeward']);
    const api = calls[0]![1];
    const walk = (v: unknown, depth = 0): void => {
      expect(v).not.toBe(ipcRenderer);
      if (v && typeof v === 'object' && depth < 4) for (const x of Object.values(v)) walk(x, depth + 1);
    };
    walk(api);
    expect(Object.keys(api).length).toBeGreaterThan(0);
  });
});
