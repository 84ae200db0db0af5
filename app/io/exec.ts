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
