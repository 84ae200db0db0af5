/**
 * Process-wide bookkeeping of live labs, so that nothing of a run survives it.
 *
 * - Every lab writes /tmp/homeward-lab/<run id>.json (owner pid, namespaces,
 *   process ids, work dir) BEFORE it creates anything, and updates it as it
 *   grows. Hard-linking that file into place (exclusive, atomic) is also what
 *   makes run ids unique across concurrent vitest workers.
 * - On process exit / SIGINT / SIGTERM, every live lab is torn down
 *   synchronously (execFileSync), in case a test never reached destroy().
 * - sweepStale() removes what crashed earlier runs left behind: namespaces
 *   whose state file names an owner pid that is gone (or has no state file).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { LAB_ROOT, isRunId, makeRunId, runIdOfNamespace, stateFile, workDir } from './names.ts';

export interface RunState {
  runId: string;
  ownerPid: number;
  namespaces: string[];
  pids: number[];
  workDir: string;
}

export interface Teardownable {
  readonly runId: string;
  destroySync(): void;
}

const live = new Map<string, Teardownable>();
let hooked = false;

/** Claims a fresh run id: creates its state file exclusively and its work dir. */
export function claimRunId(root = LAB_ROOT): RunState {
  mkdirSync(root, { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 64; attempt++) {
    const runId = makeRunId(randomBytes(2));
    const state: RunState = { runId, ownerPid: process.pid, namespaces: [], pids: [], workDir: workDir(runId, root) };
    // write, then hard-link into place: atomic and exclusive, so a sweeper in
    // another process never reads a half-written file of a live run
    const tmp = `${stateFile(runId, root)}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(state));
    try {
      linkSync(tmp, stateFile(runId, root));
    } catch {
      continue; // taken by another run
    } finally {
      rmSync(tmp, { force: true });
    }
    mkdirSync(state.workDir, { recursive: true, mode: 0o755 });
    return state;
  }
  throw new Error(`no free lab run id under ${root} (stale state files? run sweepStale())`);
}

export function saveState(state: RunState, root = LAB_ROOT): void {
  const tmp = `${stateFile(state.runId, root)}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, stateFile(state.runId, root));
}

let signalTeardown = true;

/**
 * For a program that tears its labs down gracefully on SIGINT/SIGTERM itself
 * (the demo: deregister, stop the stream, print the summary): the signal
 * hooks then leave the labs alone; the exit hook still sweeps what is left.
 */
export function deferSignalTeardown(): void {
  signalTeardown = false;
}

export function register(lab: Teardownable): void {
  live.set(lab.runId, lab);
  if (!hooked) {
    hooked = true;
    process.on('exit', destroyAllSync);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        if (!signalTeardown) return;
        destroyAllSync();
        // re-raise for the default action, unless someone else (vitest) handles it
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }
}

export function unregister(runId: string): void {
  live.delete(runId);
}

export function liveRunIds(): string[] {
  return [...live.keys()];
}

function destroyAllSync(): void {
  for (const lab of [...live.values()]) {
    try { lab.destroySync(); } catch { /* best effort at exit */ }
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a zombie is as good as gone
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /s.test(stat);
  } catch {
    return false;
  }
}

/**
 * Synchronous, best-effort removal of one run's processes, namespaces and
 * files. `ownPids` are live children of this process (safe to signal);
 * everything else is found through the namespaces themselves, never through
 * recorded pids that may have been reused since.
 */
export function teardownSync(state: RunState, ownPids: readonly number[], root = LAB_ROOT, keepFiles = false): void {
  for (const pid of ownPids) killQuiet(pid, 'SIGKILL');
  for (const ns of state.namespaces) {
    for (const pid of netnsPidsSync(ns)) killQuiet(pid, 'SIGKILL');
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ }
  }
  if (!keepFiles) rmSync(state.workDir, { recursive: true, force: true });
  rmSync(stateFile(state.runId, root), { force: true });
}

export function netnsPidsSync(ns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

export function listNamespacesSync(): string[] {
  try {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
  } catch {
    return [];
  }
}

function killQuiet(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

function readState(runId: string, root: string): RunState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(runId, root), 'utf8')) as RunState;
    return s.runId === runId && Number.isInteger(s.ownerPid) ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes namespaces, processes and files left by earlier runs whose owner
 * process is gone. Runs owned by live processes (another vitest worker) are
 * left alone. Returns the run ids it removed.
 */
export function sweepStale(prefix = 'hw', root = LAB_ROOT): string[] {
  const runIds = new Set<string>();
  for (const ns of listNamespacesSync()) {
    const id = runIdOfNamespace(ns);
    if (id !== undefined && id.startsWith(prefix)) runIds.add(id);
  }
  let files: string[] = [];
  try { files = readdirSync(root); } catch { /* no root yet */ }
  for (const f of files) {
    const tmp = /^hw[0-9a-f]{4}\.json\.tmp-(\d+)$/.exec(f);
    if (tmp && !pidAlive(Number(tmp[1]))) rmSync(`${root}/${f}`, { force: true });
    const id = f.endsWith('.json') ? f.slice(0, -5) : f;
    if (isRunId(id) && id.startsWith(prefix)) runIds.add(id);
  }
  const swept: string[] = [];
  for (const runId of runIds) {
    if (live.has(runId)) continue;
    const state = readState(runId, root);
    if (state && pidAlive(state.ownerPid) && state.ownerPid !== process.pid) continue;
    const namespaces = listNamespacesSync().filter((ns) => runIdOfNamespace(ns) === runId);
    teardownSync({
      runId,
      ownerPid: state?.ownerPid ?? 0,
      namespaces,
      pids: state?.pids ?? [],
      workDir: workDir(runId, root),
    }, [], root);
    swept.push(runId);
  }
  return swept;
}
