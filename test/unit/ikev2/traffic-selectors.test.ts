/**
 * RFC 7296 §2.9: the responder may narrow the traffic selectors, never widen
 * them. A gateway answering TSr 0.0.0.0/0 must not take over our default
 * route; a gateway rekey may not widen a child either.
 */
import { describe, expect, it } from 'vitest';
import { parseProposals } from '../../../app/ikev2/proposal-string.ts';
import { tsIntersect, tsPayload, tsWithin } from '../../../app/ikev2/tasks/child-create.ts';
import type { ChildSaInfo, Effect } from '../../../app/ikev2/types.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../app/wire/ikev2/constants.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import { IkePair, MiniResponder, clientConfig } from '../../harness/ike-pair.ts';

const r = (start: string, end: string) => ({ start, end });

describe('tsWithin / tsIntersect', () => {
  it('a narrowed answer is within; a wider, shifted or empty one is not', () => {
    const offered = [r('10.10.0.0', '10.10.255.255')];
    expect(tsWithin([r('10.10.0.0', '10.10.255.255')], offered)).toBe(true);
    expect(tsWithin([r('10.10.5.0', '10.10.5.255'), r('10.10.9.9', '10.10.9.9')], offered)).toBe(true);
    expect(tsWithin([r('0.0.0.0', '255.255.255.255')], offered)).toBe(false);
    expect(tsWithin([r('10.10.255.0', '10.11.0.0')], offered)).toBe(false);
    expect(tsWithin([r('10.9.255.255', '10.10.0.0')], offered)).toBe(false);
    expect(tsWithin([], offered)).toBe(false);
    expect(tsWithin([r('10.10.0.9', '10.10.0.1')], offered)).toBe(false);
  });
  it('adjacent offered ranges cover a range that spans both', () => {
    const offered = [r('10.0.1.0', '10.0.1.255'), r('10.0.0.0', '10.0.0.255')];
    expect(tsWithin([r('10.0.0.128', '10.0.1.5')], offered)).toBe(true);
    expect(tsWithin([r('10.0.0.128', '10.0.2.0')], offered)).toBe(false);
  });
  it('intersects pairwise', () => {
    expect(tsIntersect([r('0.0.0.0', '255.255.255.255')], [r('10.10.0.0', '10.10.255.255')])).toEqual([r('10.10.0.0', '10.10.255.255')]);
    expect(tsIntersect([r('10.0.0.0', '10.0.0.9')], [r('10.0.0.5', '10.0.0.20'), r('10.0.0.0', '10.0.0.1')]))
      .toEqual([r('10.0.0.5', '10.0.0.9'), r('10.0.0.0', '10.0.0.1')]);
    expect(tsIntersect([r('10.0.0.0', '10.0.0.9')], [r('10.0.1.0', '10.0.1.9')])).toEqual([]);
  });
});

function closed(pair: IkePair): Extract<Effect, { type: 'closed' }> | undefined {
  return pair.effects.find((e): e is Extract<Effect, { type: 'closed' }> => e?.type === 'closed');
}

function installed(pair: IkePair): ChildSaInfo[] {
  return pair.effects.flatMap((e) => (e?.type === 'install-child-sa' ? [e.child] : []));
}

describe('IKE SA: the Child SA only gets the selectors we proposed, or fewer', () => {
  it('IKE_AUTH: a TSr wider than we asked for fails the Child SA with TS_UNACCEPTABLE, nothing installed', () => {
    // we ask for 10.10.1.0/24; the gateway answers 10.10.0.0/16
    const pair = new IkePair(new MiniResponder(), clientConfig({ remoteTs: [{ addr: '10.10.1.0', len: 24 }] }));
    pair.command({ type: 'connect' });
    expect(installed(pair)).toEqual([]);
    expect(closed(pair)?.error?.code).toBe('TS_UNACCEPTABLE');
    expect(pair.events()).toContainEqual(expect.objectContaining({ type: 'error', code: 'TS_UNACCEPTABLE', message: expect.stringContaining('10.10.0.0-10.10.255.255') }));
  });

  it('IKE_AUTH: the same answer is accepted when it is what we asked for', () => {
    const pair = new IkePair(new MiniResponder(), clientConfig({ remoteTs: [{ addr: '10.0.0.0', len: 8 }] }));
    pair.command({ type: 'connect' });
    expect(installed(pair)[0]?.remoteTs).toEqual([r('10.10.0.0', '10.10.255.255')]);
  });

  it('a gateway rekey proposing 0.0.0.0/0 is narrowed to the old child\'s selectors', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const resp = pair.responder;
    const req = resp.request(ExchangeType.CreateChildSa, [
      makeNotify(NotifyType.RekeySa, undefined, ProtocolId.ESP, resp.espSpi),
      { type: PayloadType.SA, proposals: [{ ...parseProposals('esp', 'aes256gcm16')[0]!, spi: Uint8Array.of(0xc0, 0, 0, 7) }] },
      { type: PayloadType.Nonce, data: new Uint8Array(32).fill(4) },
      tsPayload(PayloadType.TSi, [r('0.0.0.0', '255.255.255.255')]),
      tsPayload(PayloadType.TSr, [r('0.0.0.0', '255.255.255.255')]),
    ]);
    pair.fromResponder(req);
    pair.drive();
    const [first, rekeyed] = installed(pair);
    expect(rekeyed?.remoteTs).toEqual(first!.remoteTs);
    expect(rekeyed?.localTs).toEqual(first!.localTs);
    expect(rekeyed?.remoteTs).toEqual([r('10.10.0.0', '10.10.255.255')]);
  });

  it('a gateway rekey whose selectors miss the old child entirely is refused with TS_UNACCEPTABLE', () => {
    const pair = new IkePair();
    pair.command({ type: 'connect' });
    const resp = pair.responder;
    const before = installed(pair).length;
    pair.fromResponder(resp.request(ExchangeType.CreateChildSa, [
      makeNotify(NotifyType.RekeySa, undefined, ProtocolId.ESP, resp.espSpi),
      { type: PayloadType.SA, proposals: [{ ...parseProposals('esp', 'aes256gcm16')[0]!, spi: Uint8Array.of(0xc0, 0, 0, 8) }] },
      { type: PayloadType.Nonce, data: new Uint8Array(32).fill(4) },
      tsPayload(PayloadType.TSi, [r('192.168.0.0', '192.168.0.255')]),
      tsPayload(PayloadType.TSr, [r('10.10.100.1', '10.10.100.1')]),
    ]));
    pair.drive();
    expect(installed(pair)).toHaveLength(before);
    const answer = resp.responses.at(-1)!;
    expect(answer.flatMap((p) => (p.type === PayloadType.Notify ? [p.notifyType] : []))).toEqual([NotifyType.TsUnacceptable]);
    expect(pair.sa.state).toBe('established');
  });
});
