/**
 * The EAP peer inside IKE_AUTH (RFC 3748 §2, RFC 7296 §2.16), sans-I/O:
 * each EAP payload the gateway sends goes in, the EAP payload to answer
 * (or the outcome) comes out.
 *
 *   Request/Identity      → Response/Identity (the profile's EAP identity)
 *   Request/Notification  → Response/Notification (empty, §5.2)
 *   Request/<our method>  → the method (eap-mschapv2.ts; eap-tls.ts with the driver's TLS engine)
 *   Request/<other type>  → Response/Nak naming our method (§5.3.1), once per method
 *   Success               → the method's MSK (only once the method has verified the gateway)
 *   Failure               → an error code a user can act on:
 *
 *   EAP_WRONG_PASSWORD      MS-CHAPv2 error 691 (a gateway cannot tell a wrong
 *                           password from an unknown name there: strongSwan
 *                           answers 691 to both), or Failure right after our
 *                           NT-Response without an MS-CHAPv2 error (FreeRADIUS
 *                           with its default send_error = no)
 *   EAP_UNKNOWN_USER        Failure right after our identity, before any method ran
 *   EAP_ACCOUNT_PROBLEM     MS-CHAPv2 errors 646–649 (hours, disabled, expired, no dial-in)
 *   EAP_CERT_REJECTED       EAP-TLS: the server sent a fatal alert, or Failure after the handshake
 *   EAP_METHOD_NOT_OFFERED  we Nak'd its method and it has none of ours, or it never offered ours
 *   EAP_GATEWAY_UNVERIFIED  the gateway failed the method's proof (MS-CHAPv2 AuthenticatorResponse)
 *   EAP_FAILED              anything else (malformed EAP, a method error)
 *
 * Nothing secret appears in a message: not the password, not the challenge.
 */
import { DecodeError, utf8 } from '../base/bytes.ts';
import { EapCode, EapType, decodeEap, describeEap, encodeEap } from './eap-message.ts';
import type { EapPacket } from './eap-message.ts';
import { EapMsChapV2, MsChapOp } from './eap-mschapv2.ts';
import type { MsChapFailure } from './eap-mschapv2.ts';
import { EapTlsPeer } from './eap-tls.ts';
import type { TlsEngineResult } from './eap-tls.ts';

/** EAP-TLS's certificate, key and the TLS engine live in the driver (app/io/eap-tls-engine.ts). */
export type EapMethodConfig =
  | { method: 'mschapv2'; identity: string; password: string }
  | { method: 'tls'; identity: string };

export type EapErrorCode =
  | 'EAP_WRONG_PASSWORD' | 'EAP_UNKNOWN_USER' | 'EAP_ACCOUNT_PROBLEM' | 'EAP_CERT_REJECTED' | 'EAP_METHOD_NOT_OFFERED'
  | 'EAP_GATEWAY_UNVERIFIED' | 'EAP_FAILED';

export type EapStep =
  | { kind: 'respond'; message: Uint8Array; what: string }
  /** EAP-TLS: give `input` to the TLS engine (null: start), then call engineResult() */
  | { kind: 'engine'; input: Uint8Array | null }
  | { kind: 'success'; msk: Uint8Array }
  | { kind: 'failed'; code: EapErrorCode; message: string };

const METHOD_TYPE = { mschapv2: EapType.MsChapV2, tls: EapType.Tls } as const;
const METHOD_NAME = { mschapv2: 'EAP-MSCHAPv2', tls: 'EAP-TLS' } as const;

const ACCOUNT: Readonly<Record<string, string>> = {
  'account-disabled': 'the account is disabled', 'password-expired': 'the password has expired',
  'no-permission': 'the account has no permission to connect', 'restricted-hours': 'the account may not sign in at this time',
};

export class EapPeer {
  private readonly mschap?: EapMsChapV2;
  private readonly tls?: EapTlsPeer;
  /** Identifier of the request the engine is working on */
  private engineId = 0;
  private methodStarted = false;
  /** our MS-CHAPv2 Response (the NT-Response) went out, and no Success/Failure request came since */
  private answeredChallenge = false;
  private nakked: number[] = [];
  private methodFailure?: { code: EapErrorCode; message: string };
  /** EAP messages seen and sent, by name, for the `eap` event (no contents). */
  readonly trace: string[] = [];

  constructor(private readonly cfg: EapMethodConfig, random: (n: number) => Uint8Array) {
    if (cfg.method === 'mschapv2') this.mschap = new EapMsChapV2(cfg.identity, cfg.password, random);
    else this.tls = new EapTlsPeer();
  }

  get methodName(): string {
    return METHOD_NAME[this.cfg.method];
  }

  /** One EAP message from the gateway. Never throws. */
  process(bytes: Uint8Array): EapStep {
    let p: EapPacket;
    try {
      p = decodeEap(bytes);
    } catch (e) {
      return { kind: 'failed', code: 'EAP_FAILED', message: `malformed EAP message from the gateway: ${(e as Error).message}` };
    }
    this.trace.push(describeEap(p));
    try {
      return this.step(p);
    } catch (e) {
      if (e instanceof DecodeError) return { kind: 'failed', code: 'EAP_FAILED', message: `malformed ${this.methodName} message: ${e.message}` };
      throw e;
    }
  }

  private respond(id: number, type: number, data: Uint8Array): EapStep {
    const packet: EapPacket = { code: EapCode.Response, id, type, data };
    this.trace.push(describeEap(packet));
    return { kind: 'respond', message: encodeEap(packet), what: describeEap(packet) };
  }

  private step(p: EapPacket): EapStep {
    if (p.code === EapCode.Success) return this.success();
    if (p.code === EapCode.Failure) return this.failure();
    if (p.code !== EapCode.Request) return { kind: 'failed', code: 'EAP_FAILED', message: `the gateway sent an EAP ${EapCode[p.code]}` };
    const ours = METHOD_TYPE[this.cfg.method];
    if (p.type === EapType.Identity) return this.respond(p.id, EapType.Identity, utf8(this.cfg.identity));
    if (p.type === EapType.Notification) return this.respond(p.id, EapType.Notification, new Uint8Array(0));
    if (p.type !== ours) {
      if (this.methodStarted || this.nakked.includes(p.type)) {
        return { kind: 'failed', code: 'EAP_METHOD_NOT_OFFERED', message: `the gateway insists on ${EapType[p.type] ?? `EAP type ${p.type}`}; this profile uses ${this.methodName}` };
      }
      this.nakked.push(p.type);
      return this.respond(p.id, EapType.Nak, Uint8Array.of(ours));
    }
    this.methodStarted = true;
    if (this.tls) {
      const t = this.tls.process(p.data);
      if (t.kind === 'respond') return this.respond(p.id, ours, t.data);
      this.engineId = p.id;
      return t;
    }
    const r = this.mschap!.process(p.data);
    this.answeredChallenge = r.kind === 'respond' && r.data[0] === MsChapOp.Response;
    if (r.kind === 'gateway-unverified') return { kind: 'failed', code: 'EAP_GATEWAY_UNVERIFIED', message: r.message };
    if (r.kind === 'failed') this.methodFailure = this.mschapFailure(r.failure);
    return this.respond(p.id, ours, r.data);
  }

  /** The TLS engine's answer to the last `engine` step. */
  engineResult(r: TlsEngineResult): EapStep {
    if (!this.tls) return { kind: 'failed', code: 'EAP_FAILED', message: 'TLS engine result without EAP-TLS' };
    if (r.error) {
      const failure = r.error.byPeer
        ? { code: 'EAP_CERT_REJECTED' as const, message: `the gateway refused our certificate in EAP-TLS (${r.error.message})` }
        : { code: 'EAP_GATEWAY_UNVERIFIED' as const, message: `the gateway's EAP-TLS certificate did not verify (${r.error.message})` };
      this.trace.push(`TLS error`);
      return { kind: 'failed', ...failure };
    }
    return this.respond(this.engineId, EapType.Tls, this.tls.engineOutput(r));
  }

  private mschapFailure(f: MsChapFailure): { code: EapErrorCode; message: string } {
    const said = f.text ? ` (the server said: ${JSON.stringify(f.text.slice(0, 200))})` : '';
    if (f.reason === 'wrong-password') {
      return { code: 'EAP_WRONG_PASSWORD', message: `the gateway rejected the user name or password for ${JSON.stringify(this.cfg.identity)} (MS-CHAPv2 error 691)${said}` };
    }
    if (f.reason !== 'other') return { code: 'EAP_ACCOUNT_PROBLEM', message: `sign-in refused: ${ACCOUNT[f.reason]} (MS-CHAPv2 error ${f.error})${said}` };
    return { code: 'EAP_FAILED', message: `EAP-MSCHAPv2 failed with error ${f.error}${said}` };
  }

  private success(): EapStep {
    const msk = this.mschap ? this.mschap.msk() : this.tls!.msk();
    if (msk === undefined) {
      return { kind: 'failed', code: 'EAP_GATEWAY_UNVERIFIED', message: `EAP Success before ${this.methodName} proved the gateway's identity` };
    }
    return { kind: 'success', msk };
  }

  private failure(): EapStep {
    if (this.methodFailure) return { kind: 'failed', ...this.methodFailure };
    if (this.nakked.length > 0 && !this.methodStarted) {
      const offered = this.nakked.map((t) => EapType[t] ?? `type ${t}`).join(', ');
      return { kind: 'failed', code: 'EAP_METHOD_NOT_OFFERED', message: `the gateway does not offer ${this.methodName} (it offered ${offered})` };
    }
    if (!this.methodStarted) {
      return { kind: 'failed', code: 'EAP_UNKNOWN_USER', message: `the gateway refused the EAP identity ${JSON.stringify(this.cfg.identity)} before any sign-in method ran (unknown user?)` };
    }
    if (this.tls) return { kind: 'failed', code: 'EAP_CERT_REJECTED', message: 'the gateway ended EAP-TLS with EAP Failure: it did not accept our certificate' };
    if (this.answeredChallenge) {
      return { kind: 'failed', code: 'EAP_WRONG_PASSWORD', message: `the gateway rejected the user name or password for ${JSON.stringify(this.cfg.identity)} (EAP Failure after our MS-CHAPv2 response)` };
    }
    return { kind: 'failed', code: 'EAP_FAILED', message: `the gateway ended ${this.methodName} with EAP Failure` };
  }
}
