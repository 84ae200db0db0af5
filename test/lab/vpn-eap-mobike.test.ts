/**
 * MOBIKE on an EAP-authenticated IKE SA (issue 20: "MOBIKE and the RFC 5266
 * engine work unchanged on an EAP-authenticated SA"). The cheaper proof the
 * issue allows instead of a second engine tour: vpn-mobike's topology and
 * moves, with the gateway signing by certificate and the client signing in
 * with EAP-MSCHAPv2.
 *
 *            eth0 A 192.0.2.2 ───────────────────── 192.0.2.1 eth0 ┐
 *   client                                                          gw ── 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *            eth1 B 198.51.100.2 ── rb ── 203.0.113.2 ── 203.0.113.1 eth1 ┘
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, certFileName, labAvailable, makePki, skipLine, startStrongSwan, sweepStale, swanctlFiles, type LabProcess, type StrongSwan } from './harness/index.ts';
import { createTwoLinkLab, jsonEvents as events, linkBack, pingGap, startMobikeVpn } from './fixtures/mobike.ts';

const PASSWORD = 'Eap-Mobike-Pw-41d2';
const avail = labAvailable({ need: ['strongswan', 'openssl'] });
if (!avail.ok) console.warn(skipLine('vpn-eap-mobike.test.ts', avail));

function swanctl(gwCert: string): string {
  return `connections {
  rw {
    version = 2
    local_addrs = 192.0.2.1, 203.0.113.1
    pools = tia
    proposals = aes256gcm16-prfsha256-x25519
    mobike = yes
    local {
      auth = pubkey
      certs = ${gwCert}
      id = gw.example
    }
    remote {
      auth = eap-mschapv2
      id = mn@example
      eap_id = %any
    }
    children {
      net {
        local_ts = 10.10.0.0/16
        esp_proposals = aes256gcm16
      }
    }
  }
}
pools {
  tia {
    addrs = 10.10.100.0/24
  }
}
secrets {
  eap-carol {
    id = carol
    secret = "${PASSWORD}"
  }
}
`;
}

describe.skipIf(!avail.ok)('MOBIKE on an EAP-MSCHAPv2 IKE SA', () => {
  let lab: Lab;
  let gw: StrongSwan;
  let vpn: LabProcess;
  let tia: string;

  beforeAll(async () => {
    sweepStale();
    lab = await createTwoLinkLab();
    const pki = await makePki(lab.tempDir('pki'), { gatewayId: 'gw.example', gatewayKeyType: 'ecdsa' });
    gw = await startStrongSwan(lab, 'gw', { swanctlConf: swanctl(certFileName(pki.gateway)), extraFiles: swanctlFiles(pki, 'gateway') });
    ({ vpn, tia } = await startMobikeVpn(lab, 'unused', {
      auth: { eap: { method: 'mschapv2', identity: 'carol', password: PASSWORD } }, ca: pki.ca.cert, dpdSeconds: 5, retransmitBaseMs: 500,
    }));
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it('A→B and B→A keep a 20 ms ping alive on the same EAP-authenticated IKE_SA', async () => {
    expect(events(vpn).find((e) => e.type === 'log' && e.msg === 'EAP-MSCHAPv2 sign-in succeeded')).toBeDefined();
    const [sa0] = await gw.listSas();
    expect(sa0, 'one IKE_SA at the gateway').toBeDefined();
    const spis = { i: sa0!.spiI, r: sa0!.spiR };
    const ping = lab.spawn('client', 'ping', ['-D', '-i', '0.02', '-W', '1', '-I', tia, '10.10.0.10'], { label: 'ping' });
    await new Promise((r) => setTimeout(r, 1000));
    const moves: { name: string; to: string; link: () => Promise<void> }[] = [
      { name: 'A→B', to: '198.51.100.2', link: () => lab.linkDown('client', 'eth0') },
      { name: 'B→A', to: '192.0.2.2', link: () => linkBack(lab, 'eth0', '192.0.2.1', 100) },
    ];
    for (const m of moves) {
      const at = Date.now() / 1000;
      await m.link();
      await vpn.waitFor(new RegExp(`"type":"mobike-update"[^\\n]*"to":"${m.to.replace(/\./g, '\\.')}"`), 15_000, 'stdout');
      await new Promise((r) => setTimeout(r, 2000));
      const sas = await gw.listSas();
      expect(sas.length, `${m.name}: one IKE_SA`).toBe(1);
      expect({ i: sas[0]!.spiI, r: sas[0]!.spiR }, `${m.name}: same SPIs`).toEqual(spis);
      expect(sas[0]!.remoteHost, `${m.name}: gateway sees the new address`).toBe(m.to);
      const gap = pingGap(ping.stdout(), at, Date.now() / 1000);
      console.log(`[eap-mobike] ${m.name}: ping gap ${gap} ms`);
      expect(gap).toBeLessThan(3000);
    }
    await ping.stop();
    expect(events(vpn).some((e) => e.type === 'error')).toBe(false);
    expect(events(vpn).filter((e) => e.type === 'ike-sa' && e.state === 'established').length).toBe(1);
    expect(vpn.stdout() + vpn.stderr()).not.toContain(PASSWORD);
  }, 90_000);
});
