/**
 * Rekeys on our own timer and simultaneous rekeys (RFC 7296 §2.8, §2.8.1,
 * §2.8.2) between our IKE SA (A) and the test-only responder (B, the
 * gateway), on a manual clock. The responder does its part of a collision
 * itself (ike-pair.ts); its nonces are pinned so a test decides which new
 * SA has the lowest nonce. `pair.hold` keeps our datagrams in flight so the
 * exchanges cross exactly as in the RFC's diagrams.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { equalBytes } from '../../../app/base/bytes.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../app/wire/ikev2/constants.ts';
import { REKEY_JITTER, jitteredMs } from '../../../app/ikev2/task-manager.ts';
import type { ChildSaInfo, Effect, IkeSaConfig } from '../../../app/ikev2/types.ts';
import { IkePair, MiniResponder, clientConfig } from '../../harness/ike-pair.ts';
import type { ResponderOptions } from '../../harness/ike-pair.ts';

const P = PayloadType;
const LOW = new Uint8Array(32); // 00…00: lower than any other 32-octet nonce
const SPI_B1 = 0xc0000001; // the gateway's inbound SPI of the IKE_AUTH child
const SPI_B2 = 0xc0000002; // …of the child its own rekey creates
const SPI_B3 = 0xc0000003; // …of the child it creates answering ours

function established(r: ResponderOptions = {}, c: Partial<IkeSaConfig> = {}): IkePair {
  const pair = new IkePair(new MiniResponder(r), clientConfig({ dpdSeconds: 3600, ...c }));
  pair.command({ type: 'connect' });
  expect(pair.sa.state).toBe('established');
  return pair;
}

const installed = (pair: IkePair): ChildSaInfo[] => pair.effects.flatMap((e) => (e?.type === 'install-child-sa' ? [e.child] : []));
const removed = (pair: IkePair): number[] => pair.effects.flatMap((e) => (e?.type === 'remove-child-sa' ? [e.spiIn] : []));
const closed = (pair: IkePair): Extract<Effect, { type: 'closed' }> | undefined => pair.effects.find((e): e is Extract<Effect, { type: 'closed' }> => e?.type === 'closed');
const spisOf = (p: { type: number; spis?: Uint8Array[] }): number[] => (p.spis ?? []).map((s) => Buffer.from(s).readUInt32BE(0));

/** Both sides hold exactly the same Child SAs, with the same traffic keys (ours in = theirs out). */
function expectSameChildren(pair: IkePair): void {
  const ours = pair.sa.children.map((c) => ({ in: c.spiIn, out: c.spiOut, kin: Buffer.from(c.keysIn.encr).toString('hex'), kout: Buffer.from(c.keysOut.encr).toString('hex') }));
  const theirs = pair.responder.children.map((c) => ({ in: c.spiOut, out: c.spiIn, kin: Buffer.from(c.keysOut.encr).toString('hex'), kout: Buffer.from(c.keysIn.encr).toString('hex') }));
  expect(ours).toEqual(theirs);
}

/** Both sides use the same IKE SA (SPIs and SK_d) and nothing else is left on our side. */
function expectSameIkeSa(pair: IkePair): void {
  const r = pair.responder.session!;
  expect(equalBytes(pair.sa.session.spiI, r.spiI) && equalBytes(pair.sa.session.spiR, r.spiR)).toBe(true);
  expect(equalBytes(pair.sa.session.keys!.skD, r.keys!.skD)).toBe(true);
  expect(pair.sa.oldSession).toBeUndefined();
  expect(pair.sa.redundantSession).toBeUndefined();
  expect(pair.sa.peerIkeRekey).toBeUndefined();
}

/** The new IKE SA works: a liveness check on it (Message ID 0) is answered, a Child SA rekey over it has matching keys. */
function expectWorkingIkeSa(pair: IkePair): void {
  const oks = pair.events().filter((e) => e.type === 'liveness' && e.state === 'ok').length;
  pair.command({ type: 'dpd-now' });
  expect(pair.log.at(-2)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: false, messageId: 0 });
  expect(pair.events().filter((e) => e.type === 'liveness' && e.state === 'ok').length).toBe(oks + 1);
  pair.command({ type: 'rekey-child' });
  expectSameChildren(pair);
  expect(pair.sa.children.length).toBe(1);
  expect(pair.sa.state).toBe('established');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('rekey timers (vpn.ikeRekeySeconds, vpn.rekeySeconds)', () => {
  it('jitteredMs: 0 … 10 % early, from the random it is given', () => {
    const fixed = (b: number) => () => new Uint8Array(4).fill(b);
    expect(jitteredMs(600_000, fixed(0))).toBe(600_000);
    expect(jitteredMs(600_000, fixed(0xff))).toBe(600_000 - Math.floor(600_000 * REKEY_JITTER * (0xffffffff / 2 ** 32)));
    expect(jitteredMs(600_000, fixed(0x80))).toBe(600_000 - Math.floor(600_000 * REKEY_JITTER * (0x80808080 / 2 ** 32)));
  });

  it('ikeRekeySeconds: CREATE_CHILD_SA{ SA(IKE), Ni, KEi } on our timer, then D(IKE) on the old SA; jitter from the injected random only', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random used by the core');
    });
    const run = (seed: string): number[] => {
      const pair = new IkePair(new MiniResponder(), clientConfig({ ikeRekeySeconds: 3600, dpdSeconds: 86_400 }), seed);
      pair.command({ type: 'connect' });
      const at = [pair.clock.now()];
      for (let round = 0; round < 2; round++) {
        const before = pair.sa.session;
        const mark = pair.log.length;
        at.push(pair.advance());
        // CREATE_CHILD_SA SK{ SA(IKE), Ni, KEi } -->   <-- SK{ SA(IKE), Nr, KEr }   (on the SA being replaced, its next Message ID)
        const [req, res] = pair.log.slice(mark);
        expect(req).toMatchObject({ dir: '-->', exchange: ExchangeType.CreateChildSa, response: false, payloads: [P.SA, P.Nonce, P.KE] });
        expect(res).toMatchObject({ dir: '<--', response: true, payloads: [P.SA, P.Nonce, P.KE] });
        // INFORMATIONAL SK{ D(IKE) } on the old SA -->   <-- SK{}
        expect(pair.responder.requestsSeen.at(-1)!.map((p) => p.type)).toEqual([P.Delete]);
        expect(pair.sa.session).not.toBe(before);
        expectSameIkeSa(pair);
      }
      expect(pair.events().filter((e) => e.type === 'ike-sa' && e.state === 'rekeyed').length).toBe(2);
      expectWorkingIkeSa(pair);
      return at.slice(1).map((t, i) => t - at[i]!);
    };
    const a = run('initiator');
    for (const d of a) {
      expect(d).toBeGreaterThan(3_600_000 * (1 - REKEY_JITTER));
      expect(d).toBeLessThanOrEqual(3_600_000);
    }
    expect(a[0]).not.toBe(a[1]); // a fresh jitter every time
    expect(run('initiator')).toEqual(a); // deterministic: the same random, the same schedule
    expect(run('another seed')).not.toEqual(a);
  });

  it('the Child SA and IKE SA timers run side by side; the IKE SA rekey keeps the Child SA', () => {
    const pair = established({}, { rekeySeconds: 100, ikeRekeySeconds: 250 });
    const start = pair.clock.now();
    while (pair.clock.now() - start < 500_000) pair.advance();
    const creates = pair.log.filter((l) => l.dir === '-->' && l.exchange === ExchangeType.CreateChildSa && !l.response);
    const ike = creates.filter((l) => l.payloads.includes(P.KE));
    expect(ike.length).toBe(2);
    expect(creates.length - ike.length).toBeGreaterThanOrEqual(5);
    expectSameIkeSa(pair);
    expectSameChildren(pair);
    expect(pair.sa.children.length).toBe(1);
  });
});

describe('simultaneous Child SA rekeys (RFC 7296 §2.8.1)', () => {
  /**
   * The RFC's first sequence, A = us, B = the gateway:
   *   send req1: N(REKEY_SA,SPIa1), SA(..,SPIa2,..), Ni1 -->            (in flight)
   *                         <-- send req2: N(REKEY_SA,SPIb1), SA(..,SPIb2,..), Ni2
   *   recv req2; send resp2: SA(..,SPIa3,..), Nr1 -->                    (in flight)
   *                         --> recv req1;  <-- send resp1: SA(..,SPIb3,..), Nr2
   *   recv resp1                --> recv resp2
   * then both compare the four nonces.
   */
  function cross(pair: IkePair): { a1: number; a2: number; a3: number } {
    const a1 = pair.sa.children[0]!.spiIn;
    let holding = true;
    pair.hold = () => holding;
    pair.command({ type: 'rekey-child' });
    expect(pair.held.length).toBe(1);
    pair.fromResponder(pair.responder.rekeyChildRequest());
    pair.drive();
    // A answered req2 at once although req1 is outstanding (window 1 per direction)
    expect(pair.held.length).toBe(2);
    const a3 = installed(pair).find((c) => c.spiOut === SPI_B2)!.spiIn;
    pair.release(1); // req1 reaches B, resp1 reaches A
    const a2 = installed(pair).find((c) => c.spiOut === SPI_B3)!.spiIn;
    holding = false;
    return { a1, a2, a3 };
  }

  it('the lowest nonce is in B\'s exchange: B deletes its new SA (SPIb2), A deletes the old one (SPIa1); A answers B\'s DELETE', () => {
    const pair = established({ nonces: { request: LOW } });
    const { a1, a2, a3 } = cross(pair);
    // A: send req3: D(SPIa1) -->  (after resp2: held behind it)
    pair.release(2); // --> recv resp2 at B: B sends req4: D(SPIb2); --> recv req3 at B: <-- resp3: D(SPIb1)
    const req3 = pair.responder.requestsSeen.find((r) => r.some((p) => p.type === P.Delete))!;
    expect(spisOf(req3[0] as never)).toEqual([a1]);
    // recv req4: D(SPIb2) <--;  send resp4: D(SPIa3) -->
    const resp4 = pair.responder.responses.at(-1)!;
    expect(resp4.map((p) => p.type)).toEqual([P.Delete]);
    expect(spisOf(resp4[0] as never)).toEqual([a3]);
    expect(removed(pair).sort()).toEqual([a1, a3].sort());
    expect(pair.sa.children.map((c) => [c.spiIn, c.spiOut])).toEqual([[a2, SPI_B3]]);
    expectSameChildren(pair);
    expect(pair.events().some((e) => String(e.msg).includes('ours has the lowest nonce'))).toBe(false);
  });

  it('the lowest nonce is in A\'s exchange: A deletes its new SA (SPIa2), B deletes the old one (SPIb1); A answers B\'s DELETE', () => {
    const pair = established({ nonces: { answer: LOW } });
    const { a1, a2, a3 } = cross(pair);
    pair.release(2);
    // A: send req3: D(SPIa2) -->   <-- resp3: D(SPIb3)
    const req3 = pair.responder.requestsSeen.find((r) => r.some((p) => p.type === P.Delete))!;
    expect(spisOf(req3[0] as never)).toEqual([a2]);
    // B: req4: D(SPIb1) <--;  A: resp4: D(SPIa1) -->
    const resp4 = pair.responder.responses.at(-1)!;
    expect(spisOf(resp4[0] as never)).toEqual([a1]);
    expect(removed(pair).sort()).toEqual([a1, a2].sort());
    expect(pair.sa.children.map((c) => [c.spiIn, c.spiOut])).toEqual([[a3, SPI_B2]]);
    expectSameChildren(pair);
    expect(pair.events().some((e) => String(e.msg).includes('ours has the lowest nonce'))).toBe(true);
  });

  it('the RFC\'s second sequence: A\'s req1 is lost, B finishes first and deletes the old SA; A\'s late req1 gets CHILD_SA_NOT_FOUND, ignored', () => {
    const pair = established();
    const a1 = pair.sa.children[0]!.spiIn;
    let drop = true;
    pair.filter = (dir, b) => !(drop && dir === '-->' && b[18] === ExchangeType.CreateChildSa && (b[19]! & 0x20) === 0);
    pair.command({ type: 'rekey-child' }); // req1 lost
    pair.fromResponder(pair.responder.rekeyChildRequest()); // <-- req2;  resp2 -->
    pair.drive();
    // B: req3: D(SPIb1) <--;  A: resp3: D(SPIa1) -->
    pair.fromResponder(pair.responder.deleteChildRequest(SPI_B1));
    pair.drive();
    expect(removed(pair)).toEqual([a1]);
    drop = false;
    const sentBefore = pair.log.filter((l) => l.dir === '-->').length;
    pair.advance(); // resend req1 -->   <-- resp1: N(CHILD_SA_NOT_FOUND)
    expect(pair.log.at(-1)!.notifies).toEqual([NotifyType.ChildSaNotFound]);
    // nothing else: no DELETE of anything (there is nothing of ours to delete)
    expect(pair.log.filter((l) => l.dir === '-->').length).toBe(sentBefore + 1);
    expect(pair.sa.children.map((c) => c.spiOut)).toEqual([SPI_B2]);
    expectSameChildren(pair);
  });
});

describe('a gateway Child SA rekey of a child we already replaced', () => {
  it('our rekey completed, its DELETE still in flight: the gateway\'s rekey of the old child gets TEMPORARY_FAILURE, nothing installed', () => {
    const pair = established();
    pair.hold = (t) => t.bytes.length > 1 && pair.log.some((l) => l.exchange === ExchangeType.CreateChildSa && l.response);
    pair.command({ type: 'rekey-child' }); // req1 --> <-- resp1;  D(SPIa1) --> (in flight)
    expect(pair.held.length).toBe(1);
    const n = installed(pair).length;
    pair.hold = undefined;
    pair.fromResponder(pair.responder.rekeyChildRequest()); // <-- N(REKEY_SA, SPIb1) …
    pair.drive();
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.CreateChildSa, response: true, notifies: [NotifyType.TemporaryFailure] });
    expect(installed(pair).length).toBe(n);
    pair.release(1);
    expect(pair.sa.children.length).toBe(1);
    expect(pair.sa.children[0]!.spiOut).toBe(SPI_B3);
  });
});

describe('simultaneous IKE SA rekeys (RFC 7296 §2.8.2)', () => {
  /** req1 (ours) and req2 (B's) cross as in §2.8.1; A's answer to req2 and A's DELETE stay in flight until release. */
  function cross(pair: IkePair): { s0: unknown } {
    const s0 = pair.sa.session;
    let holding = true;
    pair.hold = () => holding;
    pair.command({ type: 'rekey-ike' }); // req1: SA(IKE, SPIa1), Ni1, KEi -->  (in flight)
    pair.fromResponder(pair.responder.rekeyIkeRequest()); // <-- req2: SA(IKE, SPIb1), Ni2, KEi
    pair.drive(); // resp2: SA(IKE, SPIa2), Nr1, KEr -->  (in flight)
    expect(pair.held.length).toBe(2);
    // A answered req2, but keeps the old SA until its own rekey is answered
    expect(pair.sa.session).toBe(s0);
    expect(pair.sa.peerIkeRekey).toBeDefined();
    pair.release(1); // --> recv req1 at B;  <-- resp1: SA(IKE, SPIb2), Nr2, KEr;  A compares, queues its DELETE (held)
    expect(pair.sa.peerIkeRekey).toBeUndefined();
    holding = false;
    pair.release(2); // --> resp2 at B (B compares);  --> A's DELETE;  <-- B's DELETE
    return { s0 };
  }

  it('the lowest nonce is in B\'s exchange: A\'s new SA carries on, A deletes the old one, A answers B\'s DELETE of its redundant SA', () => {
    const pair = established({ nonces: { request: LOW } });
    const child = pair.sa.children[0]!;
    const { s0 } = cross(pair);
    // A's DELETE went on the old SA (B answered it there)
    const del = pair.responder.requestsSeen.at(-1)!;
    expect(del.map((p) => p.type)).toEqual([P.Delete]);
    expect(del[0]).toMatchObject({ protocol: ProtocolId.IKE });
    // B's D(IKE) on its redundant SA was answered: the last datagram is our empty response
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: true, payloads: [] });
    expect(pair.sa.session).not.toBe(s0);
    expect(pair.sa.session.weInitiated).toBe(true);
    expectSameIkeSa(pair);
    expect(pair.responder.retired).toEqual([]);
    expect(pair.sa.children).toEqual([child]); // the Child SA moved over
    expect(closed(pair)).toBeUndefined();
    expectWorkingIkeSa(pair);
  });

  it('the lowest nonce is in A\'s exchange: B\'s new SA carries on, A deletes its own new SA, A answers B\'s DELETE of the old one', () => {
    const pair = established({ nonces: { answer: LOW } });
    const child = pair.sa.children[0]!;
    const { s0 } = cross(pair);
    expect(pair.events().some((e) => String(e.msg).includes('ours has the lowest nonce'))).toBe(true);
    expect(pair.sa.session).not.toBe(s0);
    expect(pair.sa.session.weInitiated).toBe(false); // B's SA: B is its original initiator
    expectSameIkeSa(pair);
    expect(pair.responder.retired).toEqual([]); // B got (and answered) A's DELETE of A's redundant SA
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: true, payloads: [] });
    expect(pair.sa.children).toEqual([child]);
    expect(closed(pair)).toBeUndefined();
    expectWorkingIkeSa(pair);
  });

  it('only A notices (its req1 lost): B finishes and deletes the old SA; A takes B\'s SA and forgets its own rekey', () => {
    const pair = established();
    const s0 = pair.sa.session;
    let drop = true;
    pair.hold = () => drop;
    pair.command({ type: 'rekey-ike' }); // req1: lost (held, never released)
    drop = false;
    pair.fromResponder(pair.responder.rekeyIkeRequest()); // <-- req2;  resp2 --> : B switches to its new SA
    pair.drive();
    expect(pair.sa.session).toBe(s0);
    pair.fromResponder(pair.responder.deleteOldIkeRequest()); // <-- D(IKE) on the old SA
    pair.drive();
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: true, payloads: [] });
    expectSameIkeSa(pair);
    expect(pair.events().some((e) => String(e.msg).startsWith('ike-rekey abandoned'))).toBe(true);
    // req1 is not retransmitted into the deleted SA, and no DELETE of ours follows
    const sent = pair.log.filter((l) => l.dir === '-->').length;
    pair.advance(10_000);
    expect(pair.log.filter((l) => l.dir === '-->').length).toBe(sent);
    expect(closed(pair)).toBeUndefined();
    expectWorkingIkeSa(pair);
  });

  it('B rekeys the IKE SA while our Child SA rekey is outstanding: the child\'s keys come from the SA it was negotiated on', () => {
    const pair = established();
    let holding = true;
    pair.hold = () => holding;
    pair.command({ type: 'rekey-child' }); // CREATE_CHILD_SA(REKEY_SA) on S0 -->  (in flight)
    pair.fromResponder(pair.responder.rekeyIkeRequest()); // <-- CREATE_CHILD_SA(SA(IKE)) on S0
    pair.drive(); // we answer and switch to S1 at once (nothing of ours to collide with);  resp --> (in flight)
    const s1 = pair.sa.session;
    expect(pair.sa.oldSession).toBeDefined();
    holding = false;
    pair.release(1); // B answers our child rekey on S0 (it has not got our answer yet): keys from S0's SK_d
    pair.release(1); // B gets our answer and switches to S1
    expect(pair.responder.session!.spiI).toEqual(s1.spiI);
    const fresh = installed(pair).at(-1)!;
    const gw = pair.responder.clientRekeyedChild!;
    expect(equalBytes(fresh.keysOut.encr, gw.keys.i.encr)).toBe(true);
    expect(equalBytes(fresh.keysIn.encr, gw.keys.r.encr)).toBe(true);
    pair.fromResponder(pair.responder.deleteOldIkeRequest());
    pair.drive();
    expectSameIkeSa(pair);
    expectSameChildren(pair);
  });

  it('the gateway deletes the old IKE SA while our request on it is unanswered: the request moves to the new SA', () => {
    const pair = established();
    let holding = true;
    pair.hold = () => holding;
    pair.command({ type: 'rekey-child' }); // on S0 (lost: never released)
    pair.fromResponder(pair.responder.rekeyIkeRequest());
    pair.drive();
    holding = false;
    pair.held.splice(0, 1); // our child rekey is lost
    pair.release(1); // our IKE rekey answer reaches B
    pair.fromResponder(pair.responder.deleteOldIkeRequest()); // <-- D(IKE) on S0;  we answer, and send the child rekey again on S1
    pair.drive();
    const retry = pair.log.filter((l) => l.dir === '-->' && l.exchange === ExchangeType.CreateChildSa && !l.response).at(-1)!;
    expect(retry.messageId).toBe(0);
    expectSameIkeSa(pair);
    expectSameChildren(pair);
    expect(pair.sa.children.length).toBe(1);
    expect(closed(pair)).toBeUndefined();
  });

  it('a gateway IKE SA rekey on an SA we already rekeyed (our DELETE not done) gets TEMPORARY_FAILURE', () => {
    const pair = established();
    let holding = true;
    pair.hold = (t) => holding && t.bytes.length > 1 && pair.log.filter((l) => l.exchange === ExchangeType.CreateChildSa).length >= 2;
    const r = pair.responder;
    const s0 = { ...r.session! };
    pair.command({ type: 'rekey-ike' }); // req1 --> <-- resp1: we switch; our D(IKE) on S0 stays in flight
    expect(pair.held.length).toBe(1);
    // B's own rekey request on the old SA (sent before it saw ours), Message ID of its next request there
    const oldB = r.oldSession!;
    expect(oldB.spiI).toEqual(s0.spiI);
    holding = false;
    const req2 = r.requestOn(oldB, ExchangeType.CreateChildSa, r.ikeRekeyPayloads());
    pair.fromResponder(req2);
    pair.drive();
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.CreateChildSa, response: true, notifies: [NotifyType.TemporaryFailure] });
    pair.release(1);
    expectSameIkeSa(pair);
  });
});
