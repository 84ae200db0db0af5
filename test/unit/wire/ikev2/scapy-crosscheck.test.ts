/**
 * Cross-check against an independent decoder: scapy.contrib.ikev2 parses
 * what our codec encodes (scapy-dump.py prints what it saw as JSON).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../../../app/base/bytes.ts';
import { encodeMessage } from '../../../../app/wire/ikev2/message.ts';
import type { Proposal } from '../../../../app/wire/ikev2/payloads/sa.ts';
import { initHeader, initPayloads } from './fixtures.ts';

const SCRIPT = fileURLToPath(new URL('./scapy-dump.py', import.meta.url));

/** The first python3 that can import scapy's IKEv2 layer (Debian's python3-scapy is for /usr/bin/python3). */
function findPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import scapy.contrib.ikev2'], { stdio: 'ignore', timeout: 30_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

const python = findPython();

interface ScapyView {
  spiI: string;
  spiR: string;
  nextPayload: number;
  exchangeType: number;
  flags: number;
  messageId: number;
  length: number;
  leftover: boolean;
  payloads: { name: string; next: number; length: number; notifyType?: number; group?: number;
    proposals?: { num: number; proto: number; transforms: [number, number, number | null][] }[] }[];
}

describe('scapy cross-check', () => {
  it.skipIf(!python)(`scapy parses our IKE_SA_INIT the same way${python ? '' : ' (skipped: python3-scapy not installed)'}`, () => {
    const payloads = initPayloads();
    const bytes = encodeMessage(initHeader, payloads);
    const r = spawnSync(python!, [SCRIPT, bytesToHex(bytes)], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as ScapyView;

    expect(seen.spiI).toBe(bytesToHex(initHeader.spiI));
    expect(seen.spiR).toBe(bytesToHex(initHeader.spiR));
    expect(seen.exchangeType).toBe(initHeader.exchangeType);
    expect(seen.flags).toBe(0x08);
    expect(seen.messageId).toBe(0);
    expect(seen.length).toBe(bytes.length);
    expect(seen.leftover).toBe(false);

    // Payload sequence: scapy's chain of Next Payload fields equals ours.
    expect(seen.nextPayload).toBe(payloads[0]!.type);
    expect(seen.payloads.map((p) => p.next)).toEqual([...payloads.slice(1).map((p) => p.type), 0]);
    expect(seen.payloads.map((p) => p.name)).toEqual(['IKEv2 SA', 'IKEv2 Key Exchange', 'IKEv2 Nonce', 'IKEv2 Notify', 'IKEv2 Notify']);
    expect(seen.payloads.map((p) => p.notifyType).filter((t) => t !== undefined)).toEqual([16388, 16389]);
    expect(seen.payloads[1]!.group).toBe(31);

    const ours = (payloads[0] as { proposals: Proposal[] }).proposals;
    expect(seen.payloads[0]!.proposals).toEqual(ours.map((p) => ({
      num: p.number, proto: p.protocol, transforms: p.transforms.map((t) => [t.type, t.id, t.keyLength ?? null]),
    })));
  });
});
