/**
 * Secrets reach disk only through a real keystore: Electron's Linux
 * `basic_text` fallback obfuscates with a fixed key and is refused (issue 14).
 * safeStorage is injected, so this runs in plain Node.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProfileStore, safeStorageKeystore, type SafeStorageLike } from '../../../main/profile-store.ts';

const PROFILE = {
  homeAddress: '10.1.0.50', homeAgent: '10.1.0.1', nai: 'mn@example.org',
  mnHaAuth: { spi: 4096, key: '3c9d1e7a5b2f48c6a0e1d2c3b4a59687' },
};

function fakeSafeStorage(backend: string | undefined, available = true): SafeStorageLike & { sealed: number } {
  const s = {
    sealed: 0,
    isEncryptionAvailable: () => available,
    encryptString: (p: string) => {
      s.sealed++;
      return Buffer.from(p, 'utf8').reverse();
    },
    decryptString: (b: Buffer) => Buffer.from(b).reverse().toString('utf8'),
    ...(backend === undefined ? {} : { getSelectedStorageBackend: () => backend }),
  };
  return s;
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function store(safe: SafeStorageLike, platform = 'linux'): { store: ProfileStore; path: string } {
  dir = mkdtempSync(join(tmpdir(), 'hw-profile-'));
  const path = join(dir, 'profile.json');
  return { store: new ProfileStore(path, safeStorageKeystore(safe, platform)), path };
}

describe('profile store: which keystore counts as encryption', () => {
  for (const backend of ['basic_text', 'unknown']) {
    it(`refuses to store secrets with safeStorage's "${backend}" backend, says why, and writes nothing`, () => {
      const safe = fakeSafeStorage(backend);
      const { store: s, path } = store(safe);
      const r = s.save(JSON.stringify(PROFILE));
      expect(r).toMatchObject({ ok: false, field: '(keystore)', message: expect.stringContaining(backend) });
      expect(safe.sealed).toBe(0);
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${path}.secrets`)).toBe(false);
      expect(() => safeStorageKeystore(safe, 'linux').seal('x')).toThrow(/obfuscates/);
    });
  }

  it('refuses when encryption is not available at all', () => {
    const { store: s } = store(fakeSafeStorage('gnome_libsecret', false));
    expect(s.save(JSON.stringify(PROFILE))).toMatchObject({ ok: false, field: '(keystore)', message: expect.stringContaining('not available') });
  });

  it('stores with a keyring backend: the JSON is redacted, the secret sealed', () => {
    const safe = fakeSafeStorage('gnome_libsecret');
    const { store: s, path } = store(safe);
    expect(s.save(JSON.stringify(PROFILE))).toEqual({ ok: true, path });
    expect(safe.sealed).toBe(1);
    expect(readFileSync(path, 'utf8')).not.toContain(PROFILE.mnHaAuth.key);
    expect(readFileSync(`${path}.secrets`, 'utf8')).not.toContain(PROFILE.mnHaAuth.key);
    expect(s.load()).toMatchObject({ mnHaAuth: { key: PROFILE.mnHaAuth.key } });
  });

  it('on macOS and Windows (no backend choice) it relies on isEncryptionAvailable alone', () => {
    const safe = fakeSafeStorage(undefined);
    const { store: s, path } = store(safe, 'darwin');
    expect(s.save(JSON.stringify(PROFILE))).toEqual({ ok: true, path });
  });
});
