/** The profile switches of the mobility controller (issue 16): defaults and a bad value named by its field. */
import { describe, expect, it } from 'vitest';
import { ProfileError, parseProfile } from '../../../app/config/profile.ts';

const base = (detection: Record<string, unknown> = {}) => ({
  homeAddress: '10.10.0.77',
  homeAgent: '10.10.0.2',
  mnHaAuth: { spi: 1000, key: 'hex:00112233445566778899aabbccddeeff' },
  detection: { timeoutMs: 1000, retransmits: 2, ...detection },
});

describe('detection profile switches', () => {
  it('defaults: protected traffic flows while trust is decided, and the IKE SA is kept warm inside', () => {
    const d = parseProfile(base()).detection;
    expect(d.holdUntilDecided).toBe(false);
    expect(d.keepVpnInside).toBe(true);
  });

  it('detection.holdUntilDecided: true selects the strict reading; a non-boolean names the field', () => {
    expect(parseProfile(base({ holdUntilDecided: true })).detection.holdUntilDecided).toBe(true);
    expect(parseProfile(base({ keepVpnInside: false })).detection.keepVpnInside).toBe(false);
    let field = '';
    try {
      parseProfile(base({ holdUntilDecided: 'yes' }));
    } catch (e) {
      if (e instanceof ProfileError) field = e.field;
    }
    expect(field).toBe('detection.holdUntilDecided');
  });
});
