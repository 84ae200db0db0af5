/**
 * UDP with the IPv4 pseudo-header, IP-in-IP (RFC 2003), minimal
 * encapsulation (RFC 2004) and GRE (RFC 2784). Checksums are checked with
 * an independent RFC 1071 sum written here.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, DecodeError } from '../../../../app/base/bytes.ts';
import { ipv4ToBytes } from '../../../../app/base/ipv4.ts';
import { decodeGre, encodeGre, GRE_PROTOCOL_IPV4 } from '../../../../app/wire/ip/gre.ts';
import { ipInIpDecapsulate, ipInIpEncapsulate } from '../../../../app/wire/ip/ip-in-ip.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../../app/wire/ip/ipv4-header.ts';
import { minimalDecapsulate, minimalEncapsulate, peekMinimalHeader } from '../../../../app/wire/ip/minimal-encap.ts';
import { decodeUdp, encodeUdp } from '../../../../app/wire/ip/udp.ts';

function sum16(parts: Uint8Array[]): number {
  let s = 0;
  for (const b of parts) for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const ep = { src: '192.0.2.7', dst: '10.1.0.1' };

describe('UDP (RFC 768)', () => {
  it('computes the pseudo-header checksum and verifies it on decode', () => {
    const seg = encodeUdp({ srcPort: 40000, dstPort: 434, payload: Uint8Array.of(1, 2, 3) }, ep);
    expect(bytesToHex(seg.subarray(0, 6))).toBe('9c4001b2000b');
    const pseudo = Uint8Array.of(...ipv4ToBytes(ep.src), ...ipv4ToBytes(ep.dst), 0, 17, 0, seg.length);
    expect(sum16([pseudo, seg])).toBe(0xffff);
    expect(decodeUdp(seg, ep)).toMatchObject({ srcPort: 40000, dstPort: 434, payload: Uint8Array.of(1, 2, 3) });
    const bad = seg.slice();
    bad[9]! ^= 1;
    expect(() => decodeUdp(bad, ep)).toThrow(/checksum/);
    expect(() => decodeUdp(seg, { src: ep.src, dst: '10.1.0.2' })).toThrow(/checksum/);
  });

  it('sends 0 without endpoints, accepts 0 as "no checksum", and bounds the payload by Length', () => {
    const seg = encodeUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(4) });
    expect(seg[6]! | seg[7]!).toBe(0);
    expect(decodeUdp(seg, ep).checksum).toBe(0);
    const padded = new Uint8Array(20);
    padded.set(seg);
    expect(decodeUdp(padded).payload.length).toBe(4);
    for (let n = 0; n < seg.length; n++) expect(() => decodeUdp(seg.subarray(0, n))).toThrow(DecodeError);
  });
});

const inner = encodeIpv4({ src: '10.1.0.10', dst: '10.1.0.99', protocol: IpProto.Udp, tos: 0x10, ttl: 7, dontFragment: true, id: 0x1234 },
  Uint8Array.of(0, 53, 0, 53, 0, 9, 0, 0, 0x42));

describe('IP in IP (RFC 2003)', () => {
  it('copies TOS and DF, uses its own TTL, and decapsulates to the same bytes', () => {
    const outer = ipInIpEncapsulate(inner, { src: '192.0.2.7', dst: '10.1.0.1' });
    const h = decodeIpv4Header(outer);
    expect(h).toMatchObject({ protocol: 4, tos: 0x10, ttl: 64, src: '192.0.2.7', dst: '10.1.0.1' });
    expect(h.flags & 0x2).toBe(0x2);
    expect(outer.subarray(20)).toEqual(inner);
    expect(ipInIpDecapsulate(outer).inner).toEqual(inner);
    const noDf = ipInIpEncapsulate(encodeIpv4({ src: '10.1.0.10', dst: '10.1.0.99', protocol: 17 }, new Uint8Array(8)), { ...ep, ttl: 9 });
    expect(decodeIpv4Header(noDf)).toMatchObject({ flags: 0, ttl: 9 });
  });

  it('refuses another protocol and a non-IPv4 inner packet', () => {
    expect(() => ipInIpDecapsulate(encodeIpv4({ ...ep, protocol: 47 }, inner))).toThrow(DecodeError);
    expect(() => ipInIpDecapsulate(encodeIpv4({ ...ep, protocol: 4 }, Uint8Array.of(0x60, 0, 0)))).toThrow(DecodeError);
  });
});

describe('minimal encapsulation (RFC 2004)', () => {
  it('inserts an 8-byte header when the encapsulator is the sender and restores the original exactly', () => {
    const enc = minimalEncapsulate(inner, { dst: '10.1.0.1' });
    const h = decodeIpv4Header(enc);
    expect(h).toMatchObject({ protocol: 55, dst: '10.1.0.1', src: '10.1.0.10', ttl: 7, tos: 0x10, totalLength: inner.length + 8 });
    expect(bytesToHex(enc.subarray(20, 24)).slice(0, 4)).toBe('1100');
    expect(sum16([enc.subarray(20, 28)])).toBe(0xffff);
    expect(peekMinimalHeader(enc)).toEqual({ protocol: 17, dst: '10.1.0.99' });
    expect(minimalDecapsulate(enc)).toEqual(inner);
  });

  it('carries the original source (S) when someone else encapsulates', () => {
    const enc = minimalEncapsulate(inner, { dst: '10.1.0.1', src: '192.0.2.7' });
    expect(decodeIpv4Header(enc)).toMatchObject({ src: '192.0.2.7', totalLength: inner.length + 12 });
    expect(enc[21]).toBe(0x80);
    expect(peekMinimalHeader(enc)).toEqual({ protocol: 17, dst: '10.1.0.99', src: '10.1.0.10' });
    expect(minimalDecapsulate(enc)).toEqual(inner);
  });

  it('refuses fragments and a damaged forwarding header', () => {
    const frag = inner.slice();
    frag[6] = 0x20;
    expect(() => minimalEncapsulate(frag, { dst: '10.1.0.1' })).toThrow(RangeError);
    const enc = minimalEncapsulate(inner, { dst: '10.1.0.1' });
    enc[24]! ^= 1;
    expect(() => minimalDecapsulate(enc)).toThrow(/checksum/);
    expect(() => minimalDecapsulate(inner)).toThrow(DecodeError);
  });
});

describe('GRE (RFC 2784)', () => {
  it('round-trips with and without the checksum', () => {
    const plain = encodeGre({ protocolType: GRE_PROTOCOL_IPV4, payload: inner });
    expect(bytesToHex(plain.subarray(0, 4))).toBe('00000800');
    expect(decodeGre(plain)).toEqual({ protocolType: 0x0800, checksum: false, payload: inner });
    const summed = encodeGre({ protocolType: GRE_PROTOCOL_IPV4, checksum: true, payload: inner });
    expect(bytesToHex(summed.subarray(0, 2))).toBe('8000');
    expect(sum16([summed])).toBe(0xffff);
    expect(decodeGre(summed)).toEqual({ protocolType: 0x0800, checksum: true, payload: inner });
    summed[10]! ^= 1;
    expect(() => decodeGre(summed)).toThrow(/checksum/);
  });

  it('drops RFC 1701 fields, a non-zero version and truncation', () => {
    expect(() => decodeGre(Uint8Array.of(0x20, 0, 8, 0))).toThrow(/1701/);
    expect(() => decodeGre(Uint8Array.of(0, 1, 8, 0))).toThrow(/version/);
    expect(decodeGre(Uint8Array.of(0, 0x40, 8, 0)).protocolType).toBe(0x0800);
    for (let n = 0; n < 4; n++) expect(() => decodeGre(Uint8Array.of(0, 0, 8, 0).subarray(0, n))).toThrow(DecodeError);
    expect(() => decodeGre(Uint8Array.of(0x80, 0, 8, 0, 0))).toThrow(DecodeError);
  });
});
