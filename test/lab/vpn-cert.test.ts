/**
 * `homeward vpn up` with X.509 certificates against strongSwan 5.9:
 * our key ECDSA P-256 or RSA-2048, the gateway's checked against the
 * configured CA and remote ID. One topology, one gateway (ECDSA):
 *
 *   client 192.0.2.2 ── 192.0.2.1 gw 10.10.0.1 ── lan ── 10.10.0.10 intranet
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Lab, capture, certFileName, dissect, labAvailable, makePki, roadWarriorResponder, skipLine, startStrongSwan, swanctlFiles, type Pki, type StrongSwan,
} from './harness/index.ts';
import { createVpnLab } from './fixtures/vpn-lab.ts';

const BIN = fileURLToPath(new URL('../../bin/homeward.mjs', import.meta.url));
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('vpn-cert.test.ts', avail));

type Json = Record<string, unknown>;
const events = (s: string): Json[] => s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);

describe.skipIf(!avail.ok)('vpn up with certificates against strongSwan', () => {
  let lab: Lab;
  let gw: StrongSwan;
  let pki: Pki;
  let otherPki: Pki;
  let dir: string;

  beforeAll(async () => {
    lab = await createVpnLab();
    dir = lab.tempDir('client');
    pki = await makePki(lab.tempDir('pki'), {
      gatewayId: 'gw.example', clients: [{ id: 'mn@example', keyType: 'ecdsa' }, { id: 'rsa@example', keyType: 'rsa' }],
    });
    otherPki = await makePki(lab.tempDir('pki-other'), { gatewayId: 'gw.example' });
    gw = await startStrongSwan(lab, 'gw', {
      swanctlConf: roadWarriorResponder({
        localAddr: '192.0.2.1', cert: certFileName(pki.gateway), proposals: 'aes256gcm16-prfsha256-x25519',
        espProposals: 'aes256gcm16', localTs: '10.10.0.0/16',
      }),
      extraFiles: swanctlFiles(pki, 'gateway'),
    });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  function profile(id: string, ca: string): string {
    const ent = pki.clients.get(id)!;
    const path = join(dir, `profile-${id}-${ca === pki.ca.cert ? 'ca' : 'other'}.json`);
    writeFileSync(path, JSON.stringify({
      homeAddress: '10.10.0.77', homeAgent: '10.10.0.2',
      vpn: {
        gateway: '192.0.2.1', localId: id, remoteId: 'gw.example', auth: { cert: ent.cert, key: ent.key }, ca,
        remoteTs: ['10.10.0.0/16'], retransmitBaseMs: 500, retransmitTries: 2,
      },
    }));
    return path;
  }

  for (const id of ['mn@example', 'rsa@example']) {
    it(`${id === 'mn@example' ? 'ECDSA P-256' : 'RSA-2048'} client certificate: established, ping, clean stop, tshark-clean`, async () => {
      const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
      const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile(id, pki.ca.cert)]);
      await p.waitFor(/"state":"established"|"type":"error"/, 30_000, 'stdout');
      const est = events(p.stdout()).find((e) => e.type === 'ike-sa' && e.state === 'established');
      expect(est, p.stdout() + p.stderr() + gw.logs().slice(-3000)).toBeDefined();
      const ping = await lab.exec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', String(est!.tia), '10.10.0.10']);
      expect(ping.code).toBe(0);
      const sas = await gw.listSas();
      expect(JSON.stringify(sas)).toContain(id);
      await p.stop(8000);
      expect((await p.exited).code).toBe(0);
      expect(await gw.listSas()).toEqual([]);
      const d = await dissect(await cap.stop());
      expect(d.packets.length).toBeGreaterThan(6);
      expect(d.malformed).toEqual([]);
      expect(d.expertErrors).toEqual([]);
    });
  }

  it('a gateway certificate from an untrusted CA ends with AUTHENTICATION_FAILED, exit 1, nothing configured', async () => {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile('mn@example', otherPki.ca.cert)]);
    const info = await p.exited;
    const err = events(p.stdout()).find((e) => e.type === 'error');
    expect(err, p.stdout()).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    expect(String(err!.message)).toMatch(/not issued by a trusted CA/);
    expect(info.code).toBe(1);
    const links = await lab.exec('client', 'ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(/^\d+: hw\d+[:@]/m);
  });
});
