/**
 * The acceptance check of tunnelled packets (app/mip4/tunnel-path.ts): only
 * from the HA, to our care-of address, on the care-of address's device.
 */
import { describe, expect, it } from 'vitest';
import { checkTunnelPath, outerAddresses, worthReporting, type TunnelPath } from '../../../app/mip4/tunnel-path.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';

const HA = '10.1.0.1';
const TIA = '10.10.100.7';
const path: TunnelPath = { ha: HA, coa: TIA, device: 12 };

describe('checkTunnelPath', () => {
  it('accepts exactly HA → care-of address on the care-of address device', () => {
    expect(checkTunnelPath({ src: HA, dst: TIA, device: 12 }, path)).toEqual({ ok: true });
    expect(checkTunnelPath({ src: HA, dst: TIA, device: 'hwvpn0' }, { ...path, device: 'hwvpn0' })).toEqual({ ok: true });
  });

  it('refuses another source, another destination, another device, no binding, no header', () => {
    expect(checkTunnelPath({ src: '198.51.100.1', dst: TIA, device: 12 }, path)).toEqual({ ok: false, reason: 'wrong-source' });
    // spoofed "from the HA" to the MN's address on the untrusted link
    expect(checkTunnelPath({ src: HA, dst: '198.51.100.100', device: 12 }, path)).toEqual({ ok: false, reason: 'wrong-destination' });
    // spoofed "from the HA" to the TIA, but arriving on the access link instead of the VPN's TUN
    expect(checkTunnelPath({ src: HA, dst: TIA, device: 3 }, path)).toEqual({ ok: false, reason: 'wrong-device' });
    expect(checkTunnelPath({ src: HA, dst: TIA, device: 0 }, path)).toEqual({ ok: false, reason: 'wrong-device' });
    expect(checkTunnelPath({ src: HA, dst: TIA, device: 'eth1' }, { ...path, device: 'hwvpn0' })).toEqual({ ok: false, reason: 'wrong-device' });
    expect(checkTunnelPath({ src: HA, dst: TIA, device: 12 }, undefined)).toEqual({ ok: false, reason: 'no-binding' });
    expect(checkTunnelPath(undefined, path)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('an unknown expected device accepts nothing, even a packet whose device is unknown too', () => {
    expect(checkTunnelPath({ src: HA, dst: TIA, device: undefined }, { ...path, device: undefined })).toEqual({ ok: false, reason: 'wrong-device' });
    expect(checkTunnelPath({ src: HA, dst: TIA, device: '' }, { ...path, device: '' })).toEqual({ ok: false, reason: 'wrong-device' });
  });
});

describe('outerAddresses', () => {
  const pkt = encodeIpv4({ src: HA, dst: TIA, protocol: IpProto.IpInIp }, new Uint8Array(28));

  it('reads source and destination of a well-formed header', () => {
    expect(outerAddresses(pkt)).toEqual({ src: HA, dst: TIA });
  });

  it('refuses truncated, non-IPv4, short-IHL and over-long headers', () => {
    expect(outerAddresses(pkt.subarray(0, 19))).toBeUndefined();
    const v6 = pkt.slice();
    v6[0] = 0x65;
    expect(outerAddresses(v6)).toBeUndefined();
    const ihl = pkt.slice();
    ihl[0] = 0x44;
    expect(outerAddresses(ihl)).toBeUndefined();
    const ihlLong = pkt.slice(0, 24);
    ihlLong[0] = 0x4f; // 60-byte header in 24 bytes
    expect(outerAddresses(ihlLong)).toBeUndefined();
    const total = pkt.slice();
    total[2] = 0xff; // total length beyond the bytes received
    expect(outerAddresses(total)).toBeUndefined();
    expect(outerAddresses(new Uint8Array(0))).toBeUndefined();
  });
});

describe('worthReporting', () => {
  it('reports the 1st, 10th, 100th… drop only', () => {
    const reported = Array.from({ length: 2000 }, (_, i) => i + 1).filter(worthReporting);
    expect(reported).toEqual([1, 10, 100, 1000]);
    expect(worthReporting(0)).toBe(false);
  });
});
