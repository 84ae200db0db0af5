/**
 * The EAP peer (app/eap/eap-peer.ts) against a test authenticator written
 * here from the RFC 2759 computations (themselves checked against the RFC
 * vectors in mschapv2.test.ts): identity, Nak, MSCHAPv2 both ways, and each
 * failure's code. Seeded randomness, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { Writer, bytesToHex, fromUtf8, utf8 } from '../../../app/base/bytes.ts';
import { EapCode, EapType, decodeEap, encodeEap } from '../../../app/eap/eap-message.ts';
import type { EapPacket } from '../../../app/eap/eap-message.ts';
import { EapPeer } from '../../../app/eap/eap-peer.ts';
import type { EapStep } from '../../../app/eap/eap-peer.ts';
import { generateAuthenticatorResponse, generateNtResponse, mschapv2Msk } from '../../../app/eap/mschapv2-crypto.ts';

function seeded(seed = 7): (n: number) => Uint8Array {
  let x = seed;
  return (n) => Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff);
}

const req = (id: number, type: number, data: Uint8Array): Uint8Array => encodeEap({ code: EapCode.Request, id, type, data });
const success = (id: number): Uint8Array => encodeEap({ code: EapCode.Success, id });
const failure = (id: number): Uint8Array => encodeEap({ code: EapCode.Failure, id });

function msPacket(op: number, msId: number, body: Uint8Array): Uint8Array {
  return new Writer().u8(op).u8(msId).u16(4 + body.length).bytes(body).finish();
}

/** The authenticator's half of MS-CHAPv2 for one user. */
class TestAuthenticator {
  readonly challenge = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
  constructor(readonly users: Record<string, string>) {}
  challengeRequest(id: number): Uint8Array {
    return req(id, EapType.MsChapV2, msPacket(1, 0x21, new Writer().u8(16).bytes(this.challenge).bytes(utf8('gw')).finish()));
  }
  /** Checks the peer's Response: the Success (with AuthenticatorResponse) or Failure (E=691) request. */
  answer(id: number, response: Uint8Array, tamper = false): { eap: Uint8Array; ok: boolean; msk?: Uint8Array } {
    const p = decodeEap(response) as Extract<EapPacket, { data: Uint8Array }>;
    expect(p.type).toBe(EapType.MsChapV2);
    const d = p.data;
    expect(d[0]).toBe(2);
    expect(d[1]).toBe(0x21); // MS-CHAPv2-ID echoed
    expect((d[2]! << 8) | d[3]!).toBe(d.length);
    expect(d[4]).toBe(49);
    const peerChallenge = d.subarray(5, 21);
    expect(bytesToHex(d.subarray(21, 29))).toBe('0000000000000000');
    const nt = d.subarray(29, 53);
    const name = fromUtf8(d.subarray(54));
    const pw = this.users[name];
    if (pw === undefined || bytesToHex(generateNtResponse(this.challenge, peerChallenge, name, pw)) !== bytesToHex(nt)) {
      return { eap: req(id, EapType.MsChapV2, msPacket(4, 0x21, utf8(`E=691 R=0 C=${bytesToHex(this.challenge)} V=3 M=Authentication failed`))), ok: false };
    }
    let auth = generateAuthenticatorResponse(pw, nt, peerChallenge, this.challenge, name);
    if (tamper) auth = `S=${'0'.repeat(40)}`;
    return { eap: req(id, EapType.MsChapV2, msPacket(3, 0x21, utf8(`${auth} M=welcome`))), ok: true, msk: mschapv2Msk(pw, nt) };
  }
}

const respond = (s: EapStep): Uint8Array => {
  if (s.kind !== 'respond') throw new Error(`expected a response, got ${JSON.stringify(s)}`);
  return s.message;
};

describe('EAP peer with MS-CHAPv2', () => {
  it('Identity, Challenge, Success: the MSK equals the authenticator\'s', () => {
    const auth = new TestAuthenticator({ alice: 'secret-1' });
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'secret-1' }, seeded());
    const id = decodeEap(respond(peer.process(req(1, EapType.Identity, new Uint8Array(0)))));
    expect(id).toEqual({ code: EapCode.Response, id: 1, type: EapType.Identity, data: utf8('alice') });
    const r = auth.answer(2, respond(peer.process(auth.challengeRequest(2))));
    expect(r.ok).toBe(true);
    const ack = decodeEap(respond(peer.process(r.eap)));
    expect(ack).toEqual({ code: EapCode.Response, id: 2, type: EapType.MsChapV2, data: Uint8Array.of(3) });
    const done = peer.process(success(3));
    expect(done.kind).toBe('success');
    expect(bytesToHex((done as { msk: Uint8Array }).msk)).toBe(bytesToHex(r.msk!));
    expect(peer.trace).toEqual(['Request/Identity', 'Response/Identity', 'Request/MsChapV2', 'Response/MsChapV2', 'Request/MsChapV2', 'Response/MsChapV2', 'Success']);
  });

  it('a wrong password: E=691 acknowledged, then EAP_WRONG_PASSWORD without the password or challenge in the message', () => {
    const auth = new TestAuthenticator({ alice: 'secret-1' });
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'not-it-9' }, seeded());
    const r = auth.answer(2, respond(peer.process(auth.challengeRequest(2))));
    expect(r.ok).toBe(false);
    expect(decodeEap(respond(peer.process(r.eap)))).toEqual({ code: EapCode.Response, id: 2, type: EapType.MsChapV2, data: Uint8Array.of(4) });
    const end = peer.process(failure(3));
    expect(end).toMatchObject({ kind: 'failed', code: 'EAP_WRONG_PASSWORD' });
    const msg = (end as { message: string }).message;
    expect(msg).toMatch(/691/);
    expect(msg).not.toContain('not-it-9');
    expect(msg).not.toContain(bytesToHex(auth.challenge));
  });

  it('EAP Failure right after our NT-Response (no MS-CHAPv2 error, FreeRADIUS default) is a wrong password too', () => {
    const auth = new TestAuthenticator({ alice: 'secret-1' });
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'x' }, seeded());
    peer.process(auth.challengeRequest(2));
    expect(peer.process(failure(3))).toMatchObject({ kind: 'failed', code: 'EAP_WRONG_PASSWORD' });
  });

  it('Failure right after the identity: EAP_UNKNOWN_USER', () => {
    const peer = new EapPeer({ method: 'mschapv2', identity: 'nobody', password: 'x' }, seeded());
    peer.process(req(1, EapType.Identity, new Uint8Array(0)));
    expect(peer.process(failure(2))).toMatchObject({ kind: 'failed', code: 'EAP_UNKNOWN_USER' });
  });

  it('a wrong AuthenticatorResponse is not acknowledged: EAP_GATEWAY_UNVERIFIED, and a Success after it gives no MSK', () => {
    const auth = new TestAuthenticator({ alice: 'secret-1' });
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'secret-1' }, seeded());
    const r = auth.answer(2, respond(peer.process(auth.challengeRequest(2))), true);
    expect(peer.process(r.eap)).toMatchObject({ kind: 'failed', code: 'EAP_GATEWAY_UNVERIFIED' });
    expect(peer.process(success(3))).toMatchObject({ kind: 'failed', code: 'EAP_GATEWAY_UNVERIFIED' });
  });

  it('an EAP Success before any method proved the gateway is refused', () => {
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'p' }, seeded());
    peer.process(req(1, EapType.Identity, new Uint8Array(0)));
    expect(peer.process(success(2))).toMatchObject({ kind: 'failed', code: 'EAP_GATEWAY_UNVERIFIED' });
  });

  it('another method offered: Nak naming MSCHAPv2; Failure then → EAP_METHOD_NOT_OFFERED; insisting → the same', () => {
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'p' }, seeded());
    const nak = decodeEap(respond(peer.process(req(4, EapType.Md5Challenge, Uint8Array.of(16, ...new Uint8Array(16))))));
    expect(nak).toEqual({ code: EapCode.Response, id: 4, type: EapType.Nak, data: Uint8Array.of(EapType.MsChapV2) });
    expect(peer.process(failure(5))).toMatchObject({ kind: 'failed', code: 'EAP_METHOD_NOT_OFFERED', message: expect.stringMatching(/Md5Challenge/) });
    const peer2 = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'p' }, seeded());
    peer2.process(req(4, EapType.Gtc, new Uint8Array(0)));
    expect(peer2.process(req(5, EapType.Gtc, new Uint8Array(0)))).toMatchObject({ kind: 'failed', code: 'EAP_METHOD_NOT_OFFERED' });
  });

  it('MS-CHAPv2 account errors get EAP_ACCOUNT_PROBLEM with the reason', () => {
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'p' }, seeded());
    peer.process(new TestAuthenticator({}).challengeRequest(2));
    peer.process(req(3, EapType.MsChapV2, msPacket(4, 0x21, utf8('E=648 R=0 C=00 V=3 M=expired'))));
    expect(peer.process(failure(4))).toMatchObject({ kind: 'failed', code: 'EAP_ACCOUNT_PROBLEM', message: expect.stringMatching(/expired/) });
  });

  it('a "DOMAIN\\\\user" identity is hashed without the domain (RFC 2759 §8.2) and sent whole', () => {
    const auth = new TestAuthenticator({ alice: 'pw' });
    const peer = new EapPeer({ method: 'mschapv2', identity: 'CORP\\alice', password: 'pw' }, seeded());
    const resp = respond(peer.process(auth.challengeRequest(2)));
    const d = (decodeEap(resp) as { data: Uint8Array }).data;
    expect(fromUtf8(d.subarray(54))).toBe('CORP\\alice');
    const nt = d.subarray(29, 53);
    expect(bytesToHex(nt)).toBe(bytesToHex(generateNtResponse(auth.challenge, d.subarray(5, 21), 'alice', 'pw')));
  });

  it('malformed input is a typed failure, never a throw', () => {
    const peer = new EapPeer({ method: 'mschapv2', identity: 'alice', password: 'p' }, seeded());
    expect(peer.process(Uint8Array.of(1, 2, 0, 40, 26))).toMatchObject({ kind: 'failed', code: 'EAP_FAILED' });
    expect(peer.process(req(2, EapType.MsChapV2, Uint8Array.of(1, 0, 0, 9, 16)))).toMatchObject({ kind: 'failed', code: 'EAP_FAILED' });
    expect(peer.process(Uint8Array.of(9, 1, 0, 4))).toMatchObject({ kind: 'failed', code: 'EAP_FAILED' });
  });
});

describe('EAP codec (RFC 3748 §4)', () => {
  it('round-trips requests and Success/Failure; padding past Length is ignored; short/odd lengths throw DecodeError', () => {
    const r: EapPacket = { code: EapCode.Request, id: 9, type: EapType.Identity, data: utf8('hi') };
    expect(decodeEap(encodeEap(r))).toEqual(r);
    expect(bytesToHex(encodeEap({ code: EapCode.Success, id: 3 }))).toBe('03030004');
    expect(decodeEap(Uint8Array.of(2, 1, 0, 6, 1, 65, 0, 0))).toEqual({ code: EapCode.Response, id: 1, type: 1, data: Uint8Array.of(65) });
    expect(() => decodeEap(Uint8Array.of(3, 1, 0, 5, 0))).toThrow(/Length 5/);
    expect(() => decodeEap(Uint8Array.of(1, 1, 0, 4))).toThrow(/without a Type/);
    expect(() => decodeEap(Uint8Array.of(1, 1, 0, 9, 1))).toThrow(/Length 9/);
  });
});
