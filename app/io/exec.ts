/**
 * The one module in app/ that starts processes (node:child_process): system
 * tools run with argument arrays, never through a shell. netconfig.ts
 * (iproute2), net-monitor.ts (`ip monitor` and its reads) and, through
 * runTool, the rest of app/io use it; ESLint keeps child_process out of
 * every other file.
 */
import { execFile, spawn } from 'node:child_process';

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
export function execText(cmd: string, args: readonly string[], timeoutMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const f = err as { code?: number | string; message?: string };
      reject(new ExecFailure(stderr ?? '', f.code, f.message ?? ''));
    });
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
