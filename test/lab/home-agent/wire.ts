/**
 * The reference agents' view of the wire: thin helpers over Homeward's
 * Mobile IPv4 codecs (app/wire/mip4, app/wire/ip), shaped for the home agent's
 * order of checks. The lab tests check the agents' bytes independently
 * (node:crypto HMAC-MD5, tshark), so sharing the codecs does not make the
 * tests circular.
 */
import { Encapsulation, ExtensionType, MipMessageType, NTP_UNIX_OFFSET as NTP_OFFSET, RrqFlag as Flag } from '../../../app/wire/mip4/constants.ts';
import { appendMnHaAuth, mnHaAuthenticator as hmacMd5, verifyMnHaAuth } from '../../../app/wire/mip4/auth.ts';
import type { RegistrationExtension } from '../../../app/wire/mip4/registration-extension.ts';
import { encodeRegistrationReply } from '../../../app/wire/mip4/registration-reply.ts';
import { decodeRegistrationRequest } from '../../../app/wire/mip4/registration-request.ts';
import { decodeTunnelData as decodeTd, encodeTunnelData as encodeTd, type TunnelNextHeader } from '../../../app/wire/mip4/tunnel-data.ts';
import { ipInIpEncapsulate as encapsulate } from '../../../app/wire/ip/ip-in-ip.ts';

export const NTP_UNIX_OFFSET = NTP_OFFSET;
export const RrqFlag = {
  S: Flag.SimultaneousBindings, B: Flag.Broadcast, D: Flag.Decapsulation, M: Flag.MinimalEncapsulation,
  G: Flag.GreEncapsulation, r: Flag.Reserved, T: Flag.ReverseTunnel, x: Flag.ReservedX,
} as const;
export const MipType = { RegistrationRequest: MipMessageType.RegistrationRequest, RegistrationReply: MipMessageType.RegistrationReply, TunnelData: MipMessageType.TunnelData } as const;
export const Ext = { MnHaAuth: ExtensionType.MnHaAuth, Nai: ExtensionType.Nai, UdpTunnelRequest: ExtensionType.UdpTunnelRequest, Tnc: ExtensionType.TrustedNetworksConfigured } as const;

export function ntpSeconds(wallMs: number): number {
  return Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET;
}

export const mnHaAuthenticator = hmacMd5;

export interface Rrq {
  flags: number;
  lifetime: number;
  homeAddress: string;
  homeAgent: string;
  careOfAddress: string;
  identification: bigint;
  nai?: string;
  udpTunnelRequest?: { force: boolean; r: boolean; encapsulation: number; reserved: number };
}

/** Malformed requests and unknown extensions 0–127 come back as a reason to drop (RFC 5944 §1.9). */
export function decodeRrq(msg: Uint8Array): { ok: true; rrq: Rrq } | { ok: false; reason: string } {
  try {
    const m = decodeRegistrationRequest(msg);
    const rrq: Rrq = {
      flags: m.flags, lifetime: m.lifetime, homeAddress: m.homeAddress, homeAgent: m.homeAgent,
      careOfAddress: m.careOfAddress, identification: m.identification,
    };
    for (const e of m.extensions) {
      if (e.kind === 'nai') rrq.nai = e.nai;
      if (e.kind === 'udp-tunnel-request') {
        rrq.udpTunnelRequest = { force: e.force, r: e.registrationThroughFa, encapsulation: e.encapsulation, reserved: e.reserved3 ?? 0 };
      }
    }
    return { ok: true, rrq };
  } catch (e) {
    return { ok: false, reason: `malformed: ${(e as Error).message}` };
  }
}

/** Exactly one MN-HA extension, with this SPI and a valid HMAC-MD5 (RFC 5944 §3.6.1.3, §3.8.2.1). */
export function verifyMnHa(msg: Uint8Array, spi: number, key: Uint8Array): { ok: true } | { ok: false; reason: string } {
  const v = verifyMnHaAuth(msg, spi, key);
  return v.ok ? { ok: true } : { ok: false, reason: `${v.reason}: ${v.detail}` };
}

export interface ReplyFields {
  code: number;
  lifetime: number;
  homeAddress: string;
  homeAgent: string;
  identification: bigint;
  nai?: string;
  udpTunnelReply?: { code: number; keepalive: number };
  tnc: boolean;
}

/** A Registration Reply: NAI, UDP Tunnel Reply and TNC, then the MN-HA extension last (when the SA is known). */
export function buildReply(f: ReplyFields, spi: number | undefined, key: Uint8Array | undefined): Uint8Array {
  const extensions: RegistrationExtension[] = [];
  if (f.nai !== undefined) extensions.push({ kind: 'nai', nai: f.nai });
  if (f.udpTunnelReply) extensions.push({ kind: 'udp-tunnel-reply', code: f.udpTunnelReply.code, forced: false, keepaliveSeconds: f.udpTunnelReply.keepalive });
  if (f.tnc) extensions.push({ kind: 'tnc' });
  const bytes = encodeRegistrationReply({ code: f.code, lifetime: f.lifetime, homeAddress: f.homeAddress, homeAgent: f.homeAgent, identification: f.identification, extensions });
  return spi === undefined || key === undefined ? bytes : appendMnHaAuth(bytes, spi, key);
}

/**
 * Lab only: a reply broken one way, for the MN's diagnosis — "identification": the low
 * 32 bits are not the request's; "authenticator": one HMAC bit flipped; "spi": a correct
 * HMAC under another SPI.
 */
export function breakReply(f: ReplyFields, spi: number, key: Uint8Array, fault: 'identification' | 'authenticator' | 'spi'): Uint8Array {
  if (fault === 'identification') return buildReply({ ...f, identification: f.identification ^ 0x5a5a5a5an }, spi, key);
  if (fault === 'spi') return buildReply(f, (spi + 1) >>> 0, key);
  const out = buildReply(f, spi, key);
  out[out.length - 1]! ^= 0x01;
  return out;
}

/** RFC 3519 §3.3 tunnel data. */
export function encodeTunnelData(nextHeader: number, payload: Uint8Array): Uint8Array {
  return encodeTd({ nextHeader: nextHeader as TunnelNextHeader, payload });
}

export function decodeTunnelData(msg: Uint8Array): { nextHeader: number; payload: Uint8Array } {
  return decodeTd(msg);
}

/** RFC 2003: TOS and DF copied from the inner header. */
export function ipInIpEncapsulate(inner: Uint8Array, src: string, dst: string): Uint8Array {
  return encapsulate(inner, { src, dst });
}

export { Encapsulation };
