import { describe, expect, it } from 'vitest';
import { childEstablishedFromLog, idleBeforeFromWire, ikeSetupFromEvents, ikeSetupFromWire, ikeSetupToInstalled, parseIkeFields, responderShareFromWire } from '../../../bench/lib/ike-setup.ts';
import type { StampedEvent } from '../../../bench/lib/parse.ts';

const ev = (atMs: number, event: Record<string, unknown>): StampedEvent => ({ atMs, event });

describe('bench: the time to a new IKE SA + CHILD_SA', () => {
  it('from the events: connecting to the next installed CHILD_SA, one sample per IKE SA, a rekey not counted', () => {
    expect(ikeSetupFromEvents([
      ev(100, { type: 'ike-sa', state: 'connecting', gateway: 'g' }),
      ev(112, { type: 'ike-sa', state: 'established', gateway: 'g' }),
      ev(118, { type: 'child-sa', state: 'installed' }),
      ev(500, { type: 'child-sa', state: 'installed' }), // a second child or a rekey: no new setup
      ev(900, { type: 'ike-sa', state: 'connecting', gateway: 'g' }),
      ev(925, { type: 'child-sa', state: 'installed' }),
      ev(1000, { type: 'ike-sa', state: 'connecting', gateway: 'g' }), // never finished
    ])).toEqual([18, 25]);
  });

  it('parses tshark fields: the response flag, several values per field, lines without IKE', () => {
    const text = [
      '1700000000.100000\t192.0.2.2\t34\t0x08',
      '1700000000.101500\t192.0.2.1\t34\t0x20',
      '1700000000.102000\t192.0.2.2\t35,35\t0x08,0x08',
      '1700000000.103000\t192.0.2.1\t35\t0x20',
      '1700000000.200000\t192.0.2.2\t\t', // an ESP or keepalive packet
      '',
    ].join('\n');
    const p = parseIkeFields(text);
    expect(p.map((x) => [x.src, x.exchange, x.response])).toEqual([
      ['192.0.2.2', 34, false], ['192.0.2.1', 34, true], ['192.0.2.2', 35, false], ['192.0.2.1', 35, true],
    ]);
    expect(p[1]!.atMs - p[0]!.atMs).toBeCloseTo(1.5, 3);
  });

  it('on the wire: the first IKE_SA_INIT request (a retransmission counts in the time) to the IKE_AUTH response', () => {
    const pk = (atMs: number, src: string, exchange: number, response: boolean) => ({ atMs, src, exchange, response });
    expect(ikeSetupFromWire([
      pk(0, 'c', 34, false), pk(200, 'c', 34, false), pk(201, 'g', 34, true), pk(202, 'c', 35, false), pk(210, 'g', 35, true),
      pk(300, 'c', 37, false), pk(301, 'g', 37, true), // INFORMATIONAL (the delete): nothing
      pk(1000, 'c', 34, false), pk(1001, 'g', 34, true), pk(1002, 'c', 35, false), pk(1009, 'g', 35, true),
      pk(2000, 'g', 35, true), // an answer without a request in the window
    ], 'c')).toEqual([210, 9]);
  });

  const pk = (atMs: number, src: string, exchange: number, response: boolean) => ({ atMs, src, exchange, response });

  it("reads charon's CHILD_SA established lines with their epoch stamps, nothing else", () => {
    const log = [
      '1764780000.123 09[IKE] <home|1> IKE_SA home[1] established between 192.0.2.2[mn@example]...192.0.2.1[gw.example]',
      '1764780000.125 09[IKE] <home|1> CHILD_SA home{1} established with SPIs c1a2b3c4_i c5d6e7f8_o and TS 10.10.2.7/32 === 10.10.0.0/16',
      '1764780001.004 11[IKE] <home|2> CHILD_SA home{2} established with SPIs c0000001_i c0000002_o and TS 10.10.2.7/32 === 10.10.0.0/16',
      '1764780001.500 12[IKE] <home|2> closing CHILD_SA home{2} with SPIs c0000001_i (0 bytes) c0000002_o (0 bytes)',
      '',
    ].join('\n');
    expect(childEstablishedFromLog(log)).toEqual([1764780000125, 1764780001004]);
  });

  it('to the CHILD_SA installed: the first IKE_SA_INIT request (retransmissions included) to the next install stamp', () => {
    expect(ikeSetupToInstalled([
      pk(0, 'c', 34, false), pk(200, 'c', 34, false), pk(201, 'g', 34, true), pk(202, 'c', 35, false), pk(210, 'g', 35, true),
      pk(1000, 'c', 34, false), pk(1001, 'g', 34, true), pk(1002, 'c', 35, false), pk(1009, 'g', 35, true),
      pk(2000, 'c', 34, false), // never installed
    ], 'c', [-5, 212, 1011])).toEqual([212, 11]);
  });

  it("the gateway's share: each IKE_SA_INIT and IKE_AUTH request to its response", () => {
    expect(responderShareFromWire([
      pk(0, 'c', 34, false), pk(1, 'g', 34, true), pk(3, 'c', 35, false), pk(5.5, 'g', 35, true),
      pk(100, 'c', 37, false), pk(101, 'g', 37, true),
      pk(1000, 'c', 34, false), pk(1000.75, 'g', 34, true), pk(1002, 'c', 35, false), pk(1004, 'g', 35, true),
    ], 'c')).toEqual({ init: [1, 0.75], auth: [2.5, 2] });
  });

  it('the quiet time before each setup: the last IKE packet of either side to the first IKE_SA_INIT request, retransmissions not new', () => {
    expect(idleBeforeFromWire([
      pk(0, 'c', 34, false), pk(1, 'g', 34, true), pk(3, 'c', 35, false), pk(5, 'g', 35, true),
      pk(30, 'g', 37, false), pk(31, 'c', 37, true),
      pk(1031, 'c', 34, false), pk(1531, 'c', 34, false), pk(1532, 'g', 34, true), pk(1533, 'c', 35, false), pk(1535, 'g', 35, true),
      pk(1835, 'c', 37, false), pk(1836, 'g', 37, true),
      pk(2200, 'c', 34, false),
    ], 'c')).toEqual([1000, 364]);
  });
});
