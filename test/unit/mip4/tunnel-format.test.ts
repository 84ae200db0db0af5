import { describe, expect, it } from 'vitest';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { decapsulateIp, decapsulateUdp, encapsulateIp, encapsulateUdp, formatOfProtocol, TUNNEL_FORMATS, tunnelOverhead } from '../../../app/mip4/tunnel-format.ts';

const inner = encodeIpv4({ src: '10.1.0.50', dst: '10.1.0.10', protocol: IpProto.Udp, tos: 0x28, dontFragment: true, ttl: 61 }, Uint8Array.from({ length: 100 }, (_, i) => i));
const ep = { src: '10.2.0.100', dst: '10.1.0.1' };

describe('tunnel formats (RFC 2003, 2784, 2004, 3519 §3.3)', () => {
  it.each(TUNNEL_FORMATS)('%s over raw IP: right protocol, outer endpoints, overhead, and the inner packet comes back byte for byte', (f) => {
    const pkt = encapsulateIp(inner, f, ep);
    const outer = decodeIpv4Header(pkt);
    expect(formatOfProtocol(outer.protocol)).toBe(f);
    expect([outer.src, outer.dst]).toEqual([ep.src, ep.dst]);
    expect(pkt.length).toBe(inner.length + tunnelOverhead(f));
    expect(outer.tos).toBe(0x28);
    expect(outer.flags & 0x2).toBe(0x2);
    const d = decapsulateIp(pkt, f);
    expect(d).toMatchObject({ ok: true, outerSrc: ep.src });
    expect(Buffer.from((d as { inner: Uint8Array }).inner)).toEqual(Buffer.from(inner));
  });

  it.each(TUNNEL_FORMATS)('%s in RFC 3519 tunnel data: Next Header = the protocol, round trip', (f) => {
    const msg = encapsulateUdp(inner, f, ep);
    expect([msg[0], msg[1]]).toEqual([4, { 'ip-in-ip': 4, gre: 47, minimal: 55 }[f]]);
    const d = decapsulateUdp(msg, f);
    expect(d.ok).toBe(true);
    expect(Buffer.from((d as { inner: Uint8Array }).inner)).toEqual(Buffer.from(inner));
  });

  it('GRE is the RFC 2784 basic header: 0x0000 0x0800', () => {
    const pkt = encapsulateIp(inner, 'gre', ep);
    expect([...pkt.subarray(20, 24)]).toEqual([0, 0, 8, 0]);
  });

  it('minimal encapsulation keeps the original source (S) and the TTL, and carries the inner protocol', () => {
    const pkt = encapsulateIp(inner, 'minimal', ep);
    const h = decodeIpv4Header(pkt);
    expect(h.ttl).toBe(61);
    expect(pkt[20]).toBe(IpProto.Udp);
    expect(pkt[21]! & 0x80).toBe(0x80);
  });

  it('a packet in another format than the binding\'s is refused, not decoded', () => {
    expect(decapsulateIp(encapsulateIp(inner, 'gre', ep), 'ip-in-ip')).toMatchObject({ ok: false, reason: 'wrong-format' });
    expect(decapsulateUdp(encapsulateUdp(inner, 'minimal', ep), 'gre')).toMatchObject({ ok: false, reason: 'wrong-format' });
  });

  it('GRE with RFC 1701 key/sequence bits, a non-IPv4 protocol type, or a bad minimal checksum is malformed; so is every truncation', () => {
    const keyed = encapsulateIp(inner, 'gre', ep);
    keyed[20] = 0x20; // K
    expect(decapsulateIp(keyed, 'gre')).toMatchObject({ ok: false, reason: 'malformed' });
    const udp = encapsulateUdp(inner, 'gre', ep);
    udp[6] = 0x86; udp[7] = 0xdd;
    expect(decapsulateUdp(udp, 'gre')).toMatchObject({ ok: false, reason: 'malformed' });
    const min = encapsulateIp(inner, 'minimal', ep);
    min[24] = min[24]! ^ 1; // original destination, covered by the forwarding header checksum
    expect(decapsulateIp(min, 'minimal')).toMatchObject({ ok: false, reason: 'malformed' });
    for (const f of TUNNEL_FORMATS) {
      const m = encapsulateUdp(inner, f, ep);
      for (let n = 0; n < m.length; n++) expect(decapsulateUdp(m.subarray(0, n), f).ok).toBe(false);
    }
  });
});
