/**
 * Typed extensions of registration messages (RFC 5944 §3.5 and the RFCs
 * that add to it): one union, one decoder that maps the generic list
 * (extensions.ts) onto the per-extension codecs, one encoder.
 *
 *   fixed part | ext | ext | ... | MN-HA auth | FA-only ext | MN-FA auth
 *
 * Unknown types 0–127 (and unknown Sub-Types of non-skippable short
 * extensions) throw UnknownExtensionError; unknown types ≥ 128 and unknown
 * Sub-Types of skippable ones come back as { kind: 'skipped' } with their bytes.
 */
import { ExtensionType } from './constants.ts';
import { decodeAuthExtension, encodeAuthExtension, type AuthExtension } from './auth-extension.ts';
import { decodeEdsExtension, encodeEdsExtension, type EdsExtension } from './eds-extension.ts';
import { decodeExtensionList, encodePad, type RawExtension } from './extensions.ts';
import { decodeNaiExtension, encodeNaiExtension, type NaiExtension } from './nai-extension.ts';
import { decodeTncExtension, encodeTncExtension, type TncExtension } from './tnc-extension.ts';
import {
  decodeUdpTunnelReply, decodeUdpTunnelRequest, encodeUdpTunnelReply, encodeUdpTunnelRequest,
  type UdpTunnelReplyExtension, type UdpTunnelRequestExtension,
} from './udp-tunnel-extensions.ts';

export interface PadExtension {
  kind: 'pad';
}

/** A skippable extension we do not understand, kept byte for byte. */
export interface SkippedExtension {
  kind: 'skipped';
  type: number;
  raw: Uint8Array;
}

export type RegistrationExtension =
  | PadExtension | AuthExtension | NaiExtension | UdpTunnelRequestExtension | UdpTunnelReplyExtension
  | TncExtension | EdsExtension | SkippedExtension;

export const RECOGNISED_REGISTRATION_EXTENSIONS: ReadonlySet<number> = new Set([
  ExtensionType.MnHaAuth, ExtensionType.MnFaAuth, ExtensionType.FaHaAuth, ExtensionType.UdpTunnelReply,
  ExtensionType.EncapsulatingDeliveryStyle, ExtensionType.Nai, ExtensionType.UdpTunnelRequest,
  ExtensionType.TrustedNetworksConfigured,
]);

/** The generic split with the types a registration message may carry. */
export function splitRegistrationExtensions(msg: Uint8Array, start: number): RawExtension[] {
  return decodeExtensionList(msg, start, { recognised: RECOGNISED_REGISTRATION_EXTENSIONS, what: 'registration extensions' });
}

export function decodeRegistrationExtension(raw: RawExtension): RegistrationExtension {
  const skipped = (): SkippedExtension => ({ kind: 'skipped', type: raw.type, raw: raw.raw.slice() });
  if (!raw.recognised) return skipped();
  switch (raw.type) {
    case ExtensionType.Pad: return { kind: 'pad' };
    case ExtensionType.MnHaAuth:
    case ExtensionType.MnFaAuth:
    case ExtensionType.FaHaAuth: return decodeAuthExtension(raw);
    case ExtensionType.Nai: return decodeNaiExtension(raw);
    case ExtensionType.UdpTunnelRequest: return decodeUdpTunnelRequest(raw) ?? skipped();
    case ExtensionType.UdpTunnelReply: return decodeUdpTunnelReply(raw);
    case ExtensionType.TrustedNetworksConfigured: return decodeTncExtension(raw) ?? skipped();
    case ExtensionType.EncapsulatingDeliveryStyle: return decodeEdsExtension(raw);
    default: return skipped();
  }
}

export function decodeRegistrationExtensions(msg: Uint8Array, start: number): RegistrationExtension[] {
  return splitRegistrationExtensions(msg, start).map(decodeRegistrationExtension);
}

export function encodeRegistrationExtension(e: RegistrationExtension): Uint8Array {
  switch (e.kind) {
    case 'pad': return encodePad();
    case 'auth': return encodeAuthExtension(e);
    case 'nai': return encodeNaiExtension(e);
    case 'udp-tunnel-request': return encodeUdpTunnelRequest(e);
    case 'udp-tunnel-reply': return encodeUdpTunnelReply(e);
    case 'tnc': return encodeTncExtension();
    case 'eds': return encodeEdsExtension();
    case 'skipped': return e.raw.slice();
  }
}
