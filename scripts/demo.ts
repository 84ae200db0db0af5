/**
 * `npm run demo -- [--manual] [--headless] [--duration <s>] [--interval <s>] [--port <n>]`
 *
 * A whole enterprise on one machine (root; network namespaces — the lab's
 * topology, test/lab/fixtures/engine-lab.ts with { tour: true }):
 *
 *   intranet 10.1.0.0/24: the reference i-HA (10.1.0.1) and a server (10.1.0.10, TCP echo)
 *   T1  office subnet, trusted             (the i-HA answers with TNC)        → mode c
 *   T2  branch subnet, trusted, with the reference foreign agent             → mode f
 *   U1  hotel Wi-Fi, untrusted             (only the VPN gateway answers)     → mode mc
 *   U2  phone hotspot, untrusted, behind a NAT                               → mode mc
 *   the strongSwan MOBIKE gateway (198.51.100.1 / 203.0.113.1) between U1/U2 and the intranet
 *
 * Throw-away credentials (MN-HA key, IKE PSK) are generated per run. The real
 * engine (`homeward run`) runs in the laptop's namespace; a byte-checked TCP
 * session from the home address to the intranet server runs the whole time.
 * Scripted (default): about every --interval seconds (10) a move T1 → U1 → U2
 * → T2 → U1 → T1, repeated until Ctrl-C — or once with --headless.
 * --manual: no script; move with `npx homeward demo move <T1|U1|U2|T2>`.
 * --headless: no UI; one JSON object per line on stdout (the engine's events,
 * plus demo-ready, demo-move, demo-stream and demo-summary).
 * --duration: stop after that many seconds. Ctrl-C tears everything down.
 * Exit status: 0 when every move reached its mode, the TCP session never
 * broke and nothing was left behind; 1 otherwise; 2 when it cannot start.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, createConnection, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_NETWORKS, DEMO_SOCKET, isDemoNetwork, type DemoNetwork } from '../app/cli/demo-move.ts';
import { RENDERER_DIST } from '../app/cli/ui.ts';
import { connectControlSocket, type ControlClient } from '../app/io/control-socket.ts';
import { diagnosticsProvider, profileFromFile } from '../app/io/diagnostics.ts';
import { startUiServer, type UiServer } from '../app/io/ui-server.ts';
import { deferSignalTeardown, labAvailable, pidAlive, type LabProcess } from '../test/lab/harness/index.ts';
import { createEngineLab, HOA, ROOT, TSX, type EngineLab, type Json } from '../test/lab/fixtures/engine-lab.ts';

type Settled = 'c' | 'f' | 'mc';
const EXPECT: Record<DemoNetwork, Settled> = { T1: 'c', U1: 'mc', U2: 'mc', T2: 'f' };
const NAMES: Record<DemoNetwork, string> = {
  T1: 'office subnet (trusted)',
  U1: 'hotel Wi-Fi (untrusted)',
  U2: 'phone hotspot behind a NAT (untrusted)',
  T2: 'branch subnet with a foreign agent (trusted)',
};
const TOUR: DemoNetwork[] = ['U1', 'U2', 'T2', 'U1', 'T1'];
const SETTLE_TIMEOUT_MS = 30_000;

export interface DemoArgs {
  manual: boolean;
  headless: boolean;
  durationS?: number;
  intervalS: number;
  port?: number;
  /** the demo's own socket (moves); DEMO_SOCKET by default */
  socket: string;
}

export class DemoUsageError extends Error {}

export function parseDemoArgs(argv: string[]): DemoArgs {
  const out: DemoArgs = { manual: false, headless: false, intervalS: 10, socket: DEMO_SOCKET };
  const num = (flag: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new DemoUsageError(`${flag} needs a number of ${min}–${max}, got ${v ?? 'nothing'}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--manual') out.manual = true;
    else if (a === '--headless') out.headless = true;
    else if (a === '--duration') out.durationS = num(a, argv[++i], 1, 7 * 24 * 3600);
    else if (a === '--interval') out.intervalS = num(a, argv[++i], 3, 3600);
    else if (a === '--port') out.port = num(a, argv[++i], 1, 65535);
    else if (a === '--socket') {
      const v = argv[++i];
      if (!v?.startsWith('/')) throw new DemoUsageError(`--socket needs an absolute path, got ${v ?? 'nothing'}`);
      out.socket = v;
    }
    else if (a === '--help' || a === '-h') throw new DemoUsageError('');
    else throw new DemoUsageError(`unknown option ${a}`);
  }
  if (out.headless && out.port !== undefined) throw new DemoUsageError('--port serves the UI: it makes no sense with --headless');
  return out;
}

const USAGE = `npm run demo -- [--manual] [--headless] [--duration <s>] [--interval <s>] [--port <n>]
  --manual     no scripted tour: move with  npx homeward demo move <T1|U1|U2|T2>
  --headless   no UI; JSON events on stdout; one tour, then exit (unless --manual/--duration)
  --duration   stop after this many seconds
  --interval   seconds between scripted moves (default 10)
  --port       port of the UI on 127.0.0.1 (default: a free one)
  --socket     the demo's socket for moves (default ${DEMO_SOCKET})`;

/** What is missing to run the demo here, as a message with the fix; undefined when all is there. */
export function preflight(): string | undefined {
  return explainUnavailable(labAvailable({ need: ['strongswan'] }));
}

/** The lab's availability verdict as one line for the user, naming the command that fixes it. */
export function explainUnavailable(a: { ok: boolean; reason?: string }): string | undefined {
  if (a.ok) return undefined;
  if (/root/.test(a.reason ?? '')) return 'the demo builds network namespaces and needs root: sudo npm run demo';
  if (/strongswan|charon|swanctl/i.test(a.reason ?? '')) return `${a.reason ?? 'strongSwan missing'}; install what the demo and the tests need with: sudo bash scripts/setup.sh`;
  return `network namespaces are not available here (${a.reason ?? 'unknown reason'}); the demo needs a Linux kernel with network namespaces and root`;
}

class Output {
  constructor(private readonly headless: boolean, private readonly t0: number) {}
  json(o: Json): void {
    if (this.headless) process.stdout.write(`${JSON.stringify(o)}\n`);
  }
  say(text: string): void {
    if (!this.headless) process.stdout.write(`[${((Date.now() - this.t0) / 1000).toFixed(1).padStart(6)}s] ${text}\n`);
  }
  banner(text: string): void {
    if (!this.headless) process.stdout.write(`${text}\n`);
  }
}

/** gapMs: the longest `handover` gap of the move (on T2 the move to c, then c → f, are two) */
interface MoveResult { to: DemoNetwork; expected: Settled; mode: string; gapMs?: number; handovers?: Array<{ from: string; to: string; gapMs: number; trust: string }>; ok: boolean; error?: string }
interface StreamState { sent: number; received: number; ok: boolean; done?: Json }

/** The engine's JSON events, as they arrive (not limited by the process's tail buffer). */
class EventLog {
  readonly all: Json[] = [];
  private waiters = new Set<() => void>();
  private partial = '';
  constructor(proc: LabProcess, onEvent: (e: Json) => void) {
    proc.child.stdout?.on('data', (d: string) => {
      const lines = (this.partial + d).split('\n');
      this.partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        let e: Json;
        try { e = JSON.parse(l) as Json; } catch { continue; }
        this.all.push(e);
        onEvent(e);
      }
      for (const w of this.waiters) w();
    });
    void proc.exited.then(() => { for (const w of this.waiters) w(); });
  }
  async wait(from: number, pred: (e: Json) => boolean, timeoutMs: number, alive: () => boolean): Promise<Json | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.all.slice(from).find(pred);
      if (hit) return hit;
      if (!alive() || Date.now() >= deadline) return undefined;
      await new Promise<void>((res) => {
        const w = (): void => { this.waiters.delete(w); clearTimeout(t); res(); };
        const t = setTimeout(w, Math.max(1, deadline - Date.now()));
        this.waiters.add(w);
      });
    }
  }
}

const isSettled = (e: Json): boolean => e.type === 'mode' && (e.mode === 'c' || e.mode === 'f' || e.mode === 'mc');

async function listenDemoSocket(path: string, onMove: (to: DemoNetwork) => Promise<MoveResult>): Promise<Server> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    const alive = await new Promise<boolean>((res) => {
      const c = createConnection(path);
      c.on('connect', () => { c.destroy(); res(true); });
      c.on('error', () => res(false));
    });
    if (alive) throw new DemoUsageError(`another demo is running (${path} answers); stop it first`);
    rmSync(path, { force: true });
  }
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 4096) return sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: { cmd?: unknown; to?: unknown };
      try { req = JSON.parse(buf.slice(0, nl)) as typeof req; } catch { return sock.end(`${JSON.stringify({ ok: false, error: 'not JSON' })}\n`); }
      buf = '';
      if (req.cmd !== 'move' || typeof req.to !== 'string' || !isDemoNetwork(req.to)) {
        return sock.end(`${JSON.stringify({ ok: false, error: `want {"cmd":"move","to":one of ${DEMO_NETWORKS.join('|')}}` })}\n`);
      }
      void onMove(req.to).then((r) => sock.end(`${JSON.stringify(r)}\n`));
    });
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => res());
  });
  return server;
}

function namespacesOf(runId: string): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.includes(runId));
  } catch {
    return [];
  }
}

export async function demo(argv: string[]): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(argv);
  } catch (e) {
    const msg = (e as Error).message;
    process.stderr.write(msg ? `demo: ${msg}\n\n${USAGE}\n` : `${USAGE}\n`);
    return msg ? 2 : 0;
  }
  const problem = preflight();
  if (problem) {
    process.stderr.write(`demo: ${problem}\n`);
    return 2;
  }
  if (!args.headless && !existsSync(join(RENDERER_DIST, 'index.html'))) {
    process.stderr.write('demo: building the UI first (npm run build:renderer)…\n');
    const b = spawnSync('npm', ['run', 'build:renderer'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) {
      process.stderr.write('demo: the UI build failed; run npm run build:renderer to see why, or use --headless\n');
      return 2;
    }
  }

  const t0 = Date.now();
  const out = new Output(args.headless, t0);
  deferSignalTeardown();
  let stopRequested = false;
  let wakeStop: () => void = () => undefined;
  const stopped = new Promise<void>((res) => { wakeStop = res; });
  const requestStop = (): void => { stopRequested = true; wakeStop(); };
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130); // the exit hook still sweeps the namespaces
    out.banner('\nstopping: deregistering, closing the TCP session, removing the namespaces…');
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // a closed terminal (SIGHUP) tears down like Ctrl-C; writes to the gone terminal must not abort the teardown
  process.on('SIGHUP', () => {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    onSignal();
  });

  const key = randomBytes(16).toString('hex');
  const psk = randomBytes(24).toString('base64url');
  let L: EngineLab | undefined;
  let client: ControlClient | undefined;
  let ui: UiServer | undefined;
  let diagnostics: ReturnType<typeof diagnosticsProvider> | undefined;
  let demoSock: Server | undefined;
  const moves: MoveResult[] = [];
  const stream: StreamState = { sent: 0, received: 0, ok: true };
  let failure: string | undefined;
  const tracked: LabProcess[] = [];
  try {
    out.banner('Homeward demo: building a whole enterprise in network namespaces…');
    L = await createEngineLab({ tour: true, key, psk });
    const lab = L.lab;
    const control = join(lab.workDir, 'control.sock');
    const mn = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', L.profile, '--json', '--control', control], { env: L.env, label: 'homeward-run' });
    tracked.push(mn, L.ha, ...(L.fa ? [L.fa] : []));
    const log = new EventLog(mn, (e) => {
      out.json(e);
      if (e.type === 'log' && e.level === 'error') out.say(`engine: ${String(e.msg)}`);
    });
    const first = await log.wait(0, isSettled, SETTLE_TIMEOUT_MS, () => mn.running);
    if (!first) throw new Error(`the engine did not settle on T1: ${mn.stderr().slice(-1500)}`);
    out.say(`laptop on T1 ${NAMES.T1}: mode ${String(first.mode)}, home address ${HOA}, care-of ${String(first.coa)}`);

    // the TCP session from the home address to the intranet server, byte-checked, for the whole demo
    const tcp = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/tools/stream-client.ts'), '10.1.0.10', '5001', '0', '1000'], { env: L.env, label: 'tcp-session' });
    tracked.push(tcp);
    tcp.child.stdout?.on('data', (d: string) => {
      for (const l of d.split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          const e = JSON.parse(l) as Json;
          if (e.event === 'progress' || e.event === 'done') {
            stream.sent = Number(e.sent);
            stream.received = Number(e.received);
            if (e.ok === false) stream.ok = false;
            if (e.event === 'done') stream.done = e;
          }
        } catch { /* partial line */ }
      }
    });
    await tcp.waitFor(/"event":"connected"/, 10_000, 'stdout');
    const tcpText = (): string => `TCP session ${(stream.received / 1e6).toFixed(2)} MB echoed${stream.ok && tcp.running ? ', every byte checked' : ', BROKEN'}`;

    let chain = Promise.resolve();
    const move = (to: DemoNetwork): Promise<MoveResult> => {
      const run = chain.then(async (): Promise<MoveResult> => {
        const expected = EXPECT[to];
        const n0 = log.all.length;
        out.json({ type: 'demo-move', to, network: NAMES[to], expect: expected, t: Date.now() - t0 });
        await ({ T1: L!.toT1, U1: L!.toU1, U2: L!.toU2, T2: L!.toT2 })[to]();
        // on a trusted network with a foreign agent the node shows c first and f once the agent answers
        const m = await log.wait(n0, (e) => isSettled(e) && e.mode === expected, SETTLE_TIMEOUT_MS, () => mn.running)
          ?? log.all.slice(n0).filter(isSettled).at(-1);
        const h = m ? await log.wait(n0, (e) => e.type === 'handover', 5000, () => mn.running) : undefined;
        const hs = log.all.slice(n0).filter((e) => e.type === 'handover')
          .map((e) => ({ from: String(e.from), to: String(e.to), gapMs: Math.round(Number(e.gapMs)), trust: String(e.trust ?? '') }));
        const gap = hs.length ? Math.max(...hs.map((x) => x.gapMs)) : undefined;
        const r: MoveResult = { to, expected, mode: m ? String(m.mode) : 'none', ok: m?.mode === expected, ...(gap === undefined ? {} : { gapMs: gap, handovers: hs }) };
        if (!m) r.error = `no settled mode within ${SETTLE_TIMEOUT_MS / 1000} s`;
        moves.push(r);
        out.json({ type: 'demo-moved', ...r });
        out.say(`→ ${to} ${NAMES[to]}: mode ${r.mode}${r.ok ? '' : ` (expected ${expected})`}${h ? `, ${hs.map((x) => `handover ${x.from} → ${x.to} gap ${x.gapMs} ms`).join(', ')}` : ''} · ${tcpText()}`);
        return r;
      });
      chain = run.then(() => undefined, () => undefined);
      return run;
    };

    if (!args.headless) {
      client = await connectControlSocket(control);
      diagnostics = diagnosticsProvider({ engine: client, profile: profileFromFile(L.profile) });
      ui = await startUiServer({ engine: client, root: RENDERER_DIST, diagnostics: diagnostics.build, ...(args.port === undefined ? {} : { port: args.port }) });
      out.banner(`\n  UI:  ${ui.url}\n       open it in a browser on this machine (the token in the URL is the key)\n`);
    }
    demoSock = await listenDemoSocket(args.socket, move);
    out.json({ type: 'demo-ready', lab: lab.runId, hoa: HOA, control, demoSocket: args.socket, ...(ui ? { ui: ui.url } : {}), manual: args.manual });
    const sockFlag = args.socket === DEMO_SOCKET ? '' : ` --socket ${args.socket}`;
    out.banner(`  the laptop: home address ${HOA}; move it yourself with  npx homeward demo move <${DEMO_NETWORKS.join('|')}>${sockFlag}`);
    out.banner(`  the engine's control socket: ${control}   (npx homeward ui --control ${control})\n  Ctrl-C tears everything down.\n`);

    if (args.durationS !== undefined) setTimeout(requestStop, args.durationS * 1000).unref();
    const pause = (ms: number): Promise<void> => Promise.race([new Promise<void>((r) => setTimeout(r, ms).unref()), stopped]);
    let lastStreamLine = Date.now();
    if (args.manual) {
      while (!stopRequested) {
        await pause(10_000);
        if (!stopRequested && Date.now() - lastStreamLine >= 10_000) {
          out.json({ type: 'demo-stream', sent: stream.sent, received: stream.received, ok: stream.ok && tcp.running });
          lastStreamLine = Date.now();
        }
      }
    } else {
      const loop = !args.headless || args.durationS !== undefined;
      do {
        for (const to of TOUR) {
          await pause(args.intervalS * 1000);
          if (stopRequested) break;
          await move(to);
          out.json({ type: 'demo-stream', sent: stream.sent, received: stream.received, ok: stream.ok && tcp.running });
        }
      } while (loop && !stopRequested);
    }
    await chain;

    // end of the demo: close the TCP session (it waits for the echo of every byte), then the engine
    tcp.kill('SIGTERM');
    await Promise.race([tcp.exited, new Promise((r) => setTimeout(r, 20_000))]);
    mn.kill('SIGTERM');
    await Promise.race([mn.exited, new Promise((r) => setTimeout(r, 10_000))]);
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    await ui?.close().catch(() => undefined);
    diagnostics?.stop();
    client?.close();
    demoSock?.close();
    if (demoSock) rmSync(args.socket, { force: true });
    await L?.lab.destroy().catch((e: Error) => { failure ??= `teardown: ${e.message}`; });
  }

  const leftNamespaces = L ? namespacesOf(L.lab.runId) : [];
  const leftProcesses = tracked.filter((p) => pidAlive(p.pid)).map((p) => p.label);
  const streamOk = stream.ok && stream.done?.ok === true && stream.received > 0;
  // issue 16: every move's gap (the engine's handover gapMs, hold → first packet released) under a second
  const gaps = moves.flatMap((m) => (m.gapMs === undefined ? [] : [m.gapMs]));
  const everyMoveUnderASecond = moves.length > 0 && moves.every((m) => m.gapMs !== undefined && m.gapMs < 1000);
  const ok = !failure && moves.every((m) => m.ok) && everyMoveUnderASecond && streamOk && leftNamespaces.length === 0 && leftProcesses.length === 0;
  const summary = {
    type: 'demo-summary', ok, seconds: Math.round((Date.now() - t0) / 1000),
    moves, longestGapMs: gaps.length ? Math.max(...gaps) : null, everyMoveUnderASecond, stream: { sent: stream.sent, received: stream.received, ok: streamOk, ...(stream.done?.error ? { error: stream.done.error } : {}) },
    leftBehind: { namespaces: leftNamespaces, processes: leftProcesses }, ...(failure ? { error: failure } : {}),
  };
  out.json(summary);
  if (!args.headless) {
    out.banner(`\n${ok ? 'Demo finished' : 'Demo FAILED'}: ${moves.length} moves (${moves.map((m) => `${m.to}:${m.mode}${m.gapMs === undefined ? '' : ` ${m.gapMs} ms`}`).join(', ') || 'none'})`);
    if (gaps.length) out.banner(`  handover gaps (traffic held, hold → first packet released): longest ${Math.max(...gaps)} ms${everyMoveUnderASecond ? ', every move under a second' : ', NOT every move under a second'}`);
    out.banner(`  TCP session: ${stream.received} of ${stream.sent} bytes echoed, ${streamOk ? 'unbroken, every byte checked' : `BROKEN${stream.done?.error ? ` (${String(stream.done.error)})` : ''}`}`);
    out.banner(`  left behind: ${leftNamespaces.length + leftProcesses.length === 0 ? 'nothing' : [...leftNamespaces, ...leftProcesses].join(', ')}${failure ? `\n  error: ${failure}` : ''}`);
  }
  return ok ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  void demo(process.argv.slice(2)).then((code) => process.exit(code));
}
