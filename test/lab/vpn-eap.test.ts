/**
 * `homeward vpn up` with EAP (issue 20) against strongSwan 5.9: the gateway
 * signs with its ECDSA certificate, we answer with EAP-MSCHAPv2 (the user
 * database either in strongSwan's own secrets or, via eap-radius, in a real
 * FreeRADIUS server in the gateway's namespace on 127.0.0.1) or EAP-TLS
 * (TLS 1.2 through node:tls, our certificate from the lab CA).
 *
 *   client 192.0.2.2 ── 192.0.2.1 gw (charon + FreeRADIUS) 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *
 * Connections on the gateway, chosen by our IKE identity:
 *   mn@example      remote auth = eap-mschapv2 (secrets: EAP user "alice")
 *   radius@example  remote auth = eap-radius   (FreeRADIUS users file: "bob")
 *   tls@example     remote auth = eap-tls      (client certificate from the lab CA)
 *   md5@example     remote auth = eap-md5      (a method we do not speak: we Nak, it ends EAP)
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PLUGINS, Lab, capture, certFileName, dissect, labAvailable, makePki, skipLine, startFreeRadius, startStrongSwan, swanctlFiles,
  type FreeRadius, type Pki, type StrongSwan,
} from './harness/index.ts';
import { createVpnLab } from './fixtures/vpn-lab.ts';

const BIN = fileURLToPath(new URL('../../bin/homeward.mjs', import.meta.url));
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark', 'freeradius'] });
if (!avail.ok) console.warn(skipLine('vpn-eap.test.ts', avail));

type Json = Record<string, unknown>;
const events = (s: string): Json[] => s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);

const ALICE_PW = 'Alice-Pw-7f3e9c1d';
const BOB_PW = 'Bob-Pw-2b8d4a6e';
const WRONG_PW = 'Wrong-Pw-5c0a9e3f';
const RADIUS_SECRET = 'lab-radius-secret';

function swanctlConf(gwCert: string): string {
  const conn = (name: string, ikeId: string, auth: string): string => `  ${name} {
    version = 2
    local_addrs = 192.0.2.1
    pools = tia
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = pubkey
      certs = ${gwCert}
      id = gw.example
    }
    remote {
      auth = ${auth}
      id = ${ikeId}
      eap_id = %any
    }
    children {
      net {
        local_ts = 10.10.0.0/16
        esp_proposals = aes256gcm16
      }
    }
  }
`;
  return `connections {
${conn('eap-local', 'mn@example', 'eap-mschapv2')}${conn('eap-radius', 'radius@example', 'eap-radius')}${conn('eap-tls', 'tls@example', 'eap-tls')}${conn('eap-md5', 'md5@example', 'eap-md5')}}
pools {
  tia {
    addrs = 10.10.100.0/24
  }
}
secrets {
  eap-alice {
    id = alice
    secret = "${ALICE_PW}"
  }
}
`;
}

describe.skipIf(!avail.ok)('vpn up with EAP-MSCHAPv2 against strongSwan (local and via FreeRADIUS)', () => {
  let lab: Lab;
  let gw: StrongSwan;
  let radius: FreeRadius | undefined;
  let pki: Pki;
  let otherPki: Pki;
  let dir: string;

  beforeAll(async () => {
    lab = await createVpnLab();
    dir = lab.tempDir('client');
    pki = await makePki(lab.tempDir('pki'), { gatewayId: 'gw.example', gatewayKeyType: 'ecdsa', clients: [{ id: 'tls@example', keyType: 'ecdsa' }] });
    otherPki = await makePki(lab.tempDir('pki-other'), { gatewayId: 'gw.example', clients: [{ id: 'tls@example', keyType: 'ecdsa' }] });
    radius = await startFreeRadius(lab, 'gw', { users: { bob: BOB_PW }, clientSecret: RADIUS_SECRET });
    gw = await startStrongSwan(lab, 'gw', {
      swanctlConf: swanctlConf(certFileName(pki.gateway)),
      extraFiles: swanctlFiles(pki, 'gateway'),
      conf: {
        plugins: [...DEFAULT_PLUGINS, 'eap-radius', 'eap-tls', 'eap-md5'],
        logLevels: { default: 1, ike: 2, cfg: 2 },
        charonExtra: [
          'plugins {',
          '  eap-tls {',
          '    fragment_size = 400',
          '  }',
          '  eap-radius {',
          '    servers {',
          '      lab {',
          '        address = 127.0.0.1',
          `        secret = ${RADIUS_SECRET}`,
          `        auth_port = ${radius.authPort}`,
          '      }',
          '    }',
          '  }',
          '}',
        ].join('\n'),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  function profile(name: string, ikeId: string, identity: string, password: unknown, eap?: Json): string {
    const path = join(dir, `profile-${name}.json`);
    writeFileSync(path, JSON.stringify({
      homeAddress: '10.10.0.77', homeAgent: '10.10.0.2',
      vpn: {
        gateway: '192.0.2.1', localId: ikeId, remoteId: 'gw.example', ca: pki.ca.cert,
        auth: { eap: eap ?? { method: 'mschapv2', identity, password } },
        remoteTs: ['10.10.0.0/16'], retransmitBaseMs: 500, retransmitTries: 2,
      },
    }));
    return path;
  }

  async function establishAndPing(name: string, ikeId: string, identity: string, password: unknown, env: Record<string, string> = {}): Promise<void> {
    const keylog = join(dir, `keys-${name}.txt`);
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--keylog', keylog, '--profile', profile(name, ikeId, identity, password)], { env });
    await p.waitFor(/"state":"established"|"type":"error"/, 30_000, 'stdout');
    const evs = events(p.stdout());
    const est = evs.find((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(est, p.stdout() + p.stderr() + gw.logs().slice(-4000) + (radius?.logs().slice(-4000) ?? '')).toBeDefined();
    expect(evs.find((e) => e.type === 'log' && e.msg === 'EAP-MSCHAPv2 sign-in succeeded')).toMatchObject({ ctx_method: 'EAP-MSCHAPv2' });
    const ping = await lab.exec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', String(est!.tia), '10.10.0.10']);
    expect(ping.code).toBe(0);
    expect(JSON.stringify(await gw.listSas())).toContain(ikeId);
    await p.stop(8000);
    expect((await p.exited).code).toBe(0);
    const pcap = await cap.stop();
    // every EAP message, decrypted with --keylog: Request/Identity, Response/Identity, MSCHAPv2 Challenge/Response/Success both ways, Success
    const table = readFileSync(keylog, 'utf8').split('\n').filter((l) => l.startsWith('ikev2_decryption_table: ')).map((l) => l.slice(24));
    const d = await dissect(pcap, { prefs: table.map((l) => `uat:ikev2_decryption_table:${l}`), fields: ['eap.code', 'eap.type', 'eap.ms_chap_v2.opcode'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    const eapMsgs = d.packets.flatMap((pk) => (pk.fields['eap.code'] ?? []).map((c, i) => `${c}/${pk.fields['eap.type']?.[i] ?? '-'}`));
    expect(eapMsgs).toEqual(expect.arrayContaining(['1/1', '2/1', '1/26', '2/26', '3/-']));
    expect(eapMsgs.filter((m) => m === '1/26').length).toBeGreaterThanOrEqual(2); // Challenge and Success requests
    expect(eapMsgs.filter((m) => m === '2/26').length).toBeGreaterThanOrEqual(2); // Response and Success acknowledgement
    const secretText = String(typeof password === 'string' ? password : ALICE_PW);
    expect(p.stdout() + p.stderr() + readFileSync(keylog, 'utf8')).not.toContain(secretText);
  }

  it('EAP-MSCHAPv2 with strongSwan\'s own user database: established, ping, every EAP message decoded by tshark', async () => {
    await establishAndPing('local', 'mn@example', 'alice', ALICE_PW);
  }, 60_000);

  it('the password from a root-only secret file ({"secret": name}) works the same', async () => {
    const secrets = lab.tempDir('secrets');
    writeFileSync(join(secrets, 'corp-vpn'), `${ALICE_PW}\n`);
    chmodSync(join(secrets, 'corp-vpn'), 0o600);
    await establishAndPing('secret', 'mn@example', 'alice', { secret: 'corp-vpn' }, { HOMEWARD_SECRETS_DIR: secrets });
  }, 60_000);

  it('EAP-MSCHAPv2 relayed by eap-radius to FreeRADIUS: established, ping', async () => {
    await establishAndPing('radius', 'radius@example', 'bob', BOB_PW);
  }, 60_000);

  for (const via of ['local', 'radius'] as const) {
    it(`a wrong password (${via}) ends with EAP_WRONG_PASSWORD, exit 1 within 2 s, the password in no output`, async () => {
      const keylog = join(dir, `keys-wrong-${via}.txt`);
      const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--keylog', keylog,
        '--profile', profile(`wrong-${via}`, via === 'local' ? 'mn@example' : 'radius@example', via === 'local' ? 'alice' : 'bob', WRONG_PW)]);
      // timed from the first event (the IKE SA starts), so Node's start-up on a loaded machine is not counted
      await p.waitFor(/"state":"connecting"/, 10_000, 'stdout');
      const started = Date.now();
      const info = await p.exited;
      const ms = Date.now() - started;
      const err = events(p.stdout()).find((e) => e.type === 'error');
      expect(err, p.stdout() + p.stderr()).toMatchObject({ code: 'EAP_WRONG_PASSWORD', fatal: true });
      expect(String(err!.message)).toMatch(/rejected the user name or password/);
      expect(info.code).toBe(1);
      // strongSwan's eap-mschapv2 waits 2 s before it answers a wrong NT-Response ("verification failed,
      // retry" in its log: a brake on guessing); FreeRADIUS here answers at once (reject_delay = 0)
      const gatewayDelay = via === 'local' ? 2000 : 0;
      expect(ms - gatewayDelay, `connecting → exit, less the gateway's own ${gatewayDelay} ms`).toBeLessThan(2000);
      if (via === 'local') expect(gw.logs()).toMatch(/EAP-MS-CHAPv2 verification failed, retry/);
      const everything = p.stdout() + p.stderr() + readFileSync(keylog, 'utf8') + gw.logs() + (radius?.logs() ?? '');
      expect(everything).not.toContain(WRONG_PW);
      const links = await lab.exec('client', 'ip', ['-o', 'link', 'show']);
      expect(links.stdout).not.toMatch(/^\d+: hw\d+[:@]/m);
    }, 30_000);
  }

  it('a user name FreeRADIUS does not know ends with EAP_UNKNOWN_USER, exit 1', async () => {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile('nobody', 'radius@example', 'nobody', BOB_PW)]);
    const info = await p.exited;
    const err = events(p.stdout()).find((e) => e.type === 'error');
    expect(err, p.stdout()).toMatchObject({ code: 'EAP_UNKNOWN_USER' });
    expect(String(err!.message)).toMatch(/refused the EAP identity "nobody"/);
    expect(info.code).toBe(1);
  }, 30_000);

  it('EAP-TLS (TLS 1.2 in node:tls; the gateway fragments at 400 bytes, we acknowledge): established, ping, tshark decodes it', async () => {
    const ent = pki.clients.get('tls@example')!;
    const keylog = join(dir, 'keys-tls.txt');
    const cap = await capture(lab, 'gw', 'eth0', { filter: 'udp port 500 or udp port 4500' });
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--keylog', keylog,
      '--profile', profile('tls', 'tls@example', 'tls@example', undefined, { method: 'tls', identity: 'tls@example', cert: ent.cert, key: ent.key })]);
    await p.waitFor(/"state":"established"|"type":"error"/, 30_000, 'stdout');
    const evs = events(p.stdout());
    const est = evs.find((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(est, p.stdout() + p.stderr() + gw.logs().slice(-5000)).toBeDefined();
    expect(evs.find((e) => e.type === 'log' && e.msg === 'EAP-TLS sign-in succeeded')).toMatchObject({ ctx_method: 'EAP-TLS' });
    const ping = await lab.exec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', String(est!.tia), '10.10.0.10']);
    expect(ping.code).toBe(0);
    await p.stop(8000);
    expect((await p.exited).code).toBe(0);
    const table = readFileSync(keylog, 'utf8').split('\n').filter((l) => l.startsWith('ikev2_decryption_table: ')).map((l) => l.slice(24));
    const d = await dissect(await cap.stop(), { prefs: table.map((l) => `uat:ikev2_decryption_table:${l}`), fields: ['eap.code', 'eap.type', 'eap.tls.flags'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    const eapMsgs = d.packets.flatMap((pk) => (pk.fields['eap.code'] ?? []).map((c, i) => `${c}/${pk.fields['eap.type']?.[i] ?? '-'}`));
    // Start, the server's first flight in ≥ 2 fragments (M flag 0x40), its Finished; our ClientHello, ACKs, our flight, the final ACK
    expect(eapMsgs.filter((m) => m === '1/13').length, eapMsgs.join(' ')).toBeGreaterThanOrEqual(4);
    expect(eapMsgs.filter((m) => m === '2/13').length).toBeGreaterThanOrEqual(4);
    const flags = d.packets.flatMap((pk) => pk.fields['eap.tls.flags'] ?? []).map((f) => Number(f));
    expect(flags.some((f) => (f & 0x40) !== 0), `EAP-TLS flags seen: ${flags.join(',')}`).toBe(true);
    expect(eapMsgs).toContain('3/-');
  }, 60_000);

  it('EAP-TLS with a client certificate the gateway does not trust: EAP_CERT_REJECTED, exit 1', async () => {
    const ent = otherPki.clients.get('tls@example')!;
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json',
      '--profile', profile('tls-bad', 'tls@example', 'tls@example', undefined, { method: 'tls', identity: 'tls@example', cert: ent.cert, key: ent.key })]);
    const info = await p.exited;
    expect(events(p.stdout()).find((e) => e.type === 'error'), p.stdout() + gw.logs().slice(-3000)).toMatchObject({ code: 'EAP_CERT_REJECTED' });
    expect(info.code).toBe(1);
  }, 30_000);

  it('a gateway that only offers EAP-MD5: we Nak with MSCHAPv2, it ends EAP → EAP_METHOD_NOT_OFFERED, exit 1', async () => {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile('md5', 'md5@example', 'alice', ALICE_PW)]);
    const info = await p.exited;
    const err = events(p.stdout()).find((e) => e.type === 'error');
    expect(err, p.stdout() + gw.logs().slice(-3000)).toMatchObject({ code: 'EAP_METHOD_NOT_OFFERED' });
    expect(String(err!.message)).toMatch(/does not offer EAP-MSCHAPv2 \(it offered Md5Challenge\)/);
    expect(info.code).toBe(1);
  }, 30_000);

  it('an unknown secret name ends with SECRET_UNAVAILABLE before anything is sent', async () => {
    const p = lab.spawn('client', process.execPath, [BIN, 'vpn', 'up', '--json', '--profile', profile('nosecret', 'mn@example', 'alice', { secret: 'absent' })],
      { env: { HOMEWARD_SECRETS_DIR: lab.tempDir('empty-secrets') } });
    const info = await p.exited;
    expect(events(p.stdout()).find((e) => e.type === 'error'), p.stdout()).toMatchObject({ code: 'SECRET_UNAVAILABLE' });
    expect(info.code).toBe(1);
  }, 30_000);
});
