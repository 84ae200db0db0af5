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
