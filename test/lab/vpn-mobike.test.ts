/**
 * MOBIKE (RFC 4555) against strongSwan: `homeward vpn up` watches its links
 * and moves the IKE and IPsec SAs with UPDATE_SA_ADDRESSES, no new IKE_SA.
 *
 *            eth0 A 192.0.2.2 ───────────────────── 192.0.2.1 eth0 ┐
 *   client                                                          gw ── 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *            eth1 B 198.51.100.2 ── rb ── 203.0.113.2 ── 203.0.113.1 eth1 ┘   (second address, ADDITIONAL_IP4_ADDRESS)
 *
 * The client's default routes: via A (metric 100) and via B (metric 200). Taking eth0 down moves the SA to B, bringing it up moves it
 * back. A 20 ms ping and a byte-checked 1 MB/s TCP stream run through the
 * tunnel all along; per move the test prints the ping gap and the MOBIKE
 * round trip (`ms` of the mobike-update event).
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labAvailable, roadWarriorResponder, skipLine, startStrongSwan, sweepStale, type LabProcess, type StrongSwan } from './harness/index.ts';
import { createTwoLinkLab, jsonEvents as events, linkBack, pingGap, startMobikeVpn, until, type Json } from './fixtures/mobike.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];
const PSK = 'lab-vpn-mobike-psk-0123456789';
const avail = labAvailable({ need: ['strongswan'] });
if (!avail.ok) console.warn(skipLine('vpn-mobike.test.ts', avail));

const SWANCTL = roadWarriorResponder({ localAddr: '192.0.2.1, 203.0.113.1', psk: PSK, proposals: 'aes256gcm16-prfsha256-x25519', espProposals: 'aes256gcm16', localTs: '10.10.0.0/16', ikeOptions: ['mobike = yes'] });

describe.skipIf(!avail.ok)('vpn up with MOBIKE: the SA follows the client across its links', () => {
  let lab: Lab;
  let gw: StrongSwan;
  let vpn: LabProcess;
  let tia: string;

  beforeAll(async () => {
    sweepStale();
    lab = await createTwoLinkLab();
    gw = await startStrongSwan(lab, 'gw', { swanctlConf: SWANCTL });
    ({ vpn, tia } = await startMobikeVpn(lab, PSK, { dpdSeconds: 5, retransmitBaseMs: 500 }));
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it('A→B and B→A keep a 20 ms ping and a 1 MB/s byte-checked stream alive on the same IKE_SA', async () => {
    const [sa0] = await gw.listSas();
    expect(sa0, 'one IKE_SA at the gateway').toBeDefined();
    const spis = { i: sa0!.spiI, r: sa0!.spiR };
    expect(sa0!.remoteHost).toBe('192.0.2.2');

    const echo = lab.spawn('intranet', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/echo-server.ts'), '10.10.0.10', '5001'], { label: 'echo' });
    await echo.waitFor(/listening/, 15_000, 'stdout');
    const ping = lab.spawn('client', 'ping', ['-D', '-i', '0.02', '-W', '1', '-I', tia, '10.10.0.10'], { label: 'ping' });
    const stream = lab.spawn('client', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.10.0.10', '5001', '14', '50000'], { label: 'stream' });
    await stream.waitFor(/"event":"connected"/, 15_000, 'stdout');
    await new Promise((r) => setTimeout(r, 2000));

    const moves: { name: string; to: string; link: () => Promise<void> }[] = [
      { name: 'A→B', to: '198.51.100.2', link: () => lab.linkDown('client', 'eth0') },
      { name: 'B→A', to: '192.0.2.2', link: () => linkBack(lab, 'eth0', '192.0.2.1', 100) },
    ];
    for (const m of moves) {
      const seen = events(vpn).filter((e) => e.type === 'mobike-update').length;
      const at = Date.now() / 1000;
      await m.link();
      await vpn.waitFor(new RegExp(`"type":"mobike-update"[^\\n]*"to":"${m.to.replace(/\./g, '\\.')}"`), 15_000, 'stdout');
      await new Promise((r) => setTimeout(r, 2500));
      const upd = events(vpn).filter((e) => e.type === 'mobike-update').slice(seen).at(-1)!;
      const sas = await gw.listSas();
      expect(sas.length, `${m.name}: one IKE_SA`).toBe(1);
      expect({ i: sas[0]!.spiI, r: sas[0]!.spiR }, `${m.name}: same SPIs`).toEqual(spis);
      expect(sas[0]!.remoteHost, `${m.name}: gateway sees the new address`).toBe(m.to);
      const gap = pingGap(ping.stdout(), at, Date.now() / 1000);
      console.log(`[mobike] ${m.name}: ping gap ${gap} ms, MOBIKE round trip ${String(upd.ms)} ms`);
      expect(upd).toMatchObject({ to: m.to });
    }
    const done = await stream.waitFor(/"event":"done"/, 40_000, 'stdout');
    expect(done).toBeTruthy();
    const last = stream.stdout().split('\n').filter((l) => l.includes('"done"')).map((l) => JSON.parse(l) as Json).at(-1)!;
    expect(last, stream.stdout()).toMatchObject({ ok: true });
    expect(Number(last.received)).toBeGreaterThanOrEqual(14 * 1_000_000 * 0.99);
    await ping.stop();
    expect(events(vpn).some((e) => e.type === 'error')).toBe(false);
    expect(events(vpn).filter((e) => e.type === 'ike-sa' && e.state === 'established').length).toBe(1);
  }, 120_000);
  it('an address added to or removed from a non-primary link is announced to the gateway (ADDITIONAL_IP4_ADDRESS), without a move', async () => {
    const announced = (): string[] => events(vpn).filter((e) => e.type === 'log' && e.msg === 'our address list announced').map((e) => String(e.ctx_addresses));
    const moves = events(vpn).filter((e) => e.type === 'mobike-update').length;
    const n0 = announced().length;
    await lab.addrAdd('client', 'eth1', '198.51.100.9/24');
    await until('the list with 198.51.100.9', () => announced().slice(n0).find((l) => l.split(',').includes('198.51.100.9')), 5000);
    const n1 = announced().length;
    await lab.addrDel('client', 'eth1', '198.51.100.9/24');
    const after = await until('the list without 198.51.100.9', () => announced().slice(n1).find((l) => !l.split(',').includes('198.51.100.9')), 5000);
    expect(after.split(',')).toContain('198.51.100.2');
    expect(events(vpn).filter((e) => e.type === 'mobike-update').length, 'no move').toBe(moves);
    const sas = await gw.listSas();
    expect(sas[0]!.remoteHost).toBe('192.0.2.2');
  }, 30_000);
});
