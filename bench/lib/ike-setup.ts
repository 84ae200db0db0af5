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
