/**
 * TUN offloads of the native data path (native-tunnel/src/tun_offload.h): the
 * TSO segmentation the tx thread runs on a super-packet the kernel hands it,
 * the GRO-style coalescing the rx thread runs before writing opened packets to
 * the TUN, and the NEEDS_CSUM completion. Checked against segments built here
 * field by field as the kernel's software GSO builds them (tcp_gso_segment,
 * inet_gso_segment: IP ID + i, FIN/PSH on the last, CWR on the first, both
 * checksums), with the JavaScript checksum (app/wire/ip/checksum.ts). The
 * addon's offload* functions run exactly the code the threads run, without a
 * TUN (no root needed). Malformed and odd packets are never coalesced, never
 * crash, and are counted.
 */
import { describe, expect, it } from 'vitest';
import { checksumValid, internetChecksum, onesSum } from '../../../app/wire/ip/checksum.ts';
import { loadDataplaneAddon } from '../../../native-tunnel/index.ts';
import { prng } from '../../harness/prng.ts';

const addon = loadDataplaneAddon();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;
const ECE = 0x40;
const CWR = 0x80;

interface Seg {
  src?: [number, number, number, number];
  dst?: [number, number, number, number];
  id: number;
  df?: boolean;
  mf?: boolean;
  ttl?: number;
  tos?: number;
  ipOptions?: number;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags?: number;
  window?: number;
  urgent?: number;
  tcpOptions?: Uint8Array;
  payload: Uint8Array;
  /** the TCP checksum field: 'valid' (default), 'pseudo' (NEEDS_CSUM: the pseudo-header sum), or a fixed value */
  csum?: 'valid' | 'pseudo' | number;
}

const TS_OPTION = Uint8Array.of(1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78); // NOP NOP timestamps

function pseudo(p: Uint8Array, tcpLen: number): number {
  return onesSum(p, 12, 20) + 6 + tcpLen;
}

/** An IPv4/TCP packet, every field spelled out (the reference the native code is held to). */
function tcp(s: Seg): Uint8Array {
  const ihl = 20 + (s.ipOptions ?? 0);
  const opts = s.tcpOptions ?? new Uint8Array(0);
  const doff = 20 + opts.length;
  const total = ihl + doff + s.payload.length;
  const p = new Uint8Array(total);
  const dv = new DataView(p.buffer);
  p[0] = 0x40 | (ihl / 4);
  p[1] = s.tos ?? 0;
  dv.setUint16(2, total);
  dv.setUint16(4, s.id & 0xffff);
  dv.setUint16(6, ((s.df ?? true) ? 0x4000 : 0) | (s.mf ? 0x2000 : 0));
  p[8] = s.ttl ?? 64;
  p[9] = 6;
  p.set(s.src ?? [10, 1, 0, 5], 12);
  p.set(s.dst ?? [10, 10, 0, 77], 16);
  for (let i = 20; i < ihl; i++) p[i] = 1; // NOP options
  dv.setUint16(10, internetChecksum(p, 0, ihl));
  dv.setUint16(ihl, s.sport ?? 5201);
  dv.setUint16(ihl + 2, s.dport ?? 40000);
  dv.setUint32(ihl + 4, s.seq >>> 0);
  dv.setUint32(ihl + 8, (s.ack ?? 0x01020304) >>> 0);
  p[ihl + 12] = (doff / 4) << 4;
  p[ihl + 13] = s.flags ?? ACK;
  dv.setUint16(ihl + 14, s.window ?? 502);
  dv.setUint16(ihl + 18, s.urgent ?? 0);
  p.set(opts, ihl + 20);
  p.set(s.payload, ihl + doff);
  const c = s.csum ?? 'valid';
  if (c === 'valid') dv.setUint16(ihl + 16, internetChecksum(p, ihl, total, pseudo(p, total - ihl)));
  else if (c === 'pseudo') dv.setUint16(ihl + 16, foldTo16(pseudo(p, total - ihl)));
  else dv.setUint16(ihl + 16, c);
  return p;
}

function foldTo16(x: number): number {
  while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
  return x;
}

function bytes(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);
}


const TSO = { gsoType: 1, flags: 1, csumStart: 20, csumOffset: 16 };

/** The segments of a stream, as the sender's kernel would have put them on the wire one by one. */
function stream(n: number, o: { gso?: number; last?: number; seq?: number; id?: number; pshLast?: boolean; opts?: Uint8Array } = {}): Uint8Array[] {
  const gso = o.gso ?? 1448;
  const out: Uint8Array[] = [];
  let seq = o.seq ?? 1000;
  for (let i = 0; i < n; i++) {
    const len = i === n - 1 ? (o.last ?? gso) : gso;
    out.push(tcp({ id: (o.id ?? 100) + i, seq, flags: ACK | (i === n - 1 && o.pshLast ? PSH : 0), payload: bytes(len, i), tcpOptions: o.opts ?? TS_OPTION }));
    seq = (seq + len) >>> 0;
  }
  return out;
}

describe('TSO: a super-packet the kernel hands the tx thread, segmented', () => {
  it('gives exactly the segments the kernel would have sent: IP ID + i, seq, FIN/PSH last, CWR first, both checksums', () => {
    const payload = bytes(10_000, 3);
    const seq = 0xffff_f000; // wraps within the super-packet
    const sp = tcp({ id: 0xfffe, seq, flags: ACK | PSH | FIN | CWR, payload, tcpOptions: TS_OPTION, csum: 'pseudo' });
    const segs = addon.offloadSegment({ ...TSO, hdrLen: 52, gsoSize: 1448 }, sp);
    expect(Array.isArray(segs)).toBe(true);
    if (!Array.isArray(segs)) return;
    expect(segs.length).toBe(Math.ceil(10_000 / 1448));
    segs.forEach((got, i) => {
      const len = Math.min(1448, 10_000 - i * 1448);
      const last = i === segs.length - 1;
      const want = tcp({
        id: (0xfffe + i) & 0xffff,
        seq: (seq + i * 1448) >>> 0,
        flags: ACK | (last ? PSH | FIN : 0) | (i === 0 ? CWR : 0),
        payload: payload.subarray(i * 1448, i * 1448 + len),
        tcpOptions: TS_OPTION,
      });
      expect(hex(got)).toBe(hex(want));
      expect(checksumValid(got, 0, 20)).toBe(true);
      expect(checksumValid(got, 20, got.length, pseudo(got, got.length - 20))).toBe(true);
    });
  });

  it('refuses what it cannot cut: not TCPv4, bad lengths, gso size 0, fragments', () => {
    const sp = tcp({ id: 1, seq: 1, payload: bytes(4000, 1) });
    expect(addon.offloadSegment({ ...TSO, gsoType: 3, gsoSize: 1000 }, sp)).toBe('gso-not-tcpv4');
    expect(addon.offloadSegment({ ...TSO, gsoSize: 0 }, sp)).toBe('gso-bad-size');
    expect(addon.offloadSegment({ ...TSO, gsoSize: 1000 }, sp.subarray(0, 3000))).toBe('gso-bad-length');
    expect(addon.offloadSegment({ ...TSO, gsoSize: 1000 }, sp.subarray(0, 30))).toBe('gso-not-tcpv4');
    expect(addon.offloadSegment({ ...TSO, gsoSize: 1000 }, tcp({ id: 1, seq: 1, mf: true, payload: bytes(4000, 1) }))).toBe('gso-bad-length');
    const udp = sp.slice();
    udp[9] = 17;
    expect(addon.offloadSegment({ ...TSO, gsoSize: 1000 }, udp)).toBe('gso-not-tcpv4');
    const noPayload = tcp({ id: 1, seq: 1, payload: new Uint8Array(0) });
    expect(addon.offloadSegment({ ...TSO, gsoSize: 1000 }, noPayload)).toBe('gso-bad-length');
  });

  it('never crashes on random headers and bytes', () => {
    const rnd = prng(17);
    const base = tcp({ id: 9, seq: 9, payload: bytes(3000, 9), tcpOptions: TS_OPTION });
    for (let i = 0; i < 3000; i++) {
      const p = base.slice(0, rnd() % (base.length + 1));
      for (let k = rnd() % 4; k > 0; k--) if (p.length) p[rnd() % p.length] = rnd() & 0xff;
      const r = addon.offloadSegment({ gsoType: rnd() % 2 ? 1 : rnd() & 0xff, gsoSize: rnd() % 3 ? rnd() % 2000 : rnd() & 0xffff }, p);
      if (Array.isArray(r)) for (const s of r) expect(s.length).toBeGreaterThan(0);
      else expect(typeof r).toBe('string');
    }
  });
});

describe('coalescing: opened packets written to the TUN as super-packets', () => {
  it('joins one flow in order into one GSO write that segments back to the same packets', () => {
    const segs = stream(20, { last: 700, pshLast: true });
    const r = addon.offloadCoalesce(segs);
    expect(r.out.length).toBe(1);
    const o = r.out[0]!;
    expect(o.count).toBe(20);
    expect(o.hdr).toEqual({ flags: 1, gsoType: 1, hdrLen: 52, gsoSize: 1448, csumStart: 20, csumOffset: 16 });
    expect(o.bytes.length).toBe(52 + 19 * 1448 + 700);
    expect(checksumValid(o.bytes, 0, 20)).toBe(true);
    expect(o.bytes[33]! & PSH).toBe(PSH);
    // the TCP checksum field holds the pseudo-header sum (NEEDS_CSUM), as the kernel expects
    expect(new DataView(o.bytes.buffer, o.bytes.byteOffset).getUint16(36)).toBe(foldTo16(pseudo(o.bytes, o.bytes.length - 20)));
    const back = addon.offloadSegment(o.hdr, o.bytes);
    expect(Array.isArray(back) && back.map(hex)).toEqual(segs.map(hex));
    const done = o.bytes.slice();
    expect(addon.offloadCompleteCsum(done, o.hdr.csumStart, o.hdr.csumOffset)).toBe(true);
    expect(checksumValid(done, 20, done.length, pseudo(done, done.length - 20))).toBe(true);
  });

  it('a PSH or a short segment ends a run; a run never exceeds 64 KB', () => {
    const a = stream(3, { pshLast: true, seq: 1000, id: 10 });
    const b = stream(3, { seq: 1000 + 3 * 1448, id: 13 });
    const r = addon.offloadCoalesce([...a, ...b]);
    expect(r.out.map((o) => o.count)).toEqual([3, 3]);
    const short = stream(4, { last: 100, seq: 1, id: 1 });
    const more = stream(2, { seq: 1 + 3 * 1448 + 100, id: 5 });
    expect(addon.offloadCoalesce([...short, ...more]).out.map((o) => o.count)).toEqual([4, 2]);
    const big = stream(60, { gso: 1448 });
    const rb = addon.offloadCoalesce(big);
    expect(rb.out.map((o) => o.count)).toEqual([45, 15]); // 52 + 45 * 1448 ≤ 65535 < 52 + 46 * 1448
    for (const o of rb.out) expect(o.bytes.length).toBeLessThanOrEqual(65535);
  });

  /** Each case spoils packet 2 of 5; the packets before it form one run, nothing is lost or reordered. */
  const spoil: [string, (s: Seg) => Seg, string | undefined][] = [
    ['SYN', (s) => ({ ...s, flags: ACK | SYN }), 'tcp-flags'],
    ['FIN', (s) => ({ ...s, flags: ACK | FIN }), 'tcp-flags'],
    ['RST', (s) => ({ ...s, flags: ACK | RST }), 'tcp-flags'],
    ['URG', (s) => ({ ...s, flags: ACK | URG, urgent: 5 }), 'tcp-flags'],
    ['ECE', (s) => ({ ...s, flags: ACK | ECE }), 'tcp-flags'],
    ['CWR', (s) => ({ ...s, flags: ACK | CWR }), 'tcp-flags'],
    ['no ACK', (s) => ({ ...s, flags: PSH }), 'tcp-flags'],
    ['IP options', (s) => ({ ...s, ipOptions: 4 }), 'ip-options'],
    ['a fragment (MF)', (s) => ({ ...s, mf: true }), 'fragment'],
    ['a bad TCP checksum', (s) => ({ ...s, csum: 0x1234 }), 'bad-checksum'],
    ['no payload', (s) => ({ ...s, payload: new Uint8Array(0) }), 'no-payload'],
    ['out of order', (s) => ({ ...s, seq: s.seq + 1448 }), undefined],
    ['another port', (s) => ({ ...s, sport: 5202 }), undefined],
    ['another destination', (s) => ({ ...s, dst: [10, 10, 0, 78] }), undefined],
    ['another ACK number', (s) => ({ ...s, ack: 7 }), undefined],
    ['another window', (s) => ({ ...s, window: 9 }), undefined],
    ['other TCP options', (s) => ({ ...s, tcpOptions: Uint8Array.of(1, 1, 8, 10, 0, 0, 0x12, 0x35, 0, 0, 0x56, 0x78) }), undefined],
    ['an IP ID gap', (s) => ({ ...s, id: s.id + 5 }), undefined],
    ['another TTL', (s) => ({ ...s, ttl: 3 }), undefined],
    ['another TOS', (s) => ({ ...s, tos: 4 }), undefined],
    ['DF differs', (s) => ({ ...s, df: false }), undefined],
    ['longer than the first', (s) => ({ ...s, payload: bytes(1500, 2) }), undefined],
  ];
  for (const [name, f, reason] of spoil) {
    it(`never joins a packet with ${name}; order and bytes kept`, () => {
      const segs: Seg[] = [0, 1, 2, 3, 4].map((i) => ({ id: 100 + i, seq: 1000 + i * 1448, payload: bytes(1448, i), tcpOptions: TS_OPTION }));
      segs[2] = f(segs[2]!);
      const pkts = segs.map(tcp);
      const r = addon.offloadCoalesce(pkts);
      expect(r.out[0]!.count).toBe(2);
      expect(r.out.reduce((n, o) => n + o.count, 0)).toBe(5);
      // what the kernel would see, cut back into packets, is the input in order (the spoilt one byte for byte)
      const seen = r.out.flatMap((o) => {
        if (o.count === 1) {
          expect(o.hdr.gsoType).toBe(0);
          return [o.bytes];
        }
        const s = addon.offloadSegment(o.hdr, o.bytes);
        return Array.isArray(s) ? s : [];
      });
      expect(seen.map(hex)).toEqual(pkts.map(hex));
      const counted = Object.entries(r.notCoalesced).filter(([, n]) => n > 0);
      expect(counted).toEqual(reason ? [[reason, 1]] : []);
    });
  }

  it('other protocols pass alone, counted', () => {
    const udp = tcp({ id: 1, seq: 1, payload: bytes(100, 1) });
    udp[9] = 17;
    const r = addon.offloadCoalesce([udp, ...stream(2)]);
    expect(r.out.map((o) => o.count)).toEqual([1, 2]);
    expect(r.notCoalesced['not-tcpv4']).toBe(1);
    expect(hex(r.out[0]!.bytes)).toBe(hex(udp));
  });

  it('never crashes on truncated or random packets; every packet is written once', () => {
    const rnd = prng(99);
    const good = stream(8);
    for (let i = 0; i < 2000; i++) {
      const pkts = good.map((p) => {
        const q = p.slice(0, rnd() % 4 === 0 ? rnd() % (p.length + 1) : p.length);
        if (rnd() % 3 === 0 && q.length) q[rnd() % q.length] = rnd() & 0xff;
        return q;
      });
      const r = addon.offloadCoalesce(pkts);
      expect(r.out.reduce((n, o) => n + o.count, 0)).toBe(pkts.length);
      for (const o of r.out) expect(o.bytes.length).toBeLessThanOrEqual(65535);
    }
  });
});

describe('NEEDS_CSUM: a checksum the kernel left to us', () => {
  it('completes a TCP checksum from the pseudo-header sum; refuses offsets outside the packet', () => {
    const p = tcp({ id: 1, seq: 1, payload: bytes(333, 4), csum: 'pseudo' });
    expect(checksumValid(p, 20, p.length, pseudo(p, p.length - 20))).toBe(false);
    expect(addon.offloadCompleteCsum(p, 20, 16)).toBe(true);
    expect(hex(p)).toBe(hex(tcp({ id: 1, seq: 1, payload: bytes(333, 4) })));
    expect(addon.offloadCompleteCsum(p, p.length - 1, 16)).toBe(false);
    expect(addon.offloadCompleteCsum(new Uint8Array(0), 0, 0)).toBe(false);
  });
});
