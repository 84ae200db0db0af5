/**
 * Fuzzing every Mobile IPv4 and IP decoder in app/wire/mip4 and
 * app/wire/ip: registration request/reply and their extensions (each
 * extension codec too), agent advertisement/solicitation, UDP-tunnel
 * extensions, tunnel data; IPv4 header, ICMP echo, UDP, IP-in-IP, GRE,
 * minimal encapsulation. Mutants get their checksums repaired half the
 * time so the decoders are exercised past the checksum. See kit.ts.
 */
import { describe, it } from 'vitest';
import { concatBytes } from '../../../app/base/bytes.ts';
import { appendMnHaAuth, verifyMnHaAuth } from '../../../app/wire/mip4/auth.ts';
import { decodeAuthExtension } from '../../../app/wire/mip4/auth-extension.ts';
import { decodeAgentAdvertisement, encodeAgentAdvertisement } from '../../../app/wire/mip4/agent-advertisement.ts';
import { decodeAgentSolicitation, encodeAgentSolicitation } from '../../../app/wire/mip4/agent-solicitation.ts';
import { AdvFlag, Encapsulation, ExtensionType } from '../../../app/wire/mip4/constants.ts';
import { decodeEdsExtension } from '../../../app/wire/mip4/eds-extension.ts';
import { decodeExtensionList, type RawExtension } from '../../../app/wire/mip4/extensions.ts';
import { decodeNaiExtension } from '../../../app/wire/mip4/nai-extension.ts';
import {
  decodeRegistrationExtension, decodeRegistrationExtensions, encodeRegistrationExtension, RECOGNISED_REGISTRATION_EXTENSIONS,
  type RegistrationExtension,
} from '../../../app/wire/mip4/registration-extension.ts';
import { decodeRegistrationReply, encodeRegistrationReply } from '../../../app/wire/mip4/registration-reply.ts';
import { decodeRegistrationRequest, encodeRegistrationRequest } from '../../../app/wire/mip4/registration-request.ts';
import { decodeTncExtension } from '../../../app/wire/mip4/tnc-extension.ts';
import { decodeTunnelData, encodeTunnelData } from '../../../app/wire/mip4/tunnel-data.ts';
import { decodeUdpTunnelReply, decodeUdpTunnelRequest } from '../../../app/wire/mip4/udp-tunnel-extensions.ts';
import { internetChecksum } from '../../../app/wire/ip/checksum.ts';
import { decodeGre, encodeGre, GRE_PROTOCOL_IPV4 } from '../../../app/wire/ip/gre.ts';
import { decodeIcmpEcho, encodeIcmpEcho } from '../../../app/wire/ip/icmp.ts';
import { ipInIpDecapsulate, ipInIpEncapsulate } from '../../../app/wire/ip/ip-in-ip.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { minimalDecapsulate, minimalEncapsulate, peekMinimalHeader } from '../../../app/wire/ip/minimal-encap.ts';
import { decodeUdp, encodeUdp, udpChecksum } from '../../../app/wire/ip/udp.ts';
import { FUZZ_TIMEOUT_MS, fuzzDecoder, fuzzTotal } from './kit.ts';

const KEY = new Uint8Array(16).map((_, i) => i * 17);
const SPI = 0x1000;
const fill = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

const RRQ_EXT: RegistrationExtension[] = [
  { kind: 'nai', nai: 'mn@example.org' },
  { kind: 'udp-tunnel-request', force: false, registrationThroughFa: false, encapsulation: Encapsulation.IpInIp, reserved3: 0 },
  { kind: 'skipped', type: 200, raw: Uint8Array.of(200, 2, 7, 7) },
  { kind: 'pad' },
];
const RRP_EXT: RegistrationExtension[] = [
  { kind: 'udp-tunnel-reply', code: 0, forced: false, keepaliveSeconds: 110 },
  { kind: 'tnc' },
  { kind: 'eds' },
];

export const RRQ = appendMnHaAuth(encodeRegistrationRequest({
  flags: 0x02, lifetime: 600, homeAddress: '10.1.0.10', homeAgent: '10.1.0.1', careOfAddress: '192.0.2.7',
  identification: 0xe7a1b2c3_00000001n, extensions: RRQ_EXT,
}), SPI, KEY);
export const RRP = appendMnHaAuth(encodeRegistrationReply({
  code: 0, lifetime: 600, homeAddress: '10.1.0.10', homeAgent: '10.1.0.1', identification: 0xe7a1b2c3_00000001n, extensions: RRP_EXT,
}), SPI, KEY);
const RRP_DENIED = encodeRegistrationReply({ code: 131, lifetime: 0, homeAddress: '10.1.0.10', homeAgent: '10.1.0.1', identification: 5n, extensions: [] });

export const ADV = encodeAgentAdvertisement({
  code: 16, lifetime: 30, routers: [{ address: '198.51.100.1', preference: -5 }, { address: '198.51.100.2', preference: 7 }],
  mobility: { sequence: 3, registrationLifetime: 600, flags: AdvFlag.ForeignAgent | AdvFlag.ReverseTunnel, careOfAddresses: ['198.51.100.1'] },
  prefixLengths: [24, 24], others: [{ type: 200, raw: Uint8Array.of(200, 1, 9) }], pad: true,
});
const ADV_PLAIN = encodeAgentAdvertisement({ code: 0, lifetime: 1800, routers: [], others: [],
  mobility: { sequence: 256, registrationLifetime: 0xffff, flags: AdvFlag.HomeAgent, careOfAddresses: [] } });

/** Repairs the whole-message ICMP checksum at bytes 2–3. */
function fixIcmp(b: Uint8Array): Uint8Array {
  if (b.length < 4) return b;
  b[2] = 0;
  b[3] = 0;
  const c = internetChecksum(b);
  b[2] = c >> 8;
  b[3] = c & 0xff;
  return b;
}

/** Repairs an IPv4 header checksum (IHL as the packet says). */
function fixIpv4(b: Uint8Array, at = 0): Uint8Array {
  const ihl = ((b[at] ?? 0) & 0x0f) * 4;
  if (ihl < 20 || at + ihl > b.length) return b;
  b[at + 10] = 0;
  b[at + 11] = 0;
  const c = internetChecksum(b, at, at + ihl);
  b[at + 10] = c >> 8;
  b[at + 11] = c & 0xff;
  return b;
}

const INNER = encodeIpv4({ src: '10.1.0.10', dst: '10.10.0.5', protocol: IpProto.Udp, id: 9 }, encodeUdp({ srcPort: 1000, dstPort: 53, payload: fill(12) }));
const EP = { src: '192.0.2.7', dst: '10.1.0.1' };

function rawExt(type: number, data: Uint8Array): RawExtension {
  return { type, format: 'tlv', offset: 0, raw: concatBytes(Uint8Array.of(type, data.length & 0xff), data), data, recognised: true };
}

describe('fuzz: Mobile IPv4 decoders (app/wire/mip4)', () => {
  it('Registration Request', () => {
    fuzzDecoder({ name: 'mip4 registration request', genuine: [RRQ], maxRandomLength: 96, decode: decodeRegistrationRequest, encode: encodeRegistrationRequest });
  }, FUZZ_TIMEOUT_MS);

  it('Registration Reply', () => {
    fuzzDecoder({ name: 'mip4 registration reply', genuine: [RRP, RRP_DENIED], maxRandomLength: 96, decode: decodeRegistrationReply, encode: encodeRegistrationReply });
  }, FUZZ_TIMEOUT_MS);

  it('registration extension list (split + per-type decode)', () => {
    const list = concatBytes(...[...RRQ_EXT, ...RRP_EXT].map(encodeRegistrationExtension));
    fuzzDecoder({
      name: 'mip4 registration extensions', genuine: [list, RRP.subarray(20), RRQ.subarray(24)], maxRandomLength: 96,
      decode: (b) => decodeRegistrationExtensions(b, 0),
      encode: (es) => concatBytes(...es.map(encodeRegistrationExtension)),
    });
  }, FUZZ_TIMEOUT_MS);

  it('generic extension list with long-format types', () => {
    fuzzDecoder({
      name: 'mip4 extension list (long format)', genuine: [Uint8Array.of(16, 1, 0, 3, 9, 9, 9, 0, 200, 1, 5, 19, 2, 1, 1)], maxRandomLength: 64,
      decode: (b) => decodeExtensionList(b, 0, { recognised: new Set([16, 19]), long: new Set([16]) }),
    });
  }, FUZZ_TIMEOUT_MS);

  const perExtension: [string, number, (r: RawExtension) => unknown, Uint8Array][] = [
    ['MN-HA authentication', ExtensionType.MnHaAuth, decodeAuthExtension, RRP.subarray(RRP.length - 20)],
    ['NAI', ExtensionType.Nai, decodeNaiExtension, new TextEncoder().encode('mn@example.org')],
    ['UDP Tunnel Request', ExtensionType.UdpTunnelRequest, decodeUdpTunnelRequest, Uint8Array.of(0, 0, 0x80, 4, 0, 0)],
    ['UDP Tunnel Reply', ExtensionType.UdpTunnelReply, decodeUdpTunnelReply, Uint8Array.of(0, 0, 0x80, 0, 0, 110)],
    ['TNC', ExtensionType.TrustedNetworksConfigured, decodeTncExtension, Uint8Array.of(0, 0)],
    ['Encapsulating Delivery Style', ExtensionType.EncapsulatingDeliveryStyle, decodeEdsExtension, new Uint8Array(0)],
  ];
  for (const [name, type, decode, genuine] of perExtension) {
    it(`extension codec: ${name}`, () => {
      fuzzDecoder({
        name: `mip4 ext ${name}`, genuine: [genuine], maxRandomLength: 32,
        decode: (b) => decode(rawExt(type, b)),
        encode: (v) => (v === undefined ? new Uint8Array(0) : encodeRegistrationExtension(v as RegistrationExtension).subarray(2)),
        // a skipped unknown Sub-Type decodes to undefined: only the genuine ones are canonical
      });
    }, FUZZ_TIMEOUT_MS);
  }

  it('decodeRegistrationExtension on every recognised type', () => {
    const types = [...RECOGNISED_REGISTRATION_EXTENSIONS, 0, 129, 250];
    fuzzDecoder({
      name: 'mip4 ext dispatch', genuine: [Uint8Array.of(0, 0, 0, 0x10, 0, 1, 2, 3)], maxRandomLength: 40,
      decode: (b) => decodeRegistrationExtension(rawExt(types[(b[0] ?? 0) % types.length]!, b.subarray(1))),
    });
  }, FUZZ_TIMEOUT_MS);

  it('MN-HA verification never throws (a verdict for every input)', () => {
    fuzzTotal({ name: 'mip4 verifyMnHaAuth', genuine: [RRP, RRQ], maxRandomLength: 96, run: (b) => verifyMnHaAuth(b, SPI, KEY).ok });
  }, FUZZ_TIMEOUT_MS);

  it('Agent Advertisement', () => {
    fuzzDecoder({ name: 'mip4 agent advertisement', genuine: [ADV, ADV_PLAIN], fixup: fixIcmp, maxRandomLength: 96,
      decode: decodeAgentAdvertisement, encode: encodeAgentAdvertisement });
  }, FUZZ_TIMEOUT_MS);

  it('Agent Solicitation', () => {
    fuzzDecoder({ name: 'mip4 agent solicitation', genuine: [encodeAgentSolicitation()], fixup: fixIcmp, maxRandomLength: 24,
      decode: (b) => { decodeAgentSolicitation(b); return b; } });
  }, FUZZ_TIMEOUT_MS);

  it('RFC 3519 tunnel data', () => {
    const td = encodeTunnelData({ nextHeader: Encapsulation.IpInIp, payload: INNER });
    fuzzDecoder({ name: 'mip4 tunnel data', genuine: [td, encodeTunnelData({ nextHeader: Encapsulation.Gre, payload: fill(8) })], maxRandomLength: 64,
      decode: decodeTunnelData, encode: encodeTunnelData });
  }, FUZZ_TIMEOUT_MS);
});

describe('fuzz: IP decoders (app/wire/ip)', () => {
  it('IPv4 header', () => {
    const opts = encodeIpv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 6 }, fill(8));
    fuzzDecoder({ name: 'ip ipv4 header', genuine: [INNER, opts], fixup: (b) => fixIpv4(b), maxRandomLength: 64, decode: (b) => decodeIpv4Header(b) });
  }, FUZZ_TIMEOUT_MS);

  it('ICMP echo', () => {
    fuzzDecoder({ name: 'ip icmp echo', genuine: [encodeIcmpEcho({ type: 8, id: 7, seq: 1, data: fill(16) })], fixup: fixIcmp, maxRandomLength: 40,
      decode: decodeIcmpEcho, encode: encodeIcmpEcho });
  }, FUZZ_TIMEOUT_MS);

  it('UDP (with the pseudo-header checksum)', () => {
    const fixUdp = (b: Uint8Array): Uint8Array => {
      if (b.length < 8) return b;
      b[6] = 0;
      b[7] = 0;
      const c = udpChecksum(EP, b.subarray(0, Math.min(b.length, (b[4]! << 8) | b[5]!)));
      b[6] = c >> 8;
      b[7] = c & 0xff;
      return b;
    };
    fuzzDecoder({ name: 'ip udp', genuine: [encodeUdp({ srcPort: 434, dstPort: 434, payload: RRP }, EP), encodeUdp({ srcPort: 1, dstPort: 2, payload: fill(3) })],
      fixup: fixUdp, notByteExact: new Set([1]), maxRandomLength: 64, decode: (b) => decodeUdp(b, EP), encode: (d) => encodeUdp(d, EP) });
  }, FUZZ_TIMEOUT_MS);

  it('IP-in-IP decapsulation', () => {
    const pkt = ipInIpEncapsulate(INNER, { ...EP, id: 3 });
    fuzzDecoder({ name: 'ip ip-in-ip', genuine: [pkt], fixup: (b) => fixIpv4(fixIpv4(b), 20), maxRandomLength: 80,
      decode: ipInIpDecapsulate,
      encode: (d) => ipInIpEncapsulate(d.inner, { src: d.outer.src, dst: d.outer.dst, ttl: d.outer.ttl, id: d.outer.id }) });
  }, FUZZ_TIMEOUT_MS);

  it('GRE', () => {
    const fixGre = (b: Uint8Array): Uint8Array => {
      if (b.length < 8 || (b[0]! & 0x80) === 0) return b;
      b[4] = 0;
      b[5] = 0;
      const c = internetChecksum(b);
      b[4] = c >> 8;
      b[5] = c & 0xff;
      return b;
    };
    fuzzDecoder({ name: 'ip gre', genuine: [encodeGre({ protocolType: GRE_PROTOCOL_IPV4, checksum: true, payload: INNER }), encodeGre({ protocolType: GRE_PROTOCOL_IPV4, payload: fill(5) })],
      fixup: fixGre, maxRandomLength: 48, decode: decodeGre, encode: encodeGre });
  }, FUZZ_TIMEOUT_MS);

  it('minimal encapsulation (decapsulate and peek)', () => {
    const fixMin = (b: Uint8Array): Uint8Array => {
      fixIpv4(b);
      const ihl = ((b[0] ?? 0) & 0x0f) * 4;
      const fwd = (b[ihl + 1] ?? 0) & 0x80 ? 12 : 8;
      if (ihl < 20 || ihl + fwd > b.length) return b;
      b[ihl + 2] = 0;
      b[ihl + 3] = 0;
      const c = internetChecksum(b, ihl, ihl + fwd);
      b[ihl + 2] = c >> 8;
      b[ihl + 3] = c & 0xff;
      return b;
    };
    const genuine = [minimalEncapsulate(INNER, { dst: '10.1.0.1' }), minimalEncapsulate(INNER, { dst: '10.1.0.1', src: '192.0.2.7' })];
    fuzzDecoder({ name: 'ip minimal-encap decapsulate', genuine, fixup: fixMin, maxRandomLength: 80, decode: minimalDecapsulate });
    fuzzDecoder({ name: 'ip minimal-encap peek', genuine, fixup: fixMin, maxRandomLength: 80, decode: peekMinimalHeader });
  }, FUZZ_TIMEOUT_MS * 2);
});
