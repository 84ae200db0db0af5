/**
 * makePki(): certificates that openssl verifies and that two strongSwan
 * daemons accept for a certificate-authenticated IKEv2 SA.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Lab, certFileName, labAvailable, makePki, roadWarriorResponder, run, skipLine, startStrongSwan, sweepStale, swanctlFiles, type Pki,
} from './index.ts';


const avail = labAvailable({ need: ['strongswan', 'openssl'] });
if (!avail.ok) console.warn(skipLine('pki.test.ts', avail));

function gatewayConf(pki: Pki): string {
  return roadWarriorResponder({
    localAddr: '192.0.2.1', cert: certFileName(pki.gateway), localId: pki.gateway.id,
    proposals: 'aes256gcm16-prfsha256-x25519', espProposals: 'aes256gcm16', localTs: '10.10.0.0/24',
  });
}

function clientConf(pki: Pki, id: string): string {
  const ent = pki.clients.get(id);
  if (!ent) throw new Error(`no client ${id}`);
  return `connections {
  home {
    version = 2
    remote_addrs = 192.0.2.1
    vips = 0.0.0.0
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = pubkey
      certs = ${certFileName(ent)}
      id = ${id}
    }
    remote {
      auth = pubkey
      id = ${pki.gateway.id}
    }
    children {
      net {
        remote_ts = 10.10.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
`;
}

describe.skipIf(!avail.ok)('makePki', () => {
  let lab: Lab;
  let pki: Pki;
  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['mn1', 'mn2', { name: 'gw', forward: true }, 'intranet'],
      switches: ['net'],
      links: [
        { a: 'gw', b: 'net', aAddr: '192.0.2.1/24' },
        { a: 'mn1', b: 'net', aAddr: '192.0.2.11/24' },
        { a: 'mn2', b: 'net', aAddr: '192.0.2.12/24' },
        // kernel-libipsec installs its route with a source inside local_ts: the gateway needs an address there
        { a: 'gw', b: 'intranet', aAddr: '10.10.0.1/24', bAddr: '10.10.0.5/24' },
      ],
      routes: [{ host: 'intranet', to: 'default', via: '10.10.0.1' }],
    });
    pki = await makePki(lab.tempDir('pki'), {
      gatewayId: 'gw.example',
      clients: [{ id: 'mn@example', keyType: 'ecdsa' }, { id: 'mn2@example', keyType: 'rsa' }],
    });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('issues certificates that chain to the CA and carry the identities as SANs', async () => {
    for (const ent of [pki.gateway, ...pki.clients.values()]) {
      const v = await run('openssl', ['verify', '-CAfile', pki.ca.cert, ent.cert]);
      expect(v.stdout, v.stderr).toContain(': OK');
      const text = (await run('openssl', ['x509', '-in', ent.cert, '-noout', '-text'])).stdout;
      expect(text).toContain(ent.id === 'gw.example' ? 'DNS:gw.example' : `email:${ent.id}`);
      expect(text).toContain(ent.keyType === 'ecdsa' ? 'id-ecPublicKey' : 'rsaEncryption');
    }
    await expect(makePki(lab.tempDir('bad'), { gatewayId: 'gw/../x' })).rejects.toThrow(/identity/);
  });

  it('lets strongSwan clients with ECDSA and RSA certificates establish with a certificate gateway', async () => {
    const gw = await startStrongSwan(lab, 'gw', { swanctlConf: gatewayConf(pki), extraFiles: swanctlFiles(pki, 'gateway') });
    for (const [host, id] of [['mn1', 'mn@example'], ['mn2', 'mn2@example']] as const) {
      const mn = await startStrongSwan(lab, host, { swanctlConf: clientConf(pki, id), extraFiles: swanctlFiles(pki, id) });
      await mn.swanctl(['--initiate', '--child', 'net']).catch((e: Error) => {
        throw new Error(`${e.message}\n--- gateway log ---\n${gw.logs().slice(-3000)}`);
      });
      const [sa] = await mn.listSas();
      expect(sa?.state).toBe('ESTABLISHED');
      expect(sa?.remoteId).toBe('gw.example');
      expect(sa?.localVips).toHaveLength(1);
      expect(sa?.children[0]?.state).toBe('INSTALLED');
      // and the tunnel carries traffic to the intranet behind the gateway
      expect((await lab.exec(host, 'ping', ['-c1', '-W3', '10.10.0.5'])).code).toBe(0);
    }
    const sas = await gw.listSas();
    expect(sas.map((s) => s.remoteId).sort()).toEqual(['mn2@example', 'mn@example']);
    expect(sas.every((s) => s.state === 'ESTABLISHED')).toBe(true);
  });
});
