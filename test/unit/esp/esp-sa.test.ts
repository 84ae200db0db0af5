import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../app/base/bytes.ts';
import { EncrId, IntegId } from '../../../app/wire/ikev2/constants.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { createAead } from '../../../app/crypto/aead.ts';
import type { AeadBackend } from '../../../app/crypto/aead.ts';
import { encrKeyLength, integKeyLength } from '../../../app/crypto/suite.ts';
import type { CipherSuite } from '../../../app/crypto/suite.ts';
import { InboundEspSa, OutboundEspSa } from '../../../app/esp/esp-sa.ts';
import type { EspSaConfig } from '../../../app/esp/esp-sa.ts';
import { loadVectors } from '../crypto/vectors.ts';

interface Rfc7634Esp { keymat: string; source: string; plaintext: string; esp_packet: string; iv: string; seq: number; spi: string; outer: { src: string; dst: string; id: number; ttl: number } }
const a = loadVectors<{ esp: Rfc7634Esp }>('rfc7634.json').esp;

const ESP_SUITES: [string, CipherSuite][] = [
  ['aes128gcm16', { encr: EncrId.AesGcm16, keyLength: 128 }],
  ['aes256gcm16', { encr: EncrId.AesGcm16, keyLength: 256 }],
  ['chacha20poly1305', { encr: EncrId.ChaCha20Poly1305 }],
  ['aes128-sha256', { encr: EncrId.AesCbc, keyLength: 128, integ: IntegId.HmacSha2_256_128 }],
  ['aes256-sha256', { encr: EncrId.AesCbc, keyLength: 256, integ: IntegId.HmacSha2_256_128 }],
];
const BACKENDS: AeadBackend[] = ['node', 'noble'];

function config(suite: CipherSuite, backend?: AeadBackend, spi = 0xc0ffee01): EspSaConfig {
  const keys = { encr: new Uint8Array(encrKeyLength(suite)).map((_, i) => 0x80 + i), integ: new Uint8Array(integKeyLength(suite)).fill(0x42) };
  return backend ? { spi, suite, keys, backend } : { spi, suite, keys };
}

/** A plausible inner IPv4 packet of n bytes. */
function innerPacket(n: number): Uint8Array {
  const payload = new Uint8Array(Math.max(0, n - 20)).map((_, i) => (i * 7) & 0xff);
  return encodeIpv4({ src: '10.0.0.2', dst: '192.0.2.9', protocol: IpProto.Udp, id: n }, payload);
}

describe('RFC 7634 Appendix A: the ESP packet, byte for byte', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: SPI 0x01020304, Seq 5, IV 0x1011…17, pad 01 02, NH 4`, () => {
      const spi = 0x01020304;
      const keys = { encr: hexToBytes(a.keymat), integ: new Uint8Array(0) };
      const out = new OutboundEspSa({ spi, suite: { encr: EncrId.ChaCha20Poly1305 }, keys, backend }, {
        firstSeq: a.seq, fillIv: (iv) => iv.set(hexToBytes(a.iv)),
      });
      const r = out.encapsulate(hexToBytes(a.source));
      if (!r.ok) throw new Error(r.reason);
      expect(r.seq).toBe(5);
      const ip = encodeIpv4({ src: a.outer.src, dst: a.outer.dst, protocol: IpProto.Esp, id: a.outer.id, ttl: a.outer.ttl }, r.packet);
      expect(bytesToHex(ip)).toBe(a.esp_packet);

      const inb = new InboundEspSa({ spi, suite: { encr: EncrId.ChaCha20Poly1305 }, keys, backend });
      const d = inb.decapsulate(hexToBytes(a.esp_packet).subarray(20));
      expect(d.ok && bytesToHex(d.inner)).toBe(a.source);
      expect(d.ok && d.seq).toBe(5);
    });
  }
});

describe('ESP round trips for every suite and backend', () => {
  for (const [name, suite] of ESP_SUITES) {
    for (const backend of BACKENDS) {
      it(`${name} on ${backend} → ${backend === 'node' ? 'noble' : 'node'}`, () => {
        const out = new OutboundEspSa(config(suite, backend));
        const inb = new InboundEspSa(config(suite, backend === 'node' ? 'noble' : 'node'));
        for (const n of [20, 21, 64, 576, 1400]) {
          const inner = innerPacket(n);
          const r = out.encapsulate(inner);
          if (!r.ok) throw new Error(r.reason);
          const block = suite.encr === EncrId.AesCbc ? 16 : 4;
          const ivLen = suite.encr === EncrId.AesCbc ? 16 : 8;
          const icv = 16;
          const ptLen = r.packet.length - 8 - ivLen - icv;
          expect(ptLen % block).toBe(0);
          expect(ptLen - inner.length).toBeGreaterThanOrEqual(2);
          expect(ptLen - inner.length).toBeLessThan(2 + block);
          expect((8 + ivLen + ptLen) % 4).toBe(0);
          const d = inb.decapsulate(r.packet);
          expect(d.ok && bytesToHex(d.inner), `${name} ${n}`).toBe(bytesToHex(inner));
        }
        expect(out.counters).toMatchObject({ packets: 5, bytes: 20 + 21 + 64 + 576 + 1400 });
        expect(inb.counters.packets).toBe(5);
        expect(inb.window.top).toBe(5);
      });
    }
  }
});

describe('ESP inbound rejections (typed, window untouched)', () => {
  for (const [name, suite] of ESP_SUITES) {
    it(`${name}: tampered ICV, ciphertext, SPI, Seq, replay, short`, () => {
      const out = new OutboundEspSa(config(suite));
      const inb = new InboundEspSa(config(suite));
      const good = out.encapsulate(innerPacket(100));
      if (!good.ok) throw new Error(good.reason);
      const drop = (mutate: (p: Uint8Array) => void) => {
        const p = good.packet.slice();
        mutate(p);
        const before = inb.window.top;
        const r = inb.decapsulate(p);
        expect(inb.window.top).toBe(before);
        return r;
      };
      expect(drop((p) => { p[p.length - 1]! ^= 1; })).toEqual({ ok: false, reason: 'icv' });
      expect(drop((p) => { p[30]! ^= 0x40; })).toEqual({ ok: false, reason: 'icv' });
      expect(drop((p) => { p[3]! ^= 1; })).toEqual({ ok: false, reason: 'spi' });
      expect(drop((p) => { p[7] = 9; })).toEqual({ ok: false, reason: 'icv' }); // Seq is authenticated
      expect(drop((p) => { p.fill(0, 4, 8); })).toEqual({ ok: false, reason: 'replay' }); // Seq 0
      expect(inb.window.check(1)).toBe(true); // none of those consumed Seq 1
      expect(inb.decapsulate(good.packet.slice()).ok).toBe(true);
      expect(drop(() => undefined)).toEqual({ ok: false, reason: 'replay' });
      expect(inb.decapsulate(good.packet.subarray(0, 8 + 8 + 16))).toEqual({ ok: false, reason: 'short' });
      expect(inb.counters.drops).toMatchObject({ icv: 3, spi: 1, replay: 2, short: 1 });
    });
  }

  it('a failed ICV leaves the packet buffer as it was (decryption only after verification)', () => {
    for (const backend of BACKENDS) {
      for (const [, suite] of ESP_SUITES) {
        const r = new OutboundEspSa(config(suite, backend)).encapsulate(innerPacket(80));
        if (!r.ok) throw new Error(r.reason);
        r.packet[r.packet.length - 2]! ^= 1;
        const before = bytesToHex(r.packet);
        expect(new InboundEspSa(config(suite, backend)).decapsulate(r.packet)).toEqual({ ok: false, reason: 'icv' });
        expect(bytesToHex(r.packet)).toBe(before);
      }
    }
  });

  it('authentic packets with bad trailers: padding, next header; dummies (NH 59) are dropped', () => {
    const suite = ESP_SUITES[1]![1];
    const inb = new InboundEspSa(config(suite));
    const out = new OutboundEspSa(config(suite));
    const dummy = out.encapsulateDummy(10);
    expect(dummy.ok).toBe(true);
    if (dummy.ok) expect(inb.decapsulate(dummy.packet)).toEqual({ ok: false, reason: 'dummy' });
    const ipv6 = out.encapsulate(new Uint8Array(40), 41);
    if (ipv6.ok) expect(inb.decapsulate(ipv6.packet)).toEqual({ ok: false, reason: 'next-header' });
    expect(inb.window.top).toBe(2); // authentic, so they did move the window
    // authentic packets built by hand: padding 9 9 instead of 1 2, and a Pad Length past the start
    const c = config(suite);
    const aead = createAead('aes256gcm16', c.keys.encr);
    const forge = (seq: number, trailer: number[]): Uint8Array => {
      const pt = [...new Uint8Array(20), ...trailer];
      const pkt = new Uint8Array(16 + pt.length + 16);
      new DataView(pkt.buffer).setUint32(0, c.spi);
      new DataView(pkt.buffer).setUint32(4, seq);
      pkt[15] = seq;
      aead.sealInto(pkt, 16, pkt.subarray(8, 16), pkt.subarray(0, 8), Uint8Array.from(pt));
      return pkt;
    };
    expect(inb.decapsulate(forge(3, [1, 2, 2, 4])).ok).toBe(true); // the control: default padding
    expect(inb.decapsulate(forge(4, [9, 9, 2, 4]))).toEqual({ ok: false, reason: 'padding' });
    expect(inb.decapsulate(forge(5, [1, 2, 200, 4]))).toEqual({ ok: false, reason: 'padding' });
    expect(inb.counters.drops.padding).toBe(2);
    expect(inb.counters.drops).toMatchObject({ dummy: 1, 'next-header': 1 });
  });
});

describe('ESP outbound sequence numbers', () => {
  it('starts at 1, asks for a rekey from rekeySeq on, and never wraps', () => {
    const suite = ESP_SUITES[0]![1];
    const out = new OutboundEspSa(config(suite));
    const first = out.encapsulate(innerPacket(20));
    expect(first.ok && first.seq).toBe(1);
    expect(first.ok && first.rekey).toBe(false);
    expect(first.ok && bytesToHex(first.packet.subarray(8, 16))).toBe('0000000000000001'); // IV = Seq

    const end = new OutboundEspSa(config(suite), { firstSeq: 0xffff_fffe, rekeySeq: 0xffff_ff00 });
    const a1 = end.encapsulate(innerPacket(20));
    const a2 = end.encapsulate(innerPacket(20));
    expect(a1.ok && a1.rekey).toBe(true);
    expect(a2.ok && a2.seq).toBe(0xffff_ffff);
    expect(end.encapsulate(innerPacket(20))).toEqual({ ok: false, reason: 'seq-exhausted' });
    expect(end.counters.refused).toBe(1);

    const inb = new InboundEspSa(config(suite));
    expect(a2.ok && inb.decapsulate(a2.packet).ok).toBe(true);
  });

  it('CBC IVs are random; AEAD IVs never repeat within an SA', () => {
    const cbc = new OutboundEspSa(config(ESP_SUITES[3]![1]));
    const p1 = cbc.encapsulate(innerPacket(20));
    const p2 = cbc.encapsulate(innerPacket(20));
    if (!p1.ok || !p2.ok) throw new Error('encapsulate');
    expect(bytesToHex(p1.packet.subarray(8, 24))).not.toBe(bytesToHex(p2.packet.subarray(8, 24)));
  });
});
