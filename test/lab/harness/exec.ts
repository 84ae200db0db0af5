/**
 * Running commands for the lab: always argument arrays (execFile/spawn, no
 * shell string built from input), bounded in time and in kept output.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** exit code; null when killed by a signal (then `signal` is set) */
  code: number | null;
  signal?: NodeJS.Signals | null;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, {
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      encoding: 'utf8',
    }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code === 'string') {
        // spawn failure (ENOENT, ...): report as exit 127 with the reason
        resolve({ stdout: '', stderr: `${cmd}: ${err.message}`, code: 127 });
        return;
      }
      const e = err as (Error & { code?: number | null; signal?: NodeJS.Signals | null }) | null;
      resolve({ stdout, stderr, code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export class CommandError extends Error {
  constructor(readonly cmd: string, readonly args: readonly string[], readonly result: ExecResult) {
    const how = result.code === null ? `signal ${result.signal ?? '?'}` : `exit ${result.code}`;
    super(`${cmd} ${args.join(' ')} failed (${how}): ${(result.stderr || result.stdout).trim().slice(0, 2000)}`);
    this.name = 'CommandError';
  }
}

/** Runs a command and throws CommandError unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(cmd, args, r);
  return r;
}

/** Keeps the last `limit` characters of a stream. */
export class TailBuffer {
  private chunks: string[] = [];
  private size = 0;
  private dropped = 0;
  constructor(private readonly limit = 1 << 20) {}
  push(s: string): void {
    this.chunks.push(s);
    this.size += s.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      const first = this.chunks.shift() ?? '';
      this.size -= first.length;
      this.dropped += first.length;
    }
  }
  text(): string {
    const all = this.chunks.join('');
    const head = this.dropped > 0 ? `[… ${this.dropped} earlier characters dropped]\n` : '';
    return head + (all.length > this.limit ? all.slice(all.length - this.limit) : all);
  }
}

/** A long-running process started by the lab; killed at teardown. */
export class LabProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private out = new TailBuffer();
  private err = new TailBuffer();
  private waiters = new Set<() => void>();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(readonly child: ChildProcess, readonly label: string) {
    if (child.pid === undefined) throw new Error(`${label}: process did not start`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { this.out.push(d); this.wake(); });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.err.push(d); this.wake(); });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }
  stdout(): string {
    return this.out.text();
  }
  stderr(): string {
    return this.err.text();
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) {
      try { process.kill(this.pid, signal); } catch { /* already gone */ }
    }
  }

  /** Resolves when `pattern` appears in stdout+stderr; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs = 10_000, stream: 'stdout' | 'stderr' | 'both' = 'both'): Promise<RegExpExecArray> {
    const text = (): string =>
      stream === 'stdout' ? this.stdout() : stream === 'stderr' ? this.stderr() : this.stdout() + '\n' + this.stderr();
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = pattern.exec(text());
        if (m) { done(); resolve(m); return true; }
        if (!this.running) {
          done();
          reject(new Error(`${this.label} exited (${JSON.stringify(this.exitInfo)}) before ${pattern}: ${this.stderr().slice(-2000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no ${pattern} within ${timeoutMs} ms: ${this.stderr().slice(-2000)}`));
      }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.waiters.delete(onData); };
      const onData = (): void => { check(); };
      if (!check()) this.waiters.add(onData);
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 2000, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.kill(first);
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

export function startProcess(cmd: string, args: readonly string[], label: string, env?: NodeJS.ProcessEnv): LabProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  // an ENOENT arrives as an 'error' event; without a listener it would crash the worker
  child.on('error', () => { /* reported through exit/waitFor */ });
  return new LabProcess(child, label);
}
