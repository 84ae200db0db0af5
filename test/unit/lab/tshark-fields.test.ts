import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTsharkFields } from '../../lab/harness/capture.ts';

// tshark 4.0 output (dissect()'s field list + isakmp.ispi, isakmp.flags) for a
// capture holding a good IKE_SA_INIT exchange and a truncated request with its answer
const text = readFileSync(new URL('../../lab/fixtures/tshark-fields-ike.txt', import.meta.url), 'utf8');

describe('tshark field output parser', () => {
  it('lists packets with protocols, info and requested fields', () => {
    const d = parseTsharkFields(text, ['isakmp.ispi', 'isakmp.flags']);
    expect(d.packets.map((p) => p.no)).toEqual([1, 2, 3, 4]);
    expect(d.packets[0]?.protocols).toEqual(['eth', 'ethertype', 'ip', 'udp', 'isakmp']);
    expect(d.packets[1]?.info).toBe('IKE_SA_INIT MID=00 Responder Response');
    expect(d.packets[0]?.fields['isakmp.ispi']).toEqual(d.packets[1]?.fields['isakmp.ispi']);
    expect(d.packets.map((p) => p.fields['isakmp.flags']?.[0])).toEqual(['0x08', '0x20', '0x08', '0x20']);
  });

  it('reports the malformed packet and its expert error, and only that one', () => {
    const d = parseTsharkFields(text, ['isakmp.ispi', 'isakmp.flags']);
    expect(d.malformed).toHaveLength(1);
    expect(d.malformed[0]).toMatch(/^frame 3: .*Malformed Packet/);
    expect(d.expertErrors).toEqual(['frame 3: Malformed Packet (Exception occurred)']);
    expect(d.packets[2]?.expert).toEqual(['error: Malformed Packet (Exception occurred)']);
    expect(d.packets.filter((p) => p.expert.length > 0).map((p) => p.no)).toEqual([3]);
  });

  it('keeps warnings out of the errors, and returns nothing for no packets', () => {
    const warn = `7\teth:ethertype:ip:udp:isakmp\tinfo\t${0x00600000}\u001f${0x00800000}\tlooks odd\u001fbad length\t\n`;
    const d = parseTsharkFields(warn);
    expect(d.packets[0]?.expert).toEqual(['warn: looks odd', 'error: bad length']);
    expect(d.expertErrors).toEqual(['frame 7: bad length']);
    expect(d.malformed).toEqual([]);
    expect(parseTsharkFields('')).toEqual({ packets: [], malformed: [], expertErrors: [] });
  });
});
