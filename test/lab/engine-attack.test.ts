/**
 * `homeward run` against an attacker on the untrusted network's router and
 * against its own death (issue 14), on the engine lab's topology
 * (test/lab/fixtures/engine-lab.ts: T1 trusted, U1 untrusted behind the
 * strongSwan gateway, which is U1's router and here also the attacker, with
 * scapy: test/lab/fixtures/attacker.py, ike-forger.py, and the fake i-HA
 * of fixtures/engine-fake-ha.ts).
 *
 * In sequence, one engine:
 *   1. the fail-closed rules are in place from the start; 20 moves
 *      T1 → U1 → U2 → T1 … (U2 behind a NAT, { tour: true }) with 10 ms pings from the home address to an intranet host, to the
 *      HA's own address and to an internet address: the captures on U1 and U2 hold no
 *      packet with the home address (tshark, inner headers included);
 *   2. `GET //[` on the UI port, a genuine registration reply with a TNC
 *      appended after its authenticator, and a forged IKE_SA_INIT response
 *      with a 31-byte KE: the engine keeps running, stays in mc where it
 *      must (no IP-in-IP in clear), and says what it dropped;
 *   3. in mc, IP-in-IP and RFC 3519 UDP tunnel data forged "from the HA" by
 *      the router reach no socket on the home address (a genuine datagram
 *      from the intranet does);
 *   4. SIGKILL on U1: no intranet-bound or home-address packet leaves in
 *      clear, the next start works without manual clean-up, and
 *      `homeward run --cleanup` removes everything and exits 0.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, labAvailable, skipLine, type Lab, type LabProcess } from './harness/index.ts';
import { createEngineLab, events, HOA, isMode, KEY, MN_IF, ROOT, TSX, waitEvent } from './fixtures/engine-lab.ts';

const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('engine-attack', avail));

const PY = '/usr/bin/python3';
const HA = '10.1.0.1';
const INTRA = '10.1.0.10';
const INTERNET = '198.51.100.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** every address tshark sees in a packet (outer and inner IPv4 headers) */
async function addressesIn(pcap: string): Promise<{ packets: number; hoa: string[]; intranet: string[] }> {
  const d = await dissect(pcap, { fields: ['ip.src', 'ip.dst', 'udp.dstport'] });
  const hoa: string[] = [];
  const intranet: string[] = [];
  for (const p of d.packets) {
    const all = [...(p.fields['ip.src'] ?? []), ...(p.fields['ip.dst'] ?? [])];
    if (all.includes(HOA)) hoa.push(JSON.stringify(p.fields));
    if ((p.fields['ip.dst'] ?? []).some((a) => a.startsWith('10.1.0.'))) intranet.push(JSON.stringify(p.fields));
  }
  return { packets: d.packets.length, hoa, intranet };
}

describe.skipIf(!avail.ok)('homeward run against an attacker on U1 and its own SIGKILL (lab)', () => {
  let lab: Lab;
  let env: NodeJS.ProcessEnv;
  let profile: string;
  let toU1: () => Promise<void>;
  let toT1: () => Promise<void>;
  let toU2: () => Promise<void>;
  let mn: LabProcess;
  let ui: URL;
  const homeward = (args: string[], label = 'homeward-run') =>
    lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), ...args], { env, label });
  /** waits for a mode; on failure says what the engine did (its events without the counters) */
  const waitMode = (mode: string, from: number, what: string) =>
    waitEvent(mn, from, isMode(mode), what, 30_000).catch((e: Error) => {
      const said = events(mn).slice(from).filter((x) => x.type !== 'counters').map((x) => JSON.stringify(x).slice(0, 300));
      throw new Error(`${e.message.split('\n')[0]}\n${said.join('\n')}\n${mn.stderr().slice(-2000)}`);
    });
  const rules = async () => (await lab.exec('mn', 'ip', ['rule', 'list'])).stdout;

  beforeAll(async () => {
    // tour: U2 (behind a NAT) too; T2 and its FA stay unused here
    // no warm IKE SA from inside (issue 16's default): the forged-response case needs the IKE_SA_INIT a move onto U1 sends
    ({ lab, env, profile, toU1, toT1, toU2 } = await createEngineLab({ tour: true, detection: { keepVpnInside: false } }));
    mn = homeward(['run', '--profile', profile, '--json', '--ui']);
    await waitEvent(mn, 0, isMode('c'), 'mode c on T1', 30_000);
    ui = new URL(String((await waitEvent(mn, 0, (e) => e.type === 'ui', 'the UI URL')).url));
  }, 90_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it('blocking rules from the start; 20 moves T1 → U1 → U2 → T1 … with 10 ms pings from the home address: no home-address packet on U1 or U2', async () => {
    const r = await rules();
    expect(r).toMatch(new RegExp(`1003:\\s+from ${HOA} unreachable`));
    expect(r).toMatch(/1004:\s+from all to 10\.1\.0\.0\/24 unreachable/);
    // the HA is never routed around the tunnel by its destination alone
    expect(r).not.toMatch(/to 10\.1\.0\.1 lookup main/);
    const caps = [await capture(lab, 'gw', 'ext0', { filter: 'ip' }), await capture(lab, 'nat', 'lan', { filter: 'ip' })];
    const pings = [INTRA, HA, INTERNET].map((dst) =>
      lab.spawn('mn', 'ping', ['-I', HOA, '-i', '0.01', '-W', '1', '-w', '300', dst], { label: `ping-${dst}` }));
    const tour: Array<[() => Promise<void>, string, string]> = [[toU1, 'mc', 'U1'], [toU2, 'mc', 'U2'], [toT1, 'c', 'T1']];
    const moves = [...Array.from({ length: 6 }, () => tour).flat(), tour[0]!, tour[2]!];
    expect(moves).toHaveLength(20);
    try {
      for (const [i, [move, mode, net]] of moves.entries()) {
        const n = events(mn).length;
        await move();
        await waitMode(mode, n, `mode ${mode} on ${net} (move ${i + 1})`);
        await sleep(300);
      }
    } finally {
      for (const p of pings) p.kill('SIGINT');
    }
    await Promise.all(pings.map((p) => p.exited));
    const [u1, u2] = [await addressesIn(await caps[0]!.stop()), await addressesIn(await caps[1]!.stop())];
    const answered = (p: LabProcess) => Number(/(\d+) received/.exec(p.stdout())?.[1] ?? 0);
    console.log(`[engine-attack] 20 moves: ${u1.packets} packets on U1, ${u2.packets} on U2; ping answers intra ${answered(pings[0]!)}, HA ${answered(pings[1]!)}, internet ${answered(pings[2]!)}`);
    expect(u1.packets).toBeGreaterThan(20);
    expect(u2.packets).toBeGreaterThan(20);
    expect(u1.hoa).toEqual([]);
    expect(u2.hoa).toEqual([]);
    // the pings went through the tunnel in every mode
    expect(answered(pings[0]!)).toBeGreaterThan(100);
    expect(answered(pings[1]!)).toBeGreaterThan(100);
    // the internet is not reachable from the home address (no tunnel goes there): blocked, never in clear
    expect(answered(pings[2]!)).toBe(0);
  }, 600_000);

  it('GET //[ on the UI port: answered 400, the engine keeps running', async () => {
    const py = [
      'import socket, sys',
      `s = socket.create_connection(('${ui.hostname}', ${ui.port}), timeout=5)`,
      "s.sendall(b'GET //[ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')",
      'print(s.recv(200).decode(errors="replace").splitlines()[0])',
    ].join('\n');
    const r = await lab.exec('mn', PY, ['-c', py]);
    expect(r.stdout, r.stderr).toMatch(/^HTTP\/1\.1 400/);
    await sleep(300);
    expect(mn.running).toBe(true);
    // and it still answers a well-formed request (the token is the UI's own)
    const ok = await lab.exec('mn', 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${ui.host}/api/snapshot?token=${ui.searchParams.get('token') ?? ''}`]);
    expect(ok.stdout).toBe('200');
  }, 30_000);

  it('on U1 a genuine reply with a TNC extension appended after the authenticator is not believed: mode mc, no IP-in-IP in clear', async () => {
    const fake = lab.spawn('gw', process.execPath, [...TSX, join(ROOT, 'test/lab/fixtures/engine-fake-ha.ts'), '4340', 'tnc-after-auth', '300', KEY], { env, label: 'fake-ha-tnc-after-auth' });
    await fake.waitFor(/listening/, 20_000, 'stdout');
    const redirect = ['PREROUTING', '-i', 'ext0', '-p', 'udp', '--dport', '434', '-j', 'REDIRECT', '--to-ports', '4340'];
    await lab.iptables('gw', ['-t', 'nat', '-A', ...redirect]);
    const cap = await capture(lab, 'gw', 'ext0', { filter: 'ip proto 4 or udp port 434' });
    const ping = lab.spawn('mn', 'ping', ['-I', HOA, '-i', '0.05', '-w', '60', INTRA], { label: 'ping-tnc' });
    try {
      const n0 = events(mn).length;
      await toU1();
      await waitMode('mc', n0, 'mode mc on U1 despite the appended TNC');
      await fake.waitFor(/"event":"answered"/, 5_000, 'stdout');
      await sleep(2000);
      expect(events(mn).slice(n0).some((e) => e.type === 'mode' && (e.mode === 'c' || e.trusted === true))).toBe(false);
    } finally {
      ping.kill('SIGINT');
      await lab.iptables('gw', ['-t', 'nat', '-D', ...redirect]);
      await fake.stop();
    }
    const d = await dissect(await cap.stop(), { fields: ['ip.proto'] });
    expect(d.packets.filter((p) => (p.fields['ip.proto'] ?? []).includes('4'))).toEqual([]);
    // the fake did get the detection request and answered it
    expect(d.packets.length).toBeGreaterThan(0);
    const n1 = events(mn).length;
    await toT1();
    await waitMode('c', n1, 'mode c back on T1');
  }, 90_000);

  it('a forged IKE_SA_INIT response with a 31-byte KE from U1\'s router: dropped and said, the engine reaches mc with the genuine one', async () => {
    // the router keeps this first request from strongSwan and answers it itself
    const block = ['INPUT', '-i', 'ext0', '-p', 'udp', '--dport', '500', '-j', 'DROP'];
    await lab.iptables('gw', ['-A', ...block]);
    let blocked = true;
    const forger = lab.spawn('gw', PY, [join(ROOT, 'test/lab/fixtures/ike-forger.py'), 'ext0'], { label: 'ike-forger' });
    try {
      await forger.waitFor(/sniffing/, 20_000, 'stdout');
      const n0 = events(mn).length;
      await toU1();
      await forger.waitFor(/forged IKE_SA_INIT response/, 30_000, 'stdout');
      await lab.iptables('gw', ['-D', ...block]);
      blocked = false;
      const said = await waitEvent(mn, n0, (e) => e.type === 'log' && /dropped an IKE_SA_INIT response/.test(String(e.msg)), 'the drop reported', 10_000);
      console.log(`[engine-attack] ${String(said.msg)}`);
      await waitMode('mc', n0, 'mode mc with the genuine response');
      expect(mn.running).toBe(true);
    } finally {
      if (blocked) await lab.iptables('gw', ['-D', ...block]);
      await forger.stop();
    }
    const n1 = events(mn).length;
    await toT1();
    await waitMode('c', n1, 'mode c back on T1');
  }, 90_000);

  it('in mc, IP-in-IP and UDP tunnel data forged from U1\'s router reach no socket on the home address', async () => {
    const n = events(mn).length;
    await toU1();
    const mc = await waitEvent(mn, n, isMode('mc'), 'mode mc on U1', 30_000);
    const tia = String(mc.coa);
    const victim = lab.spawn('mn', PY, [join(ROOT, 'test/lab/fixtures/udp-listen.py'), HOA, '7777'], { label: 'victim' });
    await victim.waitFor(/listening/, 10_000, 'stdout');
    // control: a genuine datagram from the intranet arrives through HA → VPN → MIP tunnel
    await lab.execOk('intra', PY, ['-c', `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'genuine', ('${HOA}', 7777))`]);
    await victim.waitFor(/"genuine"/, 10_000, 'stdout');
    const mac = (JSON.parse((await lab.exec('mn', 'ip', ['-j', 'link', 'show', MN_IF.U1])).stdout) as Array<{ address: string }>)[0]!.address;
    // every UDP port of ours on the TIA and the link address (the registration sockets)
    const ss = (await lab.exec('mn', 'ss', ['-uanH'])).stdout;
    const ports = [...ss.matchAll(/(?:\d+\.){3}\d+:(\d+)/g)].map((m) => Number(m[1])).filter((p, i, all) => p > 1024 && all.indexOf(p) === i);
    expect(ports.length).toBeGreaterThan(0);
    const stats0 = events(mn).length;
    for (const kind of ['ipip', 'udptun'] as const) {
      const spec = { kind, ha: HA, outer_dst: [tia, '198.51.100.100'], inner_src: INTRA, hoa: HOA, port: 7777, payload: `forged-${kind}`, udp_ports: ports, count: 3 };
      const r = await lab.exec('gw', PY, [join(ROOT, 'test/lab/fixtures/attacker.py'), 'ext0', mac, JSON.stringify(spec)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`sent ${kind} ${HA} -> ${tia.replace(/\./g, '\\.')}`));
    }
    await sleep(1500);
    expect(victim.stdout()).not.toMatch(/forged/);
    // still alive and on the same binding
    expect(mn.running).toBe(true);
    expect(events(mn).slice(stats0).some((e) => e.type === 'mode')).toBe(false);
    await victim.stop();
  }, 120_000);

  it('SIGKILL on U1: nothing intranet-bound or from the home address in clear; the next start needs no clean-up; --cleanup removes everything', async () => {
    mn.kill('SIGKILL');
    await mn.exited;
    // the blocking rules outlived the process
    expect(await rules()).toMatch(new RegExp(`1003:\\s+from ${HOA} unreachable`));
    const cap = await capture(lab, 'gw', 'ext0', { filter: 'ip' });
    const ping = await lab.exec('mn', 'ping', ['-c', '20', '-i', '0.05', '-W', '1', INTRA]);
    const pingHa = await lab.exec('mn', 'ping', ['-c', '10', '-i', '0.05', '-W', '1', HA]);
    await lab.exec('mn', PY, ['-c', `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(20):\n  try: s.sendto(b'x', ('${INTRA}', 5001))\n  except OSError: pass`]);
    await sleep(500);
    const a = await addressesIn(await cap.stop());
    expect(ping.code).not.toBe(0);
    expect(pingHa.code).not.toBe(0);
    expect(a.hoa).toEqual([]);
    expect(a.intranet).toEqual([]);
    // the next start adopts the leftovers: no "File exists", mode mc again
    mn = homeward(['run', '--profile', profile, '--json'], 'homeward-run-2');
    await waitEvent(mn, 0, isMode('mc'), 'mode mc after the restart', 40_000);
    expect(events(mn).some((e) => e.type === 'log' && /removed what a previous run left/.test(String(e.msg)))).toBe(true);
    expect(mn.stderr()).not.toMatch(/File exists/);
    // killed again; the service's ExecStopPost: --cleanup
    mn.kill('SIGKILL');
    await mn.exited;
    const clean = homeward(['run', '--cleanup', '--json'], 'homeward-cleanup');
    const done = await clean.exited;
    expect(done.code, clean.stderr()).toBe(0);
    expect(clean.stdout()).toMatch(/"type":"cleanup"/);
    expect(await rules()).not.toMatch(/lookup 43[4-7]|unreachable|blackhole/);
    expect((await lab.exec('mn', 'ip', ['link', 'show'])).stdout).not.toMatch(/hwmip0|hwvpn/);
  }, 120_000);
});
