/**
 * Lab smoke test: the namespace harness, a real strongSwan gateway, an IKEv2
 * IKE_SA_INIT built by an independent codec (scapy), a capture checked by
 * tshark, and a teardown that leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import {
  Lab, PYTHON, capture, dissect, isClean, labAvailable, leftovers, roadWarriorResponder, skipLine,
  startStrongSwan, sweepStale, type StrongSwan,
} from './harness/index.ts';

const PROBE = fileURLToPath(new URL('./fixtures/ike-sa-init-probe.py', import.meta.url));
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark', 'scapy'] });
if (!avail.ok) console.warn(skipLine('smoke.test.ts', avail));

interface ProbeResult {
  spi_i: string;
  resp_init_spi?: string;
  resp_resp_spi?: string;
  version?: number;
  exch_type?: number;
  flags?: number;
  message_id?: number;
  length?: number;
  received_length?: number;
  payloads?: Array<{ type: string; notify?: number }>;
}

describe.skipIf(!avail.ok)('lab smoke: strongSwan answers an independent IKE_SA_INIT', () => {
  let lab: Lab;
  let gw: StrongSwan;

  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['client', 'gw'],
      links: [{ a: 'client', b: 'gw', aAddr: '192.0.2.2/24', bAddr: '192.0.2.1/24' }],
    });
    gw = await startStrongSwan(lab, 'gw', {
      swanctlConf: roadWarriorResponder({ localAddr: '192.0.2.1', psk: 'smoke-test-psk' }),
    });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('answers with the same SPIi, the Response flag and a responder SPI, and the wire dissects cleanly', async () => {
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
    const r = await lab.exec('client', PYTHON, [PROBE, '192.0.2.1', '500', '5']);
    expect(r.code, r.stderr).toBe(0);
    const probe = JSON.parse(r.stdout) as ProbeResult;

    expect(probe.resp_init_spi).toBe(probe.spi_i);
    expect(probe.resp_resp_spi).toMatch(/^[0-9a-f]{16}$/);
    expect(probe.resp_resp_spi).not.toBe('0000000000000000');
    expect(probe.version).toBe(0x20);
    expect(probe.exch_type).toBe(34); // IKE_SA_INIT
    expect((probe.flags ?? 0) & 0x20).toBe(0x20); // Response
    expect((probe.flags ?? 0) & 0x08).toBe(0); // not Initiator
    expect(probe.message_id).toBe(0);
    expect(probe.length).toBe(probe.received_length);
    // strongSwan accepted our proposal: SA, KE, Nonce come back
    expect(probe.payloads?.slice(0, 3).map((p) => p.type)).toEqual(['IKEv2_payload_SA', 'IKEv2_payload_KE', 'IKEv2_payload_Nonce']);

    const pcap = await cap.stop();
    const d = await dissect(pcap, { fields: ['isakmp.ispi', 'isakmp.rspi', 'isakmp.exchangetype'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    const ike = d.packets.filter((p) => p.protocols.includes('isakmp'));
    expect(ike.map((p) => p.info)).toEqual(['IKE_SA_INIT MID=00 Initiator Request', 'IKE_SA_INIT MID=00 Responder Response']);
    for (const p of ike) {
      expect(p.fields['isakmp.ispi']).toEqual([probe.spi_i]);
      expect(p.fields['isakmp.exchangetype']).toEqual(['34']);
    }
    expect(ike[1]?.fields['isakmp.rspi']).toEqual([probe.resp_resp_spi]);

    // the gateway holds the half-open IKE SA with those SPIs
    const sas = await gw.listSas();
    const sa = sas.find((s) => s.spiI === probe.spi_i);
    expect(sa, JSON.stringify(sas)).toBeDefined();
    expect(sa?.state).toBe('CONNECTING');
    expect(sa?.spiR).toBe(probe.resp_resp_spi);
    expect(sa?.remoteHost).toBe('192.0.2.2');
    expect(sa?.initiator).toBe(false);
    expect(gw.logs()).toMatch(/selected proposal: IKE:AES_GCM_16_256\/PRF_HMAC_SHA2_256\/CURVE_25519/);
  });

  it('destroy() leaves no namespace, veth, process or file of the run, and is idempotent', async () => {
    const runId = lab.runId;
    const pids = lab.startedPids;
    expect(pids).toContain(gw.pid);
    expect(leftovers(runId).namespaces.sort()).toEqual([`${runId}-client`, `${runId}-gw`]);
    expect(leftovers(runId).processes).toContain(gw.pid); // the scan does see charon while it runs

    await lab.destroy();
    await lab.destroy();

    const left = leftovers(runId);
    expect(left).toEqual({ namespaces: [], links: [], processes: [], files: [] });
    expect(isClean(left)).toBe(true);
    const { stdout } = await import('node:child_process').then((cp) =>
      new Promise<{ stdout: string }>((res, rej) => cp.execFile('ip', ['netns', 'list'], (e, so) => (e ? rej(e) : res({ stdout: so })))));
    expect(stdout).not.toContain(runId);
    for (const pid of pids) {
      let alive = true;
      try { process.kill(pid, 0); } catch { alive = false; }
      expect(alive, `pid ${pid}`).toBe(false);
    }
    await expect(lab.exec('client', 'true')).rejects.toThrow(/destroyed/);
  });
});
