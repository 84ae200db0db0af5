/**
 * The IKE SA core against hostile input (issue 14): a forged IKE_SA_INIT
 * response with an unusable KE, responses from the wrong source, a
 * COOKIE loop, and unusable KE values from the authenticated peer in
 * rekeys. Nothing may throw out of handleDatagram; what is dropped is
 * counted and said.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../app/wire/ikev2/message.ts';
import { newSession, openMessage, plainMessage, sealMessage } from '../../../app/ikev2/session.ts';
import { tsPayload } from '../../../app/ikev2/tasks/child-create.ts';
import { parseProposals } from '../../../app/ikev2/proposal-string.ts';
const MAX_COOKIE_RETRIES = 3;
import type { Effect } from '../../../app/ikev2/types.ts';
import { DhId, ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../app/wire/ikev2/constants.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import type { Payload } from '../../../app/wire/ikev2/payload.ts';
import { cookieNotify } from '../../../app/wire/ikev2/payloads/notify-data.ts';
import { GATEWAY, IkePair, MiniResponder, clientConfig, seededRandom } from '../../harness/ike-pair.ts';

function closed(pair: IkePair): Extract<Effect, { type: 'closed' }> | undefined {
  return pair.effects.find((e): e is Extract<Effect, { type: 'closed' }> => e?.type === 'closed');
}

/** An IKE_SA_INIT response anyone who saw our SPIi can forge: the proposal we offered, a KE of `keLength` bytes. */
function forgedInitResponse(spiI: Uint8Array, ke: Uint8Array, extra: Payload[] = []): Uint8Array {
  const s = newSession(spiI, Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9), false);
  return plainMessage(s, ExchangeType.IkeSaInit, 0, true, [
    ...extra,
    { type: PayloadType.SA, proposals: parseProposals('ike', 'aes256gcm16-prfsha256-x25519') },
    { type: PayloadType.KE, group: DhId.Curve25519, data: ke },
    { type: PayloadType.Nonce, data: new Uint8Array(32).fill(7) },
  ]);
}

function deliverInit(pair: IkePair, bytes: Uint8Array, remote = { addr: GATEWAY, port: 500 }): void {
  pair.sa.handleDatagram({ bytes, local: { addr: pair.sa.path.local.addr, port: 500 }, remote }, pair.clock.now());
  for (let e = pair.sa.pollEffect(); e; e = pair.sa.pollEffect()) pair.effects.push(e);
}

describe('IKE SA: a forged IKE_SA_INIT response does not kill the exchange', () => {
  for (const [what, ke] of [['a 31-byte KE', new Uint8Array(31).fill(1)], ['an all-zero (small-order) X25519 KE', new Uint8Array(32)]] as const) {
    it(`${what} ahead of the genuine response: dropped, counted, said; the genuine one establishes`, () => {
      const pair = new IkePair();
      let injected = false;
      pair.filter = (dir, bytes) => {
        const m = decodeMessage(bytes);
        if (dir === '<--' && m.header.exchangeType === ExchangeType.IkeSaInit && !injected) {
          injected = true;
          // the forgery races ahead of the gateway's answer
          expect(() => deliverInit(pair, forgedInitResponse(m.header.spiI, ke))).not.toThrow();
          expect(pair.sa.state).toBe('connecting');
        }
        return true;
      };
      pair.command({ type: 'connect' });
      expect(injected).toBe(true);
      expect(pair.sa.stats.dropped['response-bad-ke']).toBe(1);
      expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', ctx_reason: 'bad-ke' }));
      expect(pair.sa.state).toBe('established');
    });
  }

  it('alone (the gateway is slow): we keep retransmitting IKE_SA_INIT instead of failing', () => {
    const pair = new IkePair(new MiniResponder({ silent: true }), clientConfig({ retransmitBaseMs: 1000, retransmitTries: 3 }));
    pair.command({ type: 'connect' });
    const first = pair.sa.pollTransmit() ?? pair.log.find((l) => l.dir === '-->');
    expect(first).toBeDefined();
    const spiI = pair.sa.session.spiI;
    deliverInit(pair, forgedInitResponse(spiI, new Uint8Array(31)));
    expect(pair.sa.state).toBe('connecting');
    expect(closed(pair)).toBeUndefined();
    const sentBefore = pair.log.filter((l) => l.dir === '-->').length;
    pair.advance();
    expect(pair.log.filter((l) => l.dir === '-->').length).toBe(sentBefore + 1);
    expect(pair.log.at(-1)).toMatchObject({ exchange: ExchangeType.IkeSaInit, messageId: 0 });
  });

  it('a truncated (malformed) forged response is dropped the same way', () => {
    const pair = new IkePair(new MiniResponder({ silent: true }));
    pair.command({ type: 'connect' });
    const forged = forgedInitResponse(pair.sa.session.spiI, new Uint8Array(32).fill(5));
    // a payload length that overruns the message: the header still peeks fine
    const bad = forged.slice(0, forged.length - 3);
    new DataView(bad.buffer).setUint32(24, bad.length);
    expect(() => deliverInit(pair, bad)).not.toThrow();
    expect(pair.sa.state).toBe('connecting');
    expect(pair.sa.nextTimeout()).toBeDefined();
  });

  it('a response from another address or port than the gateway\'s is not even looked at', () => {
    const pair = new IkePair();
    let injected = false;
    pair.filter = (dir, bytes) => {
      const m = decodeMessage(bytes);
      if (dir === '<--' && m.header.exchangeType === ExchangeType.IkeSaInit && !injected) {
        injected = true;
        deliverInit(pair, forgedInitResponse(m.header.spiI, new Uint8Array(32).fill(3)), { addr: '203.0.113.66', port: 500 });
        deliverInit(pair, forgedInitResponse(m.header.spiI, new Uint8Array(32).fill(3)), { addr: GATEWAY, port: 4321 });
      }
      return true;
    };
    pair.command({ type: 'connect' });
    expect(pair.sa.stats.dropped['wrong-source']).toBe(2);
    expect(pair.sa.state).toBe('established');
  });
});

describe('IKE SA: COOKIE retries are bounded', () => {
  it(`gives up with COOKIE after ${MAX_COOKIE_RETRIES} retries`, () => {
    const pair = new IkePair(new MiniResponder({ silent: true }));
    pair.command({ type: 'connect' });
    const spiI = pair.sa.session.spiI;
    const cookieAnswer = (n: number) => plainMessage(newSession(spiI, new Uint8Array(8), false), ExchangeType.IkeSaInit, 0, true, [cookieNotify(new Uint8Array(16).fill(n))]);
    for (let i = 1; i <= MAX_COOKIE_RETRIES; i++) {
      deliverInit(pair, cookieAnswer(i));
      expect(pair.sa.state).toBe('connecting');
    }
    deliverInit(pair, cookieAnswer(99));
    expect(pair.sa.state).toBe('closed');
    expect(closed(pair)?.error?.code).toBe('COOKIE');
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'error', code: 'COOKIE' }));
  });
});

describe('IKE SA: an unusable KE from the authenticated peer fails the rekey cleanly', () => {
  it('gateway IKE SA rekey with a 31-byte KE: answered NO_PROPOSAL_CHOSEN, the old SA carries on', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const r = pair.responder;
    const before = pair.sa.session;
    const suite = r.session!.suite!;
    const req = r.request(ExchangeType.CreateChildSa, [
      { type: PayloadType.SA, proposals: [{ ...parseProposals('ike', suite.name)[0]!, spi: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] },
      { type: PayloadType.Nonce, data: new Uint8Array(32).fill(1) },
      { type: PayloadType.KE, group: suite.dh, data: new Uint8Array(31).fill(1) },
    ]);
    expect(() => {
      pair.fromResponder(req);
      pair.drive();
    }).not.toThrow();
    expect(pair.sa.state).toBe('established');
    expect(pair.sa.session).toBe(before);
    const answer = r.responses.at(-1)!;
    expect(answer.flatMap((p) => (p.type === PayloadType.Notify ? [p.notifyType] : []))).toEqual([NotifyType.NoProposalChosen]);
    // the SA still works: a DPD round trip
    pair.command({ type: 'dpd-now' });
    expect(pair.log.at(-1)).toMatchObject({ dir: '<--', exchange: ExchangeType.Informational, response: true });
  });

  it('gateway Child SA rekey with PFS and an all-zero X25519 KE: answered NO_PROPOSAL_CHOSEN, nothing installed', () => {
    const pair = new IkePair(new MiniResponder({ esp: 'aes256gcm16-x25519' }), clientConfig({ esp: 'aes256gcm16-x25519' }));
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('established');
    const r = pair.responder;
    const installedBefore = pair.effects.filter((e) => e?.type === 'install-child-sa').length;
    const req = r.request(ExchangeType.CreateChildSa, [
      makeNotify(NotifyType.RekeySa, undefined, ProtocolId.ESP, r.espSpi),
      { type: PayloadType.SA, proposals: [{ ...parseProposals('esp', 'aes256gcm16-x25519')[0]!, spi: Uint8Array.of(0xc0, 0, 0, 9) }] },
      { type: PayloadType.Nonce, data: new Uint8Array(32).fill(2) },
      { type: PayloadType.KE, group: DhId.Curve25519, data: new Uint8Array(32) },
    ]);
    expect(() => {
      pair.fromResponder(req);
      pair.drive();
    }).not.toThrow();
    expect(pair.sa.state).toBe('established');
    expect(pair.effects.filter((e) => e?.type === 'install-child-sa').length).toBe(installedBefore);
    const answer = r.responses.at(-1)!;
    expect(answer.flatMap((p) => (p.type === PayloadType.Notify ? [p.notifyType] : []))).toEqual([NotifyType.NoProposalChosen]);
  });
});

/** Rewrites the gateway's next CREATE_CHILD_SA response (opened and resealed with the responder's keys). */
function tamperNextCreateChildResponse(pair: IkePair, edit: (payloads: Payload[]) => Payload[]): void {
  let done = false;
  pair.filter = (dir, bytes) => {
    if (done || dir !== '<--') return true;
    const m = decodeMessage(bytes);
    if (m.header.exchangeType !== ExchangeType.CreateChildSa || !m.header.response) return true;
    const r = pair.responder;
    for (const s of [r.session, r.oldSession]) {
      if (!s) continue;
      const opened = openMessage({ ...s, weInitiated: !s.weInitiated }, bytes);
      if (!opened.ok) continue;
      done = true;
      return sealMessage(s, ExchangeType.CreateChildSa, m.header.messageId, true, edit(opened.msg.payloads), seededRandom('tamper'));
    }
    return true;
  };
}

describe('IKE SA: our own rekeys meet an unusable answer from the authenticated gateway', () => {
  it('Child SA rekey answered with TSr 0.0.0.0/0: nothing installed, the half the gateway made is deleted, the old child stays', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const [old] = pair.effects.flatMap((e) => (e?.type === 'install-child-sa' ? [e.child] : []));
    tamperNextCreateChildResponse(pair, (ps) => ps.map((p) => (p.type === PayloadType.TSr ? tsPayload(PayloadType.TSr, [{ start: '0.0.0.0', end: '255.255.255.255' }]) : p)));
    expect(() => pair.command({ type: 'rekey-child' })).not.toThrow();
    expect(pair.sa.state).toBe('established');
    expect(pair.effects.filter((e) => e?.type === 'install-child-sa')).toHaveLength(1);
    expect(pair.sa.children).toEqual([old]);
    // INFORMATIONAL{ D(ESP, the new SA's inbound SPI) }, not the old child's
    const del = pair.responder.requestsSeen.at(-1)!.find((p) => p.type === PayloadType.Delete);
    expect(del).toMatchObject({ protocol: ProtocolId.ESP });
    const spi = (del as { spis: Uint8Array[] }).spis[0]!;
    expect(new DataView(spi.buffer, spi.byteOffset, 4).getUint32(0)).not.toBe(old!.spiIn);
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', msg: expect.stringContaining('not within what we proposed') }));
  });

  it('IKE SA rekey answered with an all-zero X25519 KE: the old IKE SA carries on, nothing thrown', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const before = pair.sa.session;
    tamperNextCreateChildResponse(pair, (ps) => ps.map((p) => (p.type === PayloadType.KE ? { ...p, data: new Uint8Array(32) } : p)));
    expect(() => pair.command({ type: 'rekey-ike' })).not.toThrow();
    expect(pair.sa.state).toBe('established');
    expect(pair.sa.session).toBe(before);
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', msg: expect.stringContaining('IKE SA rekey failed') }));
  });
});
