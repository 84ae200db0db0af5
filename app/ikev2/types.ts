/**
 * The IKE SA core's contract with its driver (quinn-style, STYLE.md §4):
 *
 *   inputs   handleDatagram(d, now) · handleCommand(c, now) · handleTimeout(now)
 *   outputs  pollTransmit() → Transmit · pollEffect() → Effect · nextTimeout()
 *
 * Everything here is a plain value. Effects may carry key material (the
 * driver needs it to install ESP SAs); events never do.
 */
import type { Prefix } from '../base/ipv4.ts';
import type { ChildSaEvent, ErrorEvent, IkeSaEvent, LivenessEvent, LogEvent, MobikeUpdateEvent } from '../events.ts';
import type { EapMethodConfig } from '../eap/eap-peer.ts';
import type { TlsEngineResult } from '../eap/eap-tls.ts';
import type { LocalCredential, TrustAnchor } from './cert-auth.ts';
import type { CipherSuite } from './crypto-adapter.ts';

export interface Endpoint {
  addr: string;
  port: number;
}

export interface Datagram {
  /** UDP payload as received (on 4500 still with the non-ESP marker). */
  bytes: Uint8Array;
  local: Endpoint;
  remote: Endpoint;
}

/** UDP payload to send; on port 4500 IKE messages carry the 4-byte non-ESP marker. */
export type Transmit = Datagram;

export type Command =
  | { type: 'connect' }
  | { type: 'disconnect' }
  | { type: 'dpd-now' }
  | { type: 'rekey-child' }
  | { type: 'rekey-ike' }
  /** MOBIKE: our address towards the gateway is now localAddr (addresses: all our usable ones); eventAt: when the kernel said so. */
  | { type: 'roam'; localAddr: string; addresses?: string[]; eventAt?: number }
  /** MOBIKE: our usable addresses changed (announced as ADDITIONAL_IP4_ADDRESS). */
  | { type: 'addresses'; addresses: string[] }
  /** EAP-TLS: the driver's TLS engine answered the last `eap-tls` effect (carries the MSK when done) */
  | ({ type: 'eap-tls-output' } & TlsEngineResult);

/** A traffic selector range as the engine uses it. */
export interface TsRange {
  start: string;
  end: string;
}

/** One direction's ESP keys. */
export interface EspKeys {
  encr: Uint8Array;
  integ: Uint8Array;
}

export interface ChildSaInfo {
  /** Our inbound SPI (we chose it) and the peer's (our outbound). */
  spiIn: number;
  spiOut: number;
  suite: CipherSuite;
  /** strongSwan-style name of the ESP proposal, e.g. "aes256gcm16". */
  suiteName: string;
  keysIn: EspKeys;
  keysOut: EspKeys;
  localTs: TsRange[];
  remoteTs: TsRange[];
}

/** IKE keys for the debug key log (tshark's ikev2_decryption_table). */
export interface IkeKeyLog {
  spiI: Uint8Array;
  spiR: Uint8Array;
  skEi: Uint8Array;
  skEr: Uint8Array;
  skAi: Uint8Array;
  skAr: Uint8Array;
  suite: CipherSuite;
}

/**
 * The events the IKE core emits: members of the engine's event union
 * (app/events.ts), as they go out on `--json` and the control socket. The
 * names and shapes are a contract; the extra fields below are what the core
 * adds to the engine's members.
 */
export type IkeEvent =
  /** failed: `code` (as in the error event); deleted: `reason` ('closed' or who deleted it) */
  | (IkeSaEvent & { code?: string; reason?: string })
  | ChildSaEvent
  /** `gateway`: the gateway address of the new path */
  | (MobikeUpdateEvent & { gateway?: string })
  | LivenessEvent
  | ErrorEvent
  /** context flattened into `ctx_<name>` fields */
  | (LogEvent & { [ctx: `ctx_${string}`]: string | number | boolean | string[] | undefined });

/** @deprecated the old name of IkeEvent */
export type IkeEventJson = IkeEvent;

export type Effect =
  /**
   * delayOutbound (we answered the peer's rekey): keep sending on the old SA
   * until the peer shows it has the new one (traffic arrives on it, or the old
   * one is deleted) — our answer may still be in flight, and a packet on an
   * SPI the peer has not installed yet is lost (RFC 7296 §2.8).
   */
  | { type: 'install-child-sa'; child: ChildSaInfo; rekeyOf?: number; delayOutbound?: boolean }
  | { type: 'remove-child-sa'; spiIn: number; spiOut: number }
  | { type: 'set-tia'; address: string; dns: string[]; /** RFC 8598 split-DNS domains */ domains: string[] }
  /** IKE and ESP now use this path; encap = ESP in UDP (always, here); natLocal = send keepalives. */
  | { type: 'path'; local: Endpoint; remote: Endpoint; encap: boolean; natLocal: boolean; natRemote: boolean }
  | { type: 'keylog-ike'; keys: IkeKeyLog }
  /** EAP-TLS: feed these TLS bytes to the engine (null: start a handshake), answer with `eap-tls-output` */
  | { type: 'eap-tls'; input: Uint8Array | null }
  | { type: 'event'; event: IkeEvent }
  /** The IKE SA is gone: error set when it failed (code named after the IKEv2 notify). */
  | { type: 'closed'; error?: { code: string; message: string } };

export interface IkeSaConfig {
  gateway: string;
  /** The local address and the ports our sockets are bound to. */
  localAddr: string;
  ikePort: number;
  nattPort: number;
  /** The gateway's IKE port (500). */
  remotePort: number;
  localId: string;
  remoteId: string;
  psk: Uint8Array;
  /** Certificate authentication instead of the PSK (RFC 7296 §2.15, RFC 7427). */
  cert?: { credential: LocalCredential; anchors: TrustAnchor[] };
  /**
   * EAP instead of our own AUTH (RFC 7296 §2.16): the gateway signs with its
   * certificate (checked against `anchors`), we answer with EAP and then an
   * AUTH keyed with the EAP MSK. eapOnly: offer RFC 5998 (the gateway may
   * then skip its certificate; only mutual methods are used).
   */
  eap?: { method: EapMethodConfig; anchors: TrustAnchor[]; eapOnly: boolean };
  /** Wall-clock ms = now + wallOffsetMs (certificate validity checks only). */
  wallOffsetMs?: number;
  /** strongSwan proposal strings. */
  ike: string;
  esp: string;
  remoteTs: Prefix[];
  requestDns: boolean;
  retransmitBaseMs: number;
  retransmitTries: number;
  /** retransmissions back off by 1.8 up to this interval (default 60 s) */
  retransmitCapMs?: number;
  dpdSeconds: number;
  natKeepaliveSeconds: number;
  mobike: boolean;
  /** MOBIKE: send NO_NATS_ALLOWED with UPDATE_SA_ADDRESSES (RFC 4555 §3.9). */
  noNatsAllowed?: boolean;
  /** MOBIKE: our other addresses at IKE_AUTH (ADDITIONAL_IP4_ADDRESS). */
  additionalAddrs?: string[];
  /** Rekey the Child SA ourselves every this many seconds (vpn.rekeySeconds), up to 10 % early (jitter). */
  rekeySeconds?: number;
  /** Rekey the IKE SA ourselves every this many seconds (vpn.ikeRekeySeconds), up to 10 % early (jitter). */
  ikeRekeySeconds?: number;
}

/** Counters of what was dropped and why (never crashes). */
export interface IkeStats {
  rxMessages: number;
  txMessages: number;
  retransmits: number;
  dropped: Record<string, number>;
}
