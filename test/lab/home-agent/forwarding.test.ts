/**
 * The reference home agent's tunnel MTU handling (RFC 2003 §5.1), without a
 * network: an ICMP "fragmentation needed" quoting one of our IP-in-IP packets
 * sets the tunnel MTU; inner DF packets that no longer fit are answered with
 * "fragmentation needed" (MTU − 20) to their source, the others still go.
 */
import { describe, expect, it } from 'vitest';
import { encodeFragmentationNeeded } from '../../../app/wire/ip/icmp.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { internetChecksum } from '../../../app/wire/ip/checksum.ts';
import { BindingCache } from './binding-cache.ts';
import { parseHomeAgentConfig } from './config.ts';
import { Forwarder } from './forwarding.ts';
import { minimalEncapsulate } from '../../../app/wire/ip/minimal-encap.ts';
import { ipInIpEncapsulate } from './wire.ts';

const cfg = parseHomeAgentConfig({
  address: '10.1.0.1', homeNetwork: '10.1.0.0/24', trustedPrefixes: [],
  mobileNodes: [{ homeAddress: '10.1.0.50', spi: 300, key: 'hex:00112233445566778899aabbccddeeff' }],
});

function rig() {
  const cache = new BindingCache();
  cache.put({ homeAddress: '10.1.0.50', careOfAddress: '10.10.100.1', tunnelDst: '10.10.100.1', tunnelPort: 0, mode: 'ipip', format: 'ipip', reverseTunnel: true, trusted: false, lifetime: 300, expiresAt: 1e9, lastId: 0n });
  const sent = { raw: [] as Uint8Array[], icmp: [] as Array<{ msg: Uint8Array; dst: string }> };
  const f = new Forwarder(cfg, cache, {
    tunWrite: () => undefined, udpSend: () => undefined,
    rawSend: (pkt) => sent.raw.push(pkt), icmpSend: (msg, dst) => sent.icmp.push({ msg, dst }),
  });
  return { f, sent };
}
const inner = (len: number, df: boolean) => encodeIpv4({ src: '10.1.0.10', dst: '10.1.0.50', protocol: IpProto.Tcp, dontFragment: df }, new Uint8Array(len - 20));
/** what a router on the way (the VPN gateway) sends the HA about one of its tunnel packets */
const tooBigFromGateway = (mtu: number, quotedSrc = '10.1.0.1', proto: number = IpProto.IpInIp) => {
  const tunnelled = proto === IpProto.IpInIp ? ipInIpEncapsulate(inner(1400, true), quotedSrc, '10.10.100.1') : encodeIpv4({ src: quotedSrc, dst: '10.10.100.1', protocol: proto }, new Uint8Array(1400));
  return encodeIpv4({ src: '10.1.0.2', dst: '10.1.0.1', protocol: IpProto.Icmp }, encodeFragmentationNeeded(tunnelled, mtu));
};

describe('reference HA: tunnel MTU (RFC 2003 §5.1)', () => {
  it('sends everything while no MTU is known', () => {
    const { f, sent } = rig();
    f.handleFromIntranet(inner(1400, true));
    expect(sent.raw).toHaveLength(1);
    expect(sent.raw[0]!.length).toBe(1420);
  });

  it('learns the tunnel MTU and answers a DF packet that does not fit with fragmentation needed (MTU − 20)', () => {
    const { f, sent } = rig();
    f.handleIcmp(tooBigFromGateway(1400));
    expect(f.tunnelMtu.get('10.10.100.1')).toBe(1400);
    f.handleFromIntranet(inner(1400, true));
    expect(sent.raw).toHaveLength(0);
    expect(f.stats.tooBig).toBe(1);
    expect(sent.icmp).toHaveLength(1);
    const { msg, dst } = sent.icmp[0]!;
    expect(dst).toBe('10.1.0.10');
    expect([msg[0], msg[1], (msg[6]! << 8) | msg[7]!]).toEqual([3, 4, 1380]);
    // a packet that fits, and one without DF (the kernel fragments the outer), still go
    f.handleFromIntranet(inner(1380, true));
    f.handleFromIntranet(inner(1400, false));
    expect(sent.raw.map((p) => p.length)).toEqual([1400, 1420]);
  });

  it('tells the native fast path when a tunnel MTU changes, once per change', () => {
    const cache = new BindingCache();
    const changes: Array<[string, number]> = [];
    const f = new Forwarder(cfg, cache, {
      tunWrite: () => undefined, udpSend: () => undefined, rawSend: () => undefined, icmpSend: () => undefined,
      tunnelMtuChanged: (coa, mtu) => changes.push([coa, mtu]),
    });
    f.handleIcmp(tooBigFromGateway(1400));
    f.handleIcmp(tooBigFromGateway(1400)); // the same MTU again: nothing new
    f.handleIcmp(tooBigFromGateway(1450)); // larger: the tunnel MTU stays 1400
    f.handleIcmp(tooBigFromGateway(1300));
    expect(changes).toEqual([['10.10.100.1', 1400], ['10.10.100.1', 1300]]);
  });

  it('ignores fragmentation needed about packets that are not our tunnel packets', () => {
    const { f } = rig();
    f.handleIcmp(tooBigFromGateway(1400, '10.1.0.99'));
    f.handleIcmp(tooBigFromGateway(1400, '10.1.0.1', IpProto.Udp));
    f.handleIcmp(tooBigFromGateway(80)); // leaves no room for an inner packet
    expect(f.tunnelMtu.size).toBe(0);
  });
});

describe('reference HA: GRE (RFC 2784) and minimal encapsulation (RFC 2004)', () => {
  function rig2(mode: 'gre' | 'minimal' | 'udp', format: 'ipip' | 'gre' | 'minimal') {
    const cache = new BindingCache();
    cache.put({ homeAddress: '10.1.0.50', careOfAddress: '10.2.0.100', tunnelDst: '10.2.0.100', tunnelPort: mode === 'udp' ? 40000 : 0, mode, format, reverseTunnel: true, trusted: true, lifetime: 300, expiresAt: 1e9, lastId: 0n });
    const sent = { raw: [] as Uint8Array[], udp: [] as Uint8Array[], tun: [] as Uint8Array[] };
    const f = new Forwarder(cfg, cache, {
      tunWrite: (p) => sent.tun.push(p), udpSend: (m) => sent.udp.push(m), rawSend: (p) => sent.raw.push(p), icmpSend: () => undefined,
    });
    return { f, sent };
  }
  const down = inner(100, true);
  const up = encodeIpv4({ src: '10.1.0.50', dst: '10.1.0.10', protocol: IpProto.Tcp }, new Uint8Array(60).fill(7));

  it('GRE: 47, basic header 0x0000 0x0800, then the packet; the same from the CoA is written to the TUN', () => {
    const { f, sent } = rig2('gre', 'gre');
    f.handleFromIntranet(down);
    const out = Buffer.from(sent.raw[0]!);
    expect([out[9], out.readUInt32BE(20)]).toEqual([47, 0x0800]);
    expect(out.subarray(24)).toEqual(Buffer.from(down));
    const fromMn = encodeIpv4({ src: '10.2.0.100', dst: '10.1.0.1', protocol: IpProto.Gre }, Buffer.concat([Buffer.from([0, 0, 8, 0]), up]));
    f.handleRaw(fromMn);
    expect(sent.tun.map((p) => Buffer.from(p))).toEqual([Buffer.from(up)]);
    // RFC 2784 §2.5: a key bit (RFC 1701) we did not negotiate → dropped; IP-in-IP on a GRE binding → not accepted
    f.handleRaw(encodeIpv4({ src: '10.2.0.100', dst: '10.1.0.1', protocol: IpProto.Gre }, Buffer.concat([Buffer.from([0x20, 0, 8, 0, 0, 0, 0, 1]), up])));
    f.handleRaw(ipInIpEncapsulate(up, '10.2.0.100', '10.1.0.1'));
    expect(sent.tun).toHaveLength(1);
    expect(f.stats).toMatchObject({ malformed: 1, wrongEndpoint: 1 });
  });

  it('minimal: 55, S set with the original source, destination = CoA; decapsulated back byte for byte', () => {
    const { f, sent } = rig2('minimal', 'minimal');
    f.handleFromIntranet(down);
    const out = Buffer.from(sent.raw[0]!);
    expect(out[9]).toBe(55);
    expect([...out.subarray(12, 20)]).toEqual([10, 1, 0, 1, 10, 2, 0, 100]);
    expect([out[20], out[21]! & 0x80, ...out.subarray(24, 32)]).toEqual([6, 0x80, 10, 1, 0, 50, 10, 1, 0, 10]);
    expect(out.length).toBe(down.length + 12);
    f.handleRaw(minimalEncapsulate(up, { src: '10.2.0.100', dst: '10.1.0.1' }));
    expect(sent.tun.map((p) => Buffer.from(p))).toEqual([Buffer.from(up)]);
  });

  it('UDP tunnel data with GRE inside: Next Header 47 both ways; Next Header 4 on that binding is refused', () => {
    const { f, sent } = rig2('udp', 'gre');
    f.handleFromIntranet(down);
    const out = Buffer.from(sent.udp[0]!);
    expect([out[0], out[1], out.readUInt32BE(4)]).toEqual([4, 47, 0x0800]);
    f.handleTunnelData(Buffer.concat([Buffer.from([4, 47, 0, 0, 0, 0, 8, 0]), up]), { address: '10.2.0.100', port: 40000 });
    f.handleTunnelData(Buffer.concat([Buffer.from([4, 4, 0, 0]), up]), { address: '10.2.0.100', port: 40000 });
    expect(sent.tun).toHaveLength(1);
    expect(f.stats.wrongEndpoint).toBe(1);
  });

  it('a keepalive (echo request to the HA) in GRE tunnel data is answered in GRE tunnel data', () => {
    const { f, sent } = rig2('udp', 'gre');
    const echo = encodeIpv4({ src: '10.1.0.50', dst: '10.1.0.1', protocol: IpProto.Icmp }, Uint8Array.of(8, 0, 0xf7, 0xfe, 0, 1, 0, 0));
    f.handleTunnelData(Buffer.concat([Buffer.from([4, 47, 0, 0, 0, 0, 8, 0]), echo]), { address: '10.2.0.100', port: 40000 });
    expect(f.stats.keepalives).toBe(1);
    const out = Buffer.from(sent.udp[0]!);
    expect([out[0], out[1], out.readUInt32BE(4), out[8 + 20]]).toEqual([4, 47, 0x0800, 0]);
    expect(sent.tun).toHaveLength(0);
  });
});


describe('reference HA: IP-in-IP in preallocated slots (RFC 2003 §3.1)', () => {
  function rig3() {
    const cache = new BindingCache();
    cache.put({ homeAddress: '10.1.0.50', careOfAddress: '10.10.100.1', tunnelDst: '10.10.100.1', tunnelPort: 0, mode: 'ipip', format: 'ipip', reverseTunnel: true, trusted: false, lifetime: 300, expiresAt: 1e9, lastId: 0n });
    const stride = 1500;
    const slab = new Uint8Array(2 * stride).fill(0xee); // stale bytes from earlier packets must not leak
    const sent = { slots: [] as Uint8Array[], raw: [] as Uint8Array[], tun: [] as Uint8Array[] };
    let at = 0;
    const f = new Forwarder(cfg, cache, {
      tunWrite: (p) => sent.tun.push(Uint8Array.from(p)), udpSend: () => undefined, rawSend: (p) => sent.raw.push(p), icmpSend: () => undefined,
      rawSlots: {
        slab,
        reserve: (length) => (length > stride ? -1 : (at % 2) * stride),
        commit: (length) => void sent.slots.push(slab.slice((at++ % 2) * stride, (at % 2 === 0 ? 2 : 1) * stride).subarray(0, length)),
      },
    });
    return { f, sent, cache };
  }

  it('writes the bytes of the RFC 2003 codec (TOS and DF copied, TTL 64, checksum) into the slot, a packet too big for one into its own buffer', () => {
    const { f, sent } = rig3();
    const a = encodeIpv4({ src: '10.1.0.10', dst: '10.1.0.50', protocol: IpProto.Tcp, tos: 0x28, dontFragment: true }, new Uint8Array(80).fill(3));
    const b = encodeIpv4({ src: '10.1.0.11', dst: '10.1.0.50', protocol: IpProto.Udp, ttl: 3 }, new Uint8Array(500).fill(9));
    const big = encodeIpv4({ src: '10.1.0.10', dst: '10.1.0.50', protocol: IpProto.Tcp }, new Uint8Array(1490));
    f.handleFromIntranet(a);
    f.handleFromIntranet(b);
    f.handleFromIntranet(big);
    expect(sent.slots.map((p) => Buffer.from(p))).toEqual([a, b].map((p) => Buffer.from(ipInIpEncapsulate(p, '10.1.0.1', '10.10.100.1'))));
    expect(sent.raw.map((p) => Buffer.from(p))).toEqual([Buffer.from(ipInIpEncapsulate(big, '10.1.0.1', '10.10.100.1'))]);
    expect(f.stats.toMn).toBe(3);
  });

  it('drops, counted, what decodeIpv4Header refuses, no binding, a wrong endpoint and an outer fragment; accepts the binding\'s own', () => {
    const { f, sent } = rig3();
    const up = encodeIpv4({ src: '10.1.0.50', dst: '10.1.0.10', protocol: IpProto.Tcp }, new Uint8Array(40).fill(5));
    const badSum = Uint8Array.from(inner(100, false));
    badSum[10]! ^= 1;
    f.handleFromIntranet(badSum);
    f.handleFromIntranet(encodeIpv4({ src: '10.1.0.10', dst: '10.1.0.51', protocol: IpProto.Tcp }, new Uint8Array(20)));
    f.handleRaw(ipInIpEncapsulate(up, '10.10.100.1', '10.1.0.1'));
    f.handleRaw(ipInIpEncapsulate(up, '10.10.100.2', '10.1.0.1'));
    f.handleRaw(ipInIpEncapsulate(encodeIpv4({ src: '10.1.0.52', dst: '10.1.0.10', protocol: IpProto.Tcp }, new Uint8Array(4)), '10.10.100.1', '10.1.0.1'));
    const frag = Uint8Array.from(ipInIpEncapsulate(up, '10.10.100.1', '10.1.0.1'));
    frag[6] = 0x20; // MF
    frag[10] = 0;
    frag[11] = 0;
    const c = internetChecksum(frag, 0, 20);
    frag[10] = c >> 8;
    frag[11] = c & 0xff;
    f.handleRaw(frag);
    f.handleRaw(encodeIpv4({ src: '10.10.100.1', dst: '10.1.0.1', protocol: IpProto.IpInIp }, Uint8Array.of(0x45, 0, 0, 20))); // a truncated inner header
    expect(sent.tun.map((p) => Buffer.from(p))).toEqual([Buffer.from(up)]);
    expect(sent.slots).toHaveLength(0);
    expect(f.stats).toMatchObject({ fromMn: 1, malformed: 3, noBinding: 2, wrongEndpoint: 1 });
  });
});
