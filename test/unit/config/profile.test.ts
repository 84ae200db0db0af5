import { describe, expect, it } from 'vitest';
import { ProfileError, parseProfile, redactProfileJson } from '../../../app/config/profile.ts';
import { bytesToHex, fromUtf8 } from '../../../app/base/bytes.ts';

const example = () => ({
  homeAddress: '10.10.0.77',
  homeAgent: '10.10.0.2',
  nai: 'alice@corp.example',
  mnHaAuth: { spi: 1000, key: 'hex:00112233445566778899aabbccddeeff' },
  vpn: {
    gateway: '192.0.2.1',
    localId: 'mn@example',
    remoteId: 'gw.example',
    auth: { psk: 'secret' },
    ike: 'aes256gcm16-prfsha256-x25519',
    esp: 'aes256gcm16',
    remoteTs: ['10.10.0.0/16'],
  },
  detection: { timeoutMs: 1000, retransmits: 2 },
});

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProfileError) return e.field;
    throw e;
  }
  throw new Error('expected a ProfileError');
}

describe('profile', () => {
  it('accepts the example from the issue with its fixed field names', () => {
    const p = parseProfile(example());
    expect(p.homeAddress).toBe('10.10.0.77');
    expect(p.mnHaAuth?.spi).toBe(1000);
    expect(bytesToHex(p.mnHaAuth!.key)).toBe('00112233445566778899aabbccddeeff');
    expect(p.vpn?.auth.kind).toBe('psk');
    expect(p.vpn?.auth.kind === 'psk' && fromUtf8(p.vpn.auth.psk)).toBe('secret');
    expect(p.vpn?.remoteTs).toEqual([{ addr: '10.10.0.0', len: 16 }]);
    expect(p.detection).toMatchObject({ timeoutMs: 1000, retransmits: 2, tMonitorSeconds: 60 });
    expect(p.failClosed).toBe(true);
    expect(p.vpn?.livenessMs).toBe(1000);
  });

  it('names the bad field', () => {
    const cases: Array<[(j: ReturnType<typeof example>) => void, string]> = [
      [(j) => ((j as Record<string, unknown>).homeAddress = '10.10.0'), 'homeAddress'],
      [(j) => delete (j as Partial<typeof j>).homeAgent, 'homeAgent'],
      [(j) => (j.mnHaAuth.key = 'hex:zz'), 'mnHaAuth.key'],
      [(j) => (j.mnHaAuth.key = 'hex:0011'), 'mnHaAuth.key'],
      [(j) => (j.mnHaAuth.spi = 7), 'mnHaAuth.spi'],
      [(j) => (j.vpn.gateway = 'gw'), 'vpn.gateway'],
      [(j) => (j.vpn.auth = {} as never), 'vpn.auth'],
      [(j) => (j.vpn.auth = { psk: '' }), 'vpn.auth.psk'],
      [(j) => (j.vpn.remoteTs = ['10.10.0.0/16', 'ten']), 'vpn.remoteTs[1]'],
      [(j) => (j.detection.timeoutMs = -5), 'detection.timeoutMs'],
      [(j) => (j.detection.retransmits = 1.5), 'detection.retransmits'],
      [(j) => ((j.vpn as Record<string, unknown>).gatway = '1.2.3.4'), 'vpn.gatway'],
      [(j) => ((j as Record<string, unknown>).failClosed = false), 'failClosed'],
      [(j) => (j.vpn.auth = { cert: 'c.pem', key: 'k.pem' } as never), 'vpn.ca'],
      [(j) => ((j.vpn as Record<string, unknown>).ikeRekeySeconds = 5), 'vpn.ikeRekeySeconds'],
      [(j) => ((j.vpn as Record<string, unknown>).ikeRekeySeconds = '3600'), 'vpn.ikeRekeySeconds'],
      [(j) => ((j.vpn as Record<string, unknown>).ikeRekeySeconds = 86400 * 7 + 1), 'vpn.ikeRekeySeconds'],
      [(j) => ((j.vpn as Record<string, unknown>).livenessMs = -1), 'vpn.livenessMs'],
      [(j) => ((j.vpn as Record<string, unknown>).livenessMs = 60001), 'vpn.livenessMs'],
      [(j) => ((j.vpn as Record<string, unknown>).livenessMs = '1000'), 'vpn.livenessMs'],
    ];
    for (const [mutate, field] of cases) {
      const j = example();
      mutate(j);
      expect(fieldOf(() => parseProfile(j)), field).toBe(field);
    }
  });

  it('passes proposal strings to the injected validator with their field name', () => {
    const seen: string[] = [];
    parseProfile(example(), { validateProposal: (s, f) => seen.push(`${f}=${s}`) });
    expect(seen).toEqual(['vpn.ike=aes256gcm16-prfsha256-x25519', 'vpn.esp=aes256gcm16']);
    const bad = () =>
      parseProfile(example(), {
        validateProposal: (s, f) => {
          if (f === 'vpn.esp') throw new ProfileError(f, `unknown algorithm in ${s}`);
        },
      });
    expect(fieldOf(bad)).toBe('vpn.esp');
  });

  it('redacts secrets for logs and exports', () => {
    const r = JSON.stringify(redactProfileJson(example()));
    expect(r).not.toContain('secret"');
    expect(r).not.toContain('00112233445566778899aabbccddeeff');
    expect(r).toContain('alice@corp.example');
  });
});

describe('profile: dns, captivePortal, intranet6 (issue 19)', () => {
  const base = { homeAddress: '10.1.0.50', homeAgent: '10.1.0.1' };
  it('defaults: no intranet DNS, the portal check on, nothing blocked', () => {
    const p = parseProfile(base);
    expect(p.dns).toEqual({ servers: [], domains: [] });
    expect(p.captivePortal).toMatchObject({ enabled: true, afterMs: 1000 });
    expect(p.captivePortal.probeUrl).toMatch(/^http:\/\//);
    expect(p.intranet6).toEqual([]);
  });
  it('reads them, lower-casing domains', () => {
    const p = parseProfile({ ...base, dns: { servers: ['10.1.0.10'], domains: ['Corp.Example.'] }, intranet6: ['FD00:1::/64'],
      captivePortal: { probeUrl: 'http://10.9.0.1/generate_204', afterMs: 500 } });
    expect(p.dns).toEqual({ servers: ['10.1.0.10'], domains: ['corp.example'] });
    expect(p.intranet6).toEqual(['fd00:1::/64']);
    expect(p.captivePortal).toEqual({ probeUrl: 'http://10.9.0.1/generate_204', afterMs: 500, enabled: true });
  });
  it.each([
    [{ dns: { servers: ['dns.corp'] } }, 'dns.servers[0]'],
    [{ dns: { domains: ['bad domain'] } }, 'dns.domains[0]'],
    [{ dns: { server: [] } }, 'dns.server'],
    [{ captivePortal: { probeUrl: 'https://x.example/' } }, 'captivePortal.probeUrl'],
    [{ captivePortal: { probeUrl: 'not a url' } }, 'captivePortal.probeUrl'],
    [{ intranet6: ['10.0.0.0/8'] }, 'intranet6[0]'],
    [{ intranet6: 'fd00::/8' }, 'intranet6'],
  ])('%j names %s', (extra, field) => {
    expect(() => parseProfile({ ...base, ...extra })).toThrow(expect.objectContaining({ field }) as Error);
  });
});
