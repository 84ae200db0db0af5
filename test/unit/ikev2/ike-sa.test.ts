/**
 * The IKE SA core against the test-only responder, on a manual clock,
 * written as exchange diagrams (strongSwan test_ike_*.c style).
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, equalBytes } from '../../../app/base/bytes.ts';
import { prepareInit } from '../../../app/ikev2/crypto-adapter.ts';
import { IkeSa } from '../../../app/ikev2/ike-sa.ts';
import { NONCE_BYTES } from '../../../app/ikev2/tasks/ike-init.ts';
import { decodeMessage } from '../../../app/wire/ikev2/message.ts';
import { DhId, ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../app/wire/ikev2/constants.ts';
import type { ChildSaInfo, Effect } from '../../../app/ikev2/types.ts';
import { compareNonces, oursIsRedundant } from '../../../app/ikev2/tasks/child-rekey.ts';
import { encodeMessage } from '../../../app/wire/ikev2/message.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import { IkePair, MiniResponder, clientConfig, seededRandom } from '../../harness/ike-pair.ts';

const P = PayloadType;

function installed(pair: IkePair): ChildSaInfo[] {
  return pair.effects.flatMap((e) => (e?.type === 'install-child-sa' ? [e.child] : []));
}

function closed(pair: IkePair): Extract<Effect, { type: 'closed' }> | undefined {
  return pair.effects.find((e): e is Extract<Effect, { type: 'closed' }> => e?.type === 'closed');
}

describe('IKE SA: establishment with a PSK', () => {
  it('happy path: two exchanges, TIA, Child SA keys that match the responder, move to 4500', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });

    // IKE_SA_INIT { SA, KE, Ni, N(NAT_D_SRC), N(NAT_D_DST) } -->
    // <-- { SA, KE, Nr, N(NAT_D_SRC), N(NAT_D_DST) }
    const [init, initR, auth, authR] = pair.log;
    expect(init).toMatchObject({ dir: '-->', exchange: ExchangeType.IkeSaInit, messageId: 0, response: false });
    expect(init!.payloads).toEqual([P.SA, P.KE, P.Nonce, P.Notify, P.Notify]);
    expect(init!.notifies).toEqual([NotifyType.NatDetectionSourceIp, NotifyType.NatDetectionDestinationIp]);
    expect(initR).toMatchObject({ dir: '<--', response: true });

    // IKE_AUTH SK{ IDi, IDr, AUTH, N(INITIAL_CONTACT), CP(REQ), SA, TSi, TSr } -->
    expect(auth).toMatchObject({ dir: '-->', exchange: ExchangeType.IkeAuth, messageId: 1 });
    expect(auth!.payloads).toEqual([P.IDi, P.IDr, P.AUTH, P.Notify, P.CP, P.SA, P.TSi, P.TSr]);
    // <-- SK{ IDr, AUTH, CP(REPLY), SA, TSi, TSr }
    expect(authR!.payloads).toEqual([P.IDr, P.AUTH, P.CP, P.SA, P.TSi, P.TSr]);

    expect(pair.sa.state).toBe('established');
    expect(pair.sa.path).toMatchObject({ natt: true, local: { port: 4500 }, remote: { port: 4500 } });
    expect(pair.effects).toContainEqual({ type: 'set-tia', address: '10.10.100.1', dns: ['10.10.0.53'], domains: [] });
    const [child] = installed(pair);
    const r = pair.responder;
    expect(child!.spiOut).toBe(0xc0000001);
    expect(equalBytes(child!.keysOut.encr, r.childKeys!.i.encr)).toBe(true);
    expect(equalBytes(child!.keysIn.encr, r.childKeys!.r.encr)).toBe(true);
    expect(child!.remoteTs).toEqual([{ start: '10.10.0.0', end: '10.10.255.255' }]);
    const est = pair.events().find((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(est).toMatchObject({ gateway: '192.0.2.1', local: '192.0.2.2', tia: '10.10.100.1', ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16', natLocal: false });
  });

  it('split DNS (RFC 8598): asks for INTERNAL_DNS_DOMAIN and hands the valid domains to the driver with the TIA', () => {
    const pair = new IkePair(new MiniResponder({ dnsDomains: ['Corp.Example', 'bad..name', 'lab.corp.example', 'corp.example'] }));
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('established');
    expect(pair.effects).toContainEqual({ type: 'set-tia', address: '10.10.100.1', dns: ['10.10.0.53'], domains: ['corp.example', 'lab.corp.example'] });
  });

  it('no event or effect carries key material', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const text = JSON.stringify(pair.events());
    const [child] = installed(pair);
    const hex = Buffer.from(child!.keysOut.encr).toString('hex');
    expect(text).not.toContain(hex);
    expect(text).not.toContain('pair-psk');
  });

  it('NAT between the peers: our DESTINATION hash mismatches → natLocal, keepalives every natKeepaliveSeconds', () => {
    const pair = new IkePair(new MiniResponder({ natPublicAddr: '198.51.100.7' }), clientConfig({ natKeepaliveSeconds: 5 }));
    pair.command({ type: 'connect' });
    expect(pair.sa.natLocal).toBe(true);
    expect(pair.sa.natRemote).toBe(false);
    pair.advance(5000);
    // the keepalive is a single 0xFF on the NAT-T path (drive() does not pass it to the responder)
    expect(pair.sa.stats.txMessages).toBe(3);
  });
});

describe('IKE SA: IKE_SA_INIT retries', () => {
  it('COOKIE: the retry carries N(COOKIE) first and Message ID 0, and establishes', () => {
    const pair = new IkePair(new MiniResponder({ demandCookie: true }));
    pair.command({ type: 'connect' });
    // IKE_SA_INIT { SA, KE, Ni, N(NAT_D)… } -->   <-- { N(COOKIE) }
    expect(pair.log[1]!.notifies).toEqual([NotifyType.Cookie]);
    // IKE_SA_INIT { N(COOKIE), SA, KE, Ni, N(NAT_D)… } -->
    expect(pair.log[2]).toMatchObject({ dir: '-->', exchange: ExchangeType.IkeSaInit, messageId: 0 });
    expect(pair.log[2]!.payloads).toEqual([P.Notify, P.SA, P.KE, P.Nonce, P.Notify, P.Notify]);
    expect(pair.log[2]!.notifies[0]).toBe(NotifyType.Cookie);
    expect(pair.sa.state).toBe('established');
  });

  it('INVALID_KE_PAYLOAD: retries with the group asked for (and signs the latest request)', () => {
    const pair = new IkePair(new MiniResponder({ wantGroup: DhId.Ecp256, ike: 'aes256gcm16-prfsha256-ecp256' }), clientConfig({ ike: 'aes256gcm16-prfsha256-x25519-ecp256' }));
    pair.command({ type: 'connect' });
    expect(pair.log[1]!.notifies).toEqual([NotifyType.InvalidKePayload]);
    expect(pair.log[2]).toMatchObject({ exchange: ExchangeType.IkeSaInit, messageId: 0 });
    expect(pair.sa.state).toBe('established');
    expect(pair.sa.session.suite?.dh).toBe(DhId.Ecp256);
  });

  it('INVALID_KE_PAYLOAD for a group we did not propose fails without looping', () => {
    const pair = new IkePair(new MiniResponder({ wantGroup: DhId.Ecp384 }));
    pair.command({ type: 'connect' });
    expect(pair.log.filter((l) => l.dir === '-->').length).toBe(1);
    expect(closed(pair)?.error?.code).toBe('INVALID_KE_PAYLOAD');
  });
});

describe('IKE SA: refusals end the SA with the notify\'s name', () => {
  it('AUTHENTICATION_FAILED (wrong PSK): error event, closed, nothing installed', () => {
    const pair = new IkePair(new MiniResponder({ psk: new TextEncoder().encode('other') }));
    pair.command({ type: 'connect' });
    // IKE_AUTH SK{ IDi, AUTH, … } -->   <-- SK{ N(AUTHENTICATION_FAILED) }
    expect(pair.log[3]!.notifies).toEqual([NotifyType.AuthenticationFailed]);
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'error', code: 'AUTHENTICATION_FAILED', fatal: true }));
    expect(closed(pair)?.error?.code).toBe('AUTHENTICATION_FAILED');
    expect(installed(pair)).toEqual([]);
    expect(pair.sa.state).toBe('closed');
    expect(pair.sa.nextTimeout()).toBeUndefined();
  });

  it('NO_PROPOSAL_CHOSEN in IKE_SA_INIT', () => {
    const pair = new IkePair(new MiniResponder({ refuse: true }));
    pair.command({ type: 'connect' });
    expect(closed(pair)?.error?.code).toBe('NO_PROPOSAL_CHOSEN');
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'error', code: 'NO_PROPOSAL_CHOSEN' }));
  });
});

describe('IKE SA: retransmission, duplicates, tampering', () => {
  it('retransmits bit-identically at base·1.8^n and gives up after retransmitTries with TIMEOUT', () => {
    const pair = new IkePair(new MiniResponder({ silent: true }), clientConfig({ retransmitBaseMs: 1000, retransmitTries: 3 }));
    const t0 = pair.clock.now();
    pair.command({ type: 'connect' });
    const times = [t0];
    while (pair.sa.state !== 'closed') times.push(pair.advance());
    const sent = pair.log.filter((l) => l.dir === '-->');
    expect(sent.length).toBe(4); // first + 3 retransmissions
    expect(sent.every((s) => s.exchange === ExchangeType.IkeSaInit && s.messageId === 0)).toBe(true);
    expect(times.map((t) => t - t0)).toEqual([0, 1000, 1000 + 1800, 1000 + 1800 + 3240, 1000 + 1800 + 3240 + 5832]);
    expect(closed(pair)?.error?.code).toBe('TIMEOUT');
  });

  it('a duplicated IKE_AUTH response is dropped and counted, not processed twice', () => {
    const pair = new IkePair();
    let authResponse: Uint8Array | undefined;
    pair.filter = (dir, b) => {
      if (dir === '<--' && b[18] === ExchangeType.IkeAuth) authResponse = b.slice();
      return true;
    };
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('established');
    pair.fromResponder(authResponse!);
    pair.drive();
    expect(pair.sa.stats.dropped['unexpected-response']).toBe(1);
    expect(installed(pair).length).toBe(1);
  });

  it('a tampered ICV is dropped and counted; the retransmission gets the cached response through', () => {
    const pair = new IkePair();
    let tampered = false;
    pair.filter = (dir, b) => {
      if (dir !== '<--' || b[18] !== ExchangeType.IkeAuth || tampered) return true;
      tampered = true;
      const t = b.slice();
      t[t.length - 1]! ^= 0x01;
      return t;
    };
    pair.command({ type: 'connect' });
    expect(pair.sa.stats.dropped.icv).toBe(1);
    expect(pair.sa.state).toBe('connecting');
    pair.advance(); // retransmit IKE_AUTH; the responder replays its cached answer
    expect(pair.responder.authRequests).toBe(1);
    expect(pair.sa.state).toBe('established');
  });

  it('malformed and unknown-SPI datagrams are counted, never thrown', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    pair.fromResponder(new Uint8Array([1, 2, 3]));
    const junk = new Uint8Array(40);
    junk[17] = 0x20;
    junk[27] = 40;
    pair.fromResponder(junk);
    expect(pair.sa.stats.dropped.malformed).toBe(1);
    expect(pair.sa.stats.dropped['unknown-spi']).toBe(1);
    expect(pair.sa.state).toBe('established');
  });
});

describe('IKE SA: what arrives on the NAT-T port (RFC 3948 §2.2, app/esp/udp-encap.ts)', () => {
  it('a keepalive, ESP, and a non-ESP marker with too short a message behind it are dropped under their own names', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const on4500 = (bytes: Uint8Array): void => pair.sa.handleDatagram({ bytes, local: { addr: pair.sa.path.local.addr, port: 4500 }, remote: { addr: pair.sa.path.remote.addr, port: 4500 } }, pair.clock.now());
    on4500(Uint8Array.of(0xff));
    on4500(Uint8Array.of(0xc0, 0, 0, 1, 0, 0, 0, 1, 9, 9, 9, 9));
    on4500(Uint8Array.of(1, 2));
    on4500(new Uint8Array(4 + 10));
    expect(pair.sa.stats.dropped).toMatchObject({ keepalive: 1, 'esp-on-ike-path': 2, malformed: 1 });
    expect(pair.sa.state).toBe('established');
  });
});

describe('IKE SA: liveness and deletion', () => {
  it('DPD: an empty INFORMATIONAL after dpdSeconds of silence; no answer → liveness failed, DEAD_PEER', () => {
    const pair = new IkePair(new MiniResponder(), clientConfig({ dpdSeconds: 10, retransmitTries: 2 }));
    pair.command({ type: 'connect' });
    const est = pair.clock.now();
    pair.advance();
    // INFORMATIONAL SK{} -->  <-- SK{}
    const dpd = pair.log.at(-2)!;
    expect(dpd).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, messageId: 2, payloads: [] });
    expect(dpd.at - est).toBe(10_000);
    expect(pair.events()).toContainEqual({ type: 'liveness', state: 'ok', gateway: '192.0.2.1' });
    pair.responder.opts.silent = true;
    while (pair.sa.state !== 'closed') pair.advance();
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'liveness', state: 'failed' }));
    expect(closed(pair)?.error?.code).toBe('DEAD_PEER');
  });

  it('INVALID_IKE_SPI (RFC 7296 §2.21.4): unprotected, so only counted and reported as suspect from the gateway; the SA stays and its DPD still decides', () => {
    const pair = new IkePair(new MiniResponder(), clientConfig({ dpdSeconds: 10, retransmitTries: 2 }));
    pair.command({ type: 'connect' });
    const s = pair.sa.session;
    // a restarted gateway answers our request for the SA it forgot: our SPIs copied, no SK payload
    const notify = encodeMessage({ spiI: s.spiI, spiR: s.spiR, exchangeType: ExchangeType.Informational, initiator: false, response: true, messageId: 7 }, [makeNotify(NotifyType.InvalidIkeSpi)]);
    pair.fromResponder(notify);
    pair.drive();
    expect(pair.events()).toContainEqual({ type: 'liveness', state: 'suspect', gateway: '192.0.2.1', reason: 'invalid-ike-spi' });
    expect(pair.sa.stats.dropped['invalid-ike-spi']).toBe(1);
    expect(pair.sa.state).toBe('established');
    // from another address: counted, no suspicion
    const n = pair.events().length;
    pair.fromResponder(notify, pair.sa.path.natt, pair.sa.path.local.addr, '203.0.113.66');
    pair.drive();
    expect(pair.events().slice(n)).toEqual([]);
    expect(pair.sa.stats.dropped['invalid-ike-spi']).toBe(2);
    // an unprotected message without that notify is no such hint: dropped as before
    pair.fromResponder(encodeMessage({ spiI: s.spiI, spiR: s.spiR, exchangeType: ExchangeType.Informational, initiator: false, response: true, messageId: 7 }, [makeNotify(NotifyType.AuthenticationFailed)]));
    expect(pair.sa.stats.dropped['invalid-ike-spi']).toBe(2);
    // the genuine gateway still answers the DPD: the SA is alive
    pair.command({ type: 'dpd-now' });
    expect(pair.events().filter((e) => e.type === 'liveness' && e.state === 'ok')).toHaveLength(1);
    expect(pair.sa.state).toBe('established');
  });

  it('disconnect: INFORMATIONAL{ D(IKE) } --> <-- {} closes without an error and removes the Child SA', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    pair.command({ type: 'disconnect' });
    expect(pair.log.at(-2)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, payloads: [P.Delete] });
    expect(pair.effects).toContainEqual(expect.objectContaining({ type: 'remove-child-sa', spiOut: 0xc0000001 }));
    expect(closed(pair)).toEqual({ type: 'closed' });
  });

  it('the gateway deletes the IKE SA: we answer {} and close', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    // <-- INFORMATIONAL SK{ D(IKE) }
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [{ type: P.Delete, protocol: ProtocolId.IKE, spis: [] }]));
    pair.drive();
    // INFORMATIONAL SK{} (response) -->
    expect(pair.sa.pollTransmit()).toBeUndefined();
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: true, payloads: [] });
    expect(closed(pair)).toEqual({ type: 'closed' });
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'ike-sa', state: 'deleted' }));
  });

  it('a retransmitted gateway request gets the cached response, processed once', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const req = pair.responder.request(ExchangeType.Informational, []);
    pair.fromResponder(req);
    pair.drive();
    pair.fromResponder(req);
    pair.drive();
    const answers = pair.log.filter((l) => l.dir === '-->' && l.exchange === ExchangeType.Informational && l.response);
    expect(answers.length).toBe(2);
    expect(answers[0]!.messageId).toBe(answers[1]!.messageId);
    expect(pair.sa.state).toBe('established');
  });
});

describe('IKE SA: rekeys started by the gateway', () => {
  it('CHILD_SA rekey: new child installed at once with matching keys (sending on it delayed), old one removed on its DELETE', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const [old] = installed(pair);
    // <-- CREATE_CHILD_SA SK{ N(REKEY_SA), SA, Ni, TSi, TSr }
    pair.fromResponder(pair.responder.rekeyChildRequest());
    pair.drive();
    // CREATE_CHILD_SA SK{ SA, Nr, TSi, TSr } -->
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.CreateChildSa, response: true, payloads: [P.SA, P.Nonce, P.TSi, P.TSr] });
    const fresh = installed(pair)[1]!;
    const gw = pair.responder.rekeyedChild!;
    expect(fresh.spiOut).toBe(0xc0000002);
    expect(equalBytes(fresh.keysIn.encr, gw.keys.i.encr)).toBe(true);
    expect(equalBytes(fresh.keysOut.encr, gw.keys.r.encr)).toBe(true);
    // we answered: the gateway may not have our answer yet, so the driver keeps sending on the old SA for now
    expect(pair.effects).toContainEqual(expect.objectContaining({ type: 'install-child-sa', rekeyOf: old!.spiIn, delayOutbound: true }));
    expect(pair.sa.children.length).toBe(2);
    // <-- INFORMATIONAL SK{ D(ESP, old gateway SPI) }   --> SK{ D(ESP, our old SPI) }
    pair.fromResponder(pair.responder.request(ExchangeType.Informational, [{ type: P.Delete, protocol: ProtocolId.ESP, spis: [Uint8Array.of(0xc0, 0, 0, 1)] }]));
    pair.drive();
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: true, payloads: [P.Delete] });
    expect(pair.effects).toContainEqual({ type: 'remove-child-sa', spiIn: old!.spiIn, spiOut: old!.spiOut });
    expect(pair.sa.children).toEqual([fresh]);
  });

  it('IKE_SA rekey: new SPIs and keys, old SA answers its DELETE, later requests use the new SA from Message ID 0', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const oldSpiI = pair.sa.session.spiI;
    // <-- CREATE_CHILD_SA SK{ SA(IKE, SPI), Ni, KEi }   --> SK{ SA(IKE, SPI), Nr, KEr }
    pair.fromResponder(pair.responder.rekeyIkeRequest());
    pair.drive();
    expect(pair.log.at(-1)!.payloads).toEqual([P.SA, P.Nonce, P.KE]);
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'ike-sa', state: 'rekeyed' }));
    expect(equalBytes(pair.sa.session.spiI, oldSpiI)).toBe(false);
    expect(equalBytes(pair.sa.session.keys!.skD, pair.responder.session!.keys!.skD)).toBe(true);
    // <-- INFORMATIONAL SK{ D(IKE) } on the old SA   --> SK{}
    pair.fromResponder(pair.responder.deleteOldIkeRequest());
    pair.drive();
    expect(pair.log.at(-1)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: true, payloads: [] });
    expect(pair.sa.state).toBe('established');
    expect(pair.sa.oldSession).toBeUndefined();
    expect(pair.sa.children.length).toBe(1);
    // INFORMATIONAL SK{} --> (new SA, Message ID 0, I flag clear)   <-- SK{}
    pair.command({ type: 'dpd-now' });
    expect(pair.log.at(-2)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, response: false, messageId: 0 });
    expect(pair.log.at(-1)).toMatchObject({ dir: '<--', response: true });
    expect(pair.events().filter((e) => e.type === 'liveness' && e.state === 'ok').length).toBe(1);
  });
});

describe('IKE SA: rekeys we start', () => {
  it('rekey-child: CREATE_CHILD_SA{ N(REKEY_SA), SA, Ni, TSi, TSr } then INFORMATIONAL{ D(ESP, old) }', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const [old] = installed(pair);
    pair.command({ type: 'rekey-child' });
    const req = pair.log.find((l) => l.dir === '-->' && l.exchange === ExchangeType.CreateChildSa)!;
    expect(req.payloads).toEqual([P.Notify, P.SA, P.Nonce, P.TSi, P.TSr]);
    expect(req.notifies).toEqual([NotifyType.RekeySa]);
    const fresh = installed(pair)[1]!;
    const gw = pair.responder.clientRekeyedChild!;
    expect(fresh.spiOut).toBe(0xc0000003);
    // the gateway answered: it has the new SA, so we send on it at once
    const inst = pair.effects.find((e) => e?.type === 'install-child-sa' && 'child' in e && e.child === fresh);
    expect(inst).toMatchObject({ rekeyOf: old!.spiIn });
    expect(inst).not.toHaveProperty('delayOutbound');
    expect(equalBytes(fresh.keysOut.encr, gw.keys.i.encr)).toBe(true);
    expect(equalBytes(fresh.keysIn.encr, gw.keys.r.encr)).toBe(true);
    const del = pair.log.filter((l) => l.dir === '-->' && l.exchange === ExchangeType.Informational).at(-1)!;
    expect(del.payloads).toEqual([P.Delete]);
    expect(pair.effects).toContainEqual({ type: 'remove-child-sa', spiIn: old!.spiIn, spiOut: old!.spiOut });
    expect(pair.sa.children).toEqual([fresh]);
  });

  it('rekeySeconds: the Child SA is rekeyed on our own schedule, each time up to 10 % early (jitter, RFC 7296 §2.8.1)', () => {
    const pair = new IkePair(new MiniResponder(), clientConfig({ rekeySeconds: 600, dpdSeconds: 3600 }));
    pair.command({ type: 'connect' });
    const at = pair.clock.now();
    pair.advance();
    const req = pair.log.find((l) => l.dir === '-->' && l.exchange === ExchangeType.CreateChildSa)!;
    expect(req.at - at).toBeGreaterThan(540_000);
    expect(req.at - at).toBeLessThanOrEqual(600_000);
    expect(installed(pair).length).toBe(2);
    // the next one is armed again from this rekey, with a fresh jitter
    const next = pair.sa.nextTimeout()! - req.at;
    expect(next).toBeGreaterThan(540_000);
    expect(next).toBeLessThanOrEqual(600_000);
    expect(next).not.toBe(req.at - at);
  });

  it('rekey-ike: CREATE_CHILD_SA{ SA(IKE), Ni, KEi }, then D(IKE) on the old SA; the new SA carries on', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const oldSpiI = pair.sa.session.spiI;
    pair.command({ type: 'rekey-ike' });
    const req = pair.log.find((l) => l.dir === '-->' && l.exchange === ExchangeType.CreateChildSa)!;
    expect(req.payloads).toEqual([P.SA, P.Nonce, P.KE]);
    expect(equalBytes(pair.sa.session.spiI, oldSpiI)).toBe(false);
    expect(pair.sa.session.weInitiated).toBe(true);
    expect(equalBytes(pair.sa.session.keys!.skD, pair.responder.session!.keys!.skD)).toBe(true);
    // INFORMATIONAL SK{ D(IKE) } on the old SA -->   <-- SK{}
    expect(pair.responder.requestsSeen.at(-1)!.map((p) => p.type)).toEqual([P.Delete]);
    expect(pair.sa.oldSession).toBeUndefined();
    expect(pair.sa.state).toBe('established');
    pair.command({ type: 'dpd-now' });
    expect(pair.log.at(-2)).toMatchObject({ dir: '-->', exchange: ExchangeType.Informational, messageId: 0 });
    expect(pair.events().filter((e) => e.type === 'liveness' && e.state === 'ok').length).toBe(1);
  });
});

describe('IKE SA: simultaneous Child SA rekeys (RFC 7296 §2.8.1)', () => {
  it('both sides rekey the same child: the SA with the lowest of the four nonces is closed by its creator', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const [old] = installed(pair);
    let holdOurs = true;
    pair.filter = (dir, b) => !(holdOurs && dir === '-->' && b[18] === ExchangeType.CreateChildSa && (b[19]! & 0x20) === 0);
    // CREATE_CHILD_SA SK{ N(REKEY_SA), SA, Ni, TSi, TSr } -->  (lost for now)
    pair.command({ type: 'rekey-child' });
    // <-- CREATE_CHILD_SA SK{ N(REKEY_SA), SA, Ni, TSi, TSr }   --> SK{ SA, Nr, TSi, TSr }
    pair.fromResponder(pair.responder.rekeyChildRequest());
    pair.drive();
    holdOurs = false;
    pair.advance(); // our retransmission gets through:  <-- SK{ SA, Nr, TSi, TSr }
    const theirs = pair.responder.rekeyedChild!;
    const ours = pair.responder.clientRekeyedChild!;
    const all = [...ours.nonces, ...theirs.nonces].map((n) => Buffer.from(n));
    const lowest = all.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
    const oursRedundant = ours.nonces.some((n) => Buffer.from(n).equals(lowest));
    // INFORMATIONAL SK{ D(ESP, …) } -->
    const del = pair.responder.requestsSeen.at(-1)!;
    expect(del.map((p) => p.type)).toEqual([P.Delete]);
    const deleted = del[0]!.type === P.Delete ? del[0]!.spis.map((s) => Buffer.from(s).readUInt32BE(0)) : [];
    const created = installed(pair);
    expect(created.length).toBe(3);
    // the child WE created came from our exchange: its outbound SPI is the responder's answer SPI 0xc0000003
    const mine = created.find((c) => c.spiOut === 0xc0000003)!;
    expect(deleted).toEqual([oursRedundant ? mine.spiIn : old!.spiIn]);
    expect(pair.sa.children).toContain(created.find((c) => c.spiOut === 0xc0000002));
  });

  it('oursIsRedundant: the lowest nonce decides, whichever exchange it is in', () => {
    const n = (b: number, len = 16): Uint8Array => new Uint8Array(len).fill(b);
    expect(oursIsRedundant([n(1), n(9)], [n(5), n(7)])).toBe(true);
    expect(oursIsRedundant([n(6), n(9)], [n(5), n(7)])).toBe(false);
    expect(oursIsRedundant([n(5, 17), n(9)], [n(5, 16), n(7)])).toBe(false); // a prefix sorts first
    expect(compareNonces(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBeLessThan(0);
  });
});

describe('IKE SA: a key pair and nonce prepared beforehand', () => {
  const initPayloads = (sa: IkeSa) => {
    sa.handleCommand({ type: 'connect' }, 0);
    const m = decodeMessage(sa.pollTransmit()!.bytes);
    const ke = m.payloads.find((p) => p.type === P.KE);
    const ni = m.payloads.find((p) => p.type === P.Nonce);
    return { ke: ke && 'data' in ke ? bytesToHex(ke.data) : '', ni: ni && 'data' in ni ? bytesToHex(ni.data) : '' };
  };

  it('IKE_SA_INIT carries exactly the prepared KE and Ni', () => {
    const prepared = prepareInit(DhId.Curve25519, seededRandom('prepared'), NONCE_BYTES);
    const sent = initPayloads(new IkeSa(clientConfig(), seededRandom('sa'), prepared));
    expect(sent).toEqual({ ke: bytesToHex(prepared.dh.publicKey), ni: bytesToHex(prepared.ni) });
  });

  it('a prepared key pair of another group than the first proposed is not used (a fresh one of that group is)', () => {
    const prepared = prepareInit(DhId.Ecp256, seededRandom('prepared'), NONCE_BYTES);
    const sent = initPayloads(new IkeSa(clientConfig(), seededRandom('sa'), prepared));
    expect(sent.ke).not.toBe(bytesToHex(prepared.dh.publicKey));
    expect(sent.ke.length).toBe(64);
  });
});
