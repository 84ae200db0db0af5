/**
 * The mobile node must never believe a bad Registration Reply (RFC 5944
 * §3.6.2.1): a fake home agent answers with a wrong authenticator, a wrong
 * identification and a duplicated MN-HA extension before a good reply. Each
 * is dropped and counted; only the good one produces "accepted".
 * Needs the real registration client (app/mip4/registration.ts).
 *
 *   mn 10.2.0.100 ── 10.2.0.1 [fake HA 10.1.0.1]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labAvailable, skipLine, type LabProcess } from './harness/index.ts';
import { rawAddonEnv } from './home-agent/addon.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = ['--import', 'tsx'];
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const REAL_CORE = existsSync(join(ROOT, 'app/mip4/registration.ts'));
const avail = labAvailable();
if (!avail.ok) console.warn(skipLine('mip-reply-checks', avail));
else if (!REAL_CORE) console.warn('[lab] mip-reply-checks: skipped: app/mip4/registration.ts (the registration client under test) is not in the tree');

const events = (p: LabProcess) => p.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

function numericLeaves(o: unknown): number {
  if (typeof o === 'number') return o;
  if (typeof o !== 'object' || o === null) return 0;
  return Object.values(o).reduce((sum: number, v) => sum + numericLeaves(v), 0);
}

describe.skipIf(!avail.ok || !REAL_CORE)('reply verification against a fake home agent (lab)', () => {
  let lab: Lab;
  let fake: LabProcess;
  let mn: LabProcess;

  beforeAll(async () => {
    const env = await rawAddonEnv();
    lab = await Lab.create({
      hosts: ['mn', 'ha'],
      links: [{ a: 'mn', b: 'ha', aAddr: '10.2.0.100/24', bAddr: ['10.2.0.1/24', '10.1.0.1/32'], aIf: 'wlan0', bIf: 'sub2' }],
      routes: [{ host: 'mn', to: 'default', via: '10.2.0.1' }],
    });
    fake = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/fake-ha.ts'), '10.1.0.1', '300', KEY], { env, label: 'fake-ha' });
    await fake.waitFor(/ready/, 20_000, 'stdout');
    const profile = join(lab.workDir, 'profile.json');
    writeFileSync(profile, JSON.stringify({ homeAddress: '10.1.0.50', homeAgent: '10.1.0.1', mnHaAuth: { spi: 300, key: `hex:${KEY}` }, mip: { udpTunnel: 'off' } }));
    mn = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'mip', 'register', '--profile', profile, '--json', '--route', '10.1.0.0/24'], { env, label: 'mn' });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('drops the three bad replies, counts them, and is accepted only by the good one', async () => {
    await mn.waitFor(/"state":"accepted"/, 30_000, 'stdout');
    const sent = events(fake).filter((e) => e.event === 'sent').map((e) => e.kind);
    expect(sent.slice(0, 4)).toEqual(['wrong-authenticator', 'wrong-identification', 'duplicate-mn-ha', 'good']);
    expect(events(mn).filter((e) => e.state === 'accepted')).toHaveLength(1);
    await mn.stop(8000);
    const stopped = events(mn).find((e) => e.type === 'stopped');
    expect(numericLeaves((stopped as { core?: unknown } | undefined)?.core)).toBeGreaterThanOrEqual(3);
  });
});
