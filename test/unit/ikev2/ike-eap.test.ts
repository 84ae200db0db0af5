/**
 * IKE_AUTH with EAP (RFC 7296 §2.16) in the sans-I/O core, EAP-only (RFC
 * 5998) against the test responder (test/harness/ike-pair.ts, which has no
 * certificate and so insists on EAP_ONLY_AUTHENTICATION):
 *
 *   IKE_SA_INIT -->  <--
 *   IKE_AUTH {IDi, IDr, N(EAP_ONLY), SA, TSi, TSr, CP}  -->  <--  {IDr, EAP(Req/Identity)}
 *   IKE_AUTH {EAP(Resp/Identity)}                        -->  <--  {EAP(Req/MSCHAPv2 Challenge)}
 *   IKE_AUTH {EAP(Resp/MSCHAPv2)}                        -->  <--  {EAP(Req/MSCHAPv2 Success)}
 *   IKE_AUTH {EAP(Resp/MSCHAPv2 ack)}                    -->  <--  {EAP(Success)}
 *   IKE_AUTH {AUTH(MSK)}                                 -->  <--  {AUTH(MSK), CP, SA, TSi, TSr}
 */
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType, PayloadType } from '../../../app/wire/ikev2/constants.ts';
import { IkePair, MiniResponder, clientConfig } from '../../harness/ike-pair.ts';

const USERS = { alice: 'alice-pw-1' };
const eapConfig = (password: string, eapOnly = true) => clientConfig({
  eap: { method: { method: 'mschapv2', identity: 'alice', password }, anchors: [], eapOnly },
});

describe('IKE_AUTH with EAP-MSCHAPv2 (EAP-only)', () => {
  it('five IKE_AUTH rounds with Message IDs 1..5; SA/TS/CP only in the first request; Child SA keys equal the responder\'s', () => {
    const pair = new IkePair(new MiniResponder({ eap: { users: USERS } }), eapConfig('alice-pw-1'));
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('established');
    const auths = pair.log.filter((r) => r.exchange === ExchangeType.IkeAuth);
    expect(auths.filter((r) => r.dir === '-->').map((r) => r.messageId)).toEqual([1, 2, 3, 4, 5]);
    const [firstReq, ...rest] = auths.filter((r) => r.dir === '-->');
    expect(firstReq!.payloads).toEqual(expect.arrayContaining([PayloadType.IDi, PayloadType.IDr, PayloadType.SA, PayloadType.TSi, PayloadType.TSr, PayloadType.CP]));
    expect(firstReq!.payloads).not.toContain(PayloadType.AUTH);
    expect(firstReq!.notifies).toContain(NotifyType.EapOnlyAuthentication);
    expect(rest.slice(0, 3).every((r) => r.payloads.length === 1 && r.payloads[0] === PayloadType.EAP)).toBe(true);
    expect(rest[3]!.payloads).toEqual([PayloadType.AUTH]);
    expect(pair.responder.eapSeen).toEqual(['Response/Identity', 'Response/MsChapV2', 'Response/MsChapV2']);
    const install = pair.effects.find((e) => e?.type === 'install-child-sa');
    expect(install).toBeDefined();
    const child = (install as { child: { keysOut: { encr: Uint8Array } } }).child;
    expect(Buffer.from(child.keysOut.encr).toString('hex')).toBe(Buffer.from(pair.responder.childKeys!.i.encr).toString('hex'));
    const eapEv = pair.events().find((e) => e.type === 'log' && e.msg === 'EAP-MSCHAPv2 sign-in succeeded');
    expect(eapEv).toMatchObject({ ctx_messages: ['Request/Identity', 'Response/Identity', 'Request/MsChapV2', 'Response/MsChapV2', 'Request/MsChapV2', 'Response/MsChapV2', 'Success'] });
    expect(JSON.stringify(pair.events())).not.toContain('alice-pw-1');
  });

  it('a lost EAP round is retransmitted bit-identically and the exchange still completes', () => {
    const pair = new IkePair(new MiniResponder({ eap: { users: USERS } }), eapConfig('alice-pw-1'));
    let dropped = 0;
    let seen = 0;
    pair.filter = (dir) => {
      if (dir === '-->' && ++seen === 4 && dropped === 0) { // the third IKE_AUTH request (Response/MSCHAPv2)
        dropped++;
        return false;
      }
      return true;
    };
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('connecting');
    pair.advance();
    expect(pair.sa.state).toBe('established');
    expect(pair.sa.stats.retransmits).toBe(1);
  });

  it('a wrong password: EAP_WRONG_PASSWORD, closed, nothing installed, no password in any event', () => {
    const pair = new IkePair(new MiniResponder({ eap: { users: USERS } }), eapConfig('wrong-pw-77'));
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('closed');
    expect(pair.sa.failure?.code).toBe('EAP_WRONG_PASSWORD');
    expect(pair.effects.some((e) => e?.type === 'install-child-sa')).toBe(false);
    expect(JSON.stringify(pair.events())).not.toContain('wrong-pw-77');
  });

  it('an unknown user: EAP_UNKNOWN_USER', () => {
    const pair = new IkePair(new MiniResponder({ eap: { users: { bob: 'x' } } }), eapConfig('alice-pw-1'));
    pair.command({ type: 'connect' });
    expect(pair.sa.failure?.code).toBe('EAP_UNKNOWN_USER');
  });

  it('a gateway that does not know the password hash (forged AuthenticatorResponse): EAP_GATEWAY_UNVERIFIED before any AUTH is sent', () => {
    const pair = new IkePair(new MiniResponder({ eap: { users: USERS, forgeAuthenticatorResponse: true } }), eapConfig('alice-pw-1'));
    pair.command({ type: 'connect' });
    expect(pair.sa.failure?.code).toBe('EAP_GATEWAY_UNVERIFIED');
    expect(pair.log.filter((r) => r.dir === '-->' && r.payloads.includes(PayloadType.AUTH))).toEqual([]);
  });

  it('without the EAP-only offer, a gateway that answers without AUTH is refused before any EAP goes out', () => {
    const pair = new IkePair(new MiniResponder({ eap: { users: USERS, ignoreMissingEapOnly: true } }), eapConfig('alice-pw-1', false));
    pair.command({ type: 'connect' });
    expect(pair.sa.state).toBe('closed');
    expect(pair.sa.failure).toMatchObject({ code: 'AUTHENTICATION_FAILED', message: expect.stringMatching(/sent no AUTH/) });
    expect(pair.responder.eapSeen).toEqual([]);
  });
});
