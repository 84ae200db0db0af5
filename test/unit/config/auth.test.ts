/** vpn.auth.eap (app/config/auth.ts) through parseProfile, and the stored-secret file rules (app/io/secrets.ts). */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProfileError, parseProfile, redactProfileJson } from '../../../app/config/profile.ts';
import { SecretError, readSecretFile, resolveSecret } from '../../../app/io/secrets.ts';

const base = (auth: unknown, ca: string | null = '/etc/ca.pem'): unknown => ({
  homeAddress: '10.0.0.7', homeAgent: '10.0.0.1',
  vpn: { gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth, ...(ca ? { ca } : {}) },
});

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProfileError) return e.field;
    throw e;
  }
  throw new Error('no ProfileError');
}

describe('vpn.auth.eap', () => {
  it('mschapv2 with an inline password or a stored secret; eapOnly defaults to true', () => {
    const p = parseProfile(base({ eap: { method: 'mschapv2', identity: 'alice', password: 'pw' } }));
    expect(p.vpn!.auth).toEqual({ kind: 'eap', eap: { method: 'mschapv2', identity: 'alice', password: { value: 'pw' }, eapOnly: true } });
    const s = parseProfile(base({ eap: { method: 'mschapv2', password: { secret: 'corp-vpn' }, eapOnly: false } }));
    expect(s.vpn!.auth).toEqual({ kind: 'eap', eap: { method: 'mschapv2', password: { secret: 'corp-vpn' }, eapOnly: false } });
  });
  it('tls with cert and key (the key may be a stored secret)', () => {
    const p = parseProfile(base({ eap: { method: 'tls', cert: '/c.pem', key: { secret: 'k1' } } }));
    expect(p.vpn!.auth).toEqual({ kind: 'eap', eap: { method: 'tls', cert: '/c.pem', key: { secret: 'k1' }, eapOnly: true } });
  });
  it('every mistake names its field', () => {
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'md5' } })))).toBe('vpn.auth.eap.method');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2' } })))).toBe('vpn.auth.eap.password');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: '' } })))).toBe('vpn.auth.eap.password');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: { secret: '../etc/shadow' } } })))).toBe('vpn.auth.eap.password.secret');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: { secret: 'a', x: 1 } } })))).toBe('vpn.auth.eap.password.x');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: 'p', cert: '/c' } })))).toBe('vpn.auth.eap.cert');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'tls', key: '/k' } })))).toBe('vpn.auth.eap.cert');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'tls', cert: '/c' } })))).toBe('vpn.auth.eap.key');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: 'p', eapOnly: 'yes' } })))).toBe('vpn.auth.eap.eapOnly');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: 'p' }, psk: 'x' })))).toBe('vpn.auth.psk');
    expect(fieldOf(() => parseProfile(base({ eap: { method: 'mschapv2', password: 'p' } }, null)))).toBe('vpn.ca');
  });
  it('redaction hides an inline password', () => {
    const out = JSON.stringify(redactProfileJson(base({ eap: { method: 'mschapv2', password: 'Sup3r-Secret' } })));
    expect(out).not.toContain('Sup3r-Secret');
  });
});

describe('stored secrets in root-only files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'homeward-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 0600 file is read (one trailing newline dropped); an inline value passes through', async () => {
    writeFileSync(join(dir, 'corp'), 'pw-1\n');
    chmodSync(join(dir, 'corp'), 0o600);
    expect(await resolveSecret({ secret: 'corp' }, { dir, secretService: false })).toBe('pw-1');
    expect(await resolveSecret({ value: 'inline' }, { dir, secretService: false })).toBe('inline');
  });
  it('group- or other-readable files are refused with the mode, never the value', () => {
    writeFileSync(join(dir, 'open'), 'pw-2');
    chmodSync(join(dir, 'open'), 0o640);
    expect(() => readSecretFile(dir, 'open')).toThrow(SecretError);
    expect(() => readSecretFile(dir, 'open')).toThrow(/mode 640/);
    try {
      readSecretFile(dir, 'open');
    } catch (e) {
      expect((e as Error).message).not.toContain('pw-2');
    }
  });
  it('a missing secret says where it looked; a bad name is refused', async () => {
    await expect(resolveSecret({ secret: 'absent' }, { dir, secretService: false })).rejects.toThrow(new RegExp(`not stored: not in ${dir}/absent`));
    expect(() => readSecretFile(dir, '../x')).toThrow(/not valid/);
  });
});
