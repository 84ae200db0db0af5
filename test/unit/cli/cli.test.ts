/**
 * The CLI as a new user meets it (issue 22): each subcommand's own --help,
 * errors on stderr, unknown flags refused, sentences without --json, and
 * `profile check` refusing each bad profile of the issue with the field named.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMAND_HELP, USAGE } from '../../../app/cli/help.ts';
import { humanLine } from '../../../app/cli/human.ts';
import { NO_PRIVILEGE_HINT, isPrivilegeError, main } from '../../../app/cli/main.ts';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hw-cli-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Runs main() with stdout and stderr captured. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { out += String(c); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { err += String(c); return true; });
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const base = () => ({
  homeAddress: '10.10.0.77',
  homeAgent: '10.10.0.2',
  mnHaAuth: { spi: 1000, key: 'hex:00112233445566778899aabbccddeeff' },
  vpn: { gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: 'a long shared secret' } as Record<string, string>, ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16' } as Record<string, unknown>,
});

function withVpn(patch: Record<string, unknown>): unknown {
  const p = base();
  p.vpn = { ...p.vpn, ...patch };
  return p;
}

describe('homeward <command> --help', () => {
  it('prints each subcommand its own page, and the summary for the bare command', async () => {
    const pages = new Set<string>();
    for (const [cmd, page] of Object.entries(COMMAND_HELP)) {
      const r = await cli(...cmd.split(' '), '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.out.trim(), cmd).toBe(page);
      expect(r.out, cmd).toContain(`homeward ${cmd}`);
      expect(r.out, cmd).not.toBe(USAGE);
      pages.add(r.out);
    }
    expect(pages.size).toBe(Object.keys(COMMAND_HELP).length);
    expect((await cli('--help')).out.trim()).toBe(USAGE);
    expect((await cli('run', '--profile', 'x.json', '-h')).out.trim()).toBe(COMMAND_HELP.run);
  });
});

describe('errors go to stderr; unknown flags are refused', () => {
  it.each([
    [['vpn', 'up', '--profile', 'p.json', '--bogus'], /vpn up: unknown option --bogus/],
    [['vpn', 'up'], /vpn up needs --profile/],
    [['profile', 'check', 'p.json', '--verbose'], /profile check: unknown option --verbose/],
    [['profile', 'check'], /profile check needs a file/],
    [['demo', 'move', 'U1', '--fast'], /demo move: unknown option --fast/],
    [['run', '--profile', 'p.json', '--ui', '--colour'], /unknown option --colour/],
    [['mip', 'register', '--profile', 'p.json', '--x'], /unknown option --x/],
    [['teleport'], /unknown command: teleport/],
  ])('%j', async (argv, re) => {
    const r = await cli(...argv);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(re);
    expect(r.out).toBe('');
  });

  it('with --json the error is also one event on stdout for programs', async () => {
    const r = await cli('vpn', 'up', '--json', '--nope');
    expect(r.err).toMatch(/unknown option --nope/);
    expect(JSON.parse(r.out)).toMatchObject({ type: 'error', code: 'USAGE' });
  });

  it('the no-privilege hint names both capabilities and how to grant them', () => {
    expect(NO_PRIVILEGE_HINT).toMatch(/CAP_NET_ADMIN/);
    expect(NO_PRIVILEGE_HINT).toMatch(/CAP_NET_RAW/);
    expect(NO_PRIVILEGE_HINT).toContain('setcap cap_net_admin,cap_net_raw+ep');
    expect(isPrivilegeError(Object.assign(new Error('TUNSETIFF'), { code: 'EPERM' }))).toBe(true);
    expect(isPrivilegeError(new Error('ip link set dev hw0 up failed: RTNETLINK answers: Operation not permitted'))).toBe(true);
    expect(isPrivilegeError(new Error('no route to host'))).toBe(false);
  });
});

describe('homeward profile check', () => {
  it('accepts a good profile and says what it found, in words', async () => {
    const cert = file('good-cert.pem', CERT);
    const key = file('good-key.pem', KEY);
    const ca = file('good-ca.pem', CERT);
    const p = file('good.json', JSON.stringify(withVpn({ auth: { cert, key }, ca })));
    const r = await cli('profile', 'check', p);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${p}: valid (home address 10.10.0.77, home agent 10.10.0.2, VPN gateway 192.0.2.1)\n`);
  });

  // the bad profiles of issue 22, each with the field that must be named
  const bad: Array<[string, () => unknown, string, RegExp]> = [
    ['an IKE proposal with a made-up DH group', () => withVpn({ ike: 'aes256-sha3-modp9999' }), 'vpn.ike', /modp9999|sha3/],
    ['an ESP proposal with an unknown cipher', () => withVpn({ esp: 'aes999gcm16' }), 'vpn.esp', /aes999/],
    ['a certificate file that does not exist', () => withVpn({ auth: { cert: join(dir, 'missing-cert.pem'), key: file('k1.pem', KEY) }, ca: file('ca1.pem', CERT) }), 'vpn.auth.cert', /cannot be read: no such file/],
    ['a private key file that does not exist', () => withVpn({ auth: { cert: file('c2.pem', CERT), key: join(dir, 'missing-key.pem') }, ca: file('ca2.pem', CERT) }), 'vpn.auth.key', /cannot be read/],
    ['a CA file that does not exist', () => withVpn({ auth: { cert: file('c3.pem', CERT), key: file('k3.pem', KEY) }, ca: join(dir, 'missing-ca.pem') }), 'vpn.ca', /cannot be read/],
    ['a private key where the certificate belongs', () => withVpn({ auth: { cert: file('c4.pem', KEY), key: file('k4.pem', KEY) }, ca: file('ca4.pem', CERT) }), 'vpn.auth.cert', /PEM certificate/],
    ['a certificate where the private key belongs', () => withVpn({ auth: { cert: file('c5.pem', CERT), key: file('k5.pem', CERT) }, ca: file('ca5.pem', CERT) }), 'vpn.auth.key', /PEM private key/],
    ['a "0x…" PSK that would be taken as text', () => withVpn({ auth: { psk: '0x00112233445566778899aabbccddeeff' } }), 'vpn.auth.psk', /hex:00112233445566778899aabbccddeeff/],
    ['a "0x…" MN-HA key that would be taken as text', () => ({ ...base(), mnHaAuth: { spi: 1000, key: '0x00112233445566778899aabbccddeeff' } }), 'mnHaAuth.key', /"0x…"/],
    ['a home address that is not an address', () => ({ ...base(), homeAddress: '10.10.0.500' }), 'homeAddress', /dotted IPv4/],
  ];

  it.each(bad)('refuses %s, naming %s', async (_what, make, field, re) => {
    const p = file(`bad-${field}-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(make()));
    const human = await cli('profile', 'check', p);
    expect(human.code).toBe(1);
    expect(human.out).toBe('');
    expect(human.err).toContain(`profile field "${field}"`);
    expect(human.err).toMatch(re);
    const machine = await cli('profile', 'check', p, '--json');
    expect(JSON.parse(machine.out)).toMatchObject({ type: 'error', code: 'PROFILE_INVALID', field });
  });
});

describe('output without --json reads as sentences', () => {
  it('rounds gaps and names modes', () => {
    expect(humanLine({ type: 'handover', from: 'c', to: 'mc', gapMs: 69.844247 })).toBe('moved c → mc: traffic held 70 ms');
    expect(humanLine({ type: 'handover', from: 'mc', to: 'c', gapMs: 1843.2 })).toBe('moved mc → c: traffic held 1.84 s');
    expect(humanLine({ type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: '10.10.0.50' })).toBe('mode mc: outside: Mobile IP through the VPN, care-of 10.200.0.9');
    expect(humanLine({ type: 'error', code: 'AUTHENTICATION_FAILED', message: 'the gateway refused our PSK' })).toBe('error AUTHENTICATION_FAILED: the gateway refused our PSK');
    // the binding's liveness story (issue 18)
    expect(humanLine({ type: 'liveness', what: 'binding', state: 'suspect', reason: 'one-sided', silentMs: 1003, action: 'refresh', coa: '10.10.100.1' }))
      .toBe('binding suspect (one-sided: nothing back for 1.00 s): registering again at once via care-of 10.10.100.1');
    expect(humanLine({ type: 'liveness', what: 'binding', state: 'ok', reason: 'resume', action: 'refresh', result: 'accepted', ms: 35 })).toBe('binding refreshed (resume) after 35 ms');
    expect(humanLine({ type: 'liveness', what: 'binding', state: 'failed', reason: 'one-sided', action: 'refresh', result: 'timeout', ms: 8400 })).toBe('binding refresh (one-sided) failed: timeout after 8.40 s');
    expect(humanLine({ type: 'liveness', what: 'binding', state: 'ok', reason: 'one-sided', result: 'inbound-resumed', silentMs: 1870 })).toBe('binding: traffic back after 1.87 s of silence');
    expect(humanLine({ type: 'stopped', stats: { rx: 1 } })).toBe('stopped: stats={"rx":1}');
  });
});

describe('right after scripts/setup.sh, homeward run --ui has a renderer to serve', () => {
  it('setup builds the renderer and the compiled engine after npm ci, and npm ci builds the engine too', () => {
    const root = join(import.meta.dirname, '../../..');
    const setup = readFileSync(join(root, 'scripts/setup.sh'), 'utf8').split('\n').filter((l) => !l.trim().startsWith('#'));
    const ci = setup.findIndex((l) => /^npm ci\b/.test(l.trim()));
    const build = setup.findIndex((l) => l.trim() === 'npm run build');
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(ci);
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toMatch(/vite build/);
    expect(scripts.build).toMatch(/build-engine\.mjs/);
    expect(scripts.prepare).toMatch(/build-engine\.mjs/);
  });
});
