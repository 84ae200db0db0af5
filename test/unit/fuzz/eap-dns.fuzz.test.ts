/**
 * Fuzzing the decoders that came with EAP (issue 20) and split DNS (issue 19):
 * the EAP packet, the EAP-TLS frame, the IKEv2 EAP payload body, and the CP
 * payload with INTERNAL_DNS_DOMAIN read by cpDnsDomains. Random bytes and
 * mutations of genuine encodings either decode or throw a DecodeError; the
 * domain reader never throws at all. See kit.ts for sizes and seeds.
 */
import { describe, it } from 'vitest';
import { decodeEap, encodeEap, EapCode, EapType } from '../../../app/eap/eap-message.ts';
import { decodeEapTls, encodeEapTls } from '../../../app/eap/eap-tls.ts';
import { CfgAttr, CfgType, PayloadType } from '../../../app/wire/ikev2/constants.ts';
import { cpDnsDomains, decodeCpBody, decodeDnsDomain, encodeCpBody } from '../../../app/wire/ikev2/payloads/cp.ts';
import { decodeEapBody, encodeEapBody } from '../../../app/wire/ikev2/payloads/eap.ts';
import { FUZZ_TIMEOUT_MS, fuzzDecoder } from './kit.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const EAP = [
  encodeEap({ code: EapCode.Request, id: 1, type: EapType.Identity, data: new Uint8Array(0) }),
  encodeEap({ code: EapCode.Response, id: 1, type: EapType.Identity, data: enc('carol') }),
  encodeEap({ code: EapCode.Request, id: 2, type: EapType.MsChapV2, data: Uint8Array.of(1, 2, 0, 26, 16, ...new Uint8Array(16).fill(7), ...enc('gw')) }),
  encodeEap({ code: EapCode.Success, id: 3 }),
];

describe('fuzz: EAP and split-DNS decoders', () => {
  it('EAP packet (RFC 3748 §4): DecodeError or a packet; re-encoding is a fixed point', () => {
    fuzzDecoder({ name: 'eap packet', genuine: EAP, maxRandomLength: 64, decode: decodeEap, encode: encodeEap });
  }, FUZZ_TIMEOUT_MS);

  it('EAP-TLS frame (RFC 5216 §3.1): DecodeError or a frame', () => {
    const genuine = [
      encodeEapTls({ start: true, more: false, data: new Uint8Array(0) }),
      encodeEapTls({ start: false, more: true, totalLength: 3000, data: new Uint8Array(400).fill(0x16) }),
      encodeEapTls({ start: false, more: false, data: new Uint8Array(12).fill(0x17) }),
    ];
    fuzzDecoder({ name: 'eap-tls frame', genuine, maxRandomLength: 48, decode: decodeEapTls, encode: encodeEapTls });
  }, FUZZ_TIMEOUT_MS);

  it('IKEv2 EAP payload body: DecodeError or a body', () => {
    fuzzDecoder({ name: 'ikev2 eap payload', genuine: EAP, maxRandomLength: 64, decode: decodeEapBody, encode: (v) => encodeEapBody({ type: PayloadType.EAP, ...v }) });
  }, FUZZ_TIMEOUT_MS);

  it('CP with INTERNAL_DNS_DOMAIN: the CP decodes or throws DecodeError; the domain reader never throws', () => {
    const genuine = [
      encodeCpBody({ type: PayloadType.CP, cfgType: CfgType.Reply, attributes: [
        { kind: 'ip4', type: CfgAttr.InternalIp4Address, address: '10.10.100.1' },
        { kind: 'raw', type: CfgAttr.InternalDnsDomain, value: enc('corp.example') },
        { kind: 'raw', type: CfgAttr.InternalDnsDomain, value: enc('lab.corp.example') }] }),
      encodeCpBody({ type: PayloadType.CP, cfgType: CfgType.Request, attributes: [{ kind: 'raw', type: CfgAttr.InternalDnsDomain, value: new Uint8Array(0) }] }),
    ];
    fuzzDecoder({
      name: 'cp dns domains', genuine, maxRandomLength: 80,
      decode: (b) => {
        const cp = decodeCpBody(b);
        for (const d of cpDnsDomains(cp)) if (decodeDnsDomain(enc(d)) !== d) throw new Error(`domain ${d} does not read back as itself`);
        return cp;
      },
    });
  }, FUZZ_TIMEOUT_MS);
});
