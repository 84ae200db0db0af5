/**
 * One profile for the service and the app (issue 22): the service's file,
 * read redacted and saved through the control socket, checked like
 * `homeward profile check`, with "<redacted>" keeping each secret; with no
 * engine, Import checks the file and hands it to pkexec install.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkProfile } from '../../../app/cli/profile-check.ts';
import { connectControlSocket, startControlServer, type ControlServer } from '../../../app/io/control-socket.ts';
import { fileProfile, keepRedacted } from '../../../app/io/profile-file.ts';
import { pkexecInstallArgs, sharedProfile } from '../../../main/shared-profile.ts';
import { ScriptedEngine } from '../../ui/scripted-engine.ts';

const PSK = 'a-long-pre-shared-key-for-tests';
const profile = () => ({
  homeAddress: '10.10.0.50', homeAgent: '10.10.0.1', mnHaAuth: { spi: 256, key: 'hex:00112233445566778899aabbccddeeff' },
  vpn: { gateway: '198.51.100.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: PSK } },
});

let dir: string;
let server: ControlServer | undefined;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'hw-shared-profile-')); });
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('the service\'s profile over the control socket', () => {
  it('reads it redacted, keeps secrets left "<redacted>", replaces the others, refuses a bad save naming the field', async () => {
    const file = join(dir, 'profile.json');
    writeFileSync(file, JSON.stringify(profile()), { mode: 0o600 });
    server = await startControlServer({ path: join(dir, 'control.sock'), engine: new ScriptedEngine(), profile: fileProfile(file, checkProfile) });
    const client = await connectControlSocket(join(dir, 'control.sock'));
    try {
      const doc = await client.profileGet();
      expect(doc.path).toBe(file);
      expect(doc.json).not.toContain(PSK);
      expect(doc.json).not.toContain('00112233');
      expect(doc.secretsStored).toBe(true);

      // change the gateway, keep both secrets
      const edited = JSON.parse(doc.json) as ReturnType<typeof profile>;
      edited.vpn.gateway = '198.51.100.2';
      expect(await client.profileSave(JSON.stringify(edited))).toEqual({ ok: true, path: file });
      const onDisk = JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof profile>;
      expect(onDisk.vpn).toMatchObject({ gateway: '198.51.100.2', auth: { psk: PSK } });
      expect(onDisk.mnHaAuth.key).toBe('hex:00112233445566778899aabbccddeeff');
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // a bad proposal is refused with its field, and the file is untouched
      const bad = { ...edited, vpn: { ...edited.vpn, ike: 'aes256-sha3-modp9999' } };
      expect(await client.profileSave(JSON.stringify(bad))).toMatchObject({ ok: false, field: 'vpn.ike' });
      expect((JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof profile>).vpn.gateway).toBe('198.51.100.2');
      expect(await client.profileSave('{ nope')).toMatchObject({ ok: false, field: '(json)' });
    } finally {
      client.close();
    }
  });

  it('keepRedacted puts current values back only where the text still says <redacted>', () => {
    expect(keepRedacted({ a: '<redacted>', b: 'new', c: [{ k: '<redacted>' }] }, { a: 'old', b: 'old', c: [{ k: 'v' }] }))
      .toEqual({ a: 'old', b: 'new', c: [{ k: 'v' }] });
  });

  it('an engine without a profile endpoint says so', async () => {
    server = await startControlServer({ path: join(dir, 'c.sock'), engine: new ScriptedEngine() });
    const client = await connectControlSocket(join(dir, 'c.sock'));
    try {
      await expect(client.profileGet()).rejects.toThrow(/does not serve its profile/);
    } finally {
      client.close();
    }
  });
});

describe('the app\'s side', () => {
  it('with no engine: Import checks the file, then installs it as /etc/homeward/profile.json with pkexec', async () => {
    const installed: string[] = [];
    const sp = sharedProfile({ remote: () => null, check: checkProfile, readText: async (f) => readFileSync(f, 'utf8'), install: async (f) => void installed.push(f) });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...profile(), vpn: { ...profile().vpn, auth: { psk: '0x00112233445566778899' } } }));
    await expect(sp.importFile(bad)).rejects.toThrow(/^vpn\.auth\.psk: /);
    expect(installed).toEqual([]);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(profile()));
    expect((await sp.importFile(good)).path).toBe('/etc/homeward/profile.json');
    expect(installed).toEqual([good]);
    expect(await sp.save('{}')).toMatchObject({ ok: false, field: '(engine)' });
    expect(pkexecInstallArgs(good)).toEqual({ cmd: 'pkexec', args: ['install', '-D', '-m', '0600', '-o', 'homeward', '-g', 'homeward', good, '/etc/homeward/profile.json'] });
  });
});
