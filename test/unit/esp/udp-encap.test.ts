import { describe, expect, it } from 'vitest';
import { classifyUdp4500, natKeepalive, withNonEspMarker } from '../../../app/esp/udp-encap.ts';

describe('UDP 4500 demultiplexing (RFC 3948 §2)', () => {
  const ike = new Uint8Array(28).map((_, i) => i + 1);

  it('non-ESP marker → IKE, marker stripped; the builder round-trips', () => {
    const d = withNonEspMarker(ike);
    expect([...d.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    const c = classifyUdp4500(d);
    expect(c.kind).toBe('ike');
    if (c.kind === 'ike') expect(c.message).toEqual(ike);
  });

  it('single 0xFF → NAT-keepalive; the builder makes exactly that', () => {
    expect([...natKeepalive()]).toEqual([0xff]);
    expect(classifyUdp4500(natKeepalive())).toEqual({ kind: 'keepalive' });
  });

  it('anything else with a non-zero SPI → ESP, SPI decoded big-endian unsigned', () => {
    const esp = Uint8Array.of(0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1, 9, 9);
    expect(classifyUdp4500(esp)).toEqual({ kind: 'esp', spi: 0xc0ffee01, packet: esp });
    expect(classifyUdp4500(Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 1))).toMatchObject({ kind: 'esp', spi: 256 });
  });

  it('malformed datagrams are typed, never thrown', () => {
    expect(classifyUdp4500(new Uint8Array(0))).toEqual({ kind: 'invalid', reason: 'empty' });
    expect(classifyUdp4500(Uint8Array.of(0xfe))).toEqual({ kind: 'invalid', reason: 'short-esp' });
    expect(classifyUdp4500(Uint8Array.of(0xff, 0xff))).toEqual({ kind: 'invalid', reason: 'short-esp' });
    expect(classifyUdp4500(new Uint8Array(4))).toEqual({ kind: 'invalid', reason: 'short-ike' });
    expect(classifyUdp4500(new Uint8Array(4 + 27))).toEqual({ kind: 'invalid', reason: 'short-ike' });
  });
});
