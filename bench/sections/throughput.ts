/**
 * Tunnel throughput: iperf3 (TCP, -t 5) between the intranet host and the
 * client's inner address, both directions; strongSwan's client first, then
 * Homeward's `vpn up`, in the same lab against the same gateway and suite.
 * Also the idle RSS of each client process with its one IKE SA.
 */
import { readFile } from 'node:fs/promises';
import type { Lab } from '../../test/lab/harness/index.ts';
import { createBenchLab, INTRANET, REMOTE_TS, GATEWAY } from '../lab/topology.ts';
import { startStrongswanClient, tryHomewardVpnUp, writeProfile } from '../lab/peers.ts';
import { iperfMbps, vmRssKiB } from '../lib/parse.ts';
import { measured, missing, type Figure, type Measured } from '../lib/results.ts';
import type { Progress } from './section.ts';

export const IPERF_SECONDS = 5;

interface Pair {
  toClient: Measured;
  fromClient: Measured;
  rssKiB: Measured;
}

/** Two iperf3 runs from the client namespace against the intranet server (-R: intranet → client). */
export async function iperfPair(lab: Lab, source: string, progress: Progress): Promise<Pick<Pair, 'toClient' | 'fromClient'>> {
  const one = async (reverse: boolean): Promise<Measured> => {
    const args = ['-c', INTRANET, '-B', source, '-t', String(IPERF_SECONDS), '-J', ...(reverse ? ['-R'] : [])];
    const r = await lab.exec('client', 'iperf3', args, { timeoutMs: (IPERF_SECONDS + 20) * 1000 });
    try {
      const mbps = iperfMbps(r.stdout);
      progress(`  iperf3 ${reverse ? 'intranet→client' : 'client→intranet'}: ${mbps.toFixed(1)} Mbit/s`);
      return measured(mbps);
    } catch (e) {
      return missing(`${(e as Error).message} (exit ${r.code}) ${r.stderr.slice(0, 200)}`);
    }
  };
  const toClient = await one(true);
  const fromClient = await one(false);
  return { toClient, fromClient };
}

async function rss(pid: number): Promise<Measured> {
  try {
    return measured(vmRssKiB(await readFile(`/proc/${pid}/status`, 'utf8')) / 1024);
  } catch (e) {
    return missing(`RSS of pid ${pid}: ${(e as Error).message}`);
  }
}

export async function throughputSection(progress: Progress): Promise<Figure[]> {
  const { lab } = await createBenchLab();
  try {
    lab.spawn('intranet', 'iperf3', ['-s', '-B', INTRANET], { label: 'iperf3-server' });
    progress('throughput: strongSwan client (charon + kernel-libipsec) …');
    const swan = await startStrongswanClient(lab, 'client', { gateway: GATEWAY, remoteTs: REMOTE_TS, mobike: true });
    progress(`  strongSwan client up, virtual IP ${swan.vip}`);
    const swanRss = await rss(swan.charon.pid);
    const base = await iperfPair(lab, swan.vip, progress);
    await swan.charon.swanctl(['--terminate', '--ike', 'home', '--timeout', '5']).catch(() => '');
    await swan.charon.stop();

    progress('throughput: Homeward vpn up …');
    const profile = writeProfile(lab.tempDir('homeward'), 'vpn');
    const hw = await tryHomewardVpnUp(lab, 'client', profile);
    let ours: Pair;
    if (hw.ok) {
      progress(`  Homeward up, TIA ${hw.value.tia}`);
      const idle = await rss(hw.value.h.proc.pid);
      ours = { ...(await iperfPair(lab, hw.value.tia, progress)), rssKiB: idle };
      await hw.value.h.proc.stop(3000, 'SIGINT');
    } else {
      progress(`  ${hw.reason}`);
      ours = { toClient: missing(hw.reason), fromClient: missing(hw.reason), rssKiB: missing(hw.reason) };
    }
    const note = `iperf3 TCP -t ${IPERF_SECONDS}, ${IKE_NOTE}`;
    return [
      { key: 'throughput.intranetToClientMbps', label: 'tunnel throughput intranet → client', unit: 'Mbit/s', homeward: ours.toClient, baseline: base.toClient, note },
      { key: 'throughput.clientToIntranetMbps', label: 'tunnel throughput client → intranet', unit: 'Mbit/s', homeward: ours.fromClient, baseline: base.fromClient, note },
      { key: 'throughput.clientRssIdleMiB', label: 'client process RSS, one IKE SA, idle', unit: 'MiB', homeward: ours.rssKiB, baseline: swanRss, note: 'Homeward vpn up (node) vs charon' },
    ];
  } finally {
    await lab.destroy();
  }
}

const IKE_NOTE = 'strongSwan gateway kernel-libipsec, aes256gcm16-prfsha256-x25519 / aes256gcm16, ESP-in-UDP';
