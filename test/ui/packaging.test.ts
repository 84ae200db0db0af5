/**
 * Packaging (issue 22): `npm run dist -- --dir` against a stub Electron
 * distribution, offline, and what the .deb would install checked against the
 * directory it produced.
 *
 * Electron's own binary cannot be downloaded here, so the stub is a directory
 * with a shell script named `electron` (and the chrome-sandbox, locales and
 * version files a real one has); electron-builder copies it as it would the
 * real one (`electronDist`). Verified: the unpacked layout, the asar's
 * content, the compiled engine running from app.asar.unpacked with no
 * node_modules, the unit file's and the maintainer scripts' paths, the desktop
 * entry electron-builder computes. Not verified: the .deb and AppImage files
 * themselves (their tools, fpm and appimagetool, are downloaded on first
 * use), the real Electron starting, systemd running the unit.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../app/cli/run.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PREFIX = '/opt/Homeward';
const require = createRequire(import.meta.url);

let dir: string;
let out: string;
let log = '';
let offline = false;

/** The files an unpacked Electron distribution for Linux has, with a script in place of the binary. */
function stubElectron(at: string): void {
  mkdirSync(join(at, 'resources'), { recursive: true });
  mkdirSync(join(at, 'locales'), { recursive: true });
  writeFileSync(join(at, 'electron'), '#!/bin/sh\necho "stub electron $*"\n');
  chmodSync(join(at, 'electron'), 0o755);
  writeFileSync(join(at, 'chrome-sandbox'), '');
  writeFileSync(join(at, 'locales', 'en-US.pak'), '');
  writeFileSync(join(at, 'LICENSE'), 'stub');
  writeFileSync(join(at, 'version'), '45.4.1');
}

/** A path the package installs under /opt/Homeward, in the unpacked directory. */
const local = (p: string): string => {
  expect(p.startsWith(`${PREFIX}/`), p).toBe(true);
  return join(out, p.slice(PREFIX.length + 1));
};

/** The macro substitution electron-builder applies to maintainer scripts (FpmTarget writeConfigFile). */
function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([a-zA-Z]+)\}/g, (_m, k: string) => {
    if (!(k in vars)) throw new Error(`Macro ${k} is not defined`);
    return vars[k]!;
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hw-packaging-'));
  stubElectron(join(dir, 'electron-dist'));
  // afterPack: ask electron-builder itself for the desktop entry the deb would install
  writeFileSync(join(dir, 'after-pack.cjs'), `
const { LinuxTargetHelper } = require(${JSON.stringify(join(ROOT, 'node_modules/app-builder-lib/out/targets/LinuxTargetHelper.js'))});
const { writeFileSync } = require('node:fs');
exports.default = async (ctx) => {
  const helper = new LinuxTargetHelper(ctx.packager);
  writeFileSync(${JSON.stringify(join(dir, 'desktop-entry.txt'))}, await helper.computeDesktopEntry(ctx.packager.platformSpecificBuildOptions));
};
`);
  // no network at all where a network namespace can be had: nothing may be downloaded
  offline = spawnSync('unshare', ['-rn', 'true']).status === 0;
  const npm = ['npm', 'run', 'dist', '--', '--dir', `-c.electronDist=${join(dir, 'electron-dist')}`,
    `-c.directories.output=${join(dir, 'packages')}`, `-c.afterPack=${join(dir, 'after-pack.cjs')}`];
  // electron-builder keeps quiet under vitest (VITEST set): give it a plain environment to log what it does
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const r = offline
    ? spawnSync('unshare', ['-rn', ...npm], { cwd: ROOT, encoding: 'utf8', env })
    : spawnSync(npm[0]!, npm.slice(1), { cwd: ROOT, encoding: 'utf8', env });
  log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`npm run dist -- --dir failed (${r.status}):\n${log.slice(-4000)}`);
  out = join(dir, 'packages', 'linux-unpacked');
}, 180_000);

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('npm run dist -- --dir (stub Electron, offline)', () => {
  it('builds without downloading anything', () => {
    if (!offline) console.warn('[packaging] no user+network namespace here: the build ran with the network reachable');
    expect(log).toMatch(/using custom unpacked Electron distribution/);
    expect(log).not.toMatch(/download/i);
    expect(log).toMatch(/skipped dependencies rebuild/);
  });

  it('lays out the executable, the asar, the unpacked engine and addons, and the unit file', () => {
    expect(statSync(join(out, 'homeward-desktop')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(out, 'homeward-desktop'), 'utf8')).toContain('stub electron');
    for (const f of ['resources/app.asar', 'resources/homeward.service', 'chrome-sandbox',
      'resources/app.asar.unpacked/dist/engine/homeward.mjs', 'resources/app.asar.unpacked/dist/engine/manifest.json',
      'resources/app.asar.unpacked/native-tunnel/build/Release/homeward_tun.node',
      'resources/app.asar.unpacked/native-tunnel/build/Release/raw_socket.node',
      'resources/app.asar.unpacked/renderer/dist/index.html']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // the lab's reference home agent's addon is not the app's
    expect(existsSync(join(out, 'resources/app.asar.unpacked/native-tunnel/build/Release/ha_forward.node'))).toBe(false);
    const asar = require(join(ROOT, 'node_modules/@electron/asar')) as { listPackage(p: string, o: object): string[]; extractFile(p: string, f: string): Buffer };
    const files = asar.listPackage(join(out, 'resources/app.asar'), {}).map((f) => f.replace(/\\/g, '/'));
    for (const f of ['/main/index.cjs', '/main/preload.cjs', '/main/assets/tray-inside.png', '/renderer/dist/index.html', '/package.json']) expect(files, f).toContain(f);
    // bundles only: no sources, no node_modules to go stale or carry a compiler
    expect(files.filter((f) => f.startsWith('/node_modules') || f.startsWith('/app/') || f.endsWith('.ts'))).toEqual([]);
    const pkg = JSON.parse(asar.extractFile(join(out, 'resources/app.asar'), 'package.json').toString('utf8')) as { main: string };
    expect(pkg.main).toBe('main/index.cjs');
  });

  it('the compiled engine runs from app.asar.unpacked by itself (here with node standing in for ELECTRON_RUN_AS_NODE)', () => {
    const engine = join(out, 'resources/app.asar.unpacked/dist/engine/homeward.mjs');
    const r = spawnSync(process.execPath, [engine, 'run', '--help'], { encoding: 'utf8', cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: homeward run --profile/);
    const check = spawnSync(process.execPath, [engine, 'profile', 'check', join(dir, 'none.json')], { encoding: 'utf8', cwd: dir });
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/cannot read profile/);
  });

  it('the unit runs that engine with Electron\'s own Node, sandboxed, and cleans up after any stop', () => {
    const unit = readFileSync(join(out, 'resources/homeward.service'), 'utf8');
    const keys = new Map<string, string[]>();
    for (const line of unit.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
    }
    const one = (k: string): string => { expect(keys.get(k), k).toHaveLength(1); return keys.get(k)![0]!; };
    expect(one('Environment')).toBe('ELECTRON_RUN_AS_NODE=1');
    const [exe, nodeOption, engine, ...args] = one('ExecStart').split(' ');
    expect(exe).toBe(`${PREFIX}/homeward-desktop`);
    // the same V8 option as bin/homeward.mjs's #! line: the young generation stays small (docs/PERFORMANCE.md)
    expect(nodeOption).toBe('--max-semi-space-size=2');
    expect(existsSync(local(exe!))).toBe(true);
    expect(engine).toBe(`${PREFIX}/resources/app.asar.unpacked/dist/engine/homeward.mjs`);
    expect(existsSync(local(engine!))).toBe(true);
    expect(args[0]).toBe('run');
    expect(parseRunArgs(args.slice(1))).toMatchObject({ profile: '/etc/homeward/profile.json', control: '/run/homeward/control.sock', controlGroup: 'homeward' });
    // --cleanup only after a stop that was asked for (or forced): after a crash the blocking rules stay until the restart
    expect(one('ExecStopPost')).toBe(`/bin/sh -c 'case "$SERVICE_RESULT" in success|timeout) exec "$0" "$@" ;; esac' ${exe} ${engine} run --cleanup`);
    expect(one('ConditionPathExists')).toBe('/etc/homeward/profile.json');
    expect(one('User')).toBe('homeward');
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_ADMIN CAP_NET_RAW');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_ADMIN CAP_NET_RAW');
    expect(one('RestrictAddressFamilies')).toBe('AF_UNIX AF_INET AF_INET6 AF_NETLINK');
    for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'],
      ['ReadWritePaths', '/run/homeward /etc/homeward -/etc/resolv.conf'], ['StateDirectory', 'homeward'], ['RuntimeDirectory', 'homeward'], ['DeviceAllow', '/dev/net/tun rw']] as const) {
      expect(one(k), k).toBe(v);
    }
    // V8 needs writable+executable memory: the one hardening option that must stay off
    expect(one('MemoryDenyWriteExecute')).toBe('no');
  });

  it('the maintainer scripts install that unit, the user and group, and the /usr/bin link, and undo them on removal', () => {
    const vars = { executable: 'homeward-desktop', sanitizedProductName: 'Homeward' };
    const install = substitute(readFileSync(join(ROOT, 'build/linux/after-install.sh'), 'utf8'), vars);
    const remove = substitute(readFileSync(join(ROOT, 'build/linux/after-remove.sh'), 'utf8'), vars);
    for (const [name, text] of [['after-install', install], ['after-remove', remove]] as const) {
      const f = join(dir, `${name}.sh`);
      writeFileSync(f, text);
      expect(spawnSync('sh', ['-n', f]).status, `${name} parses`).toBe(0);
    }
    expect(install).toContain(`APP_DIR='${PREFIX}'`);
    expect(install).toContain('UNIT_SRC="$APP_DIR/resources/homeward.service"');
    expect(existsSync(join(out, 'resources/homeward.service'))).toBe(true);
    expect(install).toMatch(/install -m 0644 -o root -g root "\$UNIT_SRC" "\$UNIT"/);
    expect(install).toContain('UNIT=/etc/systemd/system/homeward.service');
    expect(install).toMatch(/groupadd --system homeward/);
    expect(install).toMatch(/useradd --system --gid homeward/);
    expect(install).toMatch(/install -d -m 0750 -o homeward -g homeward \/etc\/homeward/);
    expect(install).toContain(`ln -sf "$APP_DIR/homeward-desktop" '/usr/bin/homeward-desktop'`);
    expect(install).toMatch(/systemctl enable homeward\.service/);
    expect(remove).toMatch(/systemctl disable --now homeward\.service/);
    expect(remove).toContain('rm -f "$UNIT"');
    expect(remove).toContain("rm -f '/usr/bin/homeward-desktop'");
    expect(remove).toMatch(/upgrade\|failed-upgrade/);
  });

  it('the desktop entry electron-builder writes starts the installed executable', () => {
    const entry = readFileSync(join(dir, 'desktop-entry.txt'), 'utf8');
    const exec = /^Exec=(\S+)/m.exec(entry)?.[1];
    expect(exec).toBe(`${PREFIX}/homeward-desktop`);
    expect(existsSync(local(exec!))).toBe(true);
    expect(entry).toMatch(/^Name=Homeward$/m);
    expect(entry).toMatch(/^Icon=homeward-desktop$/m);
    expect(entry).toMatch(/^Categories=Network;$/m);
    expect(entry).toMatch(/^StartupWMClass=Homeward$/m);
  });
});
