/**
 * The reference HA's native IP-in-IP fast path (native-tunnel/src/ha_ipip.h,
 * run by ha_forward.cc's threads) against the JS forwarder it relieves
 * (test/lab/home-agent/forwarding.ts): the same packets in give the same bytes
 * out and the same drop decisions, and whatever the fast path hands back to JS
 * is a packet the JS forwarder does not forward as IP-in-IP itself. The
 * addon's classifyToMn/classifyFromMn run exactly the functions the threads
 * run, without a TUN or a raw socket (no root needed).
 */
import { describe, expect, it } from 'vitest';
import { ipv4ToU32 } from '../../../app/base/ipv4.ts';
import { internetChecksum } from '../../../app/wire/ip/checksum.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { BindingCache, type Binding, type TunnelMode } from '../../lab/home-agent/binding-cache.ts';
import { parseHomeAgentConfig } from '../../lab/home-agent/config.ts';
import { Forwarder, type ForwardingStats, type RawSlots } from '../../lab/home-agent/forwarding.ts';
import { loadHaForwardAddon, type ClassifyResult } from '../../lab/home-agent/native-fast-path.ts';
import { prng } from '../../harness/prng.ts';

const loaded = loadHaForwardAddon();
if (loaded instanceof Error) throw loaded;
const addon = loaded;

const HA = '10.1.0.1';
const cfg = parseHomeAgentConfig({
  address: HA, homeNetwork: '10.1.0.0/24', trustedPrefixes: [],
  mobileNodes: [{ homeAddress: '10.1.0.50', spi: 300, key: 'hex:00112233445566778899aabbccddeeff' }],
});
/** one IP-in-IP binding, one in UDP tunnelling, one in GRE; 10.1.0.53 has none */
const BINDINGS: Array<[hoa: string, coa: string, mode: TunnelMode]> = [
  ['10.1.0.50', '10.10.100.1', 'ipip'],
  ['10.1.0.51', '10.10.100.2', 'udp'],
  ['10.1.0.52', '10.10.100.3', 'gre'],
];
const HOAS = ['10.1.0.50', '10.1.0.51', '10.1.0.52', '10.1.0.53'];
const COAS = ['10.10.100.1', '10.10.100.2', '10.10.100.3', '10.10.100.9'];

function binding(hoa: string, coa: string, mode: TunnelMode): Binding {
  return { homeAddress: hoa, careOfAddress: coa, tunnelDst: coa, tunnelPort: mode === 'udp' ? 4500 : 0, mode, format: mode === 'udp' ? 'ipip' : mode, reverseTunnel: true, trusted: false, lifetime: 300, expiresAt: 1e9, lastId: 0n };
}


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function fixChecksum(p: Uint8Array, at = 0): void {
  const ihl = (p[at]! & 0x0f) * 4;
  if (ihl < 20 || at + ihl > p.length) return;
  p[at + 10] = p[at + 11] = 0;
  const c = internetChecksum(p, at, at + ihl);
  p[at + 10] = c >> 8;
  p[at + 11] = c & 0xff;
}

/** an IPv4 packet of `n` bytes, with `options` bytes of NOPs and `trailing` bytes after Total Length */
function ipPacket(n: number, o: { src: string; dst: string; df?: boolean; tos?: number; options?: number; trailing?: number; proto?: number; mf?: boolean }): Uint8Array {
  const opt = o.options ?? 0;
  const payload = new Uint8Array(Math.max(0, n - 20 - opt)).map((_, i) => (i * 13 + n) & 0xff);
  const base = encodeIpv4({ src: o.src, dst: o.dst, protocol: o.proto ?? IpProto.Udp, tos: o.tos ?? 0, id: n & 0xffff, dontFragment: o.df ?? false }, payload);
  const pkt = new Uint8Array(base.length + opt + (o.trailing ?? 0)).fill(0xee);
  pkt.set(base.subarray(0, 20));
  pkt.fill(1, 20, 20 + opt);
  pkt.set(base.subarray(20), 20 + opt);
  pkt[0] = 0x40 | ((20 + opt) / 4);
  const total = base.length + opt;
  pkt[2] = total >> 8;
  pkt[3] = total & 0xff;
  if (o.mf) pkt[6]! |= 0x20;
  fixChecksum(pkt);
  return pkt;
}

/** the JS forwarder with the bindings above, its output captured; `slots`: build IP-in-IP in a slab as main.ts does */
function jsRig(mtu: Map<string, number>, slots: boolean) {
  const cache = new BindingCache();
  for (const [h, c, m] of BINDINGS) cache.put(binding(h, c, m));
  const out = { raw: [] as Uint8Array[], tun: [] as Uint8Array[], icmp: 0 };
  const slab = new Uint8Array(2048);
  let reserved = 0;
  const rawSlots: RawSlots = {
    slab,
    reserve: (n) => (n > slab.length ? -1 : 0),
    commit: (n) => {
      reserved = n;
      out.raw.push(slab.slice(0, reserved));
    },
  };
  const f = new Forwarder(cfg, cache, {
    tunWrite: (p) => out.tun.push(p.slice()),
    udpSend: () => undefined,
    rawSend: (p) => out.raw.push(p.slice()),
    icmpSend: () => out.icmp++,
    ...(slots ? { rawSlots } : {}),
  });
  for (const [coa, m] of mtu) f.tunnelMtu.set(coa, m);
  return { f, out, cache };
}

/** the native table the HA installs for these bindings (IP-in-IP only, with the tunnel MTU learnt) */
function nativeTable(mtu: Map<string, number>): Uint32Array {
  const t: number[] = [];
  for (const [h, c, m] of BINDINGS) if (m === 'ipip') t.push(ipv4ToU32(h), ipv4ToU32(c), mtu.get(c) ?? 0);
  return Uint32Array.from(t);
}

const delta = (before: ForwardingStats, after: ForwardingStats) =>
  Object.fromEntries(Object.entries(after).filter(([k, v]) => v !== before[k as keyof ForwardingStats])) as Partial<ForwardingStats>;

/** intranet → MN: packets to every home address, well formed and broken */
function toMnCorpus(): Uint8Array[] {
  const r = prng(17);
  const c: Uint8Array[] = [];
  for (const dst of HOAS) {
    for (const n of [20, 21, 40, 576, 1380, 1381, 1400]) {
      for (const df of [false, true]) c.push(ipPacket(n, { src: '10.1.0.10', dst, df, tos: n & 0xfc }));
    }
    c.push(ipPacket(100, { src: '10.1.0.10', dst, options: 8 }), ipPacket(100, { src: '10.1.0.10', dst, trailing: 7 }), ipPacket(300, { src: '10.1.0.10', dst, mf: true, df: false }));
  }
  const seeds = [...c];
  for (let i = 0; i < 600; i++) {
    const p = seeds[r() % seeds.length]!.slice();
    const k = r() % 4;
    if (k === 0) p[r() % Math.min(p.length, 24)] = r() & 0xff; // a broken header field (checksum then wrong)
    else if (k === 1) {
      p[r() % Math.min(p.length, 20)] = r() & 0xff; // a strange header that checks out
      fixChecksum(p);
    } else if (k === 2) c.push(p.subarray(0, r() % p.length));
    else c.push(new Uint8Array(r() % 64).map(() => r() & 0xff));
    if (k < 2) c.push(p);
  }
  return c;
}

/** MN → intranet: IP-in-IP from every care-of address carrying packets from every home address, well formed and broken */
function fromMnCorpus(): Uint8Array[] {
  const r = prng(2003);
  const c: Uint8Array[] = [];
  const wrap = (inner: Uint8Array, src: string, o: { mf?: boolean; options?: number; trailing?: number; proto?: number } = {}) => {
    const outer = ipPacket(20 + (o.options ?? 0) + inner.length, { src, dst: HA, proto: o.proto ?? IpProto.IpInIp, ...o });
    outer.set(inner, 20 + (o.options ?? 0));
    return outer;
  };
  for (const hoa of HOAS) {
    for (const coa of COAS) {
      for (const n of [20, 64, 1400]) c.push(wrap(ipPacket(n, { src: hoa, dst: '10.1.0.10', df: n > 64 }), coa));
      c.push(wrap(ipPacket(80, { src: hoa, dst: '10.1.0.10', trailing: 3 }), coa));
    }
    c.push(wrap(ipPacket(80, { src: hoa, dst: '10.1.0.10' }), '10.10.100.1', { mf: true }));
    c.push(wrap(ipPacket(80, { src: hoa, dst: '10.1.0.10' }), '10.10.100.1', { options: 4, trailing: 5 }));
    c.push(wrap(ipPacket(80, { src: hoa, dst: '10.1.0.10' }), '10.10.100.1', { proto: IpProto.Gre }));
  }
  const seeds = [...c];
  for (let i = 0; i < 800; i++) {
    const p = seeds[r() % seeds.length]!.slice();
    const k = r() % 5;
    const at = r() % Math.min(p.length, 44);
    if (k === 0) p[at] = r() & 0xff;
    else if (k === 1) {
      p[at] = r() & 0xff; // a strange outer or inner header that checks out
      fixChecksum(p);
      fixChecksum(p, 20);
    } else if (k === 2) c.push(p.subarray(0, r() % p.length));
    else if (k === 3) {
      const cut = 20 + (r() % (p.length - 19)); // outer Total Length shorter than the bytes
      p[2] = cut >> 8;
      p[3] = cut & 0xff;
      fixChecksum(p);
    } else c.push(new Uint8Array(r() % 64).map(() => r() & 0xff));
    if (k !== 2 && k !== 4) c.push(p);
  }
  return c;
}

describe('reference HA: native IP-in-IP fast path = the JS forwarder', () => {
  for (const mtuCase of [new Map<string, number>(), new Map([['10.10.100.1', 1400]])]) {
    for (const slots of [false, true]) {
      it(`intranet → MN: same outer bytes, same drops (tunnel MTU ${mtuCase.get('10.10.100.1') ?? 'unknown'}, ${slots ? 'slab' : 'buffers'})`, () => {
        const table = nativeTable(mtuCase);
        const seen = { forward: 0, 'to-js': 0, malformed: 0, 'wrong-endpoint': 0 };
        for (const pkt of toMnCorpus()) {
          const { f, out } = jsRig(mtuCase, slots);
          const before = { ...f.stats };
          f.handleFromIntranet(pkt);
          const js = delta(before, f.stats);
          const n: ClassifyResult = addon.classifyToMn(pkt, ipv4ToU32(HA), table);
          seen[n.verdict]++;
          const ctx = `packet ${hex(pkt.subarray(0, 24))}… (${pkt.length} B): native ${n.verdict}, JS ${JSON.stringify(js)}`;
          if (n.verdict === 'forward') {
            expect(js, ctx).toEqual({ toMn: 1 });
            expect(out.raw.map(hex), ctx).toEqual([hex(n.packet!)]);
          } else if (n.verdict === 'malformed') {
            expect(js, ctx).toEqual({ malformed: 1 });
          } else {
            expect(n.verdict, ctx).toBe('to-js');
            // JS's alone: no binding, a binding in another format, or "fragmentation needed" to answer
            const dst = pkt.length >= 20 ? `${pkt[16]}.${pkt[17]}.${pkt[18]}.${pkt[19]}` : '';
            const ipipHoa = dst === '10.1.0.50';
            expect(js.noBinding === 1 || js.tooBig === 1 || (!ipipHoa && (js.toMn === 1 || js.malformed === 1)), ctx).toBe(true);
          }
        }
        // the corpus reaches every verdict the direction has
        expect(seen.forward).toBeGreaterThan(20);
        expect(seen.malformed).toBeGreaterThan(50);
        expect(seen['to-js']).toBeGreaterThan(20);
      });
    }
  }

  it('MN → intranet (RFC 3024): same inner bytes to the TUN, same drops per reason', () => {
    const table = nativeTable(new Map());
    const seen = { forward: 0, 'to-js': 0, malformed: 0, 'wrong-endpoint': 0 };
    for (const pkt of fromMnCorpus()) {
      const { f, out } = jsRig(new Map(), true);
      const before = { ...f.stats };
      f.handleRaw(pkt);
      const js = delta(before, f.stats);
      const n: ClassifyResult = addon.classifyFromMn(pkt, table);
      seen[n.verdict]++;
      const ctx = `packet ${hex(pkt.subarray(0, 44))}… (${pkt.length} B): native ${n.verdict}, JS ${JSON.stringify(js)}`;
      if (n.verdict === 'forward') {
        expect(js, ctx).toEqual({ fromMn: 1 });
        expect(out.tun.map(hex), ctx).toEqual([hex(n.packet!)]);
      } else if (n.verdict === 'malformed') {
        expect(js, ctx).toEqual({ malformed: 1 });
      } else if (n.verdict === 'wrong-endpoint') {
        expect(js, ctx).toEqual({ wrongEndpoint: 1 });
      } else {
        // JS's alone: another protocol, no binding, or a binding not in IP-in-IP — never an IP-in-IP forward
        expect(out.tun, ctx).toHaveLength(0);
      }
    }
    expect(seen.forward).toBeGreaterThan(10);
    expect(seen.malformed).toBeGreaterThan(50);
    expect(seen['wrong-endpoint']).toBeGreaterThan(5);
    expect(seen['to-js']).toBeGreaterThan(10);
  });

  it('hands back what it must not forward itself: a DF packet over the tunnel MTU (RFC 2003 §5.1), no binding, another format', () => {
    const table = nativeTable(new Map([['10.10.100.1', 1400]]));
    const v = (p: Uint8Array) => addon.classifyToMn(p, ipv4ToU32(HA), table).verdict;
    expect(v(ipPacket(1380, { src: '10.1.0.10', dst: '10.1.0.50', df: true }))).toBe('forward');
    expect(v(ipPacket(1381, { src: '10.1.0.10', dst: '10.1.0.50', df: true }))).toBe('to-js');
    expect(v(ipPacket(1381, { src: '10.1.0.10', dst: '10.1.0.50', df: false }))).toBe('forward'); // the kernel fragments the outer
    expect(v(ipPacket(100, { src: '10.1.0.10', dst: '10.1.0.51' }))).toBe('to-js');
    expect(v(ipPacket(100, { src: '10.1.0.10', dst: '10.1.0.53' }))).toBe('to-js');
  });

  it('writes the RFC 2003 §3.1 outer header: HA → CoA, protocol 4, TOS and DF copied, TTL 64, valid checksum', () => {
    const inner = ipPacket(200, { src: '10.1.0.10', dst: '10.1.0.50', df: true, tos: 0xb8, trailing: 4 });
    const r = addon.classifyToMn(inner, ipv4ToU32(HA), nativeTable(new Map()));
    const p = r.packet!;
    expect(p.length).toBe(220); // the inner packet up to its Total Length
    expect([p[0], p[1], (p[2]! << 8) | p[3]!, p[6], p[8], p[9]]).toEqual([0x45, 0xb8, 220, 0x40, 64, 4]);
    expect([...p.subarray(12, 20)]).toEqual([10, 1, 0, 1, 10, 10, 100, 1]);
    expect(internetChecksum(p, 0, 20)).toBe(0);
    expect(hex(p.subarray(20))).toBe(hex(inner.subarray(0, 200)));
  });

  it('never crashes on random bytes', () => {
    const r = prng(99);
    const table = nativeTable(new Map());
    for (let i = 0; i < 2000; i++) {
      const p = new Uint8Array(r() % 80).map(() => r() & 0xff);
      if (p.length > 0) p[0] = 0x45;
      expect(['malformed', 'to-js', 'forward', 'wrong-endpoint']).toContain(addon.classifyFromMn(p, table).verdict);
      expect(['malformed', 'to-js', 'forward']).toContain(addon.classifyToMn(p, 0, table).verdict);
    }
  });
});
