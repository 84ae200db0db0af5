/**
 * MOBIKE (RFC 4555) between our IKE SA and the test-only responder on a
 * manual clock, written as exchange diagrams. Addresses:
 *
 *   A 192.0.2.2 (first access link)   ─┐                 ┌─ G  192.0.2.1   (gateway, primary)
 *   B 198.51.100.2 (second link)      ─┼── (NAT on B?) ──┼─ G2 203.0.113.1 (gateway, ADDITIONAL_IP4_ADDRESS)
 *   C 198.51.100.3 (a third address)  ─┘                 ┘
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../../app/base/bytes.ts';
import { ExchangeType, NotifyType } from '../../../app/wire/ikev2/constants.ts';
import { additionalIp4Notify, cookie2Notify } from '../../../app/wire/ikev2/payloads/notify-data.ts';
import { candidatePaths, peerAddressList } from '../../../app/ikev2/tasks/ike-mobike.ts';
import type { Effect, IkeSaConfig, Transmit } from '../../../app/ikev2/types.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import { IkePair, MiniResponder, clientConfig } from '../../harness/ike-pair.ts';
import type { ResponderOptions } from '../../harness/ike-pair.ts';

const A = '192.0.2.2';
const B = '198.51.100.2';
const C = '198.51.100.3';
const G = '192.0.2.1';
const G2 = '203.0.113.1';
const N = NotifyType;

interface Rig {
  pair: IkePair;
  sent: Transmit[];
}

/** An established MOBIKE SA on A → G; every datagram the core sends is kept in `sent`. */
function established(r: ResponderOptions = {}, c: Partial<IkeSaConfig> = {}): Rig {
  const pair = new IkePair(new MiniResponder({ mobike: true, additional: [G2], ...r }), clientConfig({ mobike: true, ...c }));
  const sent: Transmit[] = [];
  const transmit = pair.sa.transmit.bind(pair.sa);
  pair.sa.transmit = (t) => {
    sent.push(t);
    transmit(t);
  };
  pair.command({ type: 'connect' });
  expect(pair.sa.state).toBe('established');
  return { pair, sent };
}

const paths = (pair: IkePair): Extract<Effect, { type: 'path' }>[] => pair.effects.flatMap((e) => (e?.type === 'path' ? [e] : []));
const updates = (pair: IkePair): Record<string, unknown>[] => pair.events().filter((e) => e.type === 'mobike-update');
const closedWith = (pair: IkePair): string | undefined => pair.effects.flatMap((e) => (e?.type === 'closed' ? [e.error?.code ?? 'none'] : []))[0];
const ikeSent = (sent: Transmit[]): Transmit[] => sent.filter((t) => t.bytes.length > 1);

describe('MOBIKE: IKE_AUTH', () => {
  it('MOBIKE_SUPPORTED both ways; our additional addresses go to the gateway, its own come back', () => {
    const { pair } = established({}, { additionalAddrs: [A, B] });
    // IKE_AUTH SK{ IDi, IDr, AUTH, N(INITIAL_CONTACT), N(MOBIKE_SUPPORTED), N(ADDITIONAL_IP4_ADDRESS B), CP, SA, TSi, TSr } -->
    const auth = pair.log.find((r) => r.exchange === ExchangeType.IkeAuth && r.dir === '-->')!;
    expect(auth.notifies).toEqual([N.InitialContact, N.MobikeSupported, N.AdditionalIp4Address]);
    // <-- SK{ N(MOBIKE_SUPPORTED), N(ADDITIONAL_IP4_ADDRESS G2), IDr, AUTH, … }
    const authR = pair.log.find((r) => r.exchange === ExchangeType.IkeAuth && r.dir === '<--')!;
    expect(authR.notifies).toEqual([N.MobikeSupported, N.AdditionalIp4Address]);
    expect(pair.sa.peerMobike).toBe(true);
    expect(pair.responder.clientAddrs).toEqual([B]);
    expect(pair.sa.mobike.peerAddrs).toEqual([G2]);
  });

  it('without mobike in the profile nothing is announced and a roam is refused with a warning', () => {
    const pair = new IkePair(new MiniResponder({ mobike: true, additional: [G2] }), clientConfig({ mobike: false }));
    pair.command({ type: 'connect' });
    expect(pair.log.find((r) => r.exchange === ExchangeType.IkeAuth && r.dir === '-->')!.notifies).toEqual([N.InitialContact]);
    expect(pair.sa.peerMobike).toBe(false);
    pair.command({ type: 'roam', localAddr: B });
    expect(pair.sa.path.local.addr).toBe(A);
    expect(pair.events().some((e) => e.level === 'warn' && String(e.msg).includes('MOBIKE was not negotiated'))).toBe(true);
  });
});

describe('MOBIKE: UPDATE_SA_ADDRESSES', () => {
  it('update success: from the new address on 4500, COOKIE2 echoed, SAs moved at once, ms from the address event', () => {
    const { pair, sent } = established();
    const before = ikeSent(sent).length;
    const pathsBefore = paths(pair).length;
    pair.clock.advance(1000);
    pair.command({ type: 'roam', localAddr: B, addresses: [B], eventAt: pair.clock.now() - 40 });
    pair.clock.advance(0);

    // INFORMATIONAL SK{ N(UPDATE_SA_ADDRESSES), N(NAT_D_SRC), N(NAT_D_DST), N(COOKIE2) } -->  (from B; our list is unchanged: empty)
    const [req, res] = pair.log.slice(-2);
    expect(req).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: false });
    expect(req!.notifies).toEqual([N.UpdateSaAddresses, N.NatDetectionSourceIp, N.NatDetectionDestinationIp, N.Cookie2]);
    const t = ikeSent(sent)[before]!;
    expect(t.local).toEqual({ addr: B, port: 4500 });
    expect(t.remote).toEqual({ addr: G, port: 4500 });
    // <-- SK{ N(NAT_D_SRC), N(NAT_D_DST), N(COOKIE2) }
    expect(res).toMatchObject({ dir: '<--', response: true });
    expect(res!.notifies).toEqual([N.NatDetectionSourceIp, N.NatDetectionDestinationIp, N.Cookie2]);

    // the IPsec SAs moved before the answer (RFC 4555 §3.5 step 2), and again with the NAT result after it
    const moved = paths(pair).slice(pathsBefore);
    expect(moved.length).toBe(2);
    expect(moved[0]).toMatchObject({ local: { addr: B, port: 4500 }, remote: { addr: G, port: 4500 }, natLocal: false });
    expect(pair.responder.clientPath).toEqual({ addr: B, port: 4500 });
    expect(updates(pair)).toEqual([{ type: 'mobike-update', from: A, to: B, gateway: G, ms: 40, natLocal: false, natRemote: false }]);
    expect(pair.sa.mobike.confirmed.local.addr).toBe(B);
  });

  it('lost updates are retransmitted from the new address until one gets through', () => {
    const { pair, sent } = established();
    let drop = 2;
    pair.filter = (dir) => !(dir === '-->' && drop-- > 0);
    const before = ikeSent(sent).length;
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    expect(updates(pair)).toEqual([]);
    pair.advance(); // first retransmission: dropped too
    pair.advance(); // second one gets through
    const tries = ikeSent(sent).slice(before);
    expect(tries.length).toBe(3);
    expect(tries.every((t) => t.local.addr === B && equalBytes(t.bytes, tries[0]!.bytes))).toBe(true);
    expect(updates(pair)).toMatchObject([{ from: A, to: B }]);
  });

  it('COOKIE2 mismatch: the IKE SA is closed', () => {
    const { pair } = established({ badCookie2: true });
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    // INFORMATIONAL SK{ N(UPDATE_SA_ADDRESSES), …, N(COOKIE2 x) } -->   <-- SK{ …, N(COOKIE2 y) }
    expect(pair.sa.state).toBe('closed');
    expect(closedWith(pair)).toBe('COOKIE2_MISMATCH');
    expect(updates(pair)).toEqual([]);
  });

  it('superseded update: a newer change wins, the stale answer is ignored, the SA ends on the newest address', () => {
    const { pair, sent } = established();
    let answers = false;
    pair.filter = (dir) => dir === '-->' || answers;
    const before = ikeSent(sent).length;
    const t0 = pair.clock.now();
    // INFORMATIONAL(UPDATE from B) -->          (answer lost)
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    answers = true;
    // 50 ms later the address changes again: C
    pair.clock.advance(50);
    pair.command({ type: 'roam', localAddr: C, addresses: [C] });
    // the outstanding update goes again at once, from C (RFC 4555 §3.5 step 4);  <-- its (cached, stale) answer is ignored
    // INFORMATIONAL(UPDATE from C) -->   <-- answer: C confirmed — all without waiting for a retransmission timer
    expect(pair.clock.now() - t0).toBe(50);
    expect(pair.sa.path.local.addr).toBe(C);
    const out = ikeSent(sent).slice(before);
    expect(out.map((t) => t.local.addr)).toEqual([B, C, C]);
    expect(equalBytes(out[1]!.bytes, out[0]!.bytes), 'the first update, resent unchanged').toBe(true);
    expect(pair.events().some((e) => String(e.msg).startsWith('stale UPDATE_SA_ADDRESSES answer ignored'))).toBe(true);
    expect(updates(pair)).toMatchObject([{ from: A, to: C, ms: 0 }]);
    expect(pair.responder.updates.map((e) => e.addr)).toEqual([B, C]);
    expect(pair.responder.clientPath?.addr).toBe(C);
  });

  it('NAT appears on the new path (keepalives start) and disappears on the way back (keepalives stop)', () => {
    const { pair, sent } = established({}, { natKeepaliveSeconds: 5 });
    const keepalives = (): Transmit[] => sent.filter((t) => t.bytes.length === 1 && t.bytes[0] === 0xff);
    pair.natFor.set(B, '203.0.113.99');
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    expect(updates(pair).at(-1)).toMatchObject({ to: B, natLocal: true });
    expect(paths(pair).at(-1)).toMatchObject({ local: { addr: B }, natLocal: true });
    pair.advance(5000);
    pair.advance(5000);
    expect(keepalives().length).toBe(2);
    expect(keepalives().every((t) => t.local.addr === B && t.remote.port === 4500)).toBe(true);

    pair.command({ type: 'roam', localAddr: A, addresses: [A] });
    expect(updates(pair).at(-1)).toMatchObject({ from: B, to: A, natLocal: false });
    pair.advance(5000);
    pair.advance(5000);
    expect(keepalives().length).toBe(2);
  });

  it('UNACCEPTABLE_ADDRESSES while the old address is still ours: keep the old path', () => {
    const { pair } = established({ unacceptable: [B] });
    pair.command({ type: 'roam', localAddr: B, addresses: [A, B] });
    // INFORMATIONAL(UPDATE from B) -->   <-- N(UNACCEPTABLE_ADDRESSES)
    expect(pair.log.at(-1)!.notifies).toEqual([N.UnacceptableAddresses]);
    expect(pair.sa.state).toBe('established');
    expect(pair.sa.path.local.addr).toBe(A);
    expect(paths(pair).at(-1)).toMatchObject({ local: { addr: A } });
    expect(updates(pair)).toEqual([]);
  });

  it('UNACCEPTABLE_ADDRESSES for one pair: the gateway\'s additional address is tried next', () => {
    const { pair } = established({ unacceptable: [`${B}>${G}`] });
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    // UPDATE B>G -->  <-- N(UNACCEPTABLE_ADDRESSES);  UPDATE B>G2 -->  <-- ok
    expect(updates(pair)).toMatchObject([{ from: A, to: B, gateway: G2 }]);
    expect(pair.sa.path.remote.addr).toBe(G2);
  });

  it('UNACCEPTABLE_ADDRESSES with no other pair left: give up', () => {
    const { pair } = established({ unacceptable: [B], additional: [] });
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    expect(closedWith(pair)).toBe('UNACCEPTABLE_ADDRESSES');
  });

  it('NO_NATS_ALLOWED with a NAT on the way: UNEXPECTED_NAT_DETECTED, retried, then given up', () => {
    const { pair } = established({}, { noNatsAllowed: true });
    pair.natFor.set(B, '203.0.113.99');
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    const tries = pair.log.filter((r) => r.dir === '-->' && r.notifies.includes(N.UpdateSaAddresses));
    expect(tries.length).toBe(4);
    expect(tries[0]!.notifies).toContain(N.NoNatsAllowed);
    expect(closedWith(pair)).toBe('UNEXPECTED_NAT_DETECTED');
  });

  it('NO_NATS_ALLOWED without a NAT: the update is accepted', () => {
    const { pair } = established({}, { noNatsAllowed: true });
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    expect(updates(pair)).toMatchObject([{ to: B }]);
  });
});

describe('MOBIKE: address lists and path probing', () => {
  it('our address list alone changes: INFORMATIONAL{ N(ADDITIONAL_IP4_ADDRESS) } without moving', () => {
    const { pair } = established();
    pair.command({ type: 'addresses', addresses: [A, C] });
    expect(pair.log.at(-2)!.notifies).toEqual([N.AdditionalIp4Address]);
    expect(pair.responder.clientAddrs).toEqual([C]);
    pair.command({ type: 'addresses', addresses: [A] });
    expect(pair.log.at(-2)!.notifies).toEqual([N.NoAdditionalAddresses]);
    expect(pair.responder.clientAddrs).toEqual([]);
    expect(pair.sa.path.local.addr).toBe(A);
  });

  it('the gateway replaces its address list and runs a return-routability check: COOKIE2 echoed', () => {
    const { pair } = established();
    const cookie = new Uint8Array(12).fill(7);
    // <-- INFORMATIONAL SK{ N(ADDITIONAL_IP4_ADDRESS 203.0.113.2), N(COOKIE2) }
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [additionalIp4Notify('203.0.113.2'), cookie2Notify(cookie)]));
    pair.drive();
    // SK{ N(COOKIE2) } -->
    const answer = pair.responder.responses.at(-1)!;
    const echoed = answer.find((p) => p.type === 41 && p.notifyType === N.Cookie2);
    expect(echoed && 'data' in echoed && equalBytes(echoed.data, cookie)).toBe(true);
    // the list never names the address it comes from: that one is the gateway's too
    expect(pair.sa.mobike.peerAddrs).toEqual([G, '203.0.113.2']);
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [makeNotify(N.NoAdditionalAddresses)]));
    pair.drive();
    expect(pair.sa.mobike.peerAddrs).toEqual([G]);
  });

  it('the gateway loses G and sends its new list from G3: we move to G3 at once, no liveness check needed', () => {
    const G3 = '192.0.2.3';
    const { pair, sent } = established({ additional: [G2] });
    pair.blocked.add(`${A}>${G}`);
    const t0 = pair.clock.now();
    // <-- INFORMATIONAL SK{ N(ADDITIONAL_IP4_ADDRESS G2) } from G3: G is not in the gateway's set any more
    //     SK{} --> to G3;  INFORMATIONAL SK{ N(UPDATE_SA_ADDRESSES), N(NAT_D)…, N(COOKIE2) } --> A>G3   <-- ok
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [additionalIp4Notify(G2)]), true, A, G3);
    pair.drive();
    expect(pair.sa.mobike.peerAddrs).toEqual([G3, G2]);
    expect(updates(pair)).toMatchObject([{ from: A, to: A, gateway: G3 }]);
    expect(pair.clock.now()).toBe(t0);
    expect(pair.sa.path.remote.addr).toBe(G3);
    expect(pair.responder.clientPath?.addr).toBe(A);
    expect(ikeSent(sent).at(-1)!.remote.addr).toBe(G3);
  });

  it('the gateway loses the address we moved to and still lists its configured one: we go back there, not to where it wrote from', () => {
    const G3 = '192.0.2.3';
    const { pair } = established({ additional: [G2, G3] });
    // first away from G (its path silent): the SA ends on G3
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [additionalIp4Notify(G2), additionalIp4Notify(G3)]), true, A, G3);
    pair.drive();
    pair.sa.roam({ local: { addr: A, port: 4500 }, remote: { addr: G3, port: 4500 }, natt: true }, pair.clock.now());
    pair.drive();
    expect(pair.sa.path.remote.addr).toBe(G3);
    const n = updates(pair).length;
    // <-- INFORMATIONAL SK{ N(ADDITIONAL_IP4_ADDRESS G) } from G2 (the gateway's routing picked that source): G3 is gone
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [additionalIp4Notify(G)]), true, A, G2);
    pair.drive();
    expect(updates(pair).slice(n)).toMatchObject([{ from: A, to: A, gateway: G }]);
    expect(pair.sa.path.remote.addr).toBe(G);
  });

  it('a new list that still names the address we use (or comes from it) does not move the SA', () => {
    const { pair } = established({ additional: [G2] });
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [additionalIp4Notify(G), additionalIp4Notify(G2)]), true, A, G2);
    pair.drive();
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [makeNotify(N.NoAdditionalAddresses)]));
    pair.drive();
    expect(updates(pair)).toEqual([]);
    expect(pair.sa.path.remote.addr).toBe(G);
  });

  it('the gateway\'s primary address dies: DPD goes unanswered, probes reach G2, the SA moves there', () => {
    const { pair, sent } = established({}, { dpdSeconds: 10, retransmitTries: 4 });
    pair.blocked.add(`${A}>${G}`);
    pair.advance(10_000); // DPD: INFORMATIONAL{} --> G (lost)
    pair.advance(); // retransmission 1, current path only (lost)
    expect(updates(pair)).toEqual([]);
    pair.advance(); // retransmission 2: also along A>G2 → answered there → UPDATE_SA_ADDRESSES via G2
    expect(sent.some((t) => t.bytes.length > 1 && t.remote.addr === G2)).toBe(true);
    expect(updates(pair)).toMatchObject([{ from: A, to: A, gateway: G2 }]);
    expect(pair.sa.path.remote.addr).toBe(G2);
    expect(pair.sa.state).toBe('established');
  });

  it('an address change while a DPD is unanswered: the DPD follows to the new path at once, the update right behind it', () => {
    const { pair, sent } = established({}, { dpdSeconds: 10, retransmitBaseMs: 2000, retransmitTries: 5 });
    pair.blocked.add(`${A}>${G}`); // link A is going away
    pair.advance(10_000); // DPD: INFORMATIONAL{} --> G from A (lost)
    const dpdAt = pair.clock.now();
    pair.advance(); // retransmission 1 from A (lost); the next one would be 3.6 s away
    const before = ikeSent(sent).length;
    pair.clock.advance(100);
    // the monitor reports B:  DPD INFORMATIONAL{} (same Message ID) --> from B   <-- {}
    //                         INFORMATIONAL{ N(UPDATE_SA_ADDRESSES), … } --> from B   <-- ok
    pair.command({ type: 'roam', localAddr: B, addresses: [B], eventAt: pair.clock.now() });
    const out = ikeSent(sent).slice(before);
    expect(out.map((t) => `${t.local.addr}>${t.remote.addr}`)).toEqual([`${B}>${G}`, `${B}>${G}`]);
    const requests = pair.log.filter((r) => r.dir === '-->' && !r.response && r.at > dpdAt);
    expect(requests.map((r) => r.notifies.includes(N.UpdateSaAddresses))).toEqual([false, true]);
    expect(requests[1]!.messageId).toBe(requests[0]!.messageId + 1);
    expect(updates(pair)).toMatchObject([{ from: A, to: B, ms: 0 }]);
    expect(pair.sa.state).toBe('established');
  });

  it('a probe answer that arrives after the address changed does not take the SA back', () => {
    const { pair } = established({}, { dpdSeconds: 10, retransmitTries: 5 });
    pair.blocked.add(`${A}>${G}`);
    let stash: Uint8Array | undefined;
    pair.filter = (dir, bytes) => !(dir === '<--' && !stash && (stash = bytes.slice()) !== undefined);
    pair.advance(10_000); // DPD from A (lost)
    pair.advance(); // retransmission 1 (lost)
    pair.advance(); // retransmission 2 + probe A>G2: the probe's answer is held back on the way
    expect(stash).toBeDefined();
    // link A is gone, B is the new path; everything on B>G is lost for now
    pair.blocked.add(`${B}>${G}`);
    pair.command({ type: 'roam', localAddr: B, addresses: [B] });
    expect(pair.sa.path.local.addr).toBe(B);
    // <-- the old probe's answer arrives on A>G2: it answers the DPD, but A is no longer ours to choose
    pair.fromResponder(stash!, true, A, G2);
    pair.drive();
    expect(pair.events().some((e) => String(e.msg).startsWith('path probe answered'))).toBe(false);
    expect(pair.sa.path.local.addr).toBe(B);
    pair.blocked.delete(`${B}>${G}`);
    pair.advance(); // the update from B (queued behind the DPD) goes out again and is answered
    expect(updates(pair)).toMatchObject([{ from: A, to: B, gateway: G }]);
    expect(pair.responder.clientPath?.addr).toBe(B);
  });

  it('probing keeps our local address first: the gateway\'s other addresses from A, our other addresses only a round later', () => {
    const { pair, sent } = established({}, { additionalAddrs: [A, B], dpdSeconds: 10, retransmitTries: 6 });
    const pairsSent = (from: number): string[] => ikeSent(sent).slice(from).map((t) => `${t.local.addr}>${t.remote.addr}`);
    pair.blocked.add(`${A}>${G}`);
    pair.blocked.add(`${A}>${G2}`); // nothing works from A any more
    pair.advance(10_000); // DPD A>G (lost)
    pair.advance(); // retransmission 1: A>G only
    let mark = ikeSent(sent).length;
    pair.advance(); // retransmission 2: A>G, then the first probing round: A>G2 only (lost)
    expect(pairsSent(mark)).toEqual([`${A}>${G}`, `${A}>${G2}`]);
    mark = ikeSent(sent).length;
    pair.advance(); // retransmission 3: every pair; B>G answers first → UPDATE_SA_ADDRESSES from B
    expect(pairsSent(mark).slice(0, 4)).toEqual([`${A}>${G}`, `${A}>${G2}`, `${B}>${G}`, `${B}>${G2}`]);
    expect(updates(pair)).toMatchObject([{ from: A, to: B, gateway: G }]);
  });

  it('when the gateway\'s other address works from our address, the first probing round finds it and we keep our address', () => {
    const { pair } = established({}, { additionalAddrs: [A, B], dpdSeconds: 10, retransmitTries: 6 });
    pair.blocked.add(`${A}>${G}`);
    pair.advance(10_000);
    pair.advance();
    pair.advance(); // first probing round: A>G2 answers
    expect(updates(pair)).toMatchObject([{ from: A, to: A, gateway: G2 }]);
    expect(pair.sa.path.local.addr).toBe(A);
  });

  it('the path dies while our Child SA rekey is outstanding: its retransmissions probe the other pairs, the answer moves the SA', () => {
    const { pair, sent } = established({}, { dpdSeconds: 3600, retransmitTries: 5 });
    const [old] = pair.sa.children;
    pair.blocked.add(`${A}>${G}`);
    const t0 = pair.clock.now();
    pair.command({ type: 'rekey-child' }); // CREATE_CHILD_SA{ N(REKEY_SA), SA, Ni, TSi, TSr } --> A>G (lost)
    pair.advance(); // retransmission 1: A>G only (lost)
    expect(pair.sa.children).toEqual([old]);
    const mark = ikeSent(sent).length;
    pair.advance(); // retransmission 2: A>G, and the same request along A>G2 → answered there
    const out = ikeSent(sent).slice(mark);
    expect(out.slice(0, 2).map((t) => `${t.local.addr}>${t.remote.addr}`)).toEqual([`${A}>${G}`, `${A}>${G2}`]);
    expect(equalBytes(out[1]!.bytes, out[0]!.bytes), 'a retransmission: the same bytes along another pair').toBe(true);
    // the rekey completed over A>G2 (keys agree), the SA moved there with UPDATE_SA_ADDRESSES, the old child's DELETE followed
    expect(pair.clock.now() - t0).toBe(1000 + 1800);
    expect(updates(pair)).toMatchObject([{ from: A, to: A, gateway: G2 }]);
    expect(pair.sa.path.remote.addr).toBe(G2);
    const fresh = pair.sa.children;
    expect(fresh.length).toBe(1);
    expect(fresh[0]).not.toBe(old);
    expect(equalBytes(fresh[0]!.keysOut.encr, pair.responder.clientRekeyedChild!.keys.i.encr)).toBe(true);
    expect(pair.responder.children.map((c) => c.spiOut)).toEqual([fresh[0]!.spiIn]);
    expect(pair.sa.state).toBe('established');
  });

  it('the same for our IKE SA rekey: probed, answered on the other pair, the new IKE SA moves there', () => {
    const { pair } = established({}, { dpdSeconds: 3600, retransmitTries: 5 });
    const s0 = pair.sa.session;
    pair.blocked.add(`${A}>${G}`);
    pair.command({ type: 'rekey-ike' });
    pair.advance();
    pair.advance();
    expect(pair.sa.session).not.toBe(s0);
    expect(equalBytes(pair.sa.session.keys!.skD, pair.responder.session!.keys!.skD)).toBe(true);
    expect(pair.sa.path.remote.addr).toBe(G2);
    expect(pair.sa.oldSession).toBeUndefined();
    expect(updates(pair)).toMatchObject([{ from: A, to: A, gateway: G2 }]);
  });

  it('candidate pairs skip the current one and gateway addresses inside the tunnel', () => {
    const { pair } = established({ additional: [G2, '10.10.0.1'] }, { additionalAddrs: [A, B] });
    expect(candidatePaths(pair.sa).map((p) => `${p.local.addr}>${p.remote.addr}`)).toEqual([`${A}>${G2}`, `${B}>${G}`, `${B}>${G2}`]);
  });

  it('peer address lists: NO_ADDITIONAL_ADDRESSES empties, a malformed entry is skipped, none means unchanged', () => {
    expect(peerAddressList([makeNotify(N.NoAdditionalAddresses)])).toEqual([]);
    expect(peerAddressList([additionalIp4Notify(G2), makeNotify(N.AdditionalIp4Address, new Uint8Array(3))])).toEqual([G2]);
    expect(peerAddressList([])).toBeUndefined();
  });
});
