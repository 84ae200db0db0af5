/**
 * Mode mc's native Mobile IP pass (native-tunnel/src/mip_pass.h, run by the
 * data plane's threads) against the JavaScript codecs the kernel-routed path
 * uses (app/mip4/tunnel-format.ts, app/wire/ip): the same packets give the same
 * bytes, and malformed input gets the same verdict — a counted drop, never a
 * crash. The addon's mipEncapsulate/mipDecapsulate run exactly the functions
 * the threads run, without a TUN (no root needed).
 */
import { describe, expect, it } from 'vitest';
import { decapsulateIp, encapsulateIp } from '../../../app/mip4/tunnel-format.ts';
import { encodeFragmentationNeeded } from '../../../app/wire/ip/icmp.ts';
import { ipInIpEncapsulate } from '../../../app/wire/ip/ip-in-ip.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { internetChecksum } from '../../../app/wire/ip/checksum.ts';
import { outerAddresses } from '../../../app/mip4/tunnel-path.ts';
import { loadDataplaneAddon } from '../../../native-tunnel/index.ts';
import { prng } from '../../harness/prng.ts';

const addon = loadDataplaneAddon();
const T = { hoa: '10.10.0.77', coa: '10.10.100.1', ha: '10.10.0.2' };


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** An inner packet from the home address (or to it), optionally with IP options and bytes after Total Length. */
function inner(n: number, o: { df?: boolean; tos?: number; options?: number; trailing?: number; src?: string; dst?: string; proto?: number } = {}): Uint8Array {
  const opt = o.options ?? 0;
  const payload = new Uint8Array(Math.max(0, n - 20 - opt)).map((_, i) => (i * 7 + n) & 0xff);
  const base = encodeIpv4({ src: o.src ?? T.hoa, dst: o.dst ?? '10.10.0.5', protocol: o.proto ?? IpProto.Tcp, tos: o.tos ?? 0, id: n & 0xffff, dontFragment: o.df ?? true }, payload);
  let pkt = base;
  if (opt > 0) {
    // the same packet with `opt` bytes of NOP options (IHL > 5), checksum fixed
    pkt = new Uint8Array(base.length + opt);
    pkt.set(base.subarray(0, 20));
    pkt.fill(1, 20, 20 + opt);
    pkt.set(base.subarray(20), 20 + opt);
    pkt[0] = 0x40 | ((20 + opt) / 4);
    pkt[2] = pkt.length >> 8;
    pkt[3] = pkt.length & 0xff;
    pkt[10] = pkt[11] = 0;
    const c = internetChecksum(pkt, 0, 20 + opt);
    pkt[10] = c >> 8;
    pkt[11] = c & 0xff;
  }
  if (!o.trailing) return pkt;
  const t = new Uint8Array(pkt.length + o.trailing).fill(0xee);
  t.set(pkt);
  return t;
}

/** What the JavaScript path does with a packet from the home-address TUN (MipTunnel.send, mode mc, IP-in-IP). */
function jsSend(pkt: Uint8Array, mtu: number | undefined, id: number): { packet: Uint8Array } | { drop: string; icmp?: Uint8Array } {
  let h;
  try {
    h = decodeIpv4Header(pkt, false);
  } catch {
    return { drop: 'malformed' };
  }
  const df = (h.flags & 0x2) !== 0;
  if (df && mtu !== undefined && pkt.length + 20 > mtu) {
    return { drop: 'too-big', icmp: encodeIpv4({ src: T.coa, dst: h.src, protocol: IpProto.Icmp, tos: 0xc0 }, encodeFragmentationNeeded(pkt, mtu - 20)) };
  }
  // the codec writes Identification 0; the native pass numbers packets that may be fragmented (DF clear)
  const packet = df ? encapsulateIp(pkt, 'ip-in-ip', { src: T.coa, dst: T.ha }) : ipInIpEncapsulate(pkt, { src: T.coa, dst: T.ha, id });
  // the raw send (IP_HDRINCL, pinned to the VPN TUN) refuses a packet over the device's MTU: EMSGSIZE, lost
  if (mtu !== undefined && pkt.length + 20 > mtu) return { drop: 'too-big' };
  return { packet };
}

/** What the JavaScript path does with an opened ESP packet: the kernel's IP-in-IP to our raw socket, path check, decapsulateIp, deliver. */
function jsReceive(pkt: Uint8Array): { inner: Uint8Array } | 'not-ours' | 'malformed' | 'wrong-destination' {
  const outer = pkt.length >= 20 && pkt[0]! >> 4 === 4 ? { src: `${pkt[12]}.${pkt[13]}.${pkt[14]}.${pkt[15]}`, dst: `${pkt[16]}.${pkt[17]}.${pkt[18]}.${pkt[19]}` } : undefined;
  const fragment = pkt.length >= 20 && (((pkt[6]! << 8) | pkt[7]!) & 0x3fff) !== 0;
  if (!outer || pkt[9] !== IpProto.IpInIp || outer.src !== T.ha || outer.dst !== T.coa || fragment) return 'not-ours';
  if (!outerAddresses(pkt)) return 'malformed';
  const d = decapsulateIp(pkt, 'ip-in-ip');
  if (!d.ok) return 'malformed';
  if (decodeIpv4Header(d.inner).dst !== T.hoa) return 'wrong-destination';
  return { inner: d.inner };
}

function nativeReceive(pkt: Uint8Array): { inner: Uint8Array } | string {
  const r = addon.mipDecapsulate(pkt, T);
  return typeof r === 'string' ? r : { inner: pkt.subarray(r.offset, r.offset + r.length) };
}

const SIZES = [20, 21, 28, 40, 64, 576, 1279, 1380, 1400];

describe('native Mobile IP pass = the JavaScript codecs, byte for byte', () => {
  it('encapsulates as tunnel-format.ts encapsulateIp does (outer src = CoA, dst = HA, TOS and DF copied, TTL 64)', () => {
    let id = 0;
    let compared = 0;
    for (const n of SIZES) {
      for (const o of [{}, { df: false }, { tos: 0xb8 }, { options: 8 }, { options: 40, df: false }, { trailing: 5 }]) {
        if (n < 20 + ((o as { options?: number }).options ?? 0)) continue;
        const pkt = inner(n, o);
        if (pkt.length + 20 > 1420) continue;
        const js = jsSend(pkt, 1420, id);
        const native = addon.mipEncapsulate(pkt, { ...T, mtu: 1420, id });
        if (!('packet' in js) || !('packet' in native)) throw new Error(`refused ${n} ${JSON.stringify(o)}`);
        expect(hex(native.packet)).toBe(hex(js.packet));
        // the outer header as tshark would read it
        const h = decodeIpv4Header(native.packet);
        expect([h.src, h.dst, h.protocol, h.ttl]).toEqual([T.coa, T.ha, IpProto.IpInIp, 64]);
        compared++;
        id++;
      }
    }
    expect(compared).toBeGreaterThan(40);
  });

  it('answers a DF packet too big for the VPN TUN with the same ICMP "fragmentation needed" (RFC 2003 §5.1); a non-DF one is dropped', () => {
    const pkt = inner(1400, { df: true });
    const js = jsSend(pkt, 1400, 0);
    const native = addon.mipEncapsulate(pkt, { ...T, mtu: 1400 });
    if (!('icmp' in js) || !('drop' in native)) throw new Error('not refused');
    expect(native.drop).toBe('too-big');
    expect(hex(native.icmp!)).toBe(hex(js.icmp!));
    const nf = addon.mipEncapsulate(inner(1400, { df: false }), { ...T, mtu: 1400 });
    expect(nf).toEqual({ drop: 'too-big' });
    // exactly fitting: encapsulated
    expect('packet' in addon.mipEncapsulate(inner(1380), { ...T, mtu: 1400 })).toBe(true);
  });

  it("decapsulates the HA's tunnel as decapsulateIp + MipTunnel.deliver do; anything else is not the pass's", () => {
    for (const n of SIZES) {
      for (const o of [{}, { options: 12 }, { trailing: 3 }]) {
        if (n < 20 + ((o as { options?: number }).options ?? 0)) continue;
        const down = inner(n, { ...o, src: '10.10.0.5', dst: T.hoa });
        const outer = ipInIpEncapsulate(down, { src: T.ha, dst: T.coa });
        const js = jsReceive(outer);
        const native = nativeReceive(outer);
        if (typeof js === 'string' || typeof native === 'string') throw new Error(`refused: ${String(js)} ${String(native)}`);
        expect(hex(native.inner)).toBe(hex(js.inner));
      }
    }
    const ok = inner(100, { src: '10.10.0.5', dst: T.hoa });
    expect(nativeReceive(ipInIpEncapsulate(ok, { src: '10.10.0.9', dst: T.coa }))).toBe('not-ours'); // another source: the kernel and the JS checks see it
    expect(nativeReceive(ipInIpEncapsulate(ok, { src: T.ha, dst: '10.10.100.2' }))).toBe('not-ours');
    expect(nativeReceive(ok)).toBe('not-ours'); // plain IPv4 to the TIA: the VPN TUN's
    expect(nativeReceive(ipInIpEncapsulate(inner(100, { dst: '10.10.0.78' }), { src: T.ha, dst: T.coa }))).toBe('wrong-destination');
    expect(jsReceive(ipInIpEncapsulate(inner(100, { dst: '10.10.0.78' }), { src: T.ha, dst: T.coa }))).toBe('wrong-destination');
    // an outer fragment goes to the kernel, which reassembles it for the JavaScript raw socket
    const frag = ipInIpEncapsulate(ok, { src: T.ha, dst: T.coa });
    frag[6] = 0x20; // MF
    expect(nativeReceive(frag)).toBe('not-ours');
  });
});

describe('native Mobile IP pass: malformed packets are counted drops with the verdict of the JavaScript path', () => {
  it('inbound: 4000 mutated tunnel packets', () => {
    const r = prng(17);
    const verdicts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const good = ipInIpEncapsulate(inner(20 + (r() % 200), { src: '10.10.0.5', dst: T.hoa, options: r() % 4 === 0 ? 4 * (r() % 10) : 0 }), { src: T.ha, dst: T.coa });
      let pkt: Uint8Array = good.slice();
      switch (r() % 7) {
        case 0: pkt[r() % pkt.length]! ^= 1 << (r() % 8); break; // one bit anywhere
        case 1: pkt = pkt.subarray(0, r() % pkt.length); break; // truncated
        case 2: pkt[r() % 4] = r() & 0xff; break; // version/IHL/TOS/length
        case 3: pkt[20 + (r() % 20)] = r() & 0xff; break; // the inner header
        case 4: pkt = new Uint8Array(r() % 120).map(() => r() & 0xff); pkt.set(good.subarray(0, Math.min(20, pkt.length))); break; // garbage after a good outer header
        case 5: { const v = new DataView(pkt.buffer, pkt.byteOffset); v.setUint16(22, r() & 0xffff); break; } // the inner Total Length
        default: { // another inner destination, checksum fixed: a well-formed packet not for the home address
          const ihl = (pkt[0]! & 0x0f) * 4;
          pkt[ihl + 19] = r() & 0xff;
          pkt[ihl + 10] = pkt[ihl + 11] = 0;
          const c = internetChecksum(pkt, ihl, ihl + (pkt[ihl]! & 0x0f) * 4);
          pkt[ihl + 10] = c >> 8;
          pkt[ihl + 11] = c & 0xff;
        }
      }
      const js = jsReceive(pkt);
      const native = nativeReceive(pkt);
      const jv = typeof js === 'string' ? js : `deliver:${hex(js.inner)}`;
      const nv = typeof native === 'string' ? native : `deliver:${hex(native.inner)}`;
      expect(nv, `packet ${hex(pkt)}`).toBe(jv);
      const key = jv.startsWith('deliver') ? 'deliver' : jv;
      verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
    }
    // the mutations reached every verdict
    expect([...verdicts.keys()].sort()).toEqual(['deliver', 'malformed', 'not-ours', 'wrong-destination']);
  });

  it('outbound: 4000 random and mutated packets from the home-address TUN', () => {
    const r = prng(23);
    const verdicts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      let pkt: Uint8Array = inner(20 + (r() % 1500), { df: r() % 2 === 0 });
      if (r() % 2 === 0) pkt[r() % 20] = r() & 0xff;
      if (r() % 4 === 0) pkt = pkt.subarray(0, r() % (pkt.length + 1));
      if (r() % 8 === 0) pkt = new Uint8Array(r() % 64).map(() => r() & 0xff);
      const js = jsSend(pkt, 1420, i & 0xffff);
      const native = addon.mipEncapsulate(pkt, { ...T, mtu: 1420, id: i & 0xffff });
      if ('packet' in js) {
        expect('packet' in native && hex(native.packet)).toBe(hex(js.packet));
      } else {
        expect('drop' in native && native.drop).toBe(js.drop);
        expect('drop' in native && native.icmp ? hex(native.icmp) : undefined).toBe(js.icmp ? hex(js.icmp) : undefined);
      }
      const key = 'packet' in js ? 'packet' : js.drop;
      verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
    }
    expect([...verdicts.keys()].sort()).toEqual(['malformed', 'packet', 'too-big']);
  });

  it('refuses bad configuration with the field named', () => {
    expect(() => addon.mipEncapsulate(inner(40), { ...T, coa: 'nope' })).toThrow(/coa/);
    expect(() => addon.mipDecapsulate(inner(40), { ...T, ha: '' })).toThrow(/ha/);
    expect(() => addon.mipEncapsulate(inner(40), { ...T, mtu: -1 })).toThrow(/mtu/);
  });
});
