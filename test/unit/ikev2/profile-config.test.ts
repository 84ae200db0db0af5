import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../../app/config/profile.ts';
import { ikeSaConfig } from '../../../app/ikev2/profile-config.ts';

const vpn = (over: Record<string, unknown> = {}) => parseProfile({
  homeAddress: '10.10.0.77', homeAgent: '10.10.0.2', nai: 'alice@corp.example',
  mnHaAuth: { spi: 1000, key: 'hex:00112233445566778899aabbccddeeff' },
  vpn: { gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: 'secret' }, remoteTs: ['10.10.0.0/16'], ...over },
}).vpn!;

const at = { localAddr: '198.51.100.2', ikePort: 500, nattPort: 4500, addresses: [] as string[], wallOffsetMs: 1234, auth: {} };

describe('profile vpn → IkeSaConfig', () => {
  it('carries the profile fields, the sockets we got and the PSK', () => {
    const c = ikeSaConfig(vpn({ port: 4501, dpdSeconds: 7, retransmitTries: 2, rekeySeconds: 600 }), { ...at, ikePort: 40000, nattPort: 40001 });
    expect(c).toMatchObject({
      gateway: '192.0.2.1', localAddr: '198.51.100.2', ikePort: 40000, nattPort: 40001, remotePort: 4501, localId: 'mn@example', remoteId: 'gw.example',
      ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16', remoteTs: [{ addr: '10.10.0.0', len: 16 }], dpdSeconds: 7, retransmitTries: 2,
      mobike: true, requestDns: true, rekeySeconds: 600,
    });
    expect(new TextDecoder().decode(c.psk)).toBe('secret');
    expect(c).not.toHaveProperty('noNatsAllowed');
    expect(c).not.toHaveProperty('wallOffsetMs');
    expect(c).not.toHaveProperty('cert');
  });

  it('announces other addresses only when there is more than one; NO_NATS_ALLOWED only when asked', () => {
    expect(ikeSaConfig(vpn(), { ...at, addresses: ['198.51.100.2'] })).not.toHaveProperty('additionalAddrs');
    const c = ikeSaConfig(vpn({ noNatsAllowed: true }), { ...at, addresses: ['198.51.100.2', '203.0.113.9'] });
    expect(c.additionalAddrs).toEqual(['198.51.100.2', '203.0.113.9']);
    expect(c.noNatsAllowed).toBe(true);
  });

  it('EAP (or certificate) authentication brings the wall-clock offset for certificate validity', () => {
    const eap = { method: { method: 'mschapv2' as const, identity: 'alice', password: 'pw' }, anchors: [], eapOnly: false };
    const c = ikeSaConfig(vpn(), { ...at, auth: { eap } });
    expect(c.eap).toBe(eap);
    expect(c.wallOffsetMs).toBe(1234);
  });
});
