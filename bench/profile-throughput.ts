/**
 * Where the time of one iperf3 direction goes: a system-wide `perf record`
 * (cpu-clock) while `homeward vpn up` (or, with PROFILE_CLIENT=strongswan,
 * strongSwan's client) carries iperf3 in the bench lab. Prints the share of
 * samples per command (thread) and the top symbols. Root; a development aid
 * for docs/PERFORMANCE.md, not part of `npm run bench`.
 *
 *   tsx bench/profile-throughput.ts [-R] [seconds]
 *   PROFILE_CLIENT=mc tsx bench/profile-throughput.ts …   homeward run in mode mc
 *                                 (the RFC 5266 lab, from the home address)
 *
 * Besides the shares per command it prints the shares per process of the lab
 * (all `node` threads look alike by command): the engine's JS thread, its
 * other threads by name, and (mode mc) the reference home agent.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchLab, INTRANET, REMOTE_TS, GATEWAY } from './lab/topology.ts';
import { startStrongswanClient, tryHomewardVpnUp, writeProfile } from './lab/peers.ts';
import { iperfMbps } from './lib/parse.ts';
import { createMobileNodeLab, HOME_ADDRESS, tryHomewardRun } from './lab/mobile-node.ts';

const reverse = process.argv.includes('-R');
const seconds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 6);
const client = process.env.PROFILE_CLIENT ?? 'homeward';
const dir = mkdtempSync(join(tmpdir(), 'homeward-prof-'));
const m = client === 'mc' ? await createMobileNodeLab() : undefined;
const { lab } = m ?? (await createBenchLab());
try {
  lab.spawn('intranet', 'iperf3', ['-s', '-B', INTRANET], { label: 'iperf3-server' });
  let source: string;
  let stop: () => Promise<unknown>;
  /** role by pid: the processes whose threads are summed per role */
  const roles = new Map<number, string>();
  if (client === 'mc') {
    const run = await tryHomewardRun(m!);
    if (!run.ok) throw new Error(run.reason);
    source = HOME_ADDRESS;
    stop = () => run.value.proc.stop(3000, 'SIGINT');
    roles.set(run.value.proc.pid, 'homeward');
    roles.set(m!.ha.pid, 'reference HA');
  } else if (client === 'strongswan') {
    const swan = await startStrongswanClient(lab, 'client', { gateway: GATEWAY, remoteTs: REMOTE_TS, mobike: true });
    source = swan.vip;
    stop = () => swan.charon.stop();
  } else {
    const hw = await tryHomewardVpnUp(lab, 'client', writeProfile(lab.tempDir('homeward'), 'vpn'));
    if (!hw.ok) throw new Error(hw.reason);
    source = hw.value.tia;
    stop = () => hw.value.h.proc.stop(3000, 'SIGINT');
    roles.set(hw.value.h.proc.pid, 'homeward');
  }
  const data = join(dir, 'perf.data');
  const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-a', '-g', '-o', data, '--', 'sleep', String(seconds - 1)], { stdio: 'ignore' });
  // listened to from the start: perf (seconds − 1) usually ends before iperf3 does, and an 'exit' nobody waited for yet is lost
  const perfDone = new Promise((res) => perf.on('exit', res));
  const r = await lab.exec('client', 'iperf3', ['-c', INTRANET, '-B', source, '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: (seconds + 20) * 1000 });
  await perfDone;
  // thread ids of the processes of interest, read while they still run
  const roleOf = new Map<number, string>();
  for (const [pid, role] of roles) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch { /* gone */ }
    for (const t of tids) {
      let comm = '?';
      try {
        comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      } catch { /* gone */ }
      roleOf.set(Number(t), Number(t) === pid ? `${role}: JS thread` : `${role}: ${comm}`);
    }
  }
  process.stdout.write(`${client} ${reverse ? 'intranet→client' : 'client→intranet'}: ${iperfMbps(r.stdout).toFixed(1)} Mbit/s\n`);
  process.stdout.write(execFileSync('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'comm', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64e6 }).split('\n').filter((l) => /%/.test(l)).slice(0, 25).join('\n'));
  process.stdout.write('\n\nper process of the lab (share of all samples):\n');
  const byRole = new Map<string, number>();
  for (const line of execFileSync('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'pid', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64e6 }).split('\n')) {
    const mm = /^\s*([\d.]+)%\s+(\d+):/.exec(line);
    const role = mm && roleOf.get(Number(mm[2]));
    if (mm && role) byRole.set(role, (byRole.get(role) ?? 0) + Number(mm[1]));
  }
  for (const [role, share] of [...byRole].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${share.toFixed(2).padStart(6)} %  ${role}\n`);
  process.stdout.write('\n');
  process.stdout.write(execFileSync('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'comm,sym', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64e6 }).split('\n').filter((l) => /%/.test(l)).slice(0, 60).join('\n'));
  process.stdout.write(`\nperf data: ${data}\n`);
  await stop();
} finally {
  await lab.destroy();
}
