/**
 * RFC 4301 §5.2: a decapsulated packet must come from the peer's selectors
 * and go to ours; anything else that arrives authenticated on the SA is
 * dropped and counted, never delivered.
 */
import { describe, expect, it } from 'vitest';
import { EncrId } from '../../../app/wire/ikev2/constants.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { InboundEspSa, OutboundEspSa } from '../../../app/esp/esp-sa.ts';
import { compileSelectors, inboundWithinSelectors } from '../../../app/esp/selectors.ts';

const TIA = [{ start: '10.10.100.1', end: '10.10.100.1' }];
const INTRANET = [{ start: '10.10.0.0', end: '10.10.255.255' }, { start: '172.16.5.0', end: '172.16.5.255' }];
const pkt = (src: string, dst: string) => encodeIpv4({ src, dst, protocol: IpProto.Udp }, new Uint8Array(12));

describe('inboundWithinSelectors (pure)', () => {
  const sel = compileSelectors(TIA, INTRANET);
  it('admits intranet → TIA, including the edges of every range', () => {
    for (const src of ['10.10.0.0', '10.10.255.255', '172.16.5.0', '172.16.5.255', '10.10.3.4']) {
      expect(inboundWithinSelectors(pkt(src, '10.10.100.1'), sel)).toBe(true);
    }
  });
  it('refuses a source outside TSr, a destination outside TSi, and what is not an IPv4 header', () => {
    expect(inboundWithinSelectors(pkt('8.8.8.8', '10.10.100.1'), sel)).toBe(false);
    expect(inboundWithinSelectors(pkt('10.9.255.255', '10.10.100.1'), sel)).toBe(false);
    expect(inboundWithinSelectors(pkt('172.16.6.0', '10.10.100.1'), sel)).toBe(false);
    expect(inboundWithinSelectors(pkt('10.10.0.1', '10.10.100.2'), sel)).toBe(false);
    expect(inboundWithinSelectors(pkt('10.10.0.1', '10.10.100.1').subarray(0, 19), sel)).toBe(false);
    const v6 = pkt('10.10.0.1', '10.10.100.1');
    v6[0] = 0x60;
    expect(inboundWithinSelectors(v6, sel)).toBe(false);
  });
  it('an empty selector list admits nothing', () => {
    expect(inboundWithinSelectors(pkt('10.10.0.1', '10.10.100.1'), compileSelectors([], INTRANET))).toBe(false);
  });
});

describe('InboundEspSa with selectors', () => {
  const suite = { encr: EncrId.AesGcm16, keyLength: 256 };
  const keys = { encr: new Uint8Array(36).fill(3), integ: new Uint8Array(0) };
  it('delivers in-selector packets and drops the rest as "selector", counted', () => {
    const out = new OutboundEspSa({ spi: 0x1000, suite, keys });
    const inb = new InboundEspSa({ spi: 0x1000, suite, keys, selectors: { local: TIA, remote: INTRANET } });
    const send = (p: Uint8Array) => {
      const r = out.encapsulate(p);
      if (!r.ok) throw new Error(r.reason);
      return inb.decapsulate(r.packet);
    };
    expect(send(pkt('10.10.0.5', '10.10.100.1')).ok).toBe(true);
    // the gateway (or anyone holding the SA) injects a packet from the internet, or to another host
    expect(send(pkt('203.0.113.9', '10.10.100.1'))).toEqual({ ok: false, reason: 'selector' });
    expect(send(pkt('10.10.0.5', '192.168.1.20'))).toEqual({ ok: false, reason: 'selector' });
    expect(inb.counters.drops.selector).toBe(2);
    expect(inb.counters.packets).toBe(1);
  });
  it('without selectors behaves as before (the check is opt-in per SA)', () => {
    const out = new OutboundEspSa({ spi: 0x1001, suite, keys });
    const inb = new InboundEspSa({ spi: 0x1001, suite, keys });
    const r = out.encapsulate(pkt('203.0.113.9', '192.168.1.20'));
    if (!r.ok) throw new Error(r.reason);
    expect(inb.decapsulate(r.packet).ok).toBe(true);
  });
});
