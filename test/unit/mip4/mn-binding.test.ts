/**
 * The mobile node's binding decisions (app/mip4/mn-binding.ts) that the
 * Mobile IP drivers used to make inline.
 */
import { describe, expect, it } from 'vitest';
import type { MipEvent } from '../../../app/events.ts';
import { bindingAfter, careOfCommand, classifyDatagram, outboundRoute, registrationSource, socketDevice, type DataBinding } from '../../../app/mip4/mn-binding.ts';

const HA = '10.1.0.1';
const FA = '192.0.2.1';

describe('careOfCommand', () => {
  it('registers the first care-of address, moves to a new one', () => {
    expect(careOfCommand(undefined, '198.51.100.7')).toBe('register');
    expect(careOfCommand('198.51.100.7', '203.0.113.9')).toBe('move');
  });

  it('does nothing when already on this address or when there is no route to the HA', () => {
    expect(careOfCommand('198.51.100.7', '198.51.100.7')).toBeUndefined();
    expect(careOfCommand('198.51.100.7', undefined)).toBeUndefined();
    expect(careOfCommand(undefined, undefined)).toBeUndefined();
  });
});

describe('socketDevice', () => {
  const devices: Record<string, string> = { '198.51.100.7': 'eth1', '10.10.100.7': 'hwvpn0' };
  const deviceOf = (a: string): string | undefined => devices[a];

  it("pins a co-located CoA's or the TIA's socket to the device the address lives on", () => {
    expect(socketDevice({ source: '198.51.100.7' }, deviceOf)).toBe('eth1');
    expect(socketDevice({ source: '10.10.100.7' }, deviceOf)).toBe('hwvpn0');
  });

  it('does not pin mode f (requests from the home address through the FA) nor an address that is not ours', () => {
    expect(socketDevice({ source: '10.1.0.50', via: FA }, deviceOf)).toBeUndefined();
    expect(socketDevice({ source: '198.51.100.7', via: FA }, deviceOf)).toBeUndefined();
    expect(socketDevice({ source: '203.0.113.1' }, deviceOf)).toBeUndefined();
  });
});

describe('registrationSource', () => {
  it('a care-of address of ours registers from itself; a fixed one that is not, from the address towards the HA', () => {
    expect(registrationSource('198.51.100.7', true, undefined)).toBe('198.51.100.7');
    expect(registrationSource('203.0.113.50', false, '198.51.100.7')).toBe('198.51.100.7');
    expect(registrationSource('203.0.113.50', false, undefined)).toBeUndefined();
  });
});

describe('classifyDatagram', () => {
  const reply = Uint8Array.of(3, 0, 0, 0);
  const data = Uint8Array.of(4, 0, 0, 0);

  it("takes replies and RFC 3519 tunnel data from the HA's port 434", () => {
    expect(classifyDatagram(reply, { address: HA, port: 434 }, HA, undefined)).toBe('registration');
    expect(classifyDatagram(data, { address: HA, port: 434 }, HA, undefined)).toBe('tunnel-data');
  });

  it('takes a reply the FA relays in mode f, but nothing else from it', () => {
    expect(classifyDatagram(reply, { address: FA, port: 434 }, HA, FA)).toBe('registration');
    expect(classifyDatagram(data, { address: FA, port: 434 }, HA, FA)).toBe('wrong-source');
    expect(classifyDatagram(reply, { address: FA, port: 434 }, HA, undefined)).toBe('wrong-source');
  });

  it('refuses another source or another port', () => {
    expect(classifyDatagram(reply, { address: '203.0.113.5', port: 434 }, HA, undefined)).toBe('wrong-source');
    expect(classifyDatagram(reply, { address: HA, port: 4340 }, HA, undefined)).toBe('wrong-source');
    expect(classifyDatagram(reply, { address: FA, port: 1434 }, HA, FA)).toBe('wrong-source');
  });
});

describe('bindingAfter', () => {
  const accepted: MipEvent = {
    type: 'registration', state: 'accepted', coa: '198.51.100.7', lifetime: 600, tnc: false, udpTunnel: false, encapsulation: 'gre', code: 0, codeName: 'accepted',
  };
  const current: DataBinding = { coa: '198.51.100.7', source: '198.51.100.7', udpTunnel: true, format: 'ip-in-ip' };

  it('an accepted registration carries its CoA, tunnelling and format', () => {
    expect(bindingAfter(accepted, undefined, { source: '198.51.100.7' })).toEqual({ coa: '198.51.100.7', source: '198.51.100.7', udpTunnel: false, format: 'gre' });
    expect(bindingAfter({ type: 'registration', state: 'accepted', coa: '203.0.113.9', udpTunnel: true }, current, {}))
      .toEqual({ coa: '203.0.113.9', source: '203.0.113.9', udpTunnel: true, format: 'ip-in-ip' });
    // a fixed CoA that is not ours: tunnel data comes back to the address the request left from
    expect(bindingAfter({ type: 'registration', state: 'accepted', coa: '203.0.113.50', udpTunnel: true }, undefined, { source: '192.0.2.7' }))
      .toMatchObject({ coa: '203.0.113.50', source: '192.0.2.7' });
  });

  it('an unknown encapsulation falls back to IP-in-IP; a missing CoA to the last one registered', () => {
    const odd = { type: 'registration', state: 'accepted', encapsulation: 'ipx' } as unknown as MipEvent;
    expect(bindingAfter(odd, undefined, { coa: '10.10.100.7' })).toEqual({ coa: '10.10.100.7', source: '10.10.100.7', udpTunnel: false, format: 'ip-in-ip' });
  });

  it('a denial, an expiry or a deregistration closes the data path', () => {
    for (const state of ['denied', 'expired', 'deregistered'] as const) {
      expect(bindingAfter({ type: 'registration', state, coa: '198.51.100.7', lifetime: 0, tnc: false }, current, {})).toBeUndefined();
    }
  });

  it('a timed-out re-registration and other events keep the binding until it expires', () => {
    expect(bindingAfter({ type: 'registration', state: 'timeout', coa: '203.0.113.9', lifetime: 0, tnc: false }, current, {})).toBe(current);
    expect(bindingAfter({ type: 'registration', state: 'unverified-denial', code: 131, authenticated: false }, current, {})).toBe(current);
    expect(bindingAfter({ type: 'keepalive-lost', unanswered: 3 }, current, {})).toBe(current);
    expect(bindingAfter({ type: 'warning', code: 'UDP_SEND', message: 'x' }, undefined, {})).toBeUndefined();
  });
});

describe('outboundRoute', () => {
  const ipip: DataBinding = { coa: '198.51.100.7', source: '198.51.100.7', udpTunnel: false, format: 'ip-in-ip' };

  it('fails closed without a binding, whatever the data path', () => {
    expect(outboundRoute(undefined, { device: 'eth1' })).toBe('no-binding');
    expect(outboundRoute(undefined, undefined)).toBe('no-binding');
  });

  it('RFC 3519 tunnel data goes on the registration socket, pinned or not', () => {
    expect(outboundRoute({ ...ipip, udpTunnel: true }, undefined)).toBe('udp');
    expect(outboundRoute({ ...ipip, udpTunnel: true }, { device: 'eth1' })).toBe('udp');
  });

  it('encapsulates on the pinned device, hands packets to the FA as they are in mode f, nowhere without a path', () => {
    expect(outboundRoute(ipip, { device: 'eth1' })).toBe('encapsulate');
    expect(outboundRoute(ipip, { device: 'eth1', direct: true })).toBe('direct');
    expect(outboundRoute(ipip, undefined)).toBe('no-path');
  });
});
