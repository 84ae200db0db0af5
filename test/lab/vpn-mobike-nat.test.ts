/**
 * MOBIKE (RFC 4555) against strongSwan, the harder moves: into and out of a
 * NAT, loss on the new path, two changes 50 ms apart, the path to the
 * gateway's primary address going silent (DPD + path probing), and the
 * gateway losing an address (it announces the rest, we follow). `homeward
 * vpn up` watches its links itself.
 *
 *            eth0 A 192.0.2.2 ──────────────────────────────── 192.0.2.1 eth0 ┐ (+ 192.0.2.3, secondary)
 *   client   eth1 B 198.51.100.2 ── rb ── 203.0.113.2 ──────── 203.0.113.1 eth1 ├ gw ── 10.10.0.1 ── lan ── 10.10.0.10 intranet
 *            eth2 C 172.16.0.2 ── rn (MASQUERADE) ── 100.64.0.2 ── 100.64.0.1 eth2 ┘
 *
 * The client's default routes: via A (metric 100), B (200), C (300); the
 * driver's NetMonitor roams when the default-route link changes. Every case
 * runs a 20 ms ping and a byte-checked 1 MB/s TCP stream through the tunnel,
 * checks the IKE_SA keeps its SPIs at the gateway, and prints the ping gap
 * and the MOBIKE round trip per move. Packets are counted with iptables rules
 * on the client (u32 on the IKE header and a size floor: UPDATE_SA_ADDRESSES
 * requests we send on 4500; 29-byte datagrams: NAT keepalives).
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Lab, capture, dissect, labAvailable, roadWarriorResponder, skipLine, startStrongSwan, sweepStale, type Capture, type LabProcess, type StrongSwan } from './harness/index.ts';
import { jsonEvents as events, linkBack as linkBackOn, pingGap, sleep, startMobikeVpn, until, type Json } from './fixtures/mobike.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];
const PSK = 'lab-vpn-mobike-nat-psk-0123456789';
const A = '192.0.2.2';
const B = '198.51.100.2';
const C = '172.16.0.2';
/** what the gateway sees of C, behind rn's MASQUERADE */
const C_NAT = '100.64.0.2';
const avail = labAvailable({ need: ['strongswan', 'tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('vpn-mobike-nat.test.ts', avail));

const SWANCTL = roadWarriorResponder({ localAddr: '192.0.2.1, 192.0.2.3', psk: PSK, proposals: 'aes256gcm16-prfsha256-x25519', espProposals: 'aes256gcm16', localTs: '10.10.0.0/16', ikeOptions: ['mobike = yes'] });

describe.skipIf(!avail.ok)('vpn up with MOBIKE: NAT, loss, quick successive moves, gateway address loss', () => {
  let lab: Lab;
  let gw: StrongSwan;
  let vpn: LabProcess;
  let tia: string;
  let spis: { i: string; r: string };
  let ike: Capture;
  let keylog: string;

  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['client', 'rb', 'rn', { name: 'gw', forward: true }, 'intranet'],
      switches: ['lan'],
      links: [
        { a: 'client', b: 'gw', aAddr: '192.0.2.2/24', bAddr: '192.0.2.1/24' },
        { a: 'client', b: 'rb', aAddr: '198.51.100.2/24', bAddr: '198.51.100.1/24' },
        { a: 'client', b: 'rn', aAddr: '172.16.0.2/24', bAddr: '172.16.0.1/24' },
        { a: 'rb', b: 'gw', aAddr: '203.0.113.2/24', bAddr: '203.0.113.1/24' },
        { a: 'rn', b: 'gw', aAddr: '100.64.0.2/24', bAddr: '100.64.0.1/24' },
        { a: 'gw', b: 'lan', aAddr: '10.10.0.1/24' },
        { a: 'intranet', b: 'lan', aAddr: '10.10.0.10/24' },
      ],
      routes: [
        { host: 'client', to: 'default', via: '192.0.2.1', metric: 100 },
        { host: 'client', to: 'default', via: '198.51.100.1', metric: 200 },
        { host: 'client', to: 'default', via: '172.16.0.1', metric: 300 },
        { host: 'rb', to: 'default', via: '203.0.113.1' },
        { host: 'rn', to: 'default', via: '100.64.0.1' },
        { host: 'gw', to: '198.51.100.0/24', via: '203.0.113.2' },
        { host: 'intranet', to: 'default', via: '10.10.0.1' },
      ],
      nat: [{ host: 'rn', outIf: 'eth1' }],
    });
    await lab.execOk('rb', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    // the second address survives the primary's deletion only if promoted
    await lab.execOk('gw', 'sysctl', ['-qw', 'net.ipv4.conf.eth0.promote_secondaries=1']);
    await lab.addrAdd('gw', 'eth0', '192.0.2.3/24');
    gw = await startStrongSwan(lab, 'gw', { swanctlConf: SWANCTL });
    for (const [tag, iface, match] of [
      ['upd-A', 'eth0', 'ike'], ['upd-B', 'eth1', 'ike'], ['upd-C', 'eth2', 'ike'], ['ka-A', 'eth0', 'ka'], ['ka-C', 'eth2', 'ka'],
    ] as const) {
      // UPDATE_SA_ADDRESSES requests we send on 4500: non-ESP marker, exchange 37, R flag clear, and at least 150
      // bytes of IP packet — its two NAT-D hashes and COOKIE2 add 80 bytes to an INFORMATIONAL, so a DPD (≈ 89
      // bytes with aes256gcm16) or an address-list announcement (≈ 100–125) is not counted / NAT keepalives (one byte)
      const m = match === 'ike'
        ? ['-m', 'u32', '--u32', '0>>22&0x3C@8=0&&0>>22&0x3C@28&0xFF20=0x2500', '-m', 'length', '--length', '150:65535']
        : ['-m', 'length', '--length', '29'];
      await lab.iptables('client', ['-t', 'mangle', '-I', 'POSTROUTING', '1', '-o', iface, '-p', 'udp', '--dport', '4500', ...m,
        '-m', 'comment', '--comment', `hwcount-${tag}`]);
    }
    // every IKE message and NAT keepalive the client sends or gets, on all its links, for the tshark check at the end
    ike = await capture(lab, 'client', 'any', { filter: 'udp port 500 or (udp port 4500 and (udp[8:4] = 0 or udp[4:2] = 9))' });
    keylog = join(lab.tempDir('client'), 'keys.txt');
    ({ vpn, tia } = await startMobikeVpn(lab, PSK, { dpdSeconds: 2, natKeepaliveSeconds: 1, retransmitBaseMs: 500, retransmitTries: 8 }, ['--keylog', keylog]));
    const [sa0] = await gw.listSas();
    expect(sa0!.remoteHost).toBe(A);
    spis = { i: sa0!.spiI, r: sa0!.spiR };
    const echo = lab.spawn('intranet', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/echo-server.ts'), '10.10.0.10', '5001'], { label: 'echo' });
    await echo.waitFor(/listening/, 15_000, 'stdout');
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  /** Packets counted so far by the rule tagged hwcount-<tag>. */
  async function count(tag: string): Promise<number> {
    const r = await lab.execOk('client', 'iptables', ['-w', '-t', 'mangle', '-L', 'POSTROUTING', '-v', '-x', '-n']);
    const line = r.stdout.split('\n').find((l) => l.includes(`hwcount-${tag} `));
    if (!line) throw new Error(`no counter ${tag}`);
    return Number(line.trim().split(/\s+/)[0]);
  }

  const linkBack = (iface: string, via: string, metric: number): Promise<void> => linkBackOn(lab, iface, via, metric);

  const updates = (): Json[] => events(vpn).filter((e) => e.type === 'mobike-update');

  /** The ping and stream running through a case; finish() checks the stream arrived intact. */
  async function traffic(seconds: number): Promise<{ ping: LabProcess; finish: () => Promise<void> }> {
    const ping = lab.spawn('client', 'ping', ['-D', '-i', '0.02', '-W', '1', '-I', tia, '10.10.0.10'], { label: 'ping' });
    const stream = lab.spawn('client', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.10.0.10', '5001', String(seconds), '50000'], { label: 'stream' });
    await stream.waitFor(/"event":"connected"/, 15_000, 'stdout');
    await sleep(1000);
    return {
      ping,
      finish: async () => {
        await stream.waitFor(/"event":"done"/, 60_000, 'stdout');
        const last = stream.stdout().split('\n').filter((l) => l.includes('"done"')).map((l) => JSON.parse(l) as Json).at(-1)!;
        expect(last, stream.stdout()).toMatchObject({ ok: true });
        expect(Number(last.received)).toBe(Math.round((seconds * 1000) / 50) * 50_000);
        await ping.stop();
        await stream.stop();
        expect(events(vpn).filter((e) => e.type === 'error'), vpn.stdout()).toEqual([]);
        expect(events(vpn).filter((e) => e.type === 'ike-sa' && e.state === 'established').length).toBe(1);
      },
    };
  }

  /**
   * One move: change the links, wait for the mobike-update to `to` and for the
   * gateway to see `seen`, check the SPIs, print ping gap and round trip.
   */
  async function move(name: string, ping: LabProcess, change: () => Promise<void>, to: string, seen: string, waitMs = 20_000): Promise<Json> {
    const before = updates().length;
    const at = Date.now() / 1000;
    await change();
    const upd = await until(`${name}: mobike-update to ${to}\n${vpn.stdout()}`, () => updates().slice(before).find((e) => e.to === to), waitMs);
    const sa = await until(`${name}: gateway sees ${seen}`, async () => {
      const sas = await gw.listSas();
      return sas.length === 1 && sas[0]!.remoteHost === seen ? sas[0] : undefined;
    }, 5000);
    expect({ i: sa.spiI, r: sa.spiR }, `${name}: same SPIs`).toEqual(spis);
    await sleep(1000);
    const gap = pingGap(ping.stdout(), at, Date.now() / 1000);
    console.log(`[mobike] ${name}: ping gap ${gap} ms, MOBIKE round trip ${String(upd.ms)} ms, natLocal ${String(upd.natLocal)}`);
    return upd;
  }

  it('A → behind NAT → A: NAT detected and lost, keepalives start and stop, same IKE_SA', async () => {
    await lab.linkDown('client', 'eth1');
    await sleep(300);
    const t = await traffic(12);
    const toNat = await move('A→NAT', t.ping, () => lab.linkDown('client', 'eth0'), C, C_NAT);
    expect(toNat).toMatchObject({ from: A, natLocal: true });
    const ka0 = await count('ka-C');
    await sleep(2500);
    expect(await count('ka-C') - ka0, 'keepalives behind the NAT').toBeGreaterThanOrEqual(2);
    const fromNat = await move('NAT→A', t.ping, () => linkBack('eth0', '192.0.2.1', 100), A, A);
    expect(fromNat).toMatchObject({ from: C, natLocal: false });
    const kaA = await count('ka-A');
    const kaC = await count('ka-C');
    await sleep(2500);
    expect(await count('ka-A') - kaA, 'no keepalives without a NAT').toBe(0);
    expect(await count('ka-C') - kaC, 'none on the old path either').toBe(0);
    await t.finish();
  }, 60_000);

  it('30% loss on the new path during a move: the update is retransmitted and completes', async () => {
    const t = await traffic(20);
    let retransmitted = 0;
    // P(no loss of update or answer in a round) = 0.7² ≈ 0.49: ten rounds leave a ~0.1% chance of never seeing a retransmission.
    // Each attempt gets through with P 0.49, so a round may need many: it is given the whole retransmission budget
    // of the profile (retransmitBaseMs 500 · 1.8^n, 8 retransmissions ≈ 68 s) — 20 s would fail ~2% of rounds.
    for (let round = 1; round <= 10 && retransmitted === 0; round++) {
      const sent = await count('upd-C');
      await lab.setLoss({ host: 'client', iface: 'eth2', direction: 'out', probability: 0.3 });
      await lab.setLoss({ host: 'client', iface: 'eth2', direction: 'in', probability: 0.3 });
      try {
        await move(`A→NAT with 30% loss (round ${round})`, t.ping, () => lab.linkDown('client', 'eth0'), C, C_NAT, 75_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n(${await count('upd-C') - sent} UPDATE_SA_ADDRESSES sent on the lossy path)`, { cause: e });
      } finally {
        await lab.clearLoss('client', 'eth2', 'out');
        await lab.clearLoss('client', 'eth2', 'in');
      }
      const n = await count('upd-C') - sent;
      console.log(`[mobike] round ${round}: ${n} UPDATE_SA_ADDRESSES request(s) sent on the lossy path`);
      if (n > 1) retransmitted++;
      await move(`NAT→A (round ${round})`, t.ping, () => linkBack('eth0', '192.0.2.1', 100), A, A);
    }
    expect(retransmitted, 'an update was lost and sent again at least once in ten rounds').toBeGreaterThan(0);
    await t.finish();
  }, 300_000);

  it('two changes 50 ms apart (A→B, B→C while the update to B is unanswered) end on the newest address', async () => {
    // Every round must end on C with no update ever completing on B. A round only proves the
    // supersede when the update from B was really in flight; on a loaded machine the monitor can
    // see both changes as one burst (no update from B), so up to four rounds are tried for that.
    const t = await traffic(30);
    let superseded = 0;
    for (let round = 1; round <= 4 && superseded === 0; round++) {
      await linkBack('eth1', '198.51.100.1', 200);
      await sleep(500);
      // the update sent from B never reaches the gateway: still in flight when C takes over
      await lab.setLoss({ host: 'rb', iface: 'eth1', direction: 'out', probability: 1 });
      const sentB = await count('upd-B');
      let upd: Json;
      try {
        upd = await move(`A→B→C (round ${round})`, t.ping, async () => {
          await lab.linkDown('client', 'eth0');
          await sleep(50);
          await lab.linkDown('client', 'eth1');
        }, C, C_NAT);
      } finally {
        await lab.clearLoss('rb', 'eth1', 'out');
      }
      const fromB = await count('upd-B') - sentB;
      console.log(`[mobike] round ${round}: ${fromB} update(s) sent from B before C took over`);
      if (fromB >= 1) superseded++;
      expect(upd).toMatchObject({ to: C, natLocal: true });
      expect(updates().at(-1), 'the last update is the newest').toEqual(upd);
      expect(updates().filter((e) => e.to === B).length, 'no update ever ended on B').toBe(0);
      await move(`C→A (round ${round})`, t.ping, () => linkBack('eth0', '192.0.2.1', 100), A, A);
    }
    expect(superseded, 'in some round the update from B was in flight when C superseded it').toBeGreaterThanOrEqual(1);
    await linkBack('eth1', '198.51.100.1', 200);
    await t.finish();
  }, 150_000);

  it("the path to the gateway's primary address goes silent: DPD, probing from our own address, the SA moves to 192.0.2.3 and later back", async () => {
    // an outage the gateway cannot see: nothing for its UDP 4500 arrives unless sent to 192.0.2.3 (so the probe
    // that answers is A>192.0.2.3, and the move is deterministic); the gateway still has every address
    const rule = ['PREROUTING', '-p', 'udp', '--dport', '4500', '!', '-d', '192.0.2.3', '-j', 'DROP'];
    const t = await traffic(16);
    const at = Date.now() / 1000;
    const before = updates().length;
    await lab.iptables('gw', ['-t', 'raw', '-I', ...rule]);
    let upd: Json;
    try {
      upd = await until(`a mobike-update away from 192.0.2.1\n${vpn.stdout()}`, () => updates().slice(before).find((e) => e.gateway !== '192.0.2.1'), 20_000);
    } finally {
      await lab.iptables('gw', ['-t', 'raw', '-D', ...rule]);
    }
    expect(upd, 'our own address is kept, the gateway address changes').toMatchObject({ from: A, to: A, gateway: '192.0.2.3' });
    expect(events(vpn).some((e) => String(e.msg).startsWith('probing'))).toBe(true);
    const sa = await until('the gateway answering on 192.0.2.3', async () => {
      const sas = await gw.listSas();
      return sas.length === 1 && sas[0]!.localHost === '192.0.2.3' ? sas[0] : undefined;
    }, 5000);
    expect({ i: sa.spiI, r: sa.spiR }, 'same SPIs').toEqual(spis);
    await sleep(1000);
    console.log(`[mobike] path to 192.0.2.1 silent → 192.0.2.3: ping gap ${pingGap(t.ping.stdout(), at, Date.now() / 1000)} ms, MOBIKE round trip ${String(upd.ms)} ms`);

    // back: the gateway loses 192.0.2.3 and announces its addresses from 192.0.2.1; we follow at once
    const back = updates().length;
    const at2 = Date.now() / 1000;
    await lab.addrDel('gw', 'eth0', '192.0.2.3/24');
    // (on failure: what we and the gateway said — the gateway's address-list update is what brings us back)
    const home = await until(() => `a mobike-update back to 192.0.2.1\n${vpn.stdout()}\n--- charon (gw), last lines:\n${gw.logs().split('\n').slice(-60).join('\n')}`, () => updates().slice(back).find((e) => e.gateway === '192.0.2.1'), 10_000);
    await until('the gateway answering on 192.0.2.1', async () => {
      const sas = await gw.listSas();
      return sas.length === 1 && sas[0]!.localHost === '192.0.2.1' && sas[0]!.spiI === spis.i ? sas[0] : undefined;
    }, 5000);
    await lab.addrAdd('gw', 'eth0', '192.0.2.3/24');
    await sleep(1000);
    console.log(`[mobike] 192.0.2.3 removed → back on 192.0.2.1: ping gap ${pingGap(t.ping.stdout(), at2, Date.now() / 1000)} ms, MOBIKE round trip ${String(home.ms)} ms`);
    await t.finish();
  }, 60_000);

  it("the gateway's primary address disappears: the SA moves to an address the gateway still has", async () => {
    const t = await traffic(14);
    const at = Date.now() / 1000;
    const before = updates().length;
    await lab.addrDel('gw', 'eth0', '192.0.2.1/24');
    const upd = await until(() => `a mobike-update away from 192.0.2.1\n${vpn.stdout()}\n--- charon (gw), last lines:\n${gw.logs().split('\n').slice(-60).join('\n')}`, () => updates().slice(before).find((e) => e.gateway !== '192.0.2.1'), 30_000);
    const sa = await until('the gateway on another address', async () => {
      const sas = await gw.listSas();
      return sas.length === 1 && sas[0]!.localHost !== '192.0.2.1' ? sas[0] : undefined;
    }, 5000);
    expect({ i: sa.spiI, r: sa.spiR }, 'same SPIs').toEqual(spis);
    expect(sa.localHost).toBe(upd.gateway);
    await sleep(1000);
    const gap = pingGap(t.ping.stdout(), at, Date.now() / 1000);
    console.log(`[mobike] gateway 192.0.2.1 gone → ${String(upd.gateway)} (from ${String(upd.to)}): ping gap ${gap} ms, MOBIKE round trip ${String(upd.ms)} ms`);
    await t.finish();
  }, 60_000);
  it('tshark decodes every IKE message and keepalive of the run cleanly; decrypted, the MOBIKE notifies are where RFC 4555 puts them', async () => {
    const pcap = await ike.stop();
    const plain = await dissect(pcap, { fields: ['isakmp.exchangetype'] });
    expect(plain.packets.filter((p) => p.fields['isakmp.exchangetype']?.[0] === '37').length, 'INFORMATIONAL exchanges captured').toBeGreaterThan(20);
    expect(plain.malformed).toEqual([]);
    expect(plain.expertErrors).toEqual([]);
    const table = readFileSync(keylog, 'utf8').split('\n').filter((l) => l.startsWith('ikev2_decryption_table: ')).map((l) => l.slice(24));
    expect(table.length).toBeGreaterThan(0);
    const dec = await dissect(pcap, {
      prefs: table.map((l) => `uat:ikev2_decryption_table:${l}`),
      fields: ['ip.src', 'ip.len', 'isakmp.exchangetype', 'isakmp.flag_r', 'isakmp.notify.msgtype'],
    });
    expect(dec.malformed).toEqual([]);
    expect(dec.expertErrors).toEqual([]);
    const ours = (p: (typeof dec.packets)[number]): boolean => [A, B, C].includes(p.fields['ip.src']?.[0] ?? '');
    const notifies = (p: (typeof dec.packets)[number]): number[] => (p.fields['isakmp.notify.msgtype'] ?? []).map(Number);
    // UPDATE_SA_ADDRESSES (16400) requests from us carry NAT_DETECTION_SOURCE/DESTINATION_IP (16388/16389) and COOKIE2 (16401)
    const updates = dec.packets.filter((p) => ours(p) && notifies(p).includes(16400));
    expect(updates.length).toBeGreaterThanOrEqual(8);
    for (const u of updates) expect(notifies(u)).toEqual(expect.arrayContaining([16388, 16389, 16401]));
    // the size rule behind the upd-* counters: updates ≥ 150 bytes of IP packet, our other INFORMATIONAL requests below
    const informational = dec.packets.filter((p) => ours(p) && p.fields['isakmp.exchangetype']?.[0] === '37' && p.fields['isakmp.flag_r']?.[0] !== '1' && p.fields['isakmp.flag_r']?.[0] !== 'True');
    for (const p of informational) {
      const len = Number(p.fields['ip.len']?.[0]);
      expect(len >= 150, `${len}-byte INFORMATIONAL with notifies ${notifies(p).join(',')}`).toBe(notifies(p).includes(16400));
    }
    // MOBIKE_SUPPORTED (16396) in IKE_AUTH, and the gateway's ADDITIONAL_IP4_ADDRESS (16397) lists
    expect(dec.packets.some((p) => ours(p) && p.fields['isakmp.exchangetype']?.[0] === '35' && notifies(p).includes(16396))).toBe(true);
    expect(dec.packets.some((p) => !ours(p) && notifies(p).includes(16397))).toBe(true);
  });
});
