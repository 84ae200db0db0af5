/**
 * Tunnel throughput in mode mc (issue 17): `homeward run` outside, Mobile IP
 * inside ESP (the home address on hwmip0, IP-in-IP to the reference HA through
 * the VPN TUN, ESP to the strongSwan gateway), iperf3 TCP both ways between
 * the home address and the intranet host; against strongSwan's client on the
 * same gateway in the same lab (its virtual IP ↔ the intranet host).
 */
import { createMobileNodeLab, HOME_ADDRESS, tryHomewardRun } from '../lab/mobile-node.ts';
import { startStrongswanClient } from '../lab/peers.ts';
import { missing, type Figure, type Measured } from '../lib/results.ts';
import type { Progress } from './section.ts';
import { INTRANET } from '../lab/topology.ts';
import { iperfPair, IPERF_SECONDS } from './throughput.ts';

export async function throughputMcSection(progress: Progress): Promise<Figure[]> {
  const m = await createMobileNodeLab();
  try {
    m.lab.spawn('intranet', 'iperf3', ['-s', '-B', INTRANET], { label: 'iperf3-server' });
    progress('throughput mc: strongSwan client (charon + kernel-libipsec) …');
    const swan = await startStrongswanClient(m.lab, 'client', { gateway: '192.0.2.1', remoteTs: '10.10.0.0/16', mobike: true });
    progress(`  strongSwan client up, virtual IP ${swan.vip}`);
    const base = await iperfPair(m.lab, swan.vip, progress);
    await swan.charon.swanctl(['--terminate', '--ike', 'home', '--timeout', '5']).catch(() => '');
    await swan.charon.stop();

    progress('throughput mc: homeward run (mode mc) …');
    const run = await tryHomewardRun(m);
    let ours: { toClient: Measured; fromClient: Measured };
    if (run.ok) {
      ours = await iperfPair(m.lab, HOME_ADDRESS, progress);
      await run.value.proc.stop(3000, 'SIGINT');
    } else {
      progress(`  ${run.reason}`);
      ours = { toClient: missing(run.reason), fromClient: missing(run.reason) };
    }
    const note = `iperf3 TCP -t ${IPERF_SECONDS}; Homeward: home address ${HOME_ADDRESS} (Mobile IP in ESP, reference HA); strongSwan: its virtual IP`;
    return [
      { key: 'throughputMc.intranetToClientMbps', label: 'mode mc throughput intranet → client', unit: 'Mbit/s', homeward: ours.toClient, baseline: base.toClient, note },
      { key: 'throughputMc.clientToIntranetMbps', label: 'mode mc throughput client → intranet', unit: 'Mbit/s', homeward: ours.fromClient, baseline: base.fromClient, note },
    ];
  } finally {
    await m.lab.destroy();
  }
}
