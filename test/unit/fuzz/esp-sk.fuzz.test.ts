/**
 * Fuzzing the decoders that sit behind crypto: ESP (InboundEspSa.decapsulate
 * in app/esp), the IKEv2 SK payload (app/crypto/sk-payload.ts open, then the
 * inner payload chain) and the UDP 4500 classifier. These never throw: every
 * outcome is a typed result. Besides random bytes and mutants (which fail
 * the ICV), "authenticated garbage" — arbitrary plaintext sealed with the
 * SA's real key — reaches the trailer, padding and inner-chain checks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, DecodeError } from '../../../app/base/bytes.ts';
import { createAead } from '../../../app/crypto/aead.ts';
import { createSkCipher } from '../../../app/crypto/sk-payload.ts';
import { encrKeyLength, integKeyLength, type CipherSuite } from '../../../app/crypto/suite.ts';
import { InboundEspSa, OutboundEspSa, type EspSaConfig } from '../../../app/esp/esp-sa.ts';
import { classifyUdp4500, withNonEspMarker } from '../../../app/esp/udp-encap.ts';
import { EncrId, ExchangeType, IntegId, PayloadType } from '../../../app/wire/ikev2/constants.ts';
import { decodeMessage, decodePayloadChain, encodeMessageWithSk, encodePayloadChain } from '../../../app/wire/ikev2/message.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { assertFast, CORE_RUNS, FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzTotal, inputs, Tally } from './kit.ts';
import { PAYLOADS } from './samples.ts';

const SUITES: [string, CipherSuite][] = [
  ['aes256gcm16', { encr: EncrId.AesGcm16, keyLength: 256 }],
  ['chacha20poly1305', { encr: EncrId.ChaCha20Poly1305 }],
  ['aes128-sha256', { encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha2_256_128 }],
];
const SPI = 0xc0ffee01;

function espConfig(suite: CipherSuite): EspSaConfig {
  const keys = { encr: new Uint8Array(encrKeyLength(suite)).map((_, i) => 0x80 + i), integ: new Uint8Array(integKeyLength(suite)).fill(0x42) };
  return { spi: SPI, suite, keys };
}

const INNER = encodeIpv4({ src: '10.10.100.1', dst: '10.10.0.5', protocol: IpProto.Udp }, new Uint8Array(24).fill(7));

/** inner ‖ padding (the RFC 4303 1, 2, 3… or anything) ‖ Pad Length ‖ Next Header */
const espPlaintext = fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 12 }), fc.boolean(), fc.integer({ min: -1, max: 1 }),
  fc.constantFrom(4, 4, 59, 41, 0, 255))
  .map(([inner, padLen, goodPad, lenSkew, nh]) => {
    const pad = goodPad ? Uint8Array.from({ length: padLen }, (_, i) => i + 1) : new Uint8Array(padLen).fill(padLen);
    return concatBytes(inner, pad, Uint8Array.of(Math.max(0, padLen + lenSkew), nh));
  });

describe('fuzz: ESP inbound (app/esp/esp-sa.ts)', () => {
  for (const [name, suite] of SUITES) {
    it(`${name}: decapsulate never throws, drops with a reason, and stays usable`, () => {
      const cfg = espConfig(suite);
      const out = new OutboundEspSa(cfg);
      const inb = new InboundEspSa(cfg);
      const genuine = [1, 2, 3].map((n) => {
        const r = out.encapsulate(INNER.subarray(0, 20 + n * 4));
        if (!r.ok) throw new Error(r.reason);
        return r.packet.slice();
      });
      const aead = suite.integ === undefined ? createAead(name === 'chacha20poly1305' ? 'chacha20poly1305' : 'aes256gcm16', cfg.keys.encr) : undefined;
      let seq = 1000;
      /** ESP header ‖ IV ‖ seal(pt): authentic, with an arbitrary trailer. */
      const forged = (pt: Uint8Array): Uint8Array => {
        const head = new Uint8Array(8);
        new DataView(head.buffer).setUint32(0, SPI);
        new DataView(head.buffer).setUint32(4, seq++);
        const iv = new Uint8Array(8).fill(seq & 0xff);
        return concatBytes(head, iv, aead!.seal(iv, head, pt));
      };
      const tally = new Tally(`esp ${name} decapsulate`);
      const arb = aead
        ? fc.oneof({ weight: 3, arbitrary: inputs({ genuine, maxRandomLength: 96 }).map((b) => ({ b, forged: false })) },
          { weight: 1, arbitrary: espPlaintext.map((pt) => ({ b: forged(pt), forged: true })) })
        : inputs({ genuine, maxRandomLength: 96 }).map((b) => ({ b, forged: false }));
      assertFast(fc.property(arb, ({ b }) => {
        tally.runs++;
        const r = inb.decapsulate(b);
        if (r.ok) tally.accepted++;
        else tally.rejected++;
      }), CORE_RUNS * 2);
      tally.record();
      const dropped = Object.values(inb.counters.drops).reduce((a, n) => a + n, 0);
      expect(dropped + inb.counters.packets).toBe(tally.runs);
      // still usable: a fresh genuine packet is accepted and yields the inner packet
      const fresh = new OutboundEspSa(cfg, { firstSeq: seq + 1 }).encapsulate(INNER);
      if (!fresh.ok) throw new Error(fresh.reason);
      const r = inb.decapsulate(fresh.packet);
      expect(r.ok && r.inner).toEqual(INNER);
    }, FUZZ_TIMEOUT_MS);
  }
});

describe('fuzz: IKEv2 SK payload (app/crypto/sk-payload.ts) and its inner chain', () => {
  for (const [name, suite] of SUITES) {
    it(`${name}: open never throws; an opened body decodes or throws DecodeError`, () => {
      const keys = { encr: new Uint8Array(encrKeyLength(suite)).fill(0x11), integ: new Uint8Array(integKeyLength(suite)).fill(0x22) };
      const sk = createSkCipher(suite, keys);
      const header = { spiI: new Uint8Array(8).fill(1), spiR: new Uint8Array(8).fill(2), exchangeType: ExchangeType.Informational, initiator: false, response: false, messageId: 3 };
      const seal = (first: PayloadType, inner: Uint8Array): Uint8Array => {
        const { bytes, skBodyOffset } = encodeMessageWithSk(header, [], first, sk.bodyLength(inner.length));
        sk.seal(bytes, skBodyOffset, inner);
        return bytes;
      };
      const chain = encodePayloadChain(PAYLOADS.slice(8, 14));
      const genuine = [seal(chain.first, chain.bytes), seal(PayloadType.NoNextPayload, new Uint8Array(0))];
      const aead = suite.integ === undefined ? createAead(name === 'chacha20poly1305' ? 'chacha20poly1305' : 'aes256gcm16', keys.encr) : undefined;
      /** Authentic SK body around arbitrary plaintext (arbitrary pad length and inner chain). */
      const forged = (first: number, pt: Uint8Array): Uint8Array => {
        const { bytes, skBodyOffset } = encodeMessageWithSk(header, [], first, 8 + pt.length + 16);
        const iv = new Uint8Array(8).fill(first);
        bytes.set(iv, skBodyOffset);
        bytes.set(aead!.seal(iv, bytes.subarray(0, skBodyOffset), pt), skBodyOffset + 8);
        return bytes;
      };
      const arb = aead
        ? fc.oneof({ weight: 3, arbitrary: inputs({ genuine, maxRandomLength: 128 }) },
          { weight: 1, arbitrary: fc.tuple(fc.constantFrom(chain.first, chain.first, 0, 33, 41, 44, 47, 99), inputs({ genuine: [chain.bytes], maxRandomLength: 64 }),
            fc.integer({ min: 0, max: 20 }), fc.integer({ min: -1, max: 1 }))
            .map(([f, inner, padLen, skew]) => forged(f, concatBytes(inner, new Uint8Array(padLen), Uint8Array.of(Math.max(0, padLen + skew))))) })
        : inputs({ genuine, maxRandomLength: 128 });
      const tally = new Tally(`sk ${name} open + inner chain`);
      assertFast(fc.property(arb, (msg) => {
        tally.runs++;
        let m;
        try {
          m = decodeMessage(msg);
        } catch (e) {
          if (e instanceof DecodeError) return void tally.rejected++;
          throw e;
        }
        const skp = m.payloads.find((p) => p.type === PayloadType.SK);
        if (!skp || skp.type !== PayloadType.SK || m.skBodyOffset === undefined) return void tally.rejected++;
        const opened = sk.open(msg, m.skBodyOffset);
        if (!opened.ok) return void tally.rejected++;
        try {
          decodePayloadChain(skp.firstInner, opened.inner);
          tally.accepted++;
        } catch (e) {
          if (e instanceof DecodeError) return void tally.rejected++;
          throw e;
        }
      }), FUZZ_RUNS);
      tally.record();
      // the genuine message still opens to the chain it carried
      const m = decodeMessage(genuine[0]!);
      const opened = sk.open(genuine[0]!, m.skBodyOffset!);
      expect(opened.ok && opened.inner).toEqual(chain.bytes);
    }, FUZZ_TIMEOUT_MS);
  }
});

describe('fuzz: UDP 4500 classifier (app/esp/udp-encap.ts)', () => {
  it('classifies every datagram without throwing', () => {
    fuzzTotal({
      name: 'esp classifyUdp4500', genuine: [withNonEspMarker(new Uint8Array(40).fill(3)), Uint8Array.of(0xff), new Uint8Array(12).fill(9)], maxRandomLength: 48,
      run: (b) => classifyUdp4500(b).kind !== 'invalid',
    });
  }, FUZZ_TIMEOUT_MS);
});
