/**
 * EAP-MSCHAPv2, the peer side (draft-kamath-pppext-eap-mschapv2-02, the
 * format strongSwan, FreeRADIUS, Windows and Android speak; RFC 2759 inside).
 * Type-Data of EAP type 26:
 *
 *   | OpCode (1) | MS-CHAPv2-ID (1) | MS-Length (2) | ...                MS-Length = EAP Length - 5
 *   Challenge (1, request):  | Value-Size = 16 | Challenge (16) | Name ... |
 *   Response  (2, ours):     | Value-Size = 49 | Peer-Challenge (16) | Reserved (8) = 0 | NT-Response (24) | Flags (1) = 0 | Name |
 *   Success   (3, request):  | Message: "S=<40 hex> M=<text>" |      our answer: OpCode 3 alone
 *   Failure   (4, request):  | Message: "E=<n> R=<0|1> C=<32 hex> V=<n> M=<text>" |  our answer: OpCode 4 alone
 *
 * The gateway proves it knows the password hash with the Success message's
 * AuthenticatorResponse (compared in constant time); without a valid one we
 * never acknowledge success. The MSK is mschapv2-crypto's, 32 bytes.
 */
import { DecodeError, Reader, Writer, equalBytes, fromUtf8, utf8 } from '../base/bytes.ts';
import { generateAuthenticatorResponse, generateNtResponse, mschapv2Msk } from './mschapv2-crypto.ts';

export enum MsChapOp {
  Challenge = 1,
  Response = 2,
  Success = 3,
  Failure = 4,
}

/** An outcome the user can act on, named for events (app/eap/eap-peer.ts maps them to codes). */
export type MsChapFailure = { reason: 'wrong-password' | 'account-disabled' | 'password-expired' | 'no-permission' | 'restricted-hours' | 'other'; error: number; text: string };

export type MsChapStep =
  | { kind: 'respond'; data: Uint8Array }
  | { kind: 'failed'; failure: MsChapFailure; data: Uint8Array }
  | { kind: 'gateway-unverified'; message: string };

/** RFC 2759 §6 error codes. */
const ERRORS: Readonly<Record<number, MsChapFailure['reason']>> = {
  646: 'restricted-hours', 647: 'account-disabled', 648: 'password-expired', 649: 'no-permission', 691: 'wrong-password',
};

export function parseFailureMessage(text: string): { error: number; retry: boolean; message: string } {
  const e = /(?:^|\s)E=(\d+)/.exec(text);
  const r = /(?:^|\s)R=([01])/.exec(text);
  const m = /(?:^|\s)M=(.*)$/s.exec(text);
  return { error: e ? Number(e[1]) : 0, retry: r?.[1] === '1', message: m ? m[1]!.trim() : '' };
}

export class EapMsChapV2 {
  private sent?: { peerChallenge: Uint8Array; authChallenge: Uint8Array; ntResponse: Uint8Array; hashName: string };
  private verified = false;

  constructor(private readonly identity: string, private readonly password: string, private readonly random: (n: number) => Uint8Array) {}

  /** The user name RFC 2759 hashes: without a "DOMAIN\" prefix. */
  private get hashName(): string {
    const i = this.identity.lastIndexOf('\\');
    return i >= 0 ? this.identity.slice(i + 1) : this.identity;
  }

  /** One EAP-Request of type 26 (its Type-Data) → what to send back. Throws DecodeError on malformed input. */
  process(typeData: Uint8Array): MsChapStep {
    const r = new Reader(typeData, 'EAP-MSCHAPv2');
    const op = r.u8();
    if (op === MsChapOp.Success || op === MsChapOp.Failure) {
      // a bare OpCode is only ever a peer's answer; the request carries an ID, MS-Length and the message
      const msId = r.u8();
      const msLength = r.u16();
      if (msLength !== typeData.length) throw new DecodeError(`MS-Length ${msLength} for ${typeData.length} bytes`);
      const text = fromUtf8(r.rest());
      void msId;
      return op === MsChapOp.Success ? this.success(text) : this.failure(text);
    }
    if (op !== MsChapOp.Challenge) throw new DecodeError(`EAP-MSCHAPv2 OpCode ${op} in a request`);
    const msId = r.u8();
    const msLength = r.u16();
    if (msLength !== typeData.length) throw new DecodeError(`MS-Length ${msLength} for ${typeData.length} bytes`);
    if (r.u8() !== 16) throw new DecodeError('EAP-MSCHAPv2 Challenge Value-Size is not 16');
    const authChallenge = r.bytes(16);
    const peerChallenge = this.random(16);
    const ntResponse = generateNtResponse(authChallenge, peerChallenge, this.hashName, this.password);
    this.sent = { peerChallenge, authChallenge, ntResponse, hashName: this.hashName };
    this.verified = false;
    const name = utf8(this.identity);
    const w = new Writer(54 + name.length);
    w.u8(MsChapOp.Response).u8(msId).u16(54 + name.length).u8(49)
      .bytes(peerChallenge).zeros(8).bytes(ntResponse).u8(0).bytes(name);
    return { kind: 'respond', data: w.finish() };
  }

  private success(text: string): MsChapStep {
    const s = this.sent;
    if (!s) return { kind: 'gateway-unverified', message: 'MS-CHAPv2 Success before any Challenge' };
    const got = /S=([0-9A-Fa-f]{40})/.exec(text);
    const want = generateAuthenticatorResponse(this.password, s.ntResponse, s.peerChallenge, s.authChallenge, s.hashName);
    if (!got || !equalBytes(utf8(`S=${got[1]!.toUpperCase()}`), utf8(want))) {
      return { kind: 'gateway-unverified', message: 'the gateway\'s MS-CHAPv2 AuthenticatorResponse is wrong: it does not know the password' };
    }
    this.verified = true;
    return { kind: 'respond', data: Uint8Array.of(MsChapOp.Success) };
  }

  private failure(text: string): MsChapStep {
    const f = parseFailureMessage(text);
    // never show the challenge (C=) back to the user; M= is the server's own sentence
    return { kind: 'failed', failure: { reason: ERRORS[f.error] ?? 'other', error: f.error, text: f.message }, data: Uint8Array.of(MsChapOp.Failure) };
  }

  /** The MSK, once the gateway's AuthenticatorResponse verified. */
  msk(): Uint8Array | undefined {
    return this.verified && this.sent ? mschapv2Msk(this.password, this.sent.ntResponse) : undefined;
  }
}
