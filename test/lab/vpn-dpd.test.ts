/**
 * Liveness and auto-reconnect against a strongSwan gateway that is killed
 * (SIGKILL: no DELETE) and restarted:
 *
 *   client 192.0.2.2 ── 192.0.2.1 gw 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *
 * DPD every 2 s, retransmissions at 0.5 s · 1.8^n, 3 tries: the failure must
 * be reported within dpd + the retransmission schedule (plus slack), and the
 * tunnel must come back by itself once the gateway is up again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, capture, dissect, labAvailable, roadWarriorResponder, skipLine, startStrongSwan, type StrongSwan } from './harness/index.ts';
import { createVpnLab } from './fixtures/vpn-lab.ts';

const BIN = fileURLToPath(new URL('../../bin/homeward.mjs', import.meta.url));
const PSK = 'lab-vpn-dpd-psk-0123456789';
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('vpn-dpd.test.ts', avail));

type Json = Record<string, unknown>;
const events = (s: string): Json[] => s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
const SWANCTL = roadWarriorResponder({ localAddr: '192.0.2.1', psk: PSK, localTs: '10.10.0.0/16' });

describe.skipIf(!avail.ok)('vpn up: liveness checks and auto-reconnect', () => {
  let lab: Lab;
  let gw: StrongSwan;

  beforeAll(async () => {
    lab = await createVpnLab();
    gw = await startStrongSwan(lab, 'gw', { swanctlConf: SWANCTL });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('a killed gateway is reported within the DPD interval plus retransmissions; the tunnel comes back after a restart', async () => {
    const profilePath = join(lab.tempDir('client'), 'profile.json');
    writeFileSync(profilePath, JSON.stringify({
      homeAddress: '10.10.0.77', homeAgent: '10.10.0.2',
      vpn: {
        gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: PSK }, remoteTs: ['10.10.0.0/16'],
        dpdSeconds: 2, retransmitBaseMs: 500, retransmitTries: 3, reconnect: true,
      },
    }));
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profilePath]);
    await p.waitFor(/"state":"established"/, 30_000, 'stdout');
    const tia = String(events(p.stdout()).find((e) => e.state === 'established')!.tia);
    expect((await lab.exec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', tia, '10.10.0.10'])).code).toBe(0);

    const killedAt = Date.now();
    gw.process.kill('SIGKILL');
    await gw.process.exited;
    await p.waitFor(/"type":"liveness","state":"failed"/, 20_000, 'stdout');
    const detectMs = Date.now() - killedAt;
    await p.waitFor(/"type":"error","code":"DEAD_PEER"/, 5_000, 'stdout'); // the error line follows the liveness line
    // dpd 2 s + 0.5·(1 + 1.8 + 3.24 + 5.83) s of retransmissions ≈ 7.9 s
    expect(detectMs, `liveness failure after ${detectMs} ms`).toBeLessThan(2000 + 5940 + 3000);
    expect(events(p.stdout()).filter((e) => e.type === 'error' && e.code === 'DEAD_PEER').length, p.stdout()).toBe(1);
    expect(p.running, p.stdout() + p.stderr()).toBe(true);

    gw = await startStrongSwan(lab, 'gw', { swanctlConf: SWANCTL });
    await p.waitFor(/"state":"established"[^\n]*\n(?:.*\n)*.*"state":"established"/, 60_000, 'stdout');
    const again = events(p.stdout()).filter((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(again.length, p.stdout()).toBe(2);
    const tia2 = String(again[1]!.tia);
    const ping = await lab.exec('client', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', tia2, '10.10.0.10']);
    expect(ping.code, ping.stdout + p.stdout()).toBe(0);

    await p.stop(8000);
    expect((await p.exited).code).toBe(0);
    expect(await gw.listSas()).toEqual([]);
    const links = await lab.exec('client', 'ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(/^\d+: hw\d+[:@]/m);
    // DPD requests, their retransmissions, the reconnect: all well-formed on the wire
    const d = await dissect(await cap.stop());
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
  }, 120_000);
});
