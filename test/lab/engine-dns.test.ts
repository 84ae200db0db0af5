/**
 * Intranet names, captive portals and IPv6 (issue 19), on the engine lab
 * (test/lab/fixtures/engine-lab.ts) with IPv6 on:
 *
 *   mn eth1 198.51.100.100 / fd00:198::100 ── U1 ── gw 198.51.100.1 / fd00:198::1 (strongSwan)
 *        gw eth1 10.1.0.2 / fd00:1::2 ── lan ── intra 10.1.0.10 / fd00:1::10 (intranet DNS, dnsmasq)
 *
 *   U1's own resolver (dnsmasq on gw, 198.51.100.1) answers every name with its
 *   own address and logs each query; the gateway pushes INTERNAL_IP4_DNS
 *   10.1.0.10 and INTERNAL_DNS_DOMAIN corp.example (attr plugin). The MN has
 *   its own mount namespace (`ip netns exec` binds /etc/netns/<ns>/resolv.conf
 *   over /etc/resolv.conf), whose resolver is U1's.
 *
 * Checked: outside, `getent hosts intra.corp.example` gives the intranet's
 * address, U1's resolver never sees a corp.example query and U1 carries no
 * DNS in clear; the resolver file is byte-identical after a stop, and after a
 * SIGKILL followed by the next start and stop; intranet IPv6 never leaves on
 * U1 while the engine runs (and does without it: the leak is real); a portal
 * on U1 is reported with its login URL within 5 s and the VPN is up within 3 s
 * of the login.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, labAvailable, skipLine, type Lab, type LabProcess } from './harness/index.ts';
import { createEngineLab, events, isMode, ROOT, TSX, waitEvent, type Json } from './fixtures/engine-lab.ts';

const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('engine-dns', avail));

const HOTEL_RESOLV = '# the hotel\'s DHCP\nnameserver 198.51.100.1\noptions edns0\n';
const PORTAL_PROBE = 'http://192.0.2.80/generate_204';
const LOGIN = 'http://198.51.100.1:8080/login?from=hotel';

describe.skipIf(!avail.ok)('homeward run: intranet DNS, captive portal, IPv6 (lab)', () => {
  let lab: Lab;
  let env: NodeJS.ProcessEnv;
  let profile: string;
  let toU1: () => Promise<void>;
  let resolvConf: string;
  let hotelDns: LabProcess;
  let stateDir: string;

  const start = (): LabProcess => lab.spawn('mn', process.execPath,
    [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', profile, '--json', '--state-dir', stateDir], { env, label: 'homeward-run' });

  beforeAll(async () => {
    ({ lab, env, toU1 } = await createEngineLab({
      ipv6: true,
      gatewayConf: { charonExtra: 'plugins {\n  attr {\n    dns = 10.1.0.10\n    25 = corp.example\n  }\n}' },
    }));
    stateDir = lab.tempDir('state');
    // the laptop's own resolver file (ip netns exec mounts it over /etc/resolv.conf)
    const etc = join('/etc/netns', lab.ns('mn'));
    mkdirSync(etc, { recursive: true });
    lab.onDestroy(() => rmSync(etc, { recursive: true, force: true }));
    resolvConf = join(etc, 'resolv.conf');
    writeFileSync(resolvConf, HOTEL_RESOLV);
    // IPv6 on U1 and in the intranet; the gateway routes IPv6 (its IPv4 FORWARD drop does not cover it)
    await lab.ip('mn', ['-6', 'addr', 'add', 'fd00:198::100/64', 'dev', 'eth1', 'nodad']);
    await lab.ip('gw', ['-6', 'addr', 'add', 'fd00:198::1/64', 'dev', 'ext0', 'nodad']);
    await lab.ip('gw', ['-6', 'addr', 'add', 'fd00:1::2/64', 'dev', 'eth1', 'nodad']);
    await lab.ip('intra', ['-6', 'addr', 'add', 'fd00:1::10/64', 'dev', 'eth0', 'nodad']);
    await lab.execOk('gw', 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    await lab.ip('intra', ['-6', 'route', 'add', 'default', 'via', 'fd00:1::2']);
    // the intranet's DNS, and U1's resolver that answers every name with its own address
    const intraDns = lab.spawn('intra', 'dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces',
      '--listen-address=10.1.0.10', '--host-record=intra.corp.example,10.1.0.10', '--local=/corp.example/', '--log-queries', '--log-facility=-'], { label: 'intranet-dns' });
    hotelDns = lab.spawn('gw', 'dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces',
      '--listen-address=198.51.100.1', '--address=/#/198.51.100.1', '--log-queries', '--log-facility=-'], { label: 'hotel-dns' });
    await intraDns.waitFor(/started/, 10_000, 'stderr');
    await hotelDns.waitFor(/started/, 10_000, 'stderr');
    // the lab's profile, plus the intranet's IPv6 prefix and the portal probe
    const base = JSON.parse(readFileSync(join(lab.workDir, 'profile.json'), 'utf8')) as Json;
    profile = join(lab.workDir, 'profile-dns.json');
    writeFileSync(profile, JSON.stringify({ ...base, intranet6: ['fd00:1::/64'], captivePortal: { probeUrl: PORTAL_PROBE, afterMs: 1000 } }));
    await toU1();
    await lab.ip('mn', ['-6', 'route', 'replace', 'default', 'via', 'fd00:198::1', 'dev', 'eth1']);
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it('without the engine, intranet IPv6 leaves on U1 (the leak the engine must close)', async () => {
    // the links are fresh: neighbour discovery on them may not be ready for the first echo on a loaded
    // machine (CI once saw 0 of 1 in 0 ms), so up to five tries; one answer shows the leak
    let r = await lab.exec('mn', 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:1::10']);
    for (let i = 0; i < 4 && r.code !== 0; i++) {
      await new Promise((ok) => setTimeout(ok, 250));
      r = await lab.exec('mn', 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:1::10']);
    }
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('outside: intranet names from the intranet\'s DNS through the tunnel; U1\'s resolver never asked; no IPv6 to the intranet', async () => {
    const cap = await capture(lab, 'mn', 'eth1', { filter: 'port 53 or ip6' });
    const mn = start();
    try {
      await waitEvent(mn, 0, isMode('mc'), 'mode mc on U1', 30_000);
      const dns = await waitEvent(mn, 0, (e) => e.type === 'dns' && Array.isArray(e.servers) && e.servers.length > 0, 'dns event');
      expect(dns).toMatchObject({ servers: ['10.1.0.10'], domains: ['corp.example'], via: 'resolv.conf' });
      const got = await lab.exec('mn', 'getent', ['hosts', 'intra.corp.example']);
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout.trim().split(/\s+/)[0]).toBe('10.1.0.10');
      const v6 = await lab.exec('mn', 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:1::10']);
      expect(v6.code).not.toBe(0);
      const pcap = await cap.stop();
      expect(hotelDns.stderr()).not.toMatch(/corp\.example/);
      const d = await dissect(pcap, { fields: ['ip.dst', 'ipv6.dst', 'udp.dstport', 'dns.qry.name'] });
      const clear = d.packets.filter((p) => (p.fields['dns.qry.name']?.length ?? 0) > 0 || (p.fields['ipv6.dst']?.[0] ?? '').startsWith('fd00:1:'));
      expect(clear.map((p) => JSON.stringify(p.fields))).toEqual([]);
    } finally {
      await mn.stop(10_000, 'SIGTERM');
    }
    expect(events(mn).some((e) => e.type === 'dns' && Array.isArray(e.servers) && e.servers.length === 0)).toBe(true);
    expect(readFileSync(resolvConf, 'utf8')).toBe(HOTEL_RESOLV);
    // and IPv6 is open again once the engine is gone
    const after = await lab.exec('mn', 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:1::10']);
    expect(after.code).toBe(0);
  }, 90_000);

  it('a captive portal on U1: reported with its login page within 5 s; VPN up within 3 s of the login', async () => {
    // the "internet" answers the probe with 204; until login, U1 sends all HTTP to the portal and drops IKE
    await lab.ip('gw', ['addr', 'add', '192.0.2.80/32', 'dev', 'lo']);
    const web = (addr: string, port: number, status: number, location?: string) => lab.spawn('gw', process.execPath, ['-e',
      `require('http').createServer((q,s)=>{s.writeHead(${status},${JSON.stringify(location ? { location } : {})});s.end()}).listen(${port},'${addr}',()=>console.log('listening'))`], { label: `web-${port}` });
    const probe = web('192.0.2.80', 80, 204);
    const portal = web('198.51.100.1', 8080, 302, LOGIN);
    await probe.waitFor(/listening/, 10_000, 'stdout');
    await portal.waitFor(/listening/, 10_000, 'stdout');
    const redirect = ['-t', 'nat', '-I', 'PREROUTING', '-i', 'ext0', '-p', 'tcp', '--dport', '80', '-j', 'REDIRECT', '--to-ports', '8080'];
    const dropIke = ['-I', 'INPUT', '-i', 'ext0', '-p', 'udp', '-m', 'multiport', '--dports', '500,4500', '-j', 'DROP'];
    await lab.iptables('gw', redirect);
    await lab.iptables('gw', dropIke);
    const t0 = Date.now();
    const mn = start();
    try {
      const seen = await waitEvent(mn, 0, (e) => e.type === 'captive-portal' && e.state === 'detected', 'captive-portal event', 10_000);
      expect(seen).toMatchObject({ url: LOGIN, iface: 'eth1' });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(events(mn).some(isMode('mc'))).toBe(false);
      // the user logs in
      await lab.iptables('gw', ['-t', 'nat', '-D', ...redirect.slice(3)]);
      await lab.iptables('gw', ['-D', ...dropIke.slice(1)]);
      const t1 = Date.now();
      await waitEvent(mn, 0, (e) => e.type === 'captive-portal' && e.state === 'cleared', 'portal cleared', 5000);
      await waitEvent(mn, 0, isMode('mc'), 'mode mc after the login', 10_000);
      const ms = Date.now() - t1;
      console.log(`[engine-dns] VPN up ${ms} ms after the portal login`);
      expect(ms).toBeLessThan(3000);
    } finally {
      await mn.stop(10_000, 'SIGTERM');
    }
  }, 90_000);
  it('SIGKILL leaves our resolver file; the next start puts the original back and its stop leaves it byte-identical', async () => {
    const first = start();
    await waitEvent(first, 0, (e) => e.type === 'dns' && Array.isArray(e.servers) && e.servers.length > 0, 'dns event', 30_000);
    expect(readFileSync(resolvConf, 'utf8')).not.toBe(HOTEL_RESOLV);
    await first.stop(5000, 'SIGKILL');
    const second = start();
    try {
      await waitEvent(second, 0, isMode('mc'), 'mode mc after the crash', 30_000);
    } finally {
      await second.stop(10_000, 'SIGTERM');
    }
    expect(readFileSync(resolvConf, 'utf8')).toBe(HOTEL_RESOLV);
  }, 90_000);

});
