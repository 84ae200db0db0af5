/**
 * Packet capture (tcpdump in a lab host) and independent dissection (tshark).
 *
 * A test captures on the wire while our code talks to a real peer, then asks
 * tshark - a third, independent implementation of every protocol involved -
 * whether any packet is malformed or raises an expert-info error.
 */
import { join } from 'node:path';
import { run } from './exec.ts';
import type { Lab } from './lab.ts';

export interface Capture {
  readonly pcap: string;
  /** stops tcpdump (SIGINT, so it flushes) and returns the pcap path */
  stop(): Promise<string>;
}

export interface CaptureOptions {
  /** a pcap-filter expression, e.g. 'udp port 500 or udp port 4500' */
  filter?: string;
  /** file name inside the run's work dir (default <host>-<iface>-<n>.pcap) */
  name?: string;
  startTimeoutMs?: number;
}

let captures = 0;

export async function capture(lab: Lab, host: string, iface: string, opts: CaptureOptions = {}): Promise<Capture> {
  const pcap = join(lab.workDir, opts.name ?? `${host}-${iface}-${++captures}.pcap`);
  // -U + --immediate-mode: every packet reaches the file at once (without
  // immediate mode, libpcap's TPACKET_V3 ring holds the last block back and
  // SIGINT loses it); -Z root: keep the right to write our root-owned dir
  const args = ['-i', iface, '-n', '-U', '--immediate-mode', '-Z', 'root', '-s', '0', '-w', pcap];
  if (opts.filter) args.push(opts.filter);
  const proc = lab.spawn(host, 'tcpdump', args, { label: `tcpdump@${host}:${iface}` });
  await proc.waitFor(/listening on/, opts.startTimeoutMs ?? 10_000, 'stderr');
  let stopped: Promise<string> | undefined;
  const stop = (): Promise<string> => {
    stopped ??= (async () => {
      await proc.stop(3000, 'SIGINT');
      return pcap;
    })();
    return stopped;
  };
  lab.onDestroy(async () => { await stop(); });
  return { pcap, stop };
}

export interface DissectOptions {
  /** tshark -d entries, e.g. ['udp.port==4434,mip'] */
  decodeAs?: string[];
  /** tshark -o entries, e.g. ['esp.enable_encryption_decode:TRUE'] */
  prefs?: string[];
  /** a display filter applied before reporting */
  displayFilter?: string;
  /** extra fields to extract per packet (tshark -e names) */
  fields?: string[];
  /** more raw tshark arguments */
  extraOpts?: string[];
}

export interface DissectedPacket {
  no: number;
  /** frame.protocols split on ':' (eth, ethertype, ip, udp, isakmp, ...) */
  protocols: string[];
  info: string;
  /** every expert item on the packet, as "<severity>: <message>" */
  expert: string[];
  /** values of the requested extra fields (all occurrences, in order) */
  fields: Record<string, string[]>;
}

export interface Dissection {
  packets: DissectedPacket[];
  /** one line per malformed packet: "frame <n>: <info>" */
  malformed: string[];
  /** one line per expert item of severity error: "frame <n>: <message>" */
  expertErrors: string[];
}

// Wireshark's expert severities (epan/proto.h PI_*)
const SEVERITY: Record<number, string> = { 0x00200000: 'chat', 0x00400000: 'note', 0x00600000: 'warn', 0x00800000: 'error' };
const SEP = '\t';
const AGG = '\u001f';

export async function dissect(pcap: string, opts: DissectOptions = {}): Promise<Dissection> {
  const base = ['frame.number', 'frame.protocols', '_ws.col.Info', '_ws.expert.severity', '_ws.expert.message', '_ws.malformed'];
  const extra = opts.fields ?? [];
  const args = ['-r', pcap, '-n', '-T', 'fields', '-E', `separator=${SEP}`, '-E', 'occurrence=a', '-E', `aggregator=${AGG}`, '-E', 'quote=n'];
  for (const f of [...base, ...extra]) args.push('-e', f);
  for (const d of opts.decodeAs ?? []) args.push('-d', d);
  for (const o of opts.prefs ?? []) args.push('-o', o);
  if (opts.displayFilter) args.push('-Y', opts.displayFilter);
  args.push(...(opts.extraOpts ?? []));
  const r = await run('tshark', args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`tshark ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return parseTsharkFields(r.stdout, extra);
}

/** Parses the output of the tshark invocation in dissect() (pure). */
export function parseTsharkFields(stdout: string, extraFields: readonly string[] = []): Dissection {
  const packets: DissectedPacket[] = [];
  const malformed: string[] = [];
  const expertErrors: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const cols = line.split(SEP);
    const get = (i: number): string[] => (cols[i] ?? '').split(AGG).filter((s) => s !== '');
    const no = Number(cols[0]);
    const info = cols[2] ?? '';
    const severities = get(3).map(Number);
    const messages = get(4);
    const expert = messages.map((m, i) => `${SEVERITY[severities[i] ?? 0] ?? 'unknown'}: ${m}`);
    const fields: Record<string, string[]> = {};
    extraFields.forEach((f, i) => { fields[f] = get(6 + i); });
    packets.push({ no, protocols: (cols[1] ?? '').split(':').filter(Boolean), info, expert, fields });
    if ((cols[5] ?? '') !== '' || (cols[1] ?? '').split(':').includes('_ws.malformed') || /\[Malformed Packet/.test(info)) {
      malformed.push(`frame ${no}: ${info}`);
    }
    messages.forEach((m, i) => {
      if (severities[i] === 0x00800000) expertErrors.push(`frame ${no}: ${m}`);
    });
  }
  return { packets, malformed, expertErrors };
}
