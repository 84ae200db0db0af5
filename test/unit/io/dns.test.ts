/** Intranet DNS (issue 19): the resolver file, resolved's arguments, what each mode asks for. */
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DnsManager, RESOLV_MARKER, ResolvConfBackend, ResolvedBackend, desiredDns, renderResolvConf, resolvectlArgs, resolvedRunning,
  type DnsBackend, type DnsSettings,
} from '../../../app/io/dns.ts';

const ORIGINAL = '# from DHCP\nnameserver 198.51.100.1\nnameserver 198.51.100.2\nsearch hotel.example\noptions edns0 trust-ad\n';
const CORP: DnsSettings = { servers: ['10.1.0.10', '10.1.0.11'], domains: ['corp.example'] };

describe('renderResolvConf', () => {
  it('only our servers, our domains before the network\'s, its options kept', () => {
    expect(renderResolvConf(ORIGINAL, CORP)).toBe(
      `${RESOLV_MARKER}\nnameserver 10.1.0.10\nnameserver 10.1.0.11\nsearch corp.example hotel.example\noptions edns0 trust-ad\n`);
  });

  it('never more than three nameservers (glibc MAXNS)', () => {
    const out = renderResolvConf('', { servers: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], domains: [] });
    expect(out.match(/^nameserver /gm)).toHaveLength(3);
    expect(out).not.toContain('search');
  });
});

describe('ResolvConfBackend', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hw-dns-'));
    file = join(dir, 'resolv.conf');
    writeFileSync(file, ORIGINAL);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('apply, apply again, restore: the original comes back byte for byte', async () => {
    const b = new ResolvConfBackend({ path: file, stateDir: join(dir, 'state') });
    await b.apply(CORP);
    expect(readFileSync(file, 'utf8')).toContain('nameserver 10.1.0.10');
    expect(readFileSync(file, 'utf8')).not.toContain('198.51.100.1');
    await b.apply({ servers: ['10.1.0.12'], domains: [] });
    expect(readFileSync(file, 'utf8')).toContain('search hotel.example'); // built from the original, not from our own file
    await b.restore();
    expect(readFileSync(file, 'utf8')).toBe(ORIGINAL);
    expect(existsSync(join(dir, 'state', 'resolv.conf.orig'))).toBe(false);
  });

  it('after a crash the next start recovers the original', async () => {
    await new ResolvConfBackend({ path: file, stateDir: join(dir, 'state') }).apply(CORP); // ... and the process dies
    const next = new ResolvConfBackend({ path: file, stateDir: join(dir, 'state') });
    expect(await next.recover()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(ORIGINAL);
    expect(await next.recover()).toBe(false);
  });

  it('a file someone rewrote meanwhile is left alone', async () => {
    const b = new ResolvConfBackend({ path: file, stateDir: join(dir, 'state') });
    await b.apply(CORP);
    writeFileSync(file, 'nameserver 192.0.2.53\n');
    await b.restore();
    expect(readFileSync(file, 'utf8')).toBe('nameserver 192.0.2.53\n');
  });

  it('a symlinked resolv.conf is written through and stays a symlink', async () => {
    const target = join(dir, 'stub-resolv.conf');
    writeFileSync(target, ORIGINAL);
    const link = join(dir, 'link.conf');
    symlinkSync(target, link);
    const b = new ResolvConfBackend({ path: link, stateDir: join(dir, 'state') });
    await b.apply(CORP);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toContain('nameserver 10.1.0.10');
    await b.restore();
    expect(readFileSync(target, 'utf8')).toBe(ORIGINAL);
  });

  it('refuses a server that is not an address and a domain with a newline', async () => {
    const b = new ResolvConfBackend({ path: file, stateDir: join(dir, 'state') });
    await expect(b.apply({ servers: ['10.1.0.10\nnameserver 6.6.6.6'], domains: [] })).rejects.toThrow(/bad server/);
    await expect(b.apply({ servers: ['10.1.0.10'], domains: ['corp.example\nnameserver 6.6.6.6'] })).rejects.toThrow(/bad domain/);
    expect(readFileSync(file, 'utf8')).toBe(ORIGINAL);
  });
});

describe('systemd-resolved', () => {
  it('per-link servers, routing-only domains, not the default route', () => {
    expect(resolvectlArgs('hwmip0', CORP)).toEqual([
      ['dns', 'hwmip0', '10.1.0.10', '10.1.0.11'], ['domain', 'hwmip0', '~corp.example'], ['default-route', 'hwmip0', 'false']]);
  });

  it('no domain known: every name goes to our servers', () => {
    expect(resolvectlArgs('hwmip0', { servers: ['10.1.0.10'], domains: [] }).slice(1)).toEqual([
      ['domain', 'hwmip0', '~.'], ['default-route', 'hwmip0', 'true']]);
  });

  it('apply then restore reverts the link once', async () => {
    const calls: string[] = [];
    const b = new ResolvedBackend('hwmip0', (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return Promise.resolve('');
    });
    await b.restore();
    await b.apply(CORP);
    await b.restore();
    await b.restore();
    expect(calls).toEqual(['resolvectl dns hwmip0 10.1.0.10 10.1.0.11', 'resolvectl domain hwmip0 ~corp.example',
      'resolvectl default-route hwmip0 false', 'resolvectl revert hwmip0']);
  });

  it('not running without its runtime directory', async () => {
    expect(await resolvedRunning(() => Promise.resolve(''), join(tmpdir(), 'no-such-resolve-dir-' + process.pid))).toBe(false);
  });
});

describe('desiredDns', () => {
  const profile: DnsSettings = { servers: ['10.1.0.53'], domains: ['lab.example'] };
  const none: DnsSettings = { servers: [], domains: [] };

  it('outside: the gateway\'s servers, its domains and the profile\'s', () => {
    expect(desiredDns('mc', true, profile, CORP)).toEqual({ servers: CORP.servers, domains: ['corp.example', 'lab.example'] });
  });
  it('outside, the gateway sent no server: the profile\'s', () => {
    expect(desiredDns('mc', true, profile, { servers: [], domains: ['corp.example'] })).toEqual({ servers: ['10.1.0.53'], domains: ['corp.example', 'lab.example'] });
  });
  it('outside with no server anywhere: the network\'s own', () => {
    expect(desiredDns('mc', true, none, undefined)).toBeUndefined();
  });
  it('inside: the profile\'s, or the network\'s own', () => {
    expect(desiredDns('c', true, profile, CORP)).toEqual(profile);
    expect(desiredDns('f', true, none, CORP)).toBeUndefined();
  });
  it('detecting and blocked keep what is applied; disconnected by the user gives it back', () => {
    expect(desiredDns('detecting', true, profile, CORP)).toBe('keep');
    expect(desiredDns('blocked', true, profile, CORP)).toBe('keep');
    expect(desiredDns('offline', true, profile, CORP)).toBe('keep');
    expect(desiredDns('offline', false, profile, CORP)).toBeUndefined();
  });
});

describe('DnsManager', () => {
  it('applies each change once, reports it, restores on stop', async () => {
    const log: string[] = [];
    const backend: DnsBackend = {
      via: 'resolv.conf',
      apply: (s) => { log.push(`apply ${s.servers.join(',')}`); return Promise.resolve(); },
      restore: () => { log.push('restore'); return Promise.resolve(); },
    };
    const reports: unknown[] = [];
    const m = new DnsManager(backend, (s, via) => reports.push({ ...s, via }));
    await m.set(CORP);
    await m.set('keep');
    await m.set({ servers: [...CORP.servers], domains: [...CORP.domains] });
    await m.stop();
    await m.stop();
    expect(log).toEqual(['apply 10.1.0.10,10.1.0.11', 'restore']);
    expect(reports).toEqual([{ ...CORP, via: 'resolv.conf' }, { servers: [], domains: [], via: 'resolv.conf' }]);
  });
});
