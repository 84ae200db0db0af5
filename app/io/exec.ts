/**
 * The one module in app/ that starts processes (node:child_process): system
 * tools run with argument arrays, never through a shell. netconfig.ts
 * (iproute2), net-monitor.ts (`ip monitor` and its reads) and, through
 * runTool, the rest of app/io use it; ESLint keeps child_process out of
 * every other file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';

/** A failed run: the tool's stderr, its exit code (or 'ENOENT', 'ETIMEDOUT'…) and node's message. */
export class ExecFailure extends Error {
  constructor(
    readonly stderr: string,
    readonly code: number | string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ExecFailure';
  }
}

/**
 * Runs `cmd` with `args`; resolves its stdout, rejects with an ExecFailure.
 * `timeoutMs` 0 (the default): no time limit.
 */
export function execText(cmd: string, args: readonly string[], timeoutMs = 0, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const f = err as { code?: number | string; message?: string };
      reject(new ExecFailure(stderr ?? '', f.code, f.message ?? ''));
    });
    // `input` on stdin (`ip -batch -`), else stdin closed at once
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/**
 * A process started before it is needed: `execText` with the fork and exec
 * already done. A handover writes its routing changes through one
 * `ip -force -batch -` and waits for it; starting that process costs 3–5 ms
 * on an idle machine and 17–45 ms on a loaded one (docs/ENGINE.md). So one
 * spare waits, started and idle on its stdin, and takes the next call's
 * input; the next spare starts once that call has ended (never while a move
 * waits). The spare has read nothing and looked nothing up (iproute2 caches
 * interface indexes only as a command asks): it behaves exactly as a process
 * started at the call, unlike a kept `ip -batch` session, whose cache would
 * name a re-created device by its old index. While idle the spare does not
 * keep Node running (unref); a parent that exits closes its stdin and it
 * ends without running anything.
 */
export class SpareProcess {
  private spare?: ChildProcess;
  private closed = false;

  constructor(private readonly cmd: string, private readonly args: readonly string[]) {}

  /** Runs with `input` on stdin (as execText); resolves stdout, rejects with an ExecFailure. */
  run(input: string, timeoutMs = 0): Promise<string> {
    const proc = this.take();
    return new Promise<string>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let failed: Error | undefined;
      const timer = timeoutMs > 0 ? setTimeout(() => proc.kill('SIGKILL'), timeoutMs) : undefined;
      proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      proc.on('error', (e) => (failed = e));
      proc.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (!this.closed) this.spare ??= this.start();
        if (code === 0 && !failed) return resolve(stdout);
        const why = failed ? (failed as NodeJS.ErrnoException).code : signal && timer ? 'ETIMEDOUT' : (code ?? undefined);
        reject(new ExecFailure(stderr, why, failed?.message ?? `${this.cmd} ${this.args.join(' ')} exited ${String(code ?? signal)}`));
      });
      proc.stdin!.end(input);
    });
  }

  /** The waiting spare's pid (undefined: none waits). */
  get waitingPid(): number | undefined {
    return this.spare?.pid;
  }

  /** Ends the waiting spare (it runs nothing); later calls start their own process. */
  close(): void {
    this.closed = true;
    this.spare?.stdin?.end();
    this.spare = undefined;
  }

  private take(): ChildProcess {
    let proc = this.spare;
    this.spare = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) proc = this.start();
    proc.ref();
    for (const s of [proc.stdin, proc.stdout, proc.stderr]) (s as { ref?: () => void } | null)?.ref?.();
    return proc;
  }

  private start(): ChildProcess {
    const proc = spawn(this.cmd, [...this.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.on('error', () => undefined);
    proc.stdin!.on('error', () => undefined);
    proc.unref();
    for (const s of [proc.stdin, proc.stdout, proc.stderr]) (s as { unref?: () => void } | null)?.unref?.();
    return proc;
  }
}

/** Runs another system tool (argument array, never a shell); resolves stdout, rejects with its stderr. */
export function runTool(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return execText(cmd, args, timeoutMs).catch((f: ExecFailure) => {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(f.stderr || f.message).trim()}`);
  });
}

/** A long-running tool whose stdout is read as it comes (`ip monitor`). */
export interface ToolStream {
  readonly pid: number | undefined;
  /** null while it runs */
  readonly exitCode: number | null;
  onData(handler: (chunk: Buffer) => void): void;
  kill(): void;
}

/** Starts `cmd` with stdin and stderr ignored; a failure to start is ignored (the stream then stays silent). */
export function spawnTool(cmd: string, args: readonly string[]): ToolStream {
  const proc = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  proc.on('error', () => undefined);
  return streamOf(proc);
}

/** The ToolStream view of a child process whose stdout is piped. */
function streamOf(proc: ChildProcess): ToolStream {
  return {
    get pid() {
      return proc.pid;
    },
    get exitCode() {
      return proc.exitCode;
    },
    onData(handler) {
      proc.stdout!.on('data', handler);
    },
    kill() {
      proc.kill();
    },
  };
}

/** A long-running tool fed on its stdin (`ip -batch -`), its stdout read as it comes. */
export interface ToolSession extends ToolStream {
  /** writes to its stdin; false once it is gone */
  write(text: string): boolean;
  onExit(handler: () => void): void;
}

/** Starts `cmd` with stdin and stdout piped, stderr ignored; a failure to start ends it (onExit). */
export function spawnSession(cmd: string, args: readonly string[]): ToolSession {
  const proc = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'ignore'] });
  let gone = false;
  const exitHandlers: Array<() => void> = [];
  const end = (): void => {
    if (gone) return;
    gone = true;
    for (const h of exitHandlers) h();
  };
  proc.on('error', end);
  proc.on('exit', end);
  proc.stdin!.on('error', () => undefined);
  // onto the stream object itself: its pid/exitCode getters stay live
  return Object.assign(streamOf(proc), {
    onExit(handler: () => void): void {
      if (gone) handler();
      else exitHandlers.push(handler);
    },
    write(text: string): boolean {
      if (gone || !proc.stdin!.writable) return false;
      proc.stdin!.write(text);
      return true;
    },
  });
}
