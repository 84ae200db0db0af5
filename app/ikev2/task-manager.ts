/**
 * The task manager (strongSwan `task_manager_v2.c`, reduced to what a client
 * needs): picks the exchange, owns Message IDs (window 1 each way),
 * retransmits, caches responses, and checks every inbound message before a
 * task sees it.
 *
 * Inbound, in this order:
 *   1. strip the non-ESP marker (port 4500); ignore NAT keepalives
 *   2. peek the header: which session (current or pre-rekey), request or response
 *   3. response: must answer our outstanding request (same Message ID) and
 *      come from where that request went (or a probed pair)
 *      request:  a retransmission gets the cached response; else the next ID
 *   4. decrypt + verify the SK payload (all but IKE_SA_INIT must have one)
 *   5. only now: tasks process the response / responders build the answer;
 *      a typed error from a task (errors.ts: bad KE, malformed payload) is
 *      counted, never thrown out: an IKE_SA_INIT response is dropped and we
 *      keep waiting for the genuine one, an authenticated response fails the
 *      exchange cleanly, an authenticated request is answered INVALID_SYNTAX
 * Outbound: build payloads from the active task group, seal, send, arm the
 * retransmission timer (base · 1.8^n, `retransmitTries` times, then give up).
 * Retransmissions follow the IKE SA's current path (MOBIKE moves it, RFC 4555
 * §3.5 step 4): when it moves, the outstanding request is resent there at
 * once. An unanswered INFORMATIONAL without UPDATE_SA_ADDRESSES, or an
 * unanswered CREATE_CHILD_SA (see probeTargets for why), is also sent along
 * other address pairs (path probing, §3.8: first the gateway's other
 * addresses from our own, a round later from our other addresses too) and an
 * answer on one of those pairs moves the SA there — unless the SA moved since
 * the probe went out. Responses go back along the path the request came in.
 *
 * Sessions (IKE SA generations, session.ts): the current one; after a rekey
 * the old one until its DELETE; after simultaneous IKE SA rekeys (RFC 7296
 * §2.8.2) also the redundant new one until its DELETE. Requests on an old or
 * redundant session are answered only if they are INFORMATIONAL (a D(IKE)
 * retires it); a CREATE_CHILD_SA there gets TEMPORARY_FAILURE (§2.8.2). A
 * request of ours outstanding on a session that is retired (the gateway
 * deleted it) is not retransmitted into the void: it moves to the current
 * session (our rekey of that session and its DELETE are dropped instead).
 *
 * Timers: retransmission, DPD, NAT keepalive, and our own rekeys
 * (vpn.rekeySeconds for the Child SA, vpn.ikeRekeySeconds for the IKE SA),
 * each armed up to REKEY_JITTER early, from the core's injected random
 * (§2.8.1: rekey requests SHOULD be jittered so both peers rarely collide).
 */
import { bytesToHex, equalBytes } from '../base/bytes.ts';
import { backoff, TimerTable } from '../base/clock.ts';
import type { Instant } from '../base/clock.ts';
import { classifyUdp4500 } from '../esp/udp-encap.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../wire/ikev2/constants.ts';
import { makeNotify } from '../wire/ikev2/payloads/notify.ts';
import { peekHeader } from '../wire/ikev2/message.ts';
import type { DecodedIkeHeader } from '../wire/ikev2/header.ts';
import type { Payload } from '../wire/ikev2/payload.ts';
import type { IkeSa } from './ike-sa.ts';
import { isPeerInputError, peerInputReason } from './errors.ts';
import { openMessage, plainMessage, sealMessage } from './session.ts';
import type { InboundMessage, Outstanding, Session } from './session.ts';
import { respondCreateChild } from './tasks/child-rekey.ts';
import { respondInformational } from './tasks/ike-delete.ts';
import { IkeDpdTask } from './tasks/ike-dpd.ts';
import { candidatePaths, mobikePath, pathKey, respondMobike } from './tasks/ike-mobike.ts';
import type { Path, Task, TaskResult } from './task.ts';
import type { Datagram } from './types.ts';

const BACKOFF_FACTOR = 1.8;
const BACKOFF_CAP_MS = 60_000;

type TimerKey = 'retransmit' | 'dpd' | 'keepalive' | 'rekey' | 'ike-rekey';

/** Our rekey timers fire up to this fraction early (RFC 7296 §2.8.1 jitter; strongSwan's rand_time default is 10 % too). */
export const REKEY_JITTER = 0.1;

/** `ms` less a uniform 0…REKEY_JITTER share of it, drawn from `random` (never Math.random: the core stays deterministic). */
export function jitteredMs(ms: number, random: (n: number) => Uint8Array): number {
  const b = random(4);
  const u = (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
  return ms - Math.floor(ms * REKEY_JITTER * u);
}

export class TaskManager {
  private readonly pending: Task[][] = [];
  private active?: Task[];
  /** Index in `active` of the task that asked for another round ('more'); processing resumes there. */
  private resumeAt = 0;
  /** The task at resumeAt answered 'wait': the next request waits for resumeWaiting(). */
  private waiting = false;
  private activeSession?: Session;
  private readonly timers = new TimerTable<TimerKey>();
  private lastInbound: Instant = 0;
  private lastOutbound: Instant = 0;
  /** The active request as sealed, without a non-ESP marker (re-wrapped for each path). */
  private outstandingBytes?: Uint8Array;
  /**
   * Address pairs ("local>remote") the active request was also sent along
   * since the SA last moved: only an answer on one of these is a probe result.
   */
  private readonly probedPairs = new Set<string>();

  constructor(private readonly sa: IkeSa) {}

  queue(tasks: Task[]): void {
    this.pending.push(tasks);
  }

  /** Queues `tasks` ahead of everything, replacing queued groups started by a task of this name. */
  queueFirst(name: string, tasks: Task[]): void {
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]![0]?.name === name) this.pending.splice(i, 1);
    this.pending.unshift(tasks);
  }

  hasQueued(name: string): boolean {
    return this.pending.some((g) => g.some((t) => t.name === name)) || (this.active?.some((t) => t.name === name) ?? false);
  }

  /** NAT flags or path changed: keepalives on while we are behind a NAT (RFC 3948 §4), off otherwise. */
  natChanged(): void {
    const sa = this.sa;
    if (sa.state === 'established' && sa.natLocal && sa.path.natt) {
      if (!this.timers.isArmed('keepalive')) this.timers.set('keepalive', sa.now + sa.config.natKeepaliveSeconds * 1000);
    } else this.timers.stop('keepalive');
  }

  clearQueue(): void {
    this.pending.length = 0;
  }

  stop(): void {
    this.pending.length = 0;
    this.active = undefined;
    this.timers.clear();
  }

  nextTimeout(): Instant | undefined {
    return this.timers.next();
  }

  sawPeer(): void {
    this.lastInbound = this.sa.now;
    this.armDpd();
  }

  /** Starts the next queued exchange if none is in flight (window 1). */
  initiate(): void {
    const sa = this.sa;
    if (this.active || sa.state === 'closed') return;
    const group = this.pending.shift();
    if (!group || group.length === 0) return;
    const first = group[0]!;
    const s = first.session ? first.session(sa) : sa.session;
    if (!s) return this.initiate();
    this.active = group;
    this.activeSession = s;
    this.resumeAt = 0;
    this.waiting = false;
    this.probedPairs.clear();
    this.sendRequest(group, s);
  }

  /** True while a request of the group started by task `name` is outstanding. */
  inFlight(name: string): boolean {
    return this.active?.[0]?.name === name && this.activeSession?.outstanding !== undefined;
  }

  /**
   * Session `s` was retired (its DELETE is done, or the gateway deleted it).
   * A request still outstanding on it would never be answered: it moves to
   * the current session (built again, next Message ID), except our rekey of
   * that very session and that rekey's DELETE, which have nothing left to do.
   */
  sessionGone(s: Session): void {
    const group = this.active;
    if (!group || this.activeSession !== s || !s.outstanding) return;
    s.outstanding = undefined;
    this.timers.stop('retransmit');
    this.active = undefined;
    this.waiting = false;
    const name = group[0]!.name;
    if (name === 'ike-rekey' || name === 'ike-rekey-delete') {
      this.sa.event({ type: 'log', level: 'info', msg: `${name} abandoned: the IKE SA it was sent on is gone` });
    } else {
      this.pending.unshift(group);
    }
    this.initiate();
  }

  /** `builders`: the tasks that add payloads (all of the group, or the one continuing a multi-round exchange). */
  private sendRequest(group: Task[], s: Session, builders: Task[] = group): void {
    const sa = this.sa;
    const exchange = group[0]!.exchange;
    const payloads: Payload[] = [];
    for (const t of builders) t.build(payloads, sa);
    const messageId = exchange === ExchangeType.IkeSaInit ? 0 : s.nextRequestId;
    const bytes = exchange === ExchangeType.IkeSaInit
      ? plainMessage(s, exchange, messageId, false, payloads)
      : sealMessage(s, exchange, messageId, false, payloads, sa.random);
    if (exchange === ExchangeType.IkeSaInit) sa.init.requestBytes = bytes;
    const transmit = this.wrap(bytes);
    this.outstandingBytes = bytes;
    s.outstanding = { messageId, exchange, transmit, tries: 0, sentAt: sa.now };
    this.send(transmit);
    this.timers.set('retransmit', sa.now + sa.config.retransmitBaseMs);
  }

  private wrap(bytes: Uint8Array, p: Path = this.sa.path): Datagram {
    const out = p.natt ? new Uint8Array(4 + bytes.length) : bytes;
    if (p.natt) out.set(bytes, 4);
    return { bytes: out, local: { ...p.local }, remote: { ...p.remote } };
  }

  private send(t: Datagram): void {
    this.lastOutbound = this.sa.now;
    this.sa.transmit(t);
  }

  handleTimeout(): void {
    for (const key of this.timers.expired(this.sa.now)) {
      if (key === 'retransmit') this.retransmit();
      else if (key === 'dpd') this.dpd();
      else if (key === 'rekey') this.rekey();
      else if (key === 'ike-rekey') this.ikeRekey();
      else this.keepalive();
    }
  }

  private retransmit(): void {
    const sa = this.sa;
    const out = this.activeSession?.outstanding;
    if (!out || !this.active) return;
    if (out.tries >= sa.config.retransmitTries) return this.giveUp(this.active);
    const probes = out.tries >= 1 ? this.probeTargets(out.tries) : [];
    out.tries++;
    this.resend(out);
    const bytes = this.outstandingBytes;
    if (bytes && probes.length > 0) {
      if (this.probedPairs.size === 0) sa.event({ type: 'log', level: 'info', msg: `probing ${probes.length} other address pairs`, ctx_paths: probes.map(pathKey) });
      for (const p of probes) {
        this.probedPairs.add(pathKey(p));
        this.send(this.wrap(bytes, p));
      }
    }
    const wait = backoff(out.tries, sa.config.retransmitBaseMs, BACKOFF_FACTOR, sa.config.retransmitCapMs ?? BACKOFF_CAP_MS);
    this.timers.set('retransmit', sa.now + wait);
  }

  /**
   * The IKE SA moved (RFC 4555 §3.5 step 4): an outstanding request is sent
   * again at once along the new path, with a fresh retransmission budget, so
   * the UPDATE_SA_ADDRESSES queued behind it (window 1) waits one round trip
   * on the new path, not the old path's backoff. Probe answers still on the
   * way were sent before the move: they no longer choose a path.
   */
  pathMoved(): void {
    const sa = this.sa;
    this.probedPairs.clear();
    const out = this.activeSession?.outstanding;
    const bytes = this.outstandingBytes;
    if (!out || !this.active || !bytes || out.exchange === ExchangeType.IkeSaInit) return;
    out.tries = 0;
    this.resend(out);
    this.timers.set('retransmit', sa.now + sa.config.retransmitBaseMs);
  }

  /** Sends the outstanding request again, re-wrapped for the SA's current path. */
  private resend(out: { transmit: Datagram }): void {
    const bytes = this.outstandingBytes;
    if (bytes) out.transmit = this.wrap(bytes);
    this.sa.stats.retransmits++;
    this.send(out.transmit);
  }

  /**
   * MOBIKE path probing: the outstanding request, unanswered on the current
   * path, also goes along the other address pairs. The first probing round
   * keeps our local address (the one the kernel routes to the gateway from)
   * and tries the gateway's other addresses; later rounds try our other
   * addresses too. All probes of a round leave at once and the first answer
   * wins, so this order is what keeps a working local address from being
   * traded for a worse one.
   *
   * Which requests: INFORMATIONALs that do not move the SA (RFC 4555 §3.8),
   * and CREATE_CHILD_SA (our Child or IKE SA rekey). With window 1 (RFC 7296
   * §2.3) no DPD can start while a CREATE_CHILD_SA is outstanding, so without
   * this a path that dies under our rekey is retried on the dead pair for the
   * whole retransmission budget (tens of seconds) with nothing probed. It is
   * safe: a retransmission must be bit-identical from the IKE header on but
   * its IP/UDP header may differ (RFC 7296 §2.1); the gateway answers to
   * where the request came from (§2.11) and, MOBIKE being on and the gateway
   * not behind a NAT, moves its IKE SA only on UPDATE_SA_ADDRESSES, never on
   * another request's addresses (RFC 4555 §3.8) — so a CREATE_CHILD_SA on
   * another pair changes nothing there but the answer's path, and it is
   * processed once (a retransmission gets the cached answer, §2.1). The
   * answer is authenticated and answers our one outstanding Message ID: a
   * fresh proof that the pair it came back on works both ways (§3.7's caveat
   * about one request sent to several addresses is met by taking the pair the
   * answer arrived on, then UPDATE_SA_ADDRESSES with COOKIE2 along it). A
   * stalled rekey is also what RFC 4555 §3.5 names first as a reason to
   * change paths: "an IKEv2 request has been re-transmitted several times".
   * Not UPDATE_SA_ADDRESSES or address lists (ike-mobike picks its own pair),
   * nor IKE_SA_INIT/IKE_AUTH (not established, no MOBIKE yet).
   */
  private probeTargets(tries: number): Path[] {
    const sa = this.sa;
    const group = this.active;
    if (!group || sa.state !== 'established' || !sa.config.mobike || !sa.peerMobike) return [];
    const exchange = group[0]!.exchange;
    if (exchange !== ExchangeType.Informational && exchange !== ExchangeType.CreateChildSa) return [];
    if (group.some((t) => t.name === 'ike-mobike')) return [];
    const all = candidatePaths(sa);
    return tries === 1 ? all.filter((p) => p.local.addr === sa.path.local.addr) : all;
  }

  private giveUp(group: Task[]): void {
    const sa = this.sa;
    const name = group[0]!.name;
    if (name === 'ike-delete') return sa.close();
    if (name === 'ike-rekey-delete') {
      // the retired SA's DELETE went unanswered: forget it, the current SA carries on
      const s = this.activeSession;
      this.active = undefined;
      if (s) {
        s.outstanding = undefined;
        sa.retireSession(s);
      }
      return this.initiate();
    }
    if (sa.state === 'established' || sa.state === 'deleting') {
      sa.event({ type: 'liveness', state: 'failed', gateway: sa.config.gateway, silentMs: sa.now - this.lastInbound });
      return sa.fail('DEAD_PEER', `the gateway did not answer ${name} after ${sa.config.retransmitTries} retransmissions`);
    }
    sa.fail('TIMEOUT', `no answer from ${sa.config.gateway} to ${name} after ${sa.config.retransmitTries} retransmissions`);
  }

  private dpd(): void {
    const sa = this.sa;
    if (sa.state !== 'established') return;
    const due = this.lastInbound + sa.config.dpdSeconds * 1000;
    if (sa.now < due) return this.armDpd();
    if (!this.active && this.pending.length === 0) {
      this.queue([new IkeDpdTask()]);
      this.initiate();
    }
    this.timers.set('dpd', sa.now + sa.config.dpdSeconds * 1000);
  }

  /**
   * vpn.rekeySeconds: we rekey the Child SA ourselves every this long, from
   * establishment on (the gateway may rekey in between; its rekeys do not
   * move our timer), each time up to REKEY_JITTER early.
   */
  armRekey(): void {
    const secs = this.sa.config.rekeySeconds;
    if (secs !== undefined && this.sa.state === 'established') this.timers.set('rekey', this.sa.now + jitteredMs(secs * 1000, this.sa.random));
  }

  /** vpn.ikeRekeySeconds: the same for the IKE SA. */
  armIkeRekey(): void {
    const secs = this.sa.config.ikeRekeySeconds;
    if (secs !== undefined && this.sa.state === 'established') this.timers.set('ike-rekey', this.sa.now + jitteredMs(secs * 1000, this.sa.random));
  }

  private rekey(): void {
    this.sa.handleRekeyTimer();
    this.armRekey();
  }

  private ikeRekey(): void {
    this.sa.handleIkeRekeyTimer();
    this.armIkeRekey();
  }

  private armDpd(): void {
    if (this.sa.state === 'established') this.timers.set('dpd', this.lastInbound + this.sa.config.dpdSeconds * 1000);
  }

  private keepalive(): void {
    const sa = this.sa;
    if (sa.state !== 'established' || !sa.natLocal || !sa.path.natt) return;
    const every = sa.config.natKeepaliveSeconds * 1000;
    if (sa.now - this.lastOutbound >= every) this.send({ bytes: Uint8Array.of(0xff), local: { ...sa.path.local }, remote: { ...sa.path.remote } });
    this.timers.set('keepalive', this.lastOutbound + every);
  }

  // ---- inbound ----

  handleDatagram(d: Datagram): void {
    const sa = this.sa;
    sa.stats.rxMessages++;
    let raw = d.bytes;
    if (d.local.port === sa.config.nattPort || sa.path.natt) {
      // RFC 3948 §2.2 (app/esp/udp-encap.ts); a marker with too short a message behind it is malformed IKE
      const c = classifyUdp4500(raw);
      if (c.kind === 'keepalive') return sa.drop('keepalive');
      if (c.kind === 'ike') raw = c.message;
      else if (c.kind === 'invalid' && c.reason === 'short-ike') return sa.drop('malformed');
      else if (d.local.port === sa.config.nattPort) return sa.drop('esp-on-ike-path');
    }
    let header: DecodedIkeHeader;
    try {
      header = peekHeader(raw);
    } catch {
      return sa.drop('malformed');
    }
    const session = this.sessionFor(header);
    if (!session) return sa.drop('unknown-spi');
    if (header.response) this.handleResponse(session, header, raw, d);
    else this.handleRequest(session, header, raw, d);
  }

  private sessionFor(h: DecodedIkeHeader): Session | undefined {
    for (const s of [this.sa.session, this.sa.oldSession, this.sa.redundantSession]) {
      if (!s || !equalBytes(s.spiI, h.spiI)) continue;
      const spiRUnknown = !s.keys && s.spiR.every((b) => b === 0);
      if (spiRUnknown || equalBytes(s.spiR, h.spiR)) return s;
    }
    return undefined;
  }

  private handleResponse(session: Session, header: DecodedIkeHeader, raw: Uint8Array, d: Datagram): void {
    const sa = this.sa;
    if (this.invalidIkeSpi(header, raw, d)) return;
    const out = session.outstanding;
    if (!out || !this.active || session !== this.activeSession || out.messageId !== header.messageId || out.exchange !== header.exchangeType) {
      return sa.drop('unexpected-response');
    }
    if (header.initiator === session.weInitiated) return sa.drop('wrong-initiator-flag');
    // only from where the request went (or a probed pair): an IKE_SA_INIT response has no other proof of origin
    const sentTo = out.transmit.remote;
    const fromPeer = d.remote.addr === sentTo.addr && d.remote.port === sentTo.port;
    if (!fromPeer && !this.probedPairs.has(`${d.local.addr}>${d.remote.addr}`)) return sa.drop('wrong-source');
    const opened = openMessage(session, raw);
    if (!opened.ok) return sa.drop(opened.reason);
    if (!opened.protected && header.exchangeType !== ExchangeType.IkeSaInit) return sa.drop('unprotected');
    const deadline = this.timers.get('retransmit');
    session.outstanding = undefined;
    this.timers.stop('retransmit');
    if (header.exchangeType !== ExchangeType.IkeSaInit) this.lastInbound = sa.now;
    const answeredOn = `${d.local.addr}>${d.remote.addr}`;
    const probe = this.probedPairs.has(answeredOn);
    try {
      this.processResponse(session, opened.msg);
    } catch (e) {
      if (!isPeerInputError(e)) throw e;
      return this.badResponse(session, out, deadline, header, e);
    }
    // a probe was answered along another pair: that one works, move there (RFC 4555 §3.8)
    if (probe && sa.state === 'established' && answeredOn !== pathKey(sa.path)) {
      sa.event({ type: 'log', level: 'info', msg: `path probe answered on ${d.local.addr}>${d.remote.addr}` });
      sa.roam(mobikePath(sa, d.local.addr, d.remote.addr), sa.now);
    }
  }

  /**
   * RFC 7296 §2.21.4: a gateway that lost our IKE SA (it restarted) may answer
   * a request with an unprotected INVALID_IKE_SPI notify, our SPIs copied.
   * Unprotected, anyone on the path can forge it: it is never acted on here,
   * only counted (`dropped['invalid-ike-spi']`) and reported as a `liveness`
   * `suspect` event — the engine then checks the SA at once (an authenticated
   * DPD answer proves it alive) while a new one is prepared beside it.
   */
  private invalidIkeSpi(header: DecodedIkeHeader, raw: Uint8Array, d: Datagram): boolean {
    const sa = this.sa;
    if (sa.state !== 'established' || header.exchangeType === ExchangeType.IkeSaInit) return false;
    const opened = openMessage(undefined, raw);
    if (!opened.ok || opened.protected) return false;
    const notify = opened.msg.payloads.some((p) => p.type === PayloadType.Notify && p.notifyType === NotifyType.InvalidIkeSpi);
    if (!notify) return false;
    sa.drop('invalid-ike-spi');
    if (d.remote.addr === sa.path.remote.addr) sa.event({ type: 'liveness', state: 'suspect', gateway: sa.config.gateway, reason: 'invalid-ike-spi' });
    return true;
  }

  /**
   * A task met a typed error (bad KE, malformed payload …) in a response.
   * IKE_SA_INIT is unauthenticated, so anyone who saw our SPI can forge one:
   * it is counted and dropped, and we keep waiting (and retransmitting) for
   * the genuine response (RFC 7296 §2.4). An authenticated response comes
   * from the peer itself: the exchange fails cleanly, named INVALID_SYNTAX.
   */
  private badResponse(session: Session, out: Outstanding, deadline: Instant | undefined, header: DecodedIkeHeader, e: Error): void {
    const sa = this.sa;
    const reason = peerInputReason(e);
    sa.drop(`response-${reason}`);
    if (header.exchangeType === ExchangeType.IkeSaInit) {
      session.outstanding = out;
      session.spiR = new Uint8Array(8);
      session.suite = undefined;
      session.keys = undefined;
      sa.init.nr = undefined;
      sa.init.responseBytes = undefined;
      sa.init.peerHashes = undefined;
      this.timers.set('retransmit', deadline ?? sa.now + sa.config.retransmitBaseMs);
      sa.event({ type: 'log', level: 'warn', msg: `dropped an IKE_SA_INIT response (${reason}): ${e.message}; still waiting for the gateway's`, ctx_reason: reason });
      return;
    }
    this.active = undefined;
    sa.fail('INVALID_SYNTAX', `the gateway's ${ExchangeType[header.exchangeType] ?? header.exchangeType} response is invalid (${reason}): ${e.message}`);
  }

  private processResponse(session: Session, msg: InboundMessage): void {
    const sa = this.sa;
    const group = this.active!;
    let retry = false;
    for (let i = this.resumeAt; i < group.length; i++) {
      const t = group[i]!;
      const r = t.process(msg, sa);
      if (sa.state === 'closed' || r === 'failed') return;
      if (r === 'wait') {
        this.resumeAt = i;
        this.waiting = true;
        session.nextRequestId = Math.max(session.nextRequestId, msg.header.messageId + 1);
        return;
      }
      if (r === 'more') {
        // another round of this exchange (EAP in IKE_AUTH): same group, next Message ID, only t builds
        this.resumeAt = i;
        session.nextRequestId = Math.max(session.nextRequestId, msg.header.messageId + 1);
        return this.sendRequest(group, session, [t]);
      }
      if (r === 'retry') {
        retry = true;
        break;
      }
    }
    this.active = undefined;
    this.resumeAt = 0;
    if (retry) {
      session.spiR = new Uint8Array(8);
      session.suite = undefined;
      session.keys = undefined;
      this.pending.unshift(group);
      return this.initiate();
    }
    session.nextRequestId = Math.max(session.nextRequestId, msg.header.messageId + 1);
    if (group[0]!.exchange === ExchangeType.IkeAuth && sa.state === 'connecting') {
      sa.established();
      this.armDpd();
      this.armRekey();
      this.armIkeRekey();
      if (sa.natLocal) this.timers.set('keepalive', sa.now + sa.config.natKeepaliveSeconds * 1000);
    }
    this.initiate();
  }

  /** The driver answered a waiting task (EAP-TLS engine): `run` gives its verdict; 'more' sends its next request. */
  resumeWaiting(run: (t: Task) => TaskResult): void {
    const group = this.active;
    const s = this.activeSession;
    if (!this.waiting || !group || !s || this.sa.state === 'closed') return;
    const t = group[this.resumeAt]!;
    const r = run(t);
    if ((this.sa.state as string) === 'closed' || r === 'failed' || r === 'wait') return;
    this.waiting = false;
    this.sendRequest(group, s, [t]);
  }

  private handleRequest(session: Session, header: DecodedIkeHeader, raw: Uint8Array, d: Datagram): void {
    const sa = this.sa;
    if (!session.keys) return sa.drop('request-before-keys');
    const cached = session.lastResponse;
    if (cached && header.messageId === cached.messageId) {
      const opened = openMessage(session, raw);
      if (!opened.ok) return sa.drop(opened.reason);
      sa.stats.retransmits++;
      return this.send(this.wrap(cached.bytes, this.pathOf(d)));
    }
    if (header.messageId !== session.peerNextId) return sa.drop('bad-message-id');
    const opened = openMessage(session, raw);
    if (!opened.ok) return sa.drop(opened.reason);
    if (!opened.protected) return sa.drop('unprotected');
    this.sawPeer();
    let payloads: Payload[] | undefined;
    try {
      payloads = this.respond(session, opened.msg, d.remote.addr);
    } catch (e) {
      if (!isPeerInputError(e)) throw e;
      // authenticated but unusable: answer INVALID_SYNTAX (RFC 7296 §2.21.2) so Message IDs stay in step
      const reason = peerInputReason(e);
      sa.drop(`request-${reason}`);
      sa.event({ type: 'log', level: 'warn', msg: `the gateway's ${ExchangeType[header.exchangeType] ?? header.exchangeType} request is invalid (${reason}): ${e.message}`, ctx_reason: reason });
      payloads = sa.state === 'closed' ? undefined : [makeNotify(NotifyType.InvalidSyntax)];
    }
    if (!payloads) return sa.drop('unexpected-exchange');
    const bytes = sealMessage(session, header.exchangeType, header.messageId, true, payloads, sa.random);
    const transmit = this.wrap(bytes, this.pathOf(d));
    session.lastResponse = { messageId: header.messageId, transmit, bytes };
    session.peerNextId = header.messageId + 1;
    this.send(transmit);
  }

  /** The path a datagram came in on: responses go back along it (RFC 4555 §3.8, strongSwan does the same). */
  private pathOf(d: Datagram): Path {
    return { local: { ...d.local }, remote: { ...d.remote }, natt: d.local.port === this.sa.config.nattPort || this.sa.path.natt };
  }

  private respond(session: Session, msg: InboundMessage, from: string): Payload[] | undefined {
    const sa = this.sa;
    const type = msg.header.exchangeType;
    const ikeDelete = type === ExchangeType.Informational && msg.payloads.some((p) => p.type === PayloadType.Delete && p.protocol === ProtocolId.IKE);
    if (session !== sa.session) {
      // a retired SA (pre-rekey, or the redundant one of a collision) only gets its DELETE and liveness checks answered
      if (type === ExchangeType.CreateChildSa) return [makeNotify(NotifyType.TemporaryFailure)]; // RFC 7296 §2.8.2
      if (type !== ExchangeType.Informational) return undefined;
      if (ikeDelete) sa.retireSession(session);
      return [];
    }
    const peer = sa.peerIkeRekey;
    if (ikeDelete && peer?.base === session) {
      // §2.8.2: the gateway finished its rekey without seeing ours and deletes the SA ours went on: take its new SA, forget ours
      sa.peerIkeRekey = undefined;
      sa.replaceSession(peer.next);
      sa.event({ type: 'log', level: 'info', msg: 'simultaneous IKE SA rekey: the gateway deleted the old SA before answering ours; its new SA carries on' });
      sa.event({ type: 'ike-sa', state: 'rekeyed', gateway: sa.config.gateway, ike: peer.next.suite!.name, spiI: bytesToHex(peer.next.spiI), spiR: bytesToHex(peer.next.spiR) });
      sa.retireSession(session);
      return [];
    }
    if (type === ExchangeType.Informational) {
      const out = respondInformational(msg, sa);
      return sa.state === 'closed' ? out : [...out, ...respondMobike(msg, sa, from)];
    }
    if (type === ExchangeType.CreateChildSa && sa.state === 'established') return respondCreateChild(msg, sa);
    return undefined;
  }
}
