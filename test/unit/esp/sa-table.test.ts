import { describe, expect, it } from 'vitest';
import type { CipherSuite } from '../../../app/crypto/suite.ts';
import { EspSaTable } from '../../../app/esp/sa-table.ts';
import type { ChildSaInfo } from '../../../app/ikev2/types.ts';
import { EncrId } from '../../../app/wire/ikev2/constants.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';

const SUITE: CipherSuite = { encr: EncrId.AesGcm16, keyLength: 256 };
const TS = { local: [{ start: '10.9.0.2', end: '10.9.0.2' }], remote: [{ start: '10.10.0.0', end: '10.10.255.255' }] };

/** One Child SA; `k` varies its keys so two children cannot open each other's packets. */
function child(spiIn: number, spiOut: number, k = 1): ChildSaInfo {
  const key = (b: number): { encr: Uint8Array; integ: Uint8Array } => ({ encr: new Uint8Array(36).fill(b), integ: new Uint8Array(0) });
  return { spiIn, spiOut, suite: SUITE, suiteName: 'aes256gcm16', keysIn: key(k), keysOut: key(k + 100), localTs: TS.local, remoteTs: TS.remote };
}

/** The peer's view of a child: its outbound is our inbound. */
function peerOf(c: ChildSaInfo): ChildSaInfo {
  return { ...c, spiIn: c.spiOut, spiOut: c.spiIn, keysIn: c.keysOut, keysOut: c.keysIn, localTs: c.remoteTs, remoteTs: c.localTs };
}

const inner = encodeIpv4({ src: '10.10.0.5', dst: '10.9.0.2', protocol: IpProto.Udp, id: 1 }, new Uint8Array(16).fill(7));

describe('ESP SA table: outbound selection and the rekey overlap (RFC 7296 §2.8)', () => {
  it('the outbound SA is the newest installed; every switch is reported', () => {
    const seen: (number | undefined)[] = [];
    const t = new EspSaTable((c) => seen.push(c?.spiOut));
    expect(t.outbound).toBeUndefined();
    t.install(child(0x100, 0x200));
    expect(t.outbound?.spi).toBe(0x200);
    t.install(child(0x101, 0x201, 2));
    expect(t.outbound?.spi).toBe(0x201);
    expect(t.outboundChild()?.spiIn).toBe(0x101);
    expect(seen).toEqual([0x200, 0x201]);
  });

  it('both SAs of a rekey open inbound packets until the old one is removed; outbound falls back to the newest left', () => {
    const t = new EspSaTable();
    const old = child(0x100, 0x200, 1);
    const fresh = child(0x101, 0x201, 2);
    t.install(old);
    t.install(fresh);
    const peer = new EspSaTable();
    peer.install(peerOf(old));
    const sealedOld = peer.outbound!.encapsulate(inner);
    if (!sealedOld.ok) throw new Error(sealedOld.reason);
    expect(t.inbound(0x100)?.decapsulate(sealedOld.packet).ok).toBe(true);
    t.remove(0x101);
    expect(t.outbound?.spi).toBe(0x200);
    t.remove(0x100);
    expect(t.inbound(0x100)).toBeUndefined();
    expect(t.outbound).toBeUndefined();
    expect(t.children()).toEqual([]);
  });

  it('delayOutbound (we answered the rekey): old SA sends until traffic arrives on the new one', () => {
    const t = new EspSaTable();
    t.install(child(0x100, 0x200));
    t.install(child(0x101, 0x201, 2), true);
    expect(t.switchPending).toBe(true);
    expect(t.outbound?.spi).toBe(0x200);
    t.trafficOn(0x100); // traffic on the old SA proves nothing
    expect(t.outbound?.spi).toBe(0x200);
    t.trafficOn(0x101);
    expect(t.outbound?.spi).toBe(0x201);
    expect(t.switchPending).toBe(false);
  });

  it('delayOutbound: a removal (the peer deleted the old SA) switches first', () => {
    const t = new EspSaTable();
    t.install(child(0x100, 0x200));
    t.install(child(0x101, 0x201, 2), true);
    t.remove(0x100);
    expect(t.outbound?.spi).toBe(0x201);
  });

  it('delayOutbound with no outbound SA yet switches at once', () => {
    const t = new EspSaTable();
    t.install(child(0x100, 0x200), true);
    expect(t.outbound?.spi).toBe(0x200);
  });

  it('a rekey is asked once per outbound SA', () => {
    const t = new EspSaTable();
    expect(t.claimRekey()).toBe(false);
    t.install(child(0x100, 0x200));
    expect(t.claimRekey()).toBe(true);
    expect(t.claimRekey()).toBe(false);
    t.install(child(0x101, 0x201, 2));
    expect(t.claimRekey()).toBe(true);
  });

  it('clear forgets every SA and reports no outbound', () => {
    const seen: (number | undefined)[] = [];
    const t = new EspSaTable((c) => seen.push(c?.spiOut));
    t.install(child(0x100, 0x200));
    t.install(child(0x101, 0x201, 2), true);
    t.clear();
    expect(t.outbound).toBeUndefined();
    expect(t.inbound(0x100)).toBeUndefined();
    expect(t.switchPending).toBe(false);
    expect(seen.at(-1)).toBeUndefined();
  });
});
