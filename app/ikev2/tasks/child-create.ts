/**
 * Creating a Child SA (RFC 7296 §1.3.1, §2.9, §2.17), initiator:
 *
 *   in IKE_AUTH:       SK{ …, SAi2, TSi, TSr }            (KEYMAT from Ni | Nr of IKE_SA_INIT)
 *   CREATE_CHILD_SA:   SK{ [N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr }  -->
 *                                         <--  SK{ SA, Nr, [KEr], TSi, TSr }
 *
 * Our inbound SPI goes in our proposal; the peer's chosen proposal carries
 * its inbound SPI, which is our outbound one. As initiator we send with the
 * i→r keys. TSi asks for any address (the gateway narrows it to the TIA),
 * TSr for the profile's remote prefixes. The answer may only narrow them
 * (RFC 7296 §2.9, tsWithin): a wider or empty TSi/TSr fails the Child SA
 * with TS_UNACCEPTABLE (in IKE_AUTH) or, in a rekey, deletes the new SA and
 * keeps the old one. Traffic selectors utilities live here too (the
 * responder halves in child-rekey.ts use them).
 */
import { ipv4ToU32, u32ToIPv4, prefixRange } from '../../base/ipv4.ts';
import type { Prefix } from '../../base/ipv4.ts';
import { ExchangeType, PayloadType, ProtocolId, TsType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { rekeySaNotify } from '../../wire/ikev2/payloads/notify-data.ts';
import type { Proposal } from '../../wire/ikev2/payloads/sa.ts';
import { ipv4Selector } from '../../wire/ikev2/payloads/ts.ts';
import type { TsPayload } from '../../wire/ikev2/payloads/ts.ts';
import { createDh, trySharedSecret } from '../crypto-adapter.ts';
import type { DhKey } from '../crypto-adapter.ts';
import { deriveChildKeys } from '../keymat.ts';
import { errorNotify, first, notifyName } from '../notifies.ts';
import { parseProposals } from '../proposal-string.ts';
import type { InboundMessage, Session } from '../session.ts';
import { checkChosen, espSuiteOf, withSpi } from '../suite.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import type { ChildSaInfo, TsRange } from '../types.ts';
import { NONCE_BYTES } from './ike-init.ts';
import { oursIsRedundant } from './child-rekey.ts';

export function spiToNumber(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function numberToSpi(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** A fresh inbound ESP SPI (> 255, RFC 4303 §2.1). */
export function newEspSpi(sa: SaContext): Uint8Array {
  for (;;) {
    const spi = sa.random(4);
    if (spiToNumber(spi) > 255) return spi;
  }
}

export function prefixToRange(p: Prefix): TsRange {
  const [a, b] = prefixRange(p);
  return { start: u32ToIPv4(a), end: u32ToIPv4(b) };
}

export function tsPayload(type: PayloadType.TSi | PayloadType.TSr, ranges: readonly TsRange[]): TsPayload {
  return { type, selectors: ranges.map((r) => ipv4Selector(r.start, r.end)) };
}

export function rangesOf(ts: TsPayload | undefined): TsRange[] {
  if (!ts) return [];
  return ts.selectors.flatMap((s) => (s.tsType === TsType.Ipv4AddrRange ? [{ start: s.startAddr, end: s.endAddr }] : []));
}

/**
 * RFC 7296 §2.9: the responder may only narrow. True when every range in
 * `got` lies inside the union of `offered` (and `got` is not empty).
 */
export function tsWithin(got: readonly TsRange[], offered: readonly TsRange[]): boolean {
  if (got.length === 0) return false;
  const spans = offered.map((r) => [ipv4ToU32(r.start), ipv4ToU32(r.end)] as const).filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  return got.every((r) => {
    let from = ipv4ToU32(r.start);
    const to = ipv4ToU32(r.end);
    if (from > to) return false;
    for (const [a, b] of spans) {
      if (a > from) return false;
      if (b >= from) {
        if (b >= to) return true;
        from = b + 1;
      }
    }
    return false;
  });
}

/** The part of `a` inside `b` (pairwise intersections; empty when disjoint): how a responder narrows. */
export function tsIntersect(a: readonly TsRange[], b: readonly TsRange[]): TsRange[] {
  const out: TsRange[] = [];
  for (const x of a) {
    for (const y of b) {
      const from = Math.max(ipv4ToU32(x.start), ipv4ToU32(y.start));
      const to = Math.min(ipv4ToU32(x.end), ipv4ToU32(y.end));
      if (from <= to) out.push({ start: u32ToIPv4(from), end: u32ToIPv4(to) });
    }
  }
  return out;
}

export function formatRange(r: TsRange): string {
  return `${r.start}-${r.end}`;
}

export class ChildCreateTask implements Task {
  readonly name = 'child-create';
  readonly exchange: ExchangeType;
  private readonly proposals: Proposal[];
  private spiIn?: Uint8Array;
  private nonce?: Uint8Array;
  private dh?: DhKey;
  /** The IKE SA session the request went on: the keys derive from its SK_d, whatever is current when the answer comes. */
  private base?: Session;
  /** Set once the new Child SA is installed (a rekey's DELETE of the old one waits for it). */
  succeeded = false;
  /** Our new child, when a simultaneous rekey by the peer made it the redundant one (§2.8.1). */
  redundant?: ChildSaInfo;
  /** Our inbound SPI of a rekey the gateway completed but we could not (bad KE, widened TS): ChildDeleteTask deletes it. */
  orphan?: number;
  /** The selectors we asked for: the answer may only narrow them (RFC 7296 §2.9). */
  private proposed?: { localTs: TsRange[]; remoteTs: TsRange[] };

  /** rekeyOf: the child this one replaces (CREATE_CHILD_SA with N(REKEY_SA)). */
  constructor(espProposals: string, private readonly rekeyOf?: ChildSaInfo) {
    this.exchange = rekeyOf ? ExchangeType.CreateChildSa : ExchangeType.IkeAuth;
    this.proposals = parseProposals('esp', espProposals);
  }

  build(out: Payload[], sa: SaContext): void {
    this.base = sa.session;
    this.spiIn ??= newEspSpi(sa);
    if (this.rekeyOf) out.push(rekeySaNotify(ProtocolId.ESP, numberToSpi(this.rekeyOf.spiIn)));
    out.push({ type: PayloadType.SA, proposals: withSpi(this.proposals, this.spiIn) });
    if (this.rekeyOf) {
      this.nonce ??= sa.random(NONCE_BYTES);
      out.push({ type: PayloadType.Nonce, data: this.nonce });
      const group = espSuiteOf(this.proposals[0]?.transforms ?? [])?.dh;
      if (group !== undefined) {
        this.dh ??= createDh(group, sa.random);
        out.push({ type: PayloadType.KE, group, data: this.dh.publicKey });
      }
    }
    const localTs = this.rekeyOf?.localTs ?? [{ start: '0.0.0.0', end: '255.255.255.255' }];
    const remoteTs = this.rekeyOf?.remoteTs ?? sa.config.remoteTs.map(prefixToRange);
    this.proposed = { localTs, remoteTs };
    out.push(tsPayload(PayloadType.TSi, localTs), tsPayload(PayloadType.TSr, remoteTs));
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    const err = errorNotify(msg.payloads);
    const saP = first(msg.payloads, PayloadType.SA);
    const chosen = saP ? checkChosen(this.proposals, saP.proposals) : undefined;
    const suite = chosen ? espSuiteOf(chosen.transforms) : undefined;
    if (err || !chosen || !suite || chosen.spi.length !== 4) {
      const code = err ? notifyName(err.notifyType) : 'NO_PROPOSAL_CHOSEN';
      return this.refused(sa, code);
    }
    const s = this.base ?? sa.session;
    let ni = sa.init.ni;
    let nr = sa.init.nr!;
    let gir: Uint8Array | undefined;
    if (this.rekeyOf) {
      const nonce = first(msg.payloads, PayloadType.Nonce);
      const ke = first(msg.payloads, PayloadType.KE);
      if (!nonce || (this.dh && (!ke || ke.group !== this.dh.group))) return this.refused(sa, 'INVALID_SYNTAX');
      ni = this.nonce!;
      nr = nonce.data;
      if (this.dh && ke) {
        const shared = trySharedSecret(this.dh, ke.data);
        if (!shared.ok) {
          // the gateway installed its half already: delete it by our inbound SPI (RFC 7296 §1.4.1)
          this.orphan = spiToNumber(this.spiIn!);
          sa.event({ type: 'log', level: 'warn', msg: `Child SA rekey failed: the gateway's KE is unusable (${shared.error.message}); deleting the new SA, keeping the old one` });
          return 'done';
        }
        gir = shared.gir;
      }
    }
    const localTs = rangesOf(first(msg.payloads, PayloadType.TSi));
    const remoteTs = rangesOf(first(msg.payloads, PayloadType.TSr));
    const p = this.proposed!;
    if (!tsWithin(localTs, p.localTs) || !tsWithin(remoteTs, p.remoteTs)) {
      // a gateway answering TSr 0.0.0.0/0 would otherwise take over our default route
      const msgText = `the gateway answered TSi ${localTs.map(formatRange).join(',') || '(none)'} TSr ${remoteTs.map(formatRange).join(',') || '(none)'}, `
        + `not within what we proposed (TSi ${p.localTs.map(formatRange).join(',')} TSr ${p.remoteTs.map(formatRange).join(',')})`;
      if (!this.rekeyOf) {
        sa.fail('TS_UNACCEPTABLE', `Child SA refused: ${msgText}`);
        return 'failed';
      }
      this.orphan = spiToNumber(this.spiIn!);
      sa.event({ type: 'log', level: 'warn', msg: `Child SA rekey failed: ${msgText}; deleting the new SA, keeping the old one` });
      return 'done';
    }
    const keys = deriveChildKeys(s.suite!.prf, s.keys!.skD, suite.cipher, ni, nr, gir);
    const child: ChildSaInfo = {
      spiIn: spiToNumber(this.spiIn!), spiOut: spiToNumber(chosen.spi), suite: suite.cipher, suiteName: suite.name,
      keysIn: keys.r, keysOut: keys.i, localTs, remoteTs,
    };
    installChild(sa, child, this.rekeyOf);
    this.succeeded = true;
    if (this.rekeyOf) sa.replacedChildren.add(this.rekeyOf);
    const collision = this.rekeyOf ? sa.peerRekeys.get(this.rekeyOf.spiIn) : undefined;
    if (collision && oursIsRedundant([ni, nr], collision.nonces)) {
      this.redundant = child;
      sa.event({ type: 'log', level: 'info', msg: 'simultaneous Child SA rekey: ours has the lowest nonce and is closed' });
    }
    return 'done';
  }

  private refused(sa: SaContext, code: string): TaskResult {
    if (!this.rekeyOf) {
      sa.fail(code, `the gateway refused the Child SA: ${code}`);
      return 'failed';
    }
    if (sa.peerRekeys.has(this.rekeyOf.spiIn)) {
      // §2.8.1, second sequence: the gateway's simultaneous rekey finished first; its answer to ours is moot
      sa.event({ type: 'log', level: 'info', msg: `Child SA rekey answered ${code}: the gateway's simultaneous rekey replaced it already` });
      return 'done';
    }
    sa.event({ type: 'log', level: 'warn', msg: `Child SA rekey refused: ${code}; keeping the old one` });
    return 'done';
  }
}

/** Adds a child, tells the driver, and emits its event (no keys in it). */
export function installChild(sa: SaContext, child: ChildSaInfo, rekeyOf?: ChildSaInfo, opts: { delayOutbound?: boolean } = {}): void {
  sa.children.push(child);
  sa.effect(rekeyOf ? { type: 'install-child-sa', child, rekeyOf: rekeyOf.spiIn, ...(opts.delayOutbound ? { delayOutbound: true } : {}) } : { type: 'install-child-sa', child });
  sa.event({
    type: 'child-sa', state: rekeyOf ? 'rekeyed' : 'installed',
    spiIn: child.spiIn.toString(16).padStart(8, '0'), spiOut: child.spiOut.toString(16).padStart(8, '0'),
    esp: child.suiteName, localTs: child.localTs.map(formatRange), remoteTs: child.remoteTs.map(formatRange),
  });
}

/** Forgets a child and tells the driver to remove it. */
export function removeChild(sa: SaContext, child: ChildSaInfo): void {
  sa.children = sa.children.filter((c) => c !== child);
  sa.effect({ type: 'remove-child-sa', spiIn: child.spiIn, spiOut: child.spiOut });
}
