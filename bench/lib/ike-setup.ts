/**
 * The time to a new IKE SA + CHILD_SA, from two clocks (bench detection
 * section, docs/PERFORMANCE.md):
 *
 *   events: Homeward's own `{"type":"ike-sa","state":"connecting"}` (the
 *           moment the IKE SA queues IKE_SA_INIT and sends it) to the next
 *           `{"type":"child-sa","state":"installed"}` (IKE_AUTH answered,
 *           the CHILD_SA's keys derived and handed to the data path)
 *   wire:   a capture on the access link, the same for both clients: the
 *           initiator's IKE_SA_INIT request to the responder's IKE_AUTH
 *           response
 */
import type { StampedEvent } from './parse.ts';

/** Homeward's setups, ms: each `connecting` to the first `installed` CHILD_SA after it. */
export function ikeSetupFromEvents(events: readonly StampedEvent[]): number[] {
  const out: number[] = [];
  let start: number | undefined;
  for (const { atMs, event } of events) {
    if (event.type === 'ike-sa' && event.state === 'connecting') start = atMs;
    else if (event.type === 'child-sa' && event.state === 'installed' && start !== undefined) {
      out.push(atMs - start);
      start = undefined;
    }
  }
  return out;
}

/** One IKE packet of a capture (tshark fields frame.time_epoch, ip.src, isakmp.exchangetype, isakmp.flags). */
export interface IkePacket {
  atMs: number;
  src: string;
  /** 34 IKE_SA_INIT, 35 IKE_AUTH, … */
  exchange: number;
  response: boolean;
}

const IKE_SA_INIT = 34;
const IKE_AUTH = 35;

/** tshark `-T fields -e frame.time_epoch -e ip.src -e isakmp.exchangetype -e isakmp.flags` → IKE packets (others skipped). */
export function parseIkeFields(text: string): IkePacket[] {
  const out: IkePacket[] = [];
  for (const line of text.split('\n')) {
    const [t, src, exch, flags] = line.trim().split('\t');
    if (t === undefined || src === undefined || exch === undefined || flags === undefined || exch === '') continue;
    const atMs = Number(t) * 1000;
    // several IKE messages in one datagram do not occur here; take the first value of each field
    const exchange = Number(exch.split(',')[0]);
    const f = Number(flags.split(',')[0]);
    if (!Number.isFinite(atMs) || !Number.isFinite(exchange) || !Number.isFinite(f)) continue;
    out.push({ atMs, src, exchange, response: (f & 0x20) !== 0 });
  }
  return out;
}

/**
 * Setups on the wire, ms: the first IKE_SA_INIT request from `initiator`
 * (a retransmission or a COOKIE / INVALID_KE restart starts nothing new:
 * it counts in the time) to the first IKE_AUTH response after it.
 */
export function ikeSetupFromWire(packets: readonly IkePacket[], initiator: string): number[] {
  const out: number[] = [];
  let start: number | undefined;
  for (const p of packets) {
    if (p.exchange === IKE_SA_INIT && !p.response && p.src === initiator) start ??= p.atMs;
    else if (p.exchange === IKE_AUTH && p.response && p.src !== initiator && start !== undefined) {
      out.push(p.atMs - start);
      start = undefined;
    }
  }
  return out;
}

/**
 * The initiator's own share of each setup on the wire, ms: from the
 * responder's IKE_SA_INIT response to the initiator's IKE_AUTH request (its
 * key exchange, key derivation and AUTH payload); the rest is the
 * responder's work and the link.
 */
export function initiatorShareFromWire(packets: readonly IkePacket[], initiator: string): number[] {
  const out: number[] = [];
  let initAnswered: number | undefined;
  for (const p of packets) {
    if (p.exchange === IKE_SA_INIT && p.response && p.src !== initiator) initAnswered = p.atMs;
    else if (p.exchange === IKE_AUTH && !p.response && p.src === initiator && initAnswered !== undefined) {
      out.push(p.atMs - initAnswered);
      initAnswered = undefined;
    }
  }
  return out;
}

/**
 * The responder's share of each setup on the wire, ms: its IKE_SA_INIT
 * request → response and its IKE_AUTH request → response (the gateway's
 * work plus the link), so a difference between two clients' setups can be
 * told apart from the initiator's own.
 */
export function responderShareFromWire(packets: readonly IkePacket[], initiator: string): { init: number[]; auth: number[] } {
  const out = { init: [] as number[], auth: [] as number[] };
  let asked: { exchange: number; atMs: number } | undefined;
  for (const p of packets) {
    if (p.exchange !== IKE_SA_INIT && p.exchange !== IKE_AUTH) continue;
    if (!p.response && p.src === initiator) asked = { exchange: p.exchange, atMs: p.atMs };
    else if (p.response && p.src !== initiator && asked?.exchange === p.exchange) {
      (p.exchange === IKE_SA_INIT ? out.init : out.auth).push(p.atMs - asked.atMs);
      asked = undefined;
    }
  }
  return out;
}

/**
 * When charon logged each CHILD_SA as established, ms since the epoch: the
 * lines of a filelog with `time_format = %s` and `time_add_ms = yes`
 * ("1764780000.123 …CHILD_SA home{3} established with SPIs …"), which
 * charon writes once the SA and its policies are installed in the kernel.
 * The milliseconds are truncated (strongSwan 5.9 has no finer stamp).
 */
export function childEstablishedFromLog(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\.(\d{3}) .*CHILD_SA \S+\{\d+\} established/.exec(line);
    if (m) out.push(Number(m[1]) * 1000 + Number(m[2]));
  }
  return out;
}

/**
 * Setups to the CHILD_SA installed, ms: the first IKE_SA_INIT request from
 * `initiator` on the wire (as ikeSetupFromWire) to the first `installed`
 * stamp after it (childEstablishedFromLog).
 */
export function ikeSetupToInstalled(packets: readonly IkePacket[], initiator: string, installed: readonly number[]): number[] {
  const out: number[] = [];
  let start: number | undefined;
  let next = 0;
  for (const p of packets) {
    if (p.exchange !== IKE_SA_INIT || p.response || p.src !== initiator) continue;
    if (start !== undefined) {
      // a retransmission, or the next setup: close the one before if its install came before this packet
      while (next < installed.length && installed[next]! < start) next++;
      if (next < installed.length && installed[next]! <= p.atMs) {
        out.push(installed[next]! - start);
        next++;
        start = p.atMs;
      }
      continue;
    }
    start = p.atMs;
  }
  if (start !== undefined) {
    while (next < installed.length && installed[next]! < start) next++;
    if (next < installed.length) out.push(installed[next]! - start);
  }
  return out;
}

/**
 * How long the link was quiet before each setup, ms: from the last IKE
 * packet (either side, any exchange) to the first IKE_SA_INIT request from
 * `initiator` after it (a retransmission starts nothing new). A gateway and
 * a client woken from a longer idle answer more slowly on this machine
 * (docs/PERFORMANCE.md), so both clients' setups are timed after the same
 * quiet time and the bench reports it.
 */
export function idleBeforeFromWire(packets: readonly IkePacket[], initiator: string): number[] {
  const out: number[] = [];
  let last: number | undefined;
  let open = false;
  for (const p of packets) {
    if (p.exchange === IKE_SA_INIT && !p.response && p.src === initiator && !open) {
      if (last !== undefined) out.push(p.atMs - last);
      open = true;
    } else if (p.exchange === IKE_AUTH && p.response) {
      open = false;
    }
    last = p.atMs;
  }
  return out;
}
