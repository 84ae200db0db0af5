import { describe, expect, it } from 'vitest';
import { ExecFailure, SpareProcess } from '../../../app/io/exec.ts';

// `sh -c 'echo $$; cat'`: the process prints its own pid, then echoes its stdin
const echoPid = (): SpareProcess => new SpareProcess('sh', ['-c', 'echo $$; cat']);

describe('SpareProcess', () => {
  it('runs the input through a process and resolves its stdout', async () => {
    const p = echoPid();
    try {
      const out = await p.run('hello\n', 10_000);
      expect(out.split('\n')[1]).toBe('hello');
    } finally {
      p.close();
    }
  });

  it('the next call takes the spare started after the previous one ended', async () => {
    const p = echoPid();
    try {
      const first = Number((await p.run('a\n', 10_000)).split('\n')[0]);
      const waiting = p.waitingPid;
      expect(waiting).toBeTypeOf('number');
      expect(waiting).not.toBe(first);
      const second = Number((await p.run('b\n', 10_000)).split('\n')[0]);
      expect(second).toBe(waiting);
    } finally {
      p.close();
    }
  });

  it('a failing run rejects with its stderr and exit code, and a spare still waits', async () => {
    const p = new SpareProcess('sh', ['-c', 'cat >/dev/null; echo "no such device" >&2; exit 3']);
    try {
      const err = await p.run('x\n', 10_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExecFailure);
      expect((err as ExecFailure).stderr).toContain('no such device');
      expect((err as ExecFailure).code).toBe(3);
      expect(p.waitingPid).toBeTypeOf('number');
    } finally {
      p.close();
    }
  });

  it('a command that cannot start rejects, it does not hang', async () => {
    const p = new SpareProcess('/nonexistent/homeward-tool', []);
    try {
      const err = await p.run('x\n', 10_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExecFailure);
      expect((err as ExecFailure).code).toBe('ENOENT');
    } finally {
      p.close();
    }
  });

  it('close ends the waiting spare and keeps none', async () => {
    const p = echoPid();
    await p.run('a\n', 10_000);
    expect(p.waitingPid).toBeTypeOf('number');
    p.close();
    expect(p.waitingPid).toBeUndefined();
    // a call after close still runs, in a process of its own
    expect((await p.run('c\n', 10_000)).split('\n')[1]).toBe('c');
    expect(p.waitingPid).toBeUndefined();
  });
});
