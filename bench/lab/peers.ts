/**
 * The peers the benchmarks compare, started in a lab host: strongSwan's own
 * client (a second charon with kernel-libipsec) and Homeward's CLI. Homeward
 * commands are tried, never assumed: one that is missing or fails yields a
 * reason string instead of a process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startStrongSwan, type Lab, type LabProcess, type StrongSwan } from '../../test/lab/harness/index.ts';
import { JsonLineStamper, type StampedEvent } from '../lib/parse.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The installed `homeward` command: the file package.json's bin names (npm links it), run by its #! line. */
export const HOMEWARD_BIN = join(ROOT, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { homeward: string } }).bin.homeward);
export const PSK = 'bench-psk-0123456789abcdef';
export const IKE = 'aes256gcm16-prfsha256-x25519';
export const ESP = 'aes256gcm16';

/** swanctl.conf of strongSwan's road-warrior client (virtual IP, PSK, one child). */
export function strongswanClientConf(o: { gateway: string; remoteTs: string; mobike: boolean; psk?: string }): string {
  return `connections {
  home {
    version = 2
    remote_addrs = ${o.gateway}
    vips = 0.0.0.0
    proposals = ${IKE}
    mobike = ${o.mobike ? 'yes' : 'no'}
    local {
      auth = psk
      id = mn@example
    }
    remote {
      auth = psk
      id = gw.example
    }
    children {
      home {
        remote_ts = ${o.remoteTs}
        esp_proposals = ${ESP}
      }
    }
  }
}
secrets {
  ike-1 {
    id-1 = mn@example
    id-2 = gw.example
    secret = "${o.psk ?? PSK}"
  }
}
`;
}

export interface SwanClient {
  charon: StrongSwan;
  /** the virtual IP the gateway assigned */
  vip: string;
}

/** Starts strongSwan's client on `host`, initiates, and returns its virtual IP. */
export async function startStrongswanClient(lab: Lab, host: string, o: { gateway: string; remoteTs: string; mobike: boolean }): Promise<SwanClient> {
  const charon = await startStrongSwan(lab, host, { swanctlConf: strongswanClientConf(o) });
  await charon.swanctl(['--initiate', '--child', 'home', '--timeout', '15']);
  const sas = await charon.listSas();
  const vip = sas.map((s) => s.localVips[0]).find((v) => v !== undefined) ?? vipFromLog(charon.logs());
  if (vip === undefined) throw new Error(`strongSwan client established but no virtual IP was found: ${JSON.stringify(sas)}`);
  return { charon, vip };
}

function vipFromLog(log: string): string | undefined {
  return /installing new virtual IP (\d+\.\d+\.\d+\.\d+)/.exec(log)?.[1];
}

/** A Homeward CLI process with its JSON events stamped on arrival. */
export interface HomewardProc {
  proc: LabProcess;
  events: StampedEvent[];
}

/** `homeward …` as the installed command runs it: HOMEWARD_BIN itself, started by its `#!` line (with the Node options set there). */
export function spawnHomeward(lab: Lab, host: string, args: readonly string[], label: string, env?: NodeJS.ProcessEnv): HomewardProc {
  const proc = lab.spawn(host, HOMEWARD_BIN, args, { label, ...(env ? { env } : {}) });
  const stamper = new JsonLineStamper();
  // stamped on arrival, to the sub-millisecond (wall clock as Date.now(), but not cut to whole ms: the
  // IKE setup figure is a difference of two stamps a few ms apart)
  proc.child.stdout?.on('data', (d: string | Buffer) => { stamper.push(String(d), performance.timeOrigin + performance.now()); });
  return { proc, events: stamper.events };
}

/**
 * `homeward …` as spawnHomeward, with its stdout going to a file that the
 * bench reads every `pollMs` instead of a pipe it reads at once. For timings
 * of a few milliseconds against a peer whose log nobody reads while it runs
 * (charon's filelog): a reader woken by every event line takes CPU from the
 * gateway in the middle of the exchange — with the pipe, the gateway's share
 * of an IKE setup was 0.3 ms (IKE_SA_INIT) and 0.7 ms (IKE_AUTH) longer on
 * this 2-core machine (docs/PERFORMANCE.md). The events keep the process's
 * own stamps (HOMEWARD_EVENT_TIMES=1 is set); `stop()` ends the polling.
 */
export function spawnHomewardToFile(lab: Lab, host: string, args: readonly string[], label: string, env?: NodeJS.ProcessEnv, pollMs = 50): HomewardProc & { stop: () => void } {
  const file = join(lab.tempDir(`${label}-out`), 'events.jsonl');
  const quoted = [HOMEWARD_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const proc = lab.spawn(host, '/bin/sh', ['-c', `exec ${quoted} > '${file}'`], { label, env: { ...env, HOMEWARD_EVENT_TIMES: '1' } });
  const stamper = new JsonLineStamper();
  let offset = 0;
  const read = (): void => {
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      return; // not created yet
    }
    if (buf.length > offset) {
      stamper.push(buf.subarray(offset).toString('utf8'), performance.timeOrigin + performance.now());
      offset = buf.length;
    }
  };
  const timer = setInterval(read, pollMs);
  void proc.exited.then(read, read);
  return { proc, events: stamper.events, stop: () => { clearInterval(timer); read(); } };
}

/**
 * Waits for the first event matching `pred`. Returns it, or a reason: the
 * process exited, printed an error event, or stayed silent past the timeout.
 */
export async function waitForEvent(h: HomewardProc, pred: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<{ event: Record<string, unknown> } | { reason: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = h.events.find((e) => pred(e.event));
    if (hit) return { event: hit.event };
    const err = h.events.find((e) => e.event.type === 'error');
    if (err) return { reason: `error ${String(err.event.code)}: ${oneLine(String(err.event.message))}` };
    if (!h.proc.running) return { reason: `exited (${JSON.stringify(await h.proc.exited)}): ${tail(h.proc)}` };
    if (Date.now() > deadline) return { reason: `no matching event within ${timeoutMs} ms: ${tail(h.proc)}` };
    await sleep(50);
  }
}

/** First line of a message, with the lab's temporary paths elided (they differ every run). */
export function oneLine(msg: string): string {
  return (msg.split('\n')[0] ?? '').replace(/\/tmp\/homeward-lab\/\S+/g, '<file>').slice(0, 300);
}

export function tail(p: LabProcess): string {
  return `${p.stdout().slice(-300)} ${p.stderr().slice(-300)}`.replace(/\s+/g, ' ').trim() || '(no output)';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Homeward profile for the benchmark VPN (PSK, same suite as the gateway). */
export function writeProfile(dir: string, name: string, extra: Record<string, unknown> = {}, vpnExtra: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    homeAddress: '10.10.0.77', homeAgent: '10.10.0.2',
    vpn: { gateway: '192.0.2.1', localId: 'mn@example', remoteId: 'gw.example', auth: { psk: PSK }, ike: IKE, esp: ESP, remoteTs: ['10.10.0.0/24'], ...vpnExtra },
    ...extra,
  }, null, 2));
  return path;
}

export type Started<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * `homeward vpn up --profile P --json` in `host`, until its IKE SA is
 * established (then the TIA it got) or the attempt fails.
 */
export async function tryHomewardVpnUp(lab: Lab, host: string, profile: string, timeoutMs = 20_000): Promise<Started<{ h: HomewardProc; tia: string }>> {
  const h = spawnHomeward(lab, host, ['vpn', 'up', '--profile', profile, '--json'], 'homeward-vpn');
  const r = await waitForEvent(h, (e) => e.type === 'ike-sa' && e.state === 'established', timeoutMs);
  if ('reason' in r) {
    await h.proc.stop(2000, 'SIGINT');
    return { ok: false, reason: `homeward vpn up not available: ${r.reason}` };
  }
  const tia = typeof r.event.tia === 'string' ? r.event.tia : undefined;
  if (tia === undefined) {
    await h.proc.stop(2000, 'SIGINT');
    return { ok: false, reason: 'homeward vpn up established without a tia in its ike-sa event' };
  }
  return { ok: true, value: { h, tia } };
}
