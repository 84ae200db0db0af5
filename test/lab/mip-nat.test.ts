/**
 * Mode `c` behind a NAT: the home agent sees the request come from the NAT's
 * address (≠ the CoA in the request), so RFC 3519 UDP tunnelling is
 * negotiated and all traffic rides the registration's UDP flow.
 *
 *   mn 192.168.1.100 ── 192.168.1.1 [nat, MASQUERADE] 10.2.0.2 ── 10.2.0.1 [ha 10.1.0.1] ── 10.1.0.10 intra
 *   trusted: 10.2.0.0/24 (the NAT's outside); HoA 10.1.0.50
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labAvailable, skipLine, type LabProcess } from './harness/index.ts';
import { rawAddonEnv } from './home-agent/addon.ts';

const avail = labAvailable({ need: ['iptables'] });
if (!avail.ok) console.warn(skipLine('mip-nat', avail));

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];
const KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const REAL_CORE = existsSync(join(ROOT, 'app/mip4/registration.ts'));
if (!REAL_CORE) console.warn('[lab] mip-nat: app/mip4/registration.ts missing: the MN runs with the test-double registration core (no keepalives)');

const events = (p: LabProcess) => p.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(!avail.ok)('Mobile IPv4 mode c behind a NAT (lab)', () => {
  let lab: Lab;
  let ha: LabProcess;
  let mn: LabProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = await rawAddonEnv();
    lab = await Lab.create({
      hosts: ['mn', 'nat', { name: 'ha', forward: true }, 'intra'],
      links: [
        { a: 'mn', b: 'nat', aAddr: '192.168.1.100/24', bAddr: '192.168.1.1/24', aIf: 'wlan0', bIf: 'lan0' },
        { a: 'nat', b: 'ha', aAddr: '10.2.0.2/24', bAddr: '10.2.0.1/24', aIf: 'wan0', bIf: 'sub2' },
        { a: 'ha', b: 'intra', aAddr: '10.1.0.1/24', bAddr: '10.1.0.10/24', aIf: 'intra0', bIf: 'eth0' },
      ],
      routes: [{ host: 'mn', to: 'default', via: '192.168.1.1' }, { host: 'nat', to: 'default', via: '10.2.0.1' }],
      nat: [{ host: 'nat', outIf: 'wan0' }],
    });
    const haConfig = join(lab.workDir, 'ha.json');
    writeFileSync(haConfig, JSON.stringify({
      address: '10.1.0.1', homeNetwork: '10.1.0.0/24', intranetDevice: 'intra0', tunDevice: 'ha0', keepaliveSeconds: 10,
      trustedPrefixes: ['10.2.0.0/24'], mobileNodes: [{ homeAddress: '10.1.0.50', spi: 300, key: `hex:${KEY}` }],
    }));
    const profile = join(lab.workDir, 'profile.json');
    writeFileSync(profile, JSON.stringify({
      homeAddress: '10.1.0.50', homeAgent: '10.1.0.1', mnHaAuth: { spi: 300, key: `hex:${KEY}` },
      mip: { udpTunnel: 'auto', keepaliveSeconds: 10 },
    }));
    ha = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', haConfig], { env, label: 'home-agent' });
    const echo = lab.spawn('intra', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/echo-server.ts'), '10.1.0.10', '5001'], { env, label: 'echo' });
    await ha.waitFor(/"event":"ready"/, 20_000, 'stdout');
    await echo.waitFor(/listening/, 20_000, 'stdout');
    const cli = REAL_CORE ? [join(ROOT, 'bin/homeward.mjs'), 'mip', 'register'] : [join(ROOT, 'test/lab/home-agent/tools/mn-run.ts')];
    mn = lab.spawn('mn', process.execPath, [...TSX, ...cli, '--profile', profile, '--json', '--route', '10.1.0.0/24'], { env, label: 'mn' });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('the HA detects the NAT and grants UDP tunnelling to the NAT address and port', async () => {
    await mn.waitFor(/"state":"accepted"/, 15_000, 'stdout');
    const accepted = events(mn).find((e) => e.state === 'accepted');
    expect(accepted).toMatchObject({ coa: '192.168.1.100', tnc: true, udpTunnel: true });
    const added = events(ha).find((e) => e.event === 'binding-added');
    expect(added).toMatchObject({ coa: '192.168.1.100', tunnel: 'udp', tunnelDst: '10.2.0.2', from: '10.2.0.2' });
  });

  it('ping and a byte-checked TCP stream flow through the UDP tunnel and the NAT', async () => {
    const ping = await lab.exec('mn', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const stream = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', '2'], { env, label: 'stream' });
    const done = await stream.waitFor(/\{"event":"done".*\}/, 40_000, 'stdout');
    expect(JSON.parse(done[0])).toMatchObject({ ok: true, src: '10.1.0.50' });
  });

  it.skipIf(!REAL_CORE)('keepalives keep the NAT binding open past the NAT\'s UDP timeout; the HA still reaches the MN', async () => {
    // The NAT forgets an idle UDP mapping after 15 s here (per-namespace conntrack timeouts);
    // keepalives go out after 10 s without traffic to the HA, so the mapping must survive 25 s of idle.
    await lab.execOk('nat', 'sysctl', ['-w', 'net.netfilter.nf_conntrack_udp_timeout=15', 'net.netfilter.nf_conntrack_udp_timeout_stream=15']);
    const before = events(ha).filter((e) => e.event === 'binding-added').at(-1);
    await new Promise((r) => setTimeout(r, 25_000));
    // downstream only: from the intranet to the home address, through the HA's UDP tunnel and the NAT's mapping
    const ping = await lab.exec('intra', 'ping', ['-c', '2', '-i', '0.3', '-W', '2', '10.1.0.50']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(events(ha).filter((e) => e.event === 'binding-added').at(-1)).toEqual(before);
    await mn.stop(8000);
    const stopped = events(mn).find((e) => e.type === 'stopped') as { stats?: { keepalivesSent?: number }; core?: { keepaliveReplies?: number } } | undefined;
    expect(stopped?.stats?.keepalivesSent ?? 0).toBeGreaterThan(0);
    // answered through the NAT: its UDP mapping was still there after the idle time
    expect(stopped?.core?.keepaliveReplies ?? 0).toBeGreaterThan(0);
    expect(events(mn).some((e) => e.type === 'keepalive-lost')).toBe(false);
  });
});
