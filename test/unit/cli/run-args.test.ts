import { describe, expect, it } from 'vitest';
import { parseRunArgs, resolveGroup } from '../../../app/cli/run.ts';

describe('homeward run arguments', () => {
  it('parses the options the deb service unit uses', () => {
    const a = parseRunArgs(['--profile', '/etc/homeward/profile.json', '--control', '/run/homeward/control.sock', '--control-group', 'homeward']);
    expect(a).toMatchObject({ profile: '/etc/homeward/profile.json', control: '/run/homeward/control.sock', controlGroup: 'homeward', policy: 'automatic', json: false });
  });

  it('--cleanup needs no profile (the service unit ExecStopPost)', () => {
    expect(parseRunArgs(['--cleanup'])).toMatchObject({ cleanup: true, tun: 'hwmip0' });
    expect(parseRunArgs(['--cleanup', '--profile', 'p', '--tun', 'hw9'])).toMatchObject({ cleanup: true, profile: 'p', tun: 'hw9' });
    expect(parseRunArgs(['--profile', 'p']).cleanup).toBe(false);
  });

  it('names what is wrong', () => {
    expect(() => parseRunArgs(['--json'])).toThrow(/needs --profile/);
    expect(() => parseRunArgs(['--profile', 'p', '--control-group', 'x'])).toThrow(/--control-group needs --control/);
    expect(() => parseRunArgs(['--profile', 'p', '--policy', 'sometimes'])).toThrow(/--policy must be/);
    expect(() => parseRunArgs(['--profile', 'p', '--bogus'])).toThrow(/unknown option --bogus/);
  });

  it('resolves a group by name or number', () => {
    const etc = 'root:x:0:\nnetdev:x:108:alice\nhomeward:x:998:alice,bob\n';
    expect(resolveGroup('homeward', etc)).toBe(998);
    expect(resolveGroup('1234', etc)).toBe(1234);
    expect(() => resolveGroup('nosuch', etc)).toThrow(/no group named "nosuch".*groupadd --system nosuch/);
  });
});
