/**
 * The one gate every Registration Reply passes before anything in it is
 * acted on (RFC 5944 §3.5, §3.6.2.1, §3.8.3; RFC 5265 §3.4; RFC 3519 §3.2):
 *
 *   decode ──► verify the MN-HA authenticator ──► keep only what it covers
 *
 *   | fixed part | ext | ext | MN-HA auth (SPI ‖ HMAC) | FA-only ext | MN-FA auth |
 *   |<------------ covered ---------------->|            not covered: ignored
 *
 * Only the extensions *before* the MN-HA authentication extension are
 * protected by its HMAC; anything after it (added by a foreign agent, or by
 * anyone on the path) is returned apart as `uncovered` and must never drive
 * trust (TNC), tunnelling (UDP Tunnel Reply) or any other decision.
 *
 * A reply without a MN-HA authenticator is accepted only as a foreign-agent
 * denial (codes 64–127, 193–200) while registering through that foreign
 * agent and only from its address: RFC 5944 §3.7.3 has the FA deny without
 * the MN-HA key. Such a reply is `authenticated: false` and has no trusted
 * extensions. In co-located mode there is no FA on the path, so the same
 * codes without a valid authenticator are noise and are dropped.
 */
import { DecodeError } from '../base/bytes.ts';
import { verifyAuthOver } from '../wire/mip4/auth.ts';
import { ExtensionType, REGISTRATION_REPLY_FIXED_LENGTH, replyCodeSource } from '../wire/mip4/constants.ts';
import { UnknownExtensionError, type RawExtension } from '../wire/mip4/extensions.ts';
import { decodeRegistrationExtension, splitRegistrationExtensions, type RegistrationExtension } from '../wire/mip4/registration-extension.ts';
import { decodeRegistrationReply, type RegistrationReply } from '../wire/mip4/registration-reply.ts';
import type { DropReason } from './registration-types.ts';

export interface ReplyAuthContext {
  spi: number;
  key: Uint8Array;
  homeAddress: string;
  /** The foreign agent we registered through; undefined in co-located mode. */
  via?: string;
  /** The reply's IP source. */
  from: string;
}

export type OpenedReply = {
  ok: true;
  /** The fixed part; `extensions` holds only the covered extensions (empty when not authenticated). */
  reply: RegistrationReply;
  /** true when a valid MN-HA authenticator covers `reply`. */
  authenticated: boolean;
  /** Extensions after the MN-HA authenticator: for the FA's own purposes, never acted on here. */
  uncovered: RegistrationExtension[];
};

export type ReplyRejection = { ok: false; reason: DropReason; detail: string };

/** Decode, verify, and cut the reply down to what its authenticator covers. Bad input is a rejection, never a throw. */
export function openRegistrationReply(bytes: Uint8Array, ctx: ReplyAuthContext): OpenedReply | ReplyRejection {
  let fixed: RegistrationReply;
  let raws: RawExtension[];
  let decoded: RegistrationExtension[];
  try {
    fixed = decodeRegistrationReply(bytes);
    raws = splitRegistrationExtensions(bytes, REGISTRATION_REPLY_FIXED_LENGTH);
    decoded = raws.map(decodeRegistrationExtension);
  } catch (e) {
    if (e instanceof UnknownExtensionError) return { ok: false, reason: 'unknownExt', detail: e.message };
    if (e instanceof DecodeError) return { ok: false, reason: 'malformed', detail: e.message };
    throw e; // not bad input but a bug: left visible (the fuzzers look for exactly these)
  }
  const authIndex = raws.findIndex((r) => r.type === ExtensionType.MnHaAuth);
  if (authIndex < 0) {
    const src = replyCodeSource(fixed.code);
    const faDenial = src === 'foreign-agent' || src === 'gateway-foreign-agent';
    if (!faDenial) return { ok: false, reason: 'auth', detail: `code ${fixed.code} without a MN-HA authenticator` };
    if (ctx.via === undefined) return { ok: false, reason: 'auth', detail: `foreign-agent code ${fixed.code} while registered co-located (no FA on the path)` };
    if (ctx.from !== ctx.via) return { ok: false, reason: 'auth', detail: `foreign-agent code ${fixed.code} from ${ctx.from}, not from our FA ${ctx.via}` };
    if (fixed.homeAddress !== ctx.homeAddress) return { ok: false, reason: 'malformed', detail: `home address ${fixed.homeAddress} is not ours` };
    return { ok: true, reply: { ...fixed, extensions: [] }, authenticated: false, uncovered: decoded };
  }
  const v = verifyAuthOver(bytes, raws, ExtensionType.MnHaAuth, ctx.spi, ctx.key);
  if (!v.ok) return { ok: false, reason: v.reason === 'duplicate' ? 'duplicateAuth' : 'auth', detail: v.detail };
  if (fixed.homeAddress !== ctx.homeAddress) return { ok: false, reason: 'malformed', detail: `home address ${fixed.homeAddress} is not ours` };
  return {
    ok: true,
    reply: { ...fixed, extensions: decoded.slice(0, authIndex) },
    authenticated: true,
    uncovered: decoded.slice(authIndex + 1),
  };
}
