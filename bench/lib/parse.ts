/** Parsers for the tools the benchmarks drive: iperf3 -J, /proc/<pid>/status. */

export class BenchParseError extends Error {
  override name = 'BenchParseError';
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);

/**
 * Receiver-side throughput of one `iperf3 -J` TCP run, Mbit/s. iperf3 -J
 * reports failures as {"error": "..."}; those become a BenchParseError.
 */
export function iperfMbps(jsonText: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(jsonText);
  } catch {
    throw new BenchParseError(`iperf3 output is not JSON: ${jsonText.slice(0, 200)}`);
  }
  const root = obj(doc);
  if (root === undefined) throw new BenchParseError('iperf3 output is not a JSON object');
  if (typeof root.error === 'string') throw new BenchParseError(`iperf3: ${root.error}`);
  const bps = obj(obj(root.end)?.sum_received)?.bits_per_second;
  if (typeof bps !== 'number' || !Number.isFinite(bps)) throw new BenchParseError('iperf3 output has no end.sum_received.bits_per_second');
  return bps / 1e6;
}

/** VmRSS of a /proc/<pid>/status text, in KiB. */
export function vmRssKiB(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  if (!m) throw new BenchParseError('no VmRSS line in /proc/<pid>/status (a kernel thread, or the process is gone)');
  return Number(m[1]);
}

/** One JSON object per line, stamped with the time its line was complete. */
export interface StampedEvent {
  atMs: number;
  event: Json;
}

/**
 * Splits a stream into lines and keeps the JSON objects among them, stamped
 * on arrival — or, when a line carries a numeric `t` (HOMEWARD_EVENT_TIMES=1),
 * with that: the writer's own clock, which lines read together in one chunk
 * do not share.
 */
export class JsonLineStamper {
  private partial = '';
  readonly events: StampedEvent[] = [];

  push(chunk: string, atMs: number): StampedEvent[] {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    const fresh: StampedEvent[] = [];
    for (const line of lines) {
      const t = line.trim();
      if (!t.startsWith('{')) continue;
      try {
        const e = obj(JSON.parse(t));
        if (e !== undefined) fresh.push({ atMs: typeof e.t === 'number' ? e.t : atMs, event: e });
      } catch {
        // a log line that merely starts with "{": not an event
      }
    }
    this.events.push(...fresh);
    return fresh;
  }
}

/** One run as GNU time reports it with `-f '%e %U %S %M'`: wall, user and system seconds, peak RSS. */
export interface TimedRun {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
}

/** The format string parseGnuTime reads; GNU time writes it as the last line of stderr. */
export const GNU_TIME_FORMAT = '%e %U %S %M';

/** The last line of a `/usr/bin/time -f '%e %U %S %M'` stderr (the command's own stderr comes before it). */
export function parseGnuTime(stderr: string): TimedRun {
  const last = stderr.trimEnd().split('\n').at(-1) ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(last.trim());
  if (!m) throw new BenchParseError(`no "%e %U %S %M" line at the end of GNU time's output: ${JSON.stringify(last.slice(0, 120))}`);
  return { wallS: Number(m[1]), userS: Number(m[2]), sysS: Number(m[3]), maxRssKiB: Number(m[4]) };
}
