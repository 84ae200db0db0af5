import { describe, expect, it } from 'vitest';
import { checksumValid } from '../../../../app/wire/ip/checksum.ts';
import { encodeFragmentationNeeded } from '../../../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4 } from '../../../../app/wire/ip/ipv4-header.ts';

describe('ICMP fragmentation needed (RFC 792 type 3 code 4, RFC 1191 next-hop MTU)', () => {
  const inner = encodeIpv4({ src: '10.1.0.50', dst: '10.1.0.10', protocol: 6, dontFragment: true }, new Uint8Array(1380).map((_, i) => i & 0xff));

  it('quotes the header and 8 data bytes, carries the MTU, and checksums', () => {
    const m = encodeFragmentationNeeded(inner, 1380);
    expect(m.length).toBe(8 + 20 + 8);
    expect([m[0], m[1]]).toEqual([3, 4]);
    expect((m[6]! << 8) | m[7]!).toBe(1380);
    expect([m[4], m[5]]).toEqual([0, 0]);
    expect(checksumValid(m)).toBe(true);
    // the quoted header is the original's, byte for byte (its total length still says 1400)
    expect([...m.subarray(8, 28)]).toEqual([...inner.subarray(0, 20)]);
    expect(decodeIpv4Header(inner).src).toBe('10.1.0.50');
    expect([...m.subarray(28)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses a datagram too short to quote and an impossible MTU', () => {
    expect(() => encodeFragmentationNeeded(new Uint8Array(10), 1380)).toThrow(/too short/);
    expect(() => encodeFragmentationNeeded(inner, 40)).toThrow(/out of range/);
  });
});
