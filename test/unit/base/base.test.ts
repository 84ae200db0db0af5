import { describe, expect, it } from 'vitest';
import { TimerTable, backoff } from '../../../app/base/clock.ts';
import { DecodeError, Reader, Writer, bytesToHex, equalBytes, hexToBytes } from '../../../app/base/bytes.ts';
import { inPrefix, ipv4ToBytes, parsePrefix, prefixRange, u32ToIPv4 } from '../../../app/base/ipv4.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

describe('TimerTable', () => {
  it('reports the earliest deadline and expires due keys in order', () => {
    const clock = new ManualClock(0);
    const t = new TimerTable<'retransmit' | 'dpd' | 'rekey'>();
    expect(t.next()).toBeUndefined();
    t.set('dpd', 300);
    t.set('retransmit', 100);
    t.set('rekey', 200);
    expect(t.next()).toBe(100);
    expect(t.expired(clock.advance(99))).toEqual([]);
    expect(t.expired(clock.advance(150))).toEqual(['retransmit', 'rekey']);
    expect(t.next()).toBe(300);
    t.stop('dpd');
    expect(t.next()).toBeUndefined();
    expect(t.expired(clock.advance(1000))).toEqual([]);
  });

  it('re-arming a key replaces its deadline', () => {
    const t = new TimerTable<'a'>();
    t.set('a', 10);
    t.set('a', 50);
    expect(t.expired(20)).toEqual([]);
    expect(t.expired(50)).toEqual(['a']);
  });

  it('backoff doubles and caps', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoff(n, 1000, 2, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe('bytes', () => {
  it('round-trips through Writer and Reader', () => {
    const w = new Writer(2).u8(1).u16(0x0203).u32(0x04050607).u64(0x08090a0b0c0d0e0fn).bytes(hexToBytes('aabb'));
    const b = w.finish();
    expect(bytesToHex(b)).toBe('0102030405060708090a0b0c0d0e0faabb');
    const r = new Reader(b);
    expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([1, 0x0203, 0x04050607, 0x08090a0b0c0d0e0fn]);
    expect(bytesToHex(r.rest())).toBe('aabb');
    expect(() => r.u8()).toThrow(DecodeError);
  });

  it('refuses to read past the end and says where', () => {
    const r = new Reader(new Uint8Array(3), 'IKE header');
    r.u16();
    expect(() => r.u16()).toThrow(/IKE header truncated: need 2 bytes, have 1 \(at offset 2\)/);
  });

  it('compares in constant time semantics', () => {
    expect(equalBytes(hexToBytes('0102'), hexToBytes('0102'))).toBe(true);
    expect(equalBytes(hexToBytes('0102'), hexToBytes('0103'))).toBe(false);
    expect(equalBytes(hexToBytes('01'), hexToBytes('0102'))).toBe(false);
    expect(() => hexToBytes('abc')).toThrow(/invalid hex/);
  });

  it('patches length fields', () => {
    const w = new Writer().u16(0).u32(0xdeadbeef);
    w.patchU16(0, w.length);
    expect(bytesToHex(w.finish())).toBe('0006deadbeef');
  });
});

describe('ipv4', () => {
  it('parses prefixes and tests membership', () => {
    const p = parsePrefix('10.10.0.0/16');
    expect(inPrefix('10.10.200.3', p)).toBe(true);
    expect(inPrefix('10.11.0.1', p)).toBe(false);
    expect(prefixRange(p).map(u32ToIPv4)).toEqual(['10.10.0.0', '10.10.255.255']);
    expect(() => parsePrefix('10.0.0.0/33')).toThrow(/not an IPv4 prefix/);
    expect(() => ipv4ToBytes('300.1.1.1')).toThrow(/not an IPv4 address/);
    expect(inPrefix('1.2.3.4', parsePrefix('0.0.0.0/0'))).toBe(true);
  });
});
