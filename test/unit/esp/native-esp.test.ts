/**
 * The native ESP of the data plane (native-tunnel/src/esp_core.h) against the
 * JavaScript reference (app/esp/esp-sa.ts): the same packets with the same
 * IVs (the 64-bit Seq) give the same bytes in both directions, and malformed
 * ESP is dropped for the same reason by both — never a crash.
 */
import { describe, expect, it } from 'vitest';
import { EncrId } from '../../../app/wire/ikev2/constants.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import type { CipherSuite } from '../../../app/crypto/suite.ts';
import { encrKeyLength } from '../../../app/crypto/suite.ts';
import { InboundEspSa, OutboundEspSa } from '../../../app/esp/esp-sa.ts';
import { ipv4ToU32 } from '../../../app/base/ipv4.ts';
import { loadDataplaneAddon } from '../../../native-tunnel/index.ts';
import type { NativeAeadAlg, NativeEspSa } from '../../../native-tunnel/index.ts';
import { prng } from '../../harness/prng.ts';

const addon = loadDataplaneAddon();

const SUITES: [NativeAeadAlg, CipherSuite][] = [
  ['aes128gcm16', { encr: EncrId.AesGcm16, keyLength: 128 }],
  ['aes256gcm16', { encr: EncrId.AesGcm16, keyLength: 256 }],
  ['chacha20poly1305', { encr: EncrId.ChaCha20Poly1305 }],
];
const SPI = 0xc0ffee01;


function keymatOf(suite: CipherSuite, seed: number): Uint8Array {
  const r = prng(seed);
  return new Uint8Array(encrKeyLength(suite)).map(() => r() & 0xff);
}

function innerPacket(n: number, src = '10.10.0.5', dst = '10.10.100.1'): Uint8Array {
  const payload = new Uint8Array(Math.max(0, n - 20)).map((_, i) => (i * 13 + n) & 0xff);
  return encodeIpv4({ src, dst, protocol: IpProto.Udp, id: n & 0xffff }, payload);
}

const SIZES = [20, 21, 22, 23, 24, 40, 63, 64, 65, 576, 1279, 1280, 1400, 1420, 1500, 9000];

describe('native ESP = JavaScript ESP, byte for byte', () => {
  for (const [alg, suite] of SUITES) {
    it(`${alg}: outbound packets are identical (same Seq, same IV), and each side opens the other's`, () => {
      const keys = { encr: keymatOf(suite, 7), integ: new Uint8Array(0) };
      const js = new OutboundEspSa({ spi: SPI, suite, keys });
      const native = new addon.EspSa({ dir: 'out', spi: SPI, alg, keymat: keys.encr });
      const jsIn = new InboundEspSa({ spi: SPI, suite, keys });
      const nativeIn = new addon.EspSa({ dir: 'in', spi: SPI, alg, keymat: keys.encr });
      for (const n of SIZES) {
        const inner = innerPacket(n);
        const a = js.encapsulate(inner);
        const b = native.seal(inner);
        expect(a.ok).toBe(true);
        if (!a.ok || typeof b === 'string') throw new Error('refused');
        expect(Buffer.from(b).toString('hex')).toBe(Buffer.from(a.packet).toString('hex'));
        // JS opens the native packet; native opens the JS packet
        const fromNative = jsIn.decapsulate(b.slice());
        expect(fromNative.ok && Buffer.from(fromNative.inner).equals(inner)).toBe(true);
        const copy = a.packet.slice();
        const r = nativeIn.open(copy);
        if (typeof r === 'string') throw new Error(`native open: ${r}`);
        expect(Buffer.from(copy.subarray(r.offset, r.offset + r.length)).equals(inner)).toBe(true);
        expect(r.seq).toBe(a.seq);
      }
      expect(native.stats().packets).toBe(SIZES.length);
      expect(nativeIn.stats().packets).toBe(SIZES.length);
    });
  }

  it('sealInto writes the same bytes as seal, into a reused buffer', () => {
    const [alg, suite] = SUITES[1]!;
    const keymat = keymatOf(suite, 9);
    const a = new addon.EspSa({ dir: 'out', spi: SPI, alg, keymat });
    const b = new addon.EspSa({ dir: 'out', spi: SPI, alg, keymat });
    const out = new Uint8Array(2048);
    for (const n of [20, 1400]) {
      const inner = innerPacket(n);
      const len = b.sealInto(inner, out);
      const p = a.seal(inner);
      if (typeof p === 'string') throw new Error(p);
      expect(len).toBe(p.length);
      expect(Buffer.from(out.subarray(0, len)).equals(p)).toBe(true);
    }
    expect(b.sealInto(innerPacket(1400), new Uint8Array(100))).toBe(0);
  });

  it('refuses to wrap the sequence number (RFC 4303 §3.3.3), as the JS SA does', () => {
    const [alg, suite] = SUITES[0]!;
    const keymat = keymatOf(suite, 3);
    const native = new addon.EspSa({ dir: 'out', spi: SPI, alg, keymat, firstSeq: 0xffff_ffff });
    const js = new OutboundEspSa({ spi: SPI, suite, keys: { encr: keymat, integ: new Uint8Array(0) } }, { firstSeq: 0xffff_ffff });
    const last = native.seal(innerPacket(40));
    const jsLast = js.encapsulate(innerPacket(40));
    if (typeof last === 'string' || !jsLast.ok) throw new Error('the last Seq was refused');
    expect(Buffer.from(last).equals(jsLast.packet)).toBe(true);
    expect(native.seal(innerPacket(40))).toBe('seq-exhausted');
    expect(js.encapsulate(innerPacket(40))).toEqual({ ok: false, reason: 'seq-exhausted' });
    expect(native.stats().refused).toBe(1);
  });
});

describe('native inbound checks', () => {
  const [alg, suite] = SUITES[1]!;
  const keymat = keymatOf(suite, 11);
  const seal = (seq: number, inner = innerPacket(100)): Uint8Array => {
    const o = new addon.EspSa({ dir: 'out', spi: SPI, alg, keymat, firstSeq: seq });
    const p = o.seal(inner);
    if (typeof p === 'string') throw new Error(p);
    return p;
  };

  it('a replay, a packet older than the window and a forged ICV are dropped; a forgery does not move the window', () => {
    const sa: NativeEspSa = new addon.EspSa({ dir: 'in', spi: SPI, alg, keymat });
    const p5 = seal(5);
    expect(typeof sa.open(p5.slice())).toBe('object');
    expect(sa.open(p5.slice())).toBe('replay');
    // a forged packet with a far-ahead Seq: ICV fails, and the window stays where it was
    const forged = seal(1000);
    forged[forged.length - 1]! ^= 1;
    expect(sa.open(forged)).toBe('icv');
    expect(typeof sa.open(seal(6))).toBe('object');
    expect(typeof sa.open(seal(300))).toBe('object');
    expect(sa.open(seal(100))).toBe('replay'); // 300 - 100 ≥ 128: too old
    expect(typeof sa.open(seal(250))).toBe('object');
    expect(sa.open(seal(0))).toBe('replay'); // Seq 0 is never valid
    const s = sa.stats();
    expect(s.packets).toBe(4);
    expect(s.drops).toMatchObject({ replay: 3, icv: 1 });
  });

  it('another SPI and a short packet are dropped', () => {
    const sa = new addon.EspSa({ dir: 'in', spi: SPI + 1, alg, keymat });
    expect(sa.open(seal(1))).toBe('spi');
    expect(sa.open(new Uint8Array(20))).toBe('short');
  });

  it('the decapsulated packet must match the SA selectors (RFC 4301 §5.2)', () => {
    const range = (a: string, b = a): [number, number] => [ipv4ToU32(a), ipv4ToU32(b)];
    const sa = new addon.EspSa({ dir: 'in', spi: SPI, alg, keymat, localTs: [range('10.10.100.1')], remoteTs: [range('10.10.0.0', '10.10.0.255')] });
    expect(typeof sa.open(seal(1, innerPacket(60, '10.10.0.5', '10.10.100.1')))).toBe('object');
    expect(sa.open(seal(2, innerPacket(60, '192.0.2.9', '10.10.100.1')))).toBe('selector');
    expect(sa.open(seal(3, innerPacket(60, '10.10.0.5', '10.10.100.2')))).toBe('selector');
    expect(sa.stats().drops.selector).toBe(2);
  });

  it('bad options are typed errors that name the field', () => {
    expect(() => new addon.EspSa({ dir: 'in', spi: SPI, alg, keymat: new Uint8Array(5) })).toThrow(/keymat/);
    expect(() => new addon.EspSa({ dir: 'in', spi: 0, alg, keymat })).toThrow(/spi/);
    expect(() => new addon.EspSa({ dir: 'in', spi: SPI, alg: 'des' as NativeAeadAlg, keymat })).toThrow(/alg/);
    expect(() => new addon.EspSa({ dir: 'sideways' as 'in', spi: SPI, alg, keymat })).toThrow(/dir/);
  });
});

describe('fuzz: malformed ESP through the native path and the JS reference', () => {
  for (const [alg, suite] of SUITES) {
    it(`${alg}: 3000 mutated packets — no crash, the same verdict as JS, every drop counted`, () => {
      const keys = { encr: keymatOf(suite, 21), integ: new Uint8Array(0) };
      const out = new addon.EspSa({ dir: 'out', spi: SPI, alg, keymat: keys.encr });
      const nativeIn = new addon.EspSa({ dir: 'in', spi: SPI, alg, keymat: keys.encr });
      const jsIn = new InboundEspSa({ spi: SPI, suite, keys });
      const r = prng(0x5eed + alg.length);
      let accepted = 0;
      let dropped = 0;
      const pool: Uint8Array[] = [];
      for (let i = 0; i < 3000; i++) {
        let pkt: Uint8Array;
        const kind = r() % 8;
        if (kind === 0 || pool.length === 0) {
          const p = out.seal(innerPacket(20 + (r() % 1400)), r() % 16 === 0 ? 59 : 4);
          if (typeof p === 'string') throw new Error(p);
          pkt = p;
          pool.push(p);
        } else if (kind === 1) {
          pkt = new Uint8Array(r() % 64).map(() => r() & 0xff); // garbage, often short
        } else if (kind === 2) {
          const base = pool[r() % pool.length]!;
          pkt = base.slice(0, r() % (base.length + 1)); // truncated
        } else if (kind === 3) {
          pkt = pool[r() % pool.length]!.slice(); // a replay or a reordered packet
        } else {
          // bit flips in a packet seen before (mostly a replay) or in a fresh one (an ICV failure, or a bad SPI)
          const fresh = kind >= 6 ? out.seal(innerPacket(20 + (r() % 1400))) : undefined;
          if (typeof fresh === 'string') throw new Error(fresh);
          pkt = fresh ?? pool[r() % pool.length]!.slice();
          for (let k = 0; k < 1 + (r() % 3); k++) pkt[r() % pkt.length]! ^= 1 << (r() % 8); // bit flips
        }
        const nat = nativeIn.open(pkt.slice());
        const ref = jsIn.decapsulate(pkt.slice());
        if (typeof nat === 'string') {
          dropped++;
          expect(ref.ok ? 'accepted' : ref.reason).toBe(nat);
        } else {
          accepted++;
          expect(ref.ok).toBe(true);
          if (ref.ok) expect(ref.inner.length).toBe(nat.length);
        }
      }
      const s = nativeIn.stats();
      expect(s.packets).toBe(accepted);
      expect(Object.values(s.drops).reduce((a, b) => a + b, 0)).toBe(dropped);
      expect(accepted).toBeGreaterThan(100);
      expect(s.drops.icv).toBeGreaterThan(100);
      expect(s.drops.replay).toBeGreaterThan(50);
    });
  }
});
