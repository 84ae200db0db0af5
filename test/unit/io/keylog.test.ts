/**
 * `--keylog` is written by an engine that runs as root, often into /tmp:
 * it must never follow a symlink, write into a FIFO/device, a file linked
 * elsewhere, or another user's file (issue 14).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyLog, KeyLogError } from '../../../app/io/keylog.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hw-keylog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('KeyLog file safety', () => {
  it('creates the file 0600 and appends lines', () => {
    const p = join(dir, 'keys.log');
    const k = new KeyLog(p);
    k.write(['a', 'b']);
    k.write(['c']);
    k.close();
    expect(readFileSync(p, 'utf8')).toBe('a\nb\nc\n');
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it('narrows an existing file of ours to 0600 and appends to it', () => {
    const p = join(dir, 'keys.log');
    writeFileSync(p, 'old\n');
    chmodSync(p, 0o644);
    new KeyLog(p).write(['new']);
    expect(readFileSync(p, 'utf8')).toBe('old\nnew\n');
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it('refuses a symbolic link and leaves its target alone', () => {
    const target = join(dir, 'shadow');
    writeFileSync(target, 'root:x:0:0\n');
    const p = join(dir, 'keys.log');
    symlinkSync(target, p);
    expect(() => new KeyLog(p)).toThrow(KeyLogError);
    expect(() => new KeyLog(p)).toThrow(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('root:x:0:0\n');
  });

  it('refuses a dangling symbolic link (would create the target)', () => {
    const p = join(dir, 'keys.log');
    symlinkSync(join(dir, 'created-elsewhere'), p);
    expect(() => new KeyLog(p)).toThrow(/symbolic link/);
  });

  it('refuses a FIFO without hanging, and a directory', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => new KeyLog(fifo)).toThrow(KeyLogError);
    const d = join(dir, 'd');
    mkdirSync(d);
    expect(() => new KeyLog(d)).toThrow(KeyLogError);
  });

  it('refuses a file with another hard link', () => {
    const target = join(dir, 'elsewhere');
    writeFileSync(target, '');
    const p = join(dir, 'keys.log');
    linkSync(target, p);
    expect(() => new KeyLog(p)).toThrow(/hard links/);
    expect(readFileSync(target, 'utf8')).toBe('');
  });

  it.runIf(process.getuid?.() === 0)('as root: refuses a file another user owns', () => {
    const p = join(dir, 'keys.log');
    writeFileSync(p, '');
    chownSync(p, 65534, 65534);
    expect(() => new KeyLog(p)).toThrow(/belongs to uid 65534/);
  });
});
