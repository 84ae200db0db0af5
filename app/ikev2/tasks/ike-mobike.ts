/**
 * MOBIKE (RFC 4555), shaped like strongSwan's `ike_mobike` task: one task
 * class in three roles, NAT-D reused from ike-natd.ts by composition, and a
 * generation counter in place of `is_newer_update_queued`.
 *
 *   auth (composed into IKE_AUTH, after ike-auth which sends MOBIKE_SUPPORTED):
 *     SK{ …, N(MOBIKE_SUPPORTED), [N(ADDITIONAL_IP4_ADDRESS)+] }  -->
 *                 <--  SK{ …, N(MOBIKE_SUPPORTED), [N(ADDITIONAL_IP4_ADDRESS)+] }
 *
 *   update (queued by IkeSa.roam: our address changed, or path probing found
 *   another working pair), sent from the new address, always on UDP 4500:
 *     SK{ N(UPDATE_SA_ADDRESSES), N(NAT_D_SRC), N(NAT_D_DST), [N(NO_NATS_ALLOWED)],
 *         N(COOKIE2), [N(ADDITIONAL_IP4_ADDRESS)+ | N(NO_ADDITIONAL_ADDRESSES)] }  -->
 *                 <--  SK{ N(NAT_D_SRC), N(NAT_D_DST), N(COOKIE2) }
 *     COOKIE2 not echoed                → the IKE SA is closed (RFC 4555 §4.8)
 *     a newer roam happened meanwhile   → the reply is stale: ignored, the newer update follows
 *     UNACCEPTABLE_ADDRESSES            → keep the old path if its address is still ours,
 *                                         else try another pair, else give up (§3.5)
 *     UNEXPECTED_NAT_DETECTED           → retried a few times, then given up (§3.9)
 *     NAT-D results switch keepalives on or off (§3.5 step 7)
 *
 *   addresses (our address list changed, the path did not):
 *     SK{ N(ADDITIONAL_IP4_ADDRESS)+ | N(NO_ADDITIONAL_ADDRESSES) }  -->  <--  SK{}
 *
 *   responder half (respondMobike): the gateway's address list, plus the
 *   address it sends from, replaces the one we had (§3.6) — and when the
 *   address we use is no longer in it, we move to the one it wrote from;
 *   its COOKIE2 is echoed (return routability, §3.7), its NAT-D is answered
 *   with ours.
 *
 * Path probing (§3.7, §3.8) is done by the task manager: when an
 * INFORMATIONAL without UPDATE_SA_ADDRESSES goes unanswered it is also sent
 * along every pair from candidatePaths(); an answer arriving on another pair
 * makes the IKE SA roam there.
 */
import { equalBytes } from '../../base/bytes.ts';
import { inPrefix } from '../../base/ipv4.ts';
import type { Instant } from '../../base/clock.ts';
import { ExchangeType, NotifyType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { additionalIp4Notify, cookie2Notify, decodeAdditionalIp4Data, noNatsAllowedNotify } from '../../wire/ikev2/payloads/notify-data.ts';
import { makeNotify } from '../../wire/ikev2/payloads/notify.ts';
import { errorNotify, findNotify, notifies } from '../notifies.ts';
import type { InboundMessage } from '../session.ts';
import type { Path, SaContext, Task, TaskResult } from '../task.ts';
import { NATT_PORT, evaluateNatd, natdPayloads } from './ike-natd.ts';

// Implementation
export const COOKIE2_BYTES = 16;
/** UNEXPECTED_NAT_DETECTED: how many times the same update is tried again. */
export const UNEXPECTED_NAT_RETRIES = 3;

/** The IKE SA's MOBIKE bookkeeping (SaContext.mobike). */
export interface MobikeState {
  /** Our addresses other than the current path's (announced as ADDITIONAL_IP4_ADDRESS). */
  localAddrs: string[];
  /** The list last sent, as a key (undefined: never sent). */
  announced?: string;
  /** The gateway's additional addresses, replaced by every list it sends. */
  peerAddrs: string[];
  /** Incremented by every roam: an update whose generation is older is stale. */
  generation: number;
  /** When the address event behind the newest roam happened (for `ms`). */
  eventAt: Instant;
  /** The last path the gateway confirmed. */
  confirmed: Path;
  /** Pairs the gateway refused with UNACCEPTABLE_ADDRESSES. */
  refused: string[];
  natRetries: number;
}

export function newMobikeState(path: Path, additional: readonly string[] = []): MobikeState {
  return {
    localAddrs: additional.filter((a) => a !== path.local.addr), peerAddrs: [], generation: 0, eventAt: 0,
    confirmed: clonePath(path), refused: [], natRetries: 0,
  };
}

export function clonePath(p: Path): Path {
  return { local: { ...p.local }, remote: { ...p.remote }, natt: p.natt };
}

export function pathKey(p: Path): string {
  return `${p.local.addr}>${p.remote.addr}`;
}

/** The MOBIKE path for a local/gateway address pair: IKE and ESP on 4500 (RFC 4555 §3.3). */
export function mobikePath(sa: SaContext, local: string, remote: string): Path {
  return { local: { addr: local, port: sa.config.nattPort }, remote: { addr: remote, port: NATT_PORT }, natt: true };
}

/**
 * Every other local/gateway address pair worth trying, the current local
 * address first. Gateway addresses inside the tunnel's traffic selectors are
 * left out (they would be reached through the tunnel itself).
 */
export function candidatePaths(sa: SaContext): Path[] {
  const m = sa.mobike;
  const locals = unique([sa.path.local.addr, ...m.localAddrs]);
  const remotes = unique([sa.path.remote.addr, sa.config.gateway, ...m.peerAddrs])
    .filter((r) => !sa.config.remoteTs.some((p) => inPrefix(r, p)));
  const out: Path[] = [];
  for (const l of locals) for (const r of remotes) if (l !== sa.path.local.addr || r !== sa.path.remote.addr) out.push(mobikePath(sa, l, r));
  return out;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function addressKey(sa: SaContext): string {
  return [...sa.mobike.localAddrs].sort().join(',');
}

/** Our address list: ADDITIONAL_IP4_ADDRESS per address, or NO_ADDITIONAL_ADDRESSES. */
function addressList(sa: SaContext): Payload[] {
  sa.mobike.announced = addressKey(sa);
  if (sa.mobike.localAddrs.length === 0) return [makeNotify(NotifyType.NoAdditionalAddresses)];
  return sa.mobike.localAddrs.map((a) => additionalIp4Notify(a));
}

/** The peer's address list, or undefined when the message carries none. Malformed entries are skipped. */
export function peerAddressList(payloads: readonly Payload[]): string[] | undefined {
  const ns = notifies(payloads);
  if (ns.some((n) => n.notifyType === NotifyType.NoAdditionalAddresses)) return [];
  const adds = ns.filter((n) => n.notifyType === NotifyType.AdditionalIp4Address);
  if (adds.length === 0) return undefined;
  const out: string[] = [];
  for (const n of adds) {
    try {
      out.push(decodeAdditionalIp4Data(n.data));
    } catch {
      // a wrong length is ignored, the rest of the list still counts
    }
  }
  return out;
}

export type MobikeRole = 'auth' | 'update' | 'addresses';

export class IkeMobikeTask implements Task {
  readonly name: string;
  readonly exchange: ExchangeType;
  private cookie2?: Uint8Array;
  private sent?: Path;

  constructor(readonly role: MobikeRole, readonly generation = 0) {
    this.name = role === 'update' ? 'ike-mobike' : `ike-mobike-${role}`;
    this.exchange = role === 'auth' ? ExchangeType.IkeAuth : ExchangeType.Informational;
  }

  build(out: Payload[], sa: SaContext): void {
    if (!sa.config.mobike) return;
    if (this.role === 'auth') {
      if (sa.mobike.localAddrs.length > 0) out.push(...addressList(sa));
      else sa.mobike.announced = '';
      return;
    }
    if (this.role === 'addresses') {
      out.push(...addressList(sa));
      return;
    }
    const p = clonePath(sa.path);
    this.sent = p;
    this.cookie2 = sa.random(COOKIE2_BYTES);
    out.push(makeNotify(NotifyType.UpdateSaAddresses), ...natdPayloads(sa));
    if (sa.config.noNatsAllowed) {
      out.push(noNatsAllowedNotify({ srcAddr: p.local.addr, dstAddr: p.remote.addr, srcPort: p.local.port, dstPort: p.remote.port }));
    }
    out.push(cookie2Notify(this.cookie2));
    if (addressKey(sa) !== sa.mobike.announced) out.push(...addressList(sa));
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    if (this.role === 'update') return this.processUpdate(msg, sa);
    if (this.role === 'addresses') {
      sa.event({ type: 'log', level: 'info', msg: 'our address list announced', ctx_addresses: sa.mobike.localAddrs.join(',') });
      return 'done';
    }
    if (this.role === 'auth' && sa.peerMobike) {
      sa.mobike.peerAddrs = peerAddressList(msg.payloads) ?? [];
      sa.mobike.confirmed = clonePath(sa.path);
    }
    return 'done';
  }

  private processUpdate(msg: InboundMessage, sa: SaContext): TaskResult {
    const m = sa.mobike;
    if (this.generation !== m.generation) {
      sa.event({ type: 'log', level: 'info', msg: 'stale UPDATE_SA_ADDRESSES answer ignored: a newer address change follows' });
      return 'done';
    }
    const err = errorNotify(msg.payloads);
    if (err?.notifyType === NotifyType.UnacceptableAddresses) return this.unacceptable(sa);
    if (err?.notifyType === NotifyType.UnexpectedNatDetected) return this.unexpectedNat(sa);
    const echoed = findNotify(msg.payloads, NotifyType.Cookie2);
    if (!echoed || !this.cookie2 || !equalBytes(echoed.data, this.cookie2)) {
      sa.fail('COOKIE2_MISMATCH', 'the gateway did not echo our COOKIE2 in its UPDATE_SA_ADDRESSES answer (RFC 4555 §4.8); the IKE SA is closed');
      return 'failed';
    }
    const sent = this.sent!;
    const nat = evaluateNatd(msg, sa, sent.local, sent.remote);
    if (nat && nat.natLocal !== sa.natLocal) {
      sa.event({ type: 'log', level: 'info', msg: nat.natLocal ? 'NAT appeared on the new path: keepalives on' : 'no NAT on the new path: keepalives off' });
    }
    if (nat) {
      sa.natLocal = nat.natLocal;
      sa.natRemote = nat.natRemote;
    }
    const peers = peerAddressList(msg.payloads);
    if (peers) m.peerAddrs = peers;
    const from = m.confirmed;
    m.confirmed = clonePath(sent);
    m.natRetries = 0;
    m.refused = [];
    sa.pathChanged();
    sa.event({
      type: 'mobike-update', from: from.local.addr, to: sent.local.addr, gateway: sent.remote.addr,
      ms: sa.now - m.eventAt, natLocal: sa.natLocal, natRemote: sa.natRemote,
    });
    return 'done';
  }

  /** RFC 4555 §3.5 step 8: keep the old addresses, try others, or give up. */
  private unacceptable(sa: SaContext): TaskResult {
    const m = sa.mobike;
    const sent = this.sent!;
    m.refused.push(pathKey(sent));
    sa.event({ type: 'log', level: 'warn', msg: `the gateway refused ${pathKey(sent)}: UNACCEPTABLE_ADDRESSES` });
    const old = m.confirmed;
    if (m.localAddrs.includes(old.local.addr) && !m.refused.includes(pathKey(old))) {
      sa.path = clonePath(old);
      sa.pathChanged();
      sa.event({ type: 'log', level: 'info', msg: `keeping the old path ${pathKey(old)}` });
      return 'done';
    }
    const next = candidatePaths(sa).find((p) => !m.refused.includes(pathKey(p)) && p.local.addr === sent.local.addr);
    if (next) {
      sa.roam(next, m.eventAt);
      return 'done';
    }
    sa.fail('UNACCEPTABLE_ADDRESSES', `the gateway refused every address pair we have (${m.refused.join(', ')})`);
    return 'failed';
  }

  /** NO_NATS_ALLOWED did not hold on the way: try again a few times (§3.9), then give up. */
  private unexpectedNat(sa: SaContext): TaskResult {
    const m = sa.mobike;
    if (m.natRetries >= UNEXPECTED_NAT_RETRIES) {
      sa.fail('UNEXPECTED_NAT_DETECTED', `the gateway saw a NAT on ${pathKey(this.sent!)} although we allow none`);
      return 'failed';
    }
    m.natRetries++;
    sa.roam(clonePath(this.sent!), m.eventAt);
    return 'done';
  }
}

/**
 * Responder half for the gateway's INFORMATIONAL requests (address list,
 * COOKIE2, NAT-D). `from` is the request's IP source: a list never names the
 * address it is sent from (RFC 4555 §3.6), and a gateway that lost its
 * primary address sends from the one it still has — which must stay a
 * candidate for path probing (strongSwan's ike_mobike adds it the same way).
 */
export function respondMobike(msg: InboundMessage, sa: SaContext, from: string): Payload[] {
  if (!sa.config.mobike || !sa.peerMobike) return [];
  const out: Payload[] = [];
  const list = peerAddressList(msg.payloads);
  if (list) {
    sa.mobike.peerAddrs = unique([from, ...list]);
    sa.event({ type: 'log', level: 'info', msg: 'gateway address list updated', ctx_addresses: list.join(',') });
    if (!sa.mobike.peerAddrs.includes(sa.path.remote.addr)) {
      // the address we send to left the gateway's set: we decide where to go (§3.6) — back to the
      // configured gateway address when the gateway still has it (the address the administrator
      // published, and the one the next start uses), otherwise the one it wrote from, which just
      // proved it reaches us. Where the gateway writes from is its routing's choice, not a preference.
      const primary = sa.config.gateway;
      const to = primary !== sa.path.remote.addr && sa.mobike.peerAddrs.includes(primary) ? primary : from;
      sa.event({ type: 'log', level: 'info', msg: `gateway address ${sa.path.remote.addr} is gone: moving to ${to}` });
      sa.roam(mobikePath(sa, sa.path.local.addr, to), sa.now);
    }
  }
  const nat = evaluateNatd(msg, sa, sa.path.local, sa.path.remote);
  if (nat) out.push(...natdPayloads(sa));
  const c2 = findNotify(msg.payloads, NotifyType.Cookie2);
  if (c2) out.push(makeNotify(NotifyType.Cookie2, c2.data.slice()));
  if (nat && nat.natLocal !== sa.natLocal) {
    // our DESTINATION hash changed: a NAT appeared or went away on the way (RFC 4555 §3.10)
    sa.natLocal = nat.natLocal;
    sa.roam(clonePath(sa.path), sa.now);
  }
  return out;
}
