/**
 * Mode `c` (co-located care-of address) end to end: `homeward mip register`
 * in the MN namespace, the reference home agent, an intranet host.
 *
 *   mn wlan0 10.2.0.100 ── sub2 10.2.0.1 ┐
 *   mn eth1  10.3.0.100 ── sub3 10.3.0.1 ┤ ha (10.1.0.1) intra0 ── 10.1.0.10 intra
 *   both subnets trusted; home network 10.1.0.0/24, HoA 10.1.0.50
 *
 * The registration client is app/mip4/registration.ts when it is in the tree;
 * until then the test-double core (home-agent/tools/test-core.ts) stands in,
 * and the file says so in one line — what is checked here is the driver: TUN,
 * policy routes, IP-in-IP both ways, CoA change, deregistration and clean-up.
 */
import { createHmac } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, dissect, Lab, labAvailable, skipLine, type Capture, type LabProcess } from './harness/index.ts';
import { rawAddonEnv } from './home-agent/addon.ts';

const avail = labAvailable({ need: ['tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('mip-c', avail));

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];
const KEY = '3c9d1e7a5b2f48c6a0e1d2c3b4a59687';
const WRONG_KEY = 'ffeeddccbbaa99887766554433221100';
/** The HA's clock runs this far ahead: the MN's first identification is refused (133) and it must resynchronise. */
const HA_CLOCK_AHEAD_S = 40;

/** node:crypto's HMAC-MD5 over the bytes before the last 16 (RFC 5944 §3.5.1), compared with those 16. */
function authenticatorValid(msg: Buffer, keyHex: string): boolean {
  const n = msg.length;
  return n > 22 && msg[n - 22] === 32 && msg[n - 21] === 20 &&
    createHmac('md5', Buffer.from(keyHex, 'hex')).update(msg.subarray(0, n - 16)).digest().equals(msg.subarray(n - 16));
}
const REAL_CORE = existsSync(join(ROOT, 'app/mip4/registration.ts'));
if (!REAL_CORE) console.warn('[lab] mip-c: app/mip4/registration.ts missing: the MN runs with the test-double registration core');

function events(p: LabProcess): Array<Record<string, unknown>> {
  return p.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitEvent(p: LabProcess, pred: (e: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = events(p).find(pred);
    if (e) return e;
    if (!p.running || Date.now() > deadline) throw new Error(`no ${what}: ${p.stdout().slice(-2000)} ${p.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!avail.ok)('Mobile IPv4 mode c through the reference home agent (lab)', () => {
  let lab: Lab;
  let ha: LabProcess;
  let mn: LabProcess;
  let env: NodeJS.ProcessEnv;
  let cap: Capture;
  let profile: string;
  const cli = REAL_CORE ? [join(ROOT, 'bin/homeward.mjs'), 'mip', 'register'] : [join(ROOT, 'test/lab/home-agent/tools/mn-run.ts')];
  const startMn = (profilePath: string, label: string) =>
    lab.spawn('mn', process.execPath, [...TSX, ...cli, '--profile', profilePath, '--json', '--route', '10.1.0.0/24', '--tun', 'hwmip0'], { env, label });

  const streamFromMn = (seconds: number) =>
    lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', String(seconds)], { env, label: 'stream' });

  beforeAll(async () => {
    env = await rawAddonEnv();
    lab = await Lab.create({
      hosts: ['mn', { name: 'ha', forward: true }, 'intra'],
      links: [
        { a: 'mn', b: 'ha', aAddr: '10.2.0.100/24', bAddr: '10.2.0.1/24', aIf: 'wlan0', bIf: 'sub2' },
        { a: 'mn', b: 'ha', aAddr: '10.3.0.100/24', bAddr: '10.3.0.1/24', aIf: 'eth1', bIf: 'sub3' },
        { a: 'ha', b: 'intra', aAddr: '10.1.0.1/24', bAddr: '10.1.0.10/24', aIf: 'intra0', bIf: 'eth0' },
      ],
      routes: [{ host: 'mn', to: 'default', via: '10.2.0.1' }],
    });
    const haConfig = join(lab.workDir, 'ha.json');
    writeFileSync(haConfig, JSON.stringify({
      address: '10.1.0.1', homeNetwork: '10.1.0.0/24', intranetDevice: 'intra0', tunDevice: 'ha0',
      trustedPrefixes: ['10.2.0.0/24', '10.3.0.0/24'], clockOffsetSeconds: HA_CLOCK_AHEAD_S,
      mobileNodes: [{ homeAddress: '10.1.0.50', spi: 300, key: `hex:${KEY}` }],
    }));
    profile = join(lab.workDir, 'profile.json');
    writeFileSync(profile, JSON.stringify({
      homeAddress: '10.1.0.50', homeAgent: '10.1.0.1', mnHaAuth: { spi: 300, key: `hex:${KEY}` }, mip: { lifetimeSeconds: 300 },
    }));
    cap = await capture(lab, 'ha', 'any', { filter: 'udp port 434' }); // both visited subnets
    ha = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', haConfig], { env, label: 'home-agent' });
    const echo = lab.spawn('intra', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/echo-server.ts'), '10.1.0.10', '5001'], { env, label: 'echo' });
    await ha.waitFor(/"event":"ready"/, 20_000, 'stdout');
    await echo.waitFor(/listening/, 20_000, 'stdout');
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it.skipIf(!REAL_CORE)('a wrong MN-HA key: the HA denies with 131, the MN names it as a clear error, no binding', async () => {
    const wrong = join(lab.workDir, 'wrong-key.json');
    writeFileSync(wrong, JSON.stringify({ homeAddress: '10.1.0.50', homeAgent: '10.1.0.1', mnHaAuth: { spi: 300, key: `hex:${WRONG_KEY}` } }));
    const bad = startMn(wrong, 'mn-wrong-key');
    const err = await waitEvent(bad, (e) => e.type === 'error' && e.replyCode === 131, 'an error naming code 131');
    expect(err).toMatchObject({ code: 'MOBILE_NODE_FAILED_AUTHENTICATION', authenticated: false });
    await bad.stop(8000);
    expect(events(bad).some((e) => e.state === 'accepted')).toBe(false);
    expect(ha.stdout()).toMatch(/"event":"denied","code":131/);
    expect(ha.stdout()).not.toMatch(/binding-added/);
    expect((await lab.exec('mn', 'ip', ['rule', 'list'])).stdout).not.toMatch(/lookup 434/);
  });

  it('registers from the trusted subnet: accepted with TNC, CoA = the source towards the HA', async () => {
    mn = startMn(profile, 'mn');
    const accepted = await waitEvent(mn, (e) => e.type === 'registration' && e.state === 'accepted', 'accepted registration')
      .catch((e: Error) => { throw new Error(`${e.message}\nHA: ${ha.stdout()} ${ha.stderr()}`); });
    expect(accepted).toMatchObject({ coa: '10.2.0.100', tnc: true });
    expect(Number(accepted.lifetime)).toBeGreaterThan(0);
    expect(ha.stdout()).toMatch(/"event":"binding-added","homeAddress":"10.1.0.50","coa":"10.2.0.100","tunnel":"ipip"/);
    if (REAL_CORE) {
      // the HA's clock is ahead: its first answer was 133, and the client resynchronised from it
      expect(ha.stdout()).toMatch(/"event":"denied","code":133/);
      expect(events(mn).some((e) => e.type === 'registration-resync')).toBe(true);
    }
  });

  it('ping and a byte-checked TCP stream from the home address reach the intranet host through the HA', async () => {
    const ping = await lab.exec('mn', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const stream = streamFromMn(2);
    const done = await stream.waitFor(/\{"event":"done".*\}/, 40_000, 'stdout');
    expect(JSON.parse(done[0])).toMatchObject({ ok: true, src: '10.1.0.50' });
  });

  it('moving to the other trusted subnet re-registers and the TCP stream survives', async () => {
    const stream = streamFromMn(8);
    await stream.waitFor(/"event":"progress"/, 10_000, 'stdout');
    await lab.linkDown('mn', 'wlan0');
    await lab.routeAdd({ host: 'mn', to: 'default', via: '10.3.0.1' });
    const moved = await waitEvent(mn, (e) => e.type === 'registration' && e.state === 'accepted' && e.coa === '10.3.0.100', 'accepted registration from 10.3.0.100');
    expect(moved).toMatchObject({ tnc: true });
    const done = await stream.waitFor(/\{"event":"done".*\}/, 60_000, 'stdout');
    expect(JSON.parse(done[0])).toMatchObject({ ok: true, src: '10.1.0.50' });
    expect(ha.stdout()).toMatch(/"event":"binding-added","homeAddress":"10.1.0.50","coa":"10.3.0.100"/);
  });

  it('SIGTERM deregisters, and the MN leaves no rule, route or TUN behind', async () => {
    await mn.stop(8000);
    expect(events(mn).some((e) => e.type === 'registration' && e.state === 'deregistered')).toBe(true);
    expect(ha.stdout()).toMatch(/"event":"binding-removed","homeAddress":"10.1.0.50","reason":"deregistration"/);
    const rules = await lab.exec('mn', 'ip', ['rule', 'list']);
    expect(rules.stdout).not.toMatch(/lookup 434|10\.1\.0\.1 /);
    const links = await lab.exec('mn', 'ip', ['link', 'show']);
    expect(links.stdout).not.toMatch(/hwmip0/);
  });

  it('every captured registration packet dissects cleanly; every MN-HA authenticator recomputes with node:crypto', async () => {
    const d = await dissect(await cap.stop(), { fields: ['udp.payload'] });
    expect(d.malformed).toEqual([]);
    expect(d.expertErrors).toEqual([]);
    const msgs = d.packets.map((p) => Buffer.from((p.fields['udp.payload']?.[0] ?? '').replace(/:/g, ''), 'hex')).filter((m) => m[0] === 1 || m[0] === 3);
    const requests = msgs.filter((m) => m[0] === 1);
    const replies = msgs.filter((m) => m[0] === 3);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    // the wrong-key instance's requests verify only with its own key; everything else with the SA's key
    for (const r of requests) expect(authenticatorValid(r, KEY) || (REAL_CORE && authenticatorValid(r, WRONG_KEY))).toBe(true);
    // first (133), resynchronised, after the move, deregistration
    expect(requests.filter((r) => authenticatorValid(r, KEY)).length).toBeGreaterThanOrEqual(4);
    for (const r of replies) expect(authenticatorValid(r, KEY)).toBe(true);
  });
});
