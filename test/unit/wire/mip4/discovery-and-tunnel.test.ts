/**
 * Agent Advertisement / Solicitation (ICMP 9/10 with RFC 5944 extensions)
 * and the RFC 3519 tunnel data header.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, DecodeError, hexToBytes } from '../../../../app/base/bytes.ts';
import { decodeAgentAdvertisement, encodeAgentAdvertisement, type AgentAdvertisement } from '../../../../app/wire/mip4/agent-advertisement.ts';
import { decodeAgentSolicitation, encodeAgentSolicitation } from '../../../../app/wire/mip4/agent-solicitation.ts';
import { AdvFlag } from '../../../../app/wire/mip4/constants.ts';
import { UnknownExtensionError } from '../../../../app/wire/mip4/extensions.ts';
import { decodeTunnelData, encodeTunnelData } from '../../../../app/wire/mip4/tunnel-data.ts';

/** Independent RFC 1071 sum: a message with a correct checksum sums to 0xffff. */
function sum16(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const allFlags = AdvFlag.RegistrationRequired | AdvFlag.Busy | AdvFlag.HomeAgent | AdvFlag.ForeignAgent | AdvFlag.MinimalEncapsulation
  | AdvFlag.GreEncapsulation | AdvFlag.ReverseTunnel | AdvFlag.UdpTunnelling | AdvFlag.Revocation | AdvFlag.RegionalRegistration;

const adv: AgentAdvertisement = {
  code: 16,
  lifetime: 1800,
  routers: [{ address: '192.0.2.1', preference: -1 }],
  mobility: { sequence: 257, registrationLifetime: 600, flags: allFlags, careOfAddresses: ['192.0.2.1', '192.0.2.2'] },
  prefixLengths: [24],
  others: [],
};

describe('Agent Advertisement (RFC 5944 §2.1)', () => {
  it('lays out ICMP 9, extension 16 with every flag, extension 19', () => {
    const b = encodeAgentAdvertisement(adv);
    expect(bytesToHex(b.subarray(4))).toBe('0102' + '0708' + 'c0000201' + 'ffffffff'
      + '100e' + '0101' + '0258' + 'fde0' + 'c0000201' + 'c0000202' + '130118');
    expect(b[0]).toBe(9);
    expect(sum16(b)).toBe(0xffff);
    expect(decodeAgentAdvertisement(b)).toEqual(adv);
  });

  it('keeps the trailing pad, skips unknown ≥ 128 and drops for unknown < 128', () => {
    expect(encodeAgentAdvertisement(adv).length % 2).toBe(1);
    expect(encodeAgentAdvertisement({ ...adv, pad: true }).length % 2).toBe(0);
    const padded = encodeAgentAdvertisement({ ...adv, pad: true, others: [{ type: 200, raw: Uint8Array.of(200, 1, 9) }] });
    expect(decodeAgentAdvertisement(padded)).toMatchObject({ pad: true, others: [{ type: 200, raw: Uint8Array.of(200, 1, 9) }] });
    const bad = encodeAgentAdvertisement({ ...adv, others: [{ type: 50, raw: Uint8Array.of(50, 0) }] });
    expect(() => decodeAgentAdvertisement(bad)).toThrow(UnknownExtensionError);
  });

  it('reads a plain Router Advertisement (no extension 16) and one with a wider address entry', () => {
    const plain = encodeAgentAdvertisement({ code: 0, lifetime: 30, routers: [], others: [] });
    expect(decodeAgentAdvertisement(plain).mobility).toBeUndefined();
    const wide = hexToBytes('0900000001030010' + 'c0000201' + '00000005' + 'aaaaaaaa');
    const c = 0xffff - sum16(wide);
    wide[2] = c >> 8;
    wide[3] = c & 0xff;
    expect(decodeAgentAdvertisement(wide).routers).toEqual([{ address: '192.0.2.1', preference: 5 }]);
  });

  it('rejects a bad checksum, every truncation, and bad extension lengths', () => {
    const b = encodeAgentAdvertisement(adv);
    const flipped = b.slice();
    flipped[10]! ^= 0x40;
    expect(() => decodeAgentAdvertisement(flipped)).toThrow(/checksum/);
    for (let n = 0; n < b.length; n++) expect(() => decodeAgentAdvertisement(b.subarray(0, n))).toThrow(DecodeError);
    const fix = (m: Uint8Array) => {
      m[2] = 0;
      m[3] = 0;
      const c = 0xffff - sum16(m);
      m[2] = c >> 8;
      m[3] = c & 0xff;
      return m;
    };
    const noPrefix = encodeAgentAdvertisement({ ...adv, prefixLengths: undefined });
    expect(() => decodeAgentAdvertisement(fix(concatBytes(noPrefix, hexToBytes('13021818'))))).toThrow(/Prefix-Lengths/);
    expect(() => decodeAgentAdvertisement(fix(hexToBytes('0900000000020708' + '1007000102580000c0')))).toThrow(/6 \+ 4/);
  });
});

describe('Agent Solicitation (RFC 1256 §3)', () => {
  it('is 8 bytes with a valid checksum', () => {
    const b = encodeAgentSolicitation();
    expect(bytesToHex(b)).toBe('0a00f5ff00000000');
    expect(() => decodeAgentSolicitation(b)).not.toThrow();
    expect(() => decodeAgentSolicitation(b.subarray(0, 7))).toThrow(DecodeError);
    const bad = b.slice();
    bad[7] = 1;
    expect(() => decodeAgentSolicitation(bad)).toThrow(/checksum/);
  });
});

describe('Tunnel data message (RFC 3519 §3.3)', () => {
  it('round-trips with Next Header 4/47/55 and rejects anything else', () => {
    for (const nh of [4, 47, 55] as const) {
      const b = encodeTunnelData({ nextHeader: nh, payload: Uint8Array.of(0x45, 1, 2) });
      expect(bytesToHex(b.subarray(0, 4))).toBe(`04${nh.toString(16).padStart(2, '0')}0000`);
      expect(decodeTunnelData(b)).toEqual({ nextHeader: nh, payload: Uint8Array.of(0x45, 1, 2) });
    }
    expect(() => decodeTunnelData(hexToBytes('04110000'))).toThrow(DecodeError);
    expect(() => decodeTunnelData(hexToBytes('03040000'))).toThrow(DecodeError);
    for (let n = 0; n < 4; n++) expect(() => decodeTunnelData(hexToBytes('04040000').subarray(0, n))).toThrow(DecodeError);
    expect(decodeTunnelData(hexToBytes('0404ffff')).payload.length).toBe(0);
  });
});
