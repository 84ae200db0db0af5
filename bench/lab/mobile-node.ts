/**
 * The RFC 5266 lab for detection and memory: the client moves between a
 * trusted internal subnet (behind the i-HA, mode c) and the outside (behind
 * the VPN gateway, mode mc), running `homeward run --profile P --json`.
 *
 *   client ethi 10.10.2.100 ── 10.10.2.1 in0  ha (i-HA 10.10.0.2) lan0 ──┐
 *   client etha 192.0.2.2   ── 192.0.2.1 a0   gw (VPN, 10.10.0.1) lan0 ──┴ lan ── 10.10.0.5 intranet
 *
 * Home address 10.10.0.77 on the home network 10.10.0.0/24; 10.10.2.0/24 is
 * the HA's trusted prefix. The client starts outside.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, roadWarriorResponder, startStrongSwan, sweepStale, type LabProcess, type StrongSwan } from '../../test/lab/harness/index.ts';
import { rawAddonEnv } from '../../test/lab/home-agent/addon.ts';
import { ESP, IKE, PSK, ROOT, spawnHomeward, waitForEvent, writeProfile, type HomewardProc, type Started } from './peers.ts';
import type { Access } from './topology.ts';

export const HOME_ADDRESS = '10.10.0.77';
export const HOME_AGENT = '10.10.0.2';
const KEY = '7d3a9c1e5b2f48c6a0e1d2c3b4a59688';
export const OUTSIDE: Access = { iface: 'etha', cidr: '192.0.2.2/24', gw: '192.0.2.1' };
export const INSIDE: Access = { iface: 'ethi', cidr: '10.10.2.100/24', gw: '10.10.2.1' };

export interface MobileNodeLab {
  lab: Lab;
  ha: LabProcess;
  /** the VPN gateway (strongSwan, responder connection "rw") */
  gateway: StrongSwan;
  profile: string;
}

export async function createMobileNodeLab(): Promise<MobileNodeLab> {
  sweepStale();
  const lab = await Lab.create({
    hosts: ['client', { name: 'gw', forward: true }, { name: 'ha', forward: true }, 'intranet'],
    switches: ['lan'],
    links: [
      { a: 'client', b: 'gw', aAddr: OUTSIDE.cidr, bAddr: '192.0.2.1/24', aIf: OUTSIDE.iface, bIf: 'a0' },
      { a: 'client', b: 'ha', bAddr: '10.10.2.1/24', aIf: INSIDE.iface, bIf: 'in0' },
      { a: 'gw', b: 'lan', aAddr: '10.10.0.1/24', aIf: 'lan0' },
      { a: 'ha', b: 'lan', aAddr: `${HOME_AGENT}/24`, aIf: 'lan0' },
      { a: 'intranet', b: 'lan', aAddr: '10.10.0.5/24' },
    ],
    routes: [
      { host: 'intranet', to: 'default', via: '10.10.0.1' },
      { host: 'intranet', to: '10.10.2.0/24', via: HOME_AGENT },
      { host: 'gw', to: '10.10.2.0/24', via: HOME_AGENT },
      { host: 'ha', to: 'default', via: '10.10.0.1' },
      { host: 'client', to: 'default', via: OUTSIDE.gw },
    ],
  });
  try {
    const gateway = await startStrongSwan(lab, 'gw', {
      swanctlConf: roadWarriorResponder({ localAddr: '192.0.2.1', psk: PSK, localTs: '10.10.0.0/16', proposals: IKE, espProposals: ESP }),
    });
    const haConfig = join(lab.workDir, 'ha.json');
    writeFileSync(haConfig, JSON.stringify({
      address: HOME_AGENT, homeNetwork: '10.10.0.0/24', intranetDevice: 'lan0', tunDevice: 'ha0',
      mobileNodes: [{ homeAddress: HOME_ADDRESS, spi: 1000, key: `hex:${KEY}` }],
      trustedPrefixes: ['10.10.2.0/24'], acceptUntrusted: true,
    }));
    const env = await rawAddonEnv();
    const ha = lab.spawn('ha', process.execPath, ['--import', 'tsx', join(ROOT, 'test/lab/home-agent/main.ts'), '--config', haConfig], { env, label: 'home-agent' });
    await ha.waitFor(/"event":"ready"/, 20_000, 'stdout');
    const profile = writeProfile(lab.tempDir('homeward'), 'mn', {
      homeAddress: HOME_ADDRESS, homeAgent: HOME_AGENT, mnHaAuth: { spi: 1000, key: `hex:${KEY}` },
      // no `detection`: the profile's defaults, as issue 16 asks of the bench
    }, { remoteTs: ['10.10.0.0/16'] });
    return { lab, ha, gateway, profile };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/**
 * `homeward run --profile P --json` on the client, until it reports mode
 * "mc" (it starts outside); otherwise the reason it is not available.
 */
export async function tryHomewardRun(m: MobileNodeLab, timeoutMs = 30_000): Promise<Started<HomewardProc>> {
  const h = spawnHomeward(m.lab, 'client', ['run', '--profile', m.profile, '--json'], 'homeward-run');
  const r = await waitForEvent(h, (e) => e.type === 'mode' && e.mode === 'mc', timeoutMs);
  if ('reason' in r) {
    await h.proc.stop(2000, 'SIGINT');
    return { ok: false, reason: `homeward run not available: ${r.reason}` };
  }
  return { ok: true, value: h };
}
