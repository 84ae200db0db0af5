/**
 * The engine's JSON event stream — one object per line on `homeward … --json`,
 * the same objects on the control socket and over Electron IPC.
 *
 * The `type` names and the fields the issues spell out are contracts other
 * tools rely on: keep them stable, extend them freely (add optional fields).
 */

export type Mode = 'c' | 'f' | 'mc' | 'detecting' | 'offline' | 'blocked';

export interface ModeEvent {
  type: 'mode';
  mode: Mode;
  trusted: boolean;
  /** care-of address in use (co-located CoA, FA CoA or the VPN TIA) */
  coa: string | null;
  hoa: string;
  reason?: string;
  /** the user's policy in force (UI: tray radio, status view) */
  policy?: Policy;
  /** the user's intent: true after connect, false after disconnect (offline can be either) */
  connected?: boolean;
}

export type Policy = 'automatic' | 'always-vpn';

/** What started a handover. */
export type HandoverTrigger = 'link' | 'vpn-lost' | 'registration-lost' | 'agent' | 'user' | 'policy' | 'retry';

/**
 * What the node knew of the network when traffic flowed again: `deciding`
 * = the i-HA has not answered yet and traffic flows through the VPN.
 */
export type HandoverTrust = 'trusted' | 'untrusted' | 'deciding';

/** One per move: emitted when user traffic flows again after being held. */
export interface HandoverEvent {
  type: 'handover';
  /** the mode traffic last flowed in */
  from: Mode;
  /** the mode traffic flows in again (mc while trust is still being decided) */
  to: Mode;
  /** time user traffic could not flow: from the hold (the network event) to the first packet released */
  gapMs: number;
  /** always set by the mobility controller (optional only for older recordings) */
  trigger?: HandoverTrigger;
  trust?: HandoverTrust;
}

export interface IkeSaEvent {
  type: 'ike-sa';
  state: 'connecting' | 'established' | 'rekeyed' | 'deleted' | 'failed';
  gateway: string;
  local?: string;
  tia?: string;
  ike?: string;
  esp?: string;
  spiI?: string;
  spiR?: string;
  natLocal?: boolean;
  natRemote?: boolean;
}

interface ChildSaFields {
  type: 'child-sa';
  spiIn: string;
  spiOut: string;
  esp: string;
}

/** installed and rekeyed carry the traffic selectors; deleted names the SPIs only */
export type ChildSaEvent =
  | (ChildSaFields & { state: 'installed' | 'rekeyed'; localTs: string[]; remoteTs: string[] })
  | (ChildSaFields & { state: 'deleted'; localTs?: string[]; remoteTs?: string[] });

export interface MobikeUpdateEvent {
  type: 'mobike-update';
  from: string;
  to: string;
  /** from the address event to the gateway's answer */
  ms: number;
  /** we are behind a NAT on the new path (what app/ikev2 reports) */
  natLocal?: boolean;
  /** the gateway is behind a NAT */
  natRemote?: boolean;
  /** older name of natLocal */
  nat?: boolean;
}

export interface LivenessEvent {
  type: 'liveness';
  state: 'ok' | 'failed';
  gateway: string;
  silentMs?: number;
}

export interface RegistrationEvent {
  type: 'registration';
  /**
   * expired: the binding's lifetime ran out; failing: replies keep being
   * dropped (see cause, hint); unverified-denial: a denial whose
   * authenticator does not verify (reported once per code, changes nothing)
   */
  state: 'accepted' | 'denied' | 'timeout' | 'deregistered' | 'expired' | 'failing' | 'unverified-denial';
  /** absent only on an unverified denial (the driver's, not the client's) */
  coa?: string;
  lifetime?: number;
  tnc?: boolean;
  code?: number;
  codeName?: string;
  udpTunnel?: boolean;
  via?: string;
  /** the home agent the registration went to (the i-HA) */
  homeAgent?: string;
  /** accepted: the data path's packet format */
  encapsulation?: 'ip-in-ip' | 'gre' | 'minimal';
  /** accepted: the RFC 3519 keepalive interval the home agent asked for */
  keepaliveSeconds?: number;
  /** failing: why replies are dropped, how often, after how many requests, what the user can change */
  cause?: 'identification-mismatch' | 'bad-authenticator' | 'unknown-spi';
  count?: number;
  tries?: number;
  hint?: string;
  spi?: number;
  /** unverified-denial: always false */
  authenticated?: boolean;
}

/** The home agent's clock or nonce differed (code 133): the registration client resynchronised. */
export interface RegistrationResyncEvent {
  type: 'registration-resync';
  replayProtection: 'timestamp' | 'nonce';
  offsetSeconds: number;
  message: string;
}

/** The home agent refused an option (encapsulation, UDP tunnelling, lifetime): the client asks again without it. */
export interface RegistrationFallbackEvent {
  type: 'registration-fallback';
  what: 'encapsulation' | 'udp-tunnel' | 'lifetime';
  from: string;
  to: string;
  code: number;
  codeName: string;
}

/** RFC 3519 keepalives went unanswered: the client re-registers. */
export interface KeepaliveLostEvent {
  type: 'keepalive-lost';
  unanswered: number;
}

/**
 * Mode mc (issue 17): the Mobile IP tunnel now runs in the VPN TUN's native data
 * plane (native: true, on `device`), or back in JavaScript through the kernel.
 */
export interface MipDataPathEvent {
  type: 'mip-data-path';
  native: boolean;
  device?: string;
}

/** `homeward mip`: the care-of address the registration follows (moved: not the first one). */
export interface CareOfEvent {
  type: 'care-of';
  coa: string;
  moved: boolean;
}

/** A driver's non-fatal trouble (a send failed, a tunnelled packet was refused, a socket could not be pinned). */
export interface WarningEvent {
  type: 'warning';
  /** UDP_SEND, DATA_PATH, TUNNEL_DROPPED */
  code: string;
  message: string;
  /** TUNNEL_DROPPED: the refusal reason and how many so far */
  reason?: string;
  count?: number;
}

/**
 * What the Mobile IP drivers report (app/io/mip-registration.ts, mip-tunnel.ts):
 * the registration client's events (app/mip4/registration-types.ts) and the
 * drivers' own. `homeward mip --json` prints them as they are.
 */
export type MipEvent = RegistrationEvent | RegistrationResyncEvent | RegistrationFallbackEvent | KeepaliveLostEvent | CareOfEvent | WarningEvent | MipDataPathEvent;

export interface CountersEvent {
  type: 'counters';
  tunIn: number;
  tunOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: Record<string, number>;
}

export interface LogEvent {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  ctx?: Record<string, string | number | boolean>;
}

export interface UiEvent {
  type: 'ui';
  url: string;
}

export interface ErrorEvent {
  type: 'error';
  /** named after the IKEv2 notify or the Mobile IP reply code, e.g. AUTHENTICATION_FAILED, MN_AUTH_FAILED */
  code: string;
  message: string;
  field?: string;
  fatal?: boolean;
}

/** The resolver now in force (issue 19); servers [] = the network's own resolver is back. */
export interface DnsEvent {
  type: 'dns';
  servers: string[];
  domains: string[];
  via: 'resolved' | 'resolv.conf';
}

/** A captive portal on the access link (issue 19): user traffic stays held until it is gone. */
export interface CaptivePortalEvent {
  type: 'captive-portal';
  /** the login page; absent once the portal lets us through */
  url?: string;
  state: 'detected' | 'cleared';
  iface?: string;
}

export type EngineEvent =
  | ModeEvent
  | HandoverEvent
  | IkeSaEvent
  | ChildSaEvent
  | MobikeUpdateEvent
  | LivenessEvent
  | RegistrationEvent
  | RegistrationResyncEvent
  | RegistrationFallbackEvent
  | KeepaliveLostEvent
  | CareOfEvent
  | WarningEvent
  | CountersEvent
  | LogEvent
  | UiEvent
  | DnsEvent
  | CaptivePortalEvent
  | ErrorEvent;

export type EngineEventType = EngineEvent['type'];

/** Commands a UI or the control socket may send to the engine. */
export type EngineCommand =
  | { cmd: 'connect' }
  | { cmd: 'disconnect' }
  | { cmd: 'set-policy'; policy: 'automatic' | 'always-vpn' }
  | { cmd: 're-detect' }
  | { cmd: 'snapshot' };
