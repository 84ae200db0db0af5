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
  /** failed: the IKEv2 notify (or our own code) it failed with */
  code?: string;
  /** deleted: why (the gateway's DELETE, ours, 'closed') */
  reason?: string;
}

/** A Child SA installed or rekeyed: its selectors as CIDR ranges. */
export interface ChildSaInstalledEvent {
  type: 'child-sa';
  state: 'installed' | 'rekeyed';
  spiIn: string;
  spiOut: string;
  esp: string;
  localTs: string[];
  remoteTs: string[];
}

/** A Child SA gone (the selectors are not repeated). */
export interface ChildSaDeletedEvent {
  type: 'child-sa';
  state: 'deleted';
  spiIn: string;
  spiOut: string;
  esp: string;
  localTs?: string[];
  remoteTs?: string[];
}

export type ChildSaEvent = ChildSaInstalledEvent | ChildSaDeletedEvent;

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
  /** the gateway's address on the new path */
  gateway?: string;
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
   * expired: an accepted binding ran out without a renewal; failing: replies
   * keep being dropped for a cause the user can fix (`cause`, `hint`)
   */
  state: 'accepted' | 'denied' | 'timeout' | 'expired' | 'deregistered' | 'failing';
  coa: string;
  lifetime?: number;
  tnc?: boolean;
  code?: number;
  codeName?: string;
  udpTunnel?: boolean;
  via?: string;
  /** accepted: the data path's format ('ip-in-ip' | 'gre' | 'minimal') */
  encapsulation?: string;
  /** accepted: the RFC 3519 keepalive interval granted, seconds */
  keepaliveSeconds?: number;
  /** failing: why replies are dropped ('identification-mismatch' | 'bad-authenticator' | 'unknown-spi') */
  cause?: string;
  /** failing: replies dropped for that cause so far, and requests sent in the attempt */
  count?: number;
  tries?: number;
  /** failing: what the user can change */
  hint?: string;
  /** failing: the SPI the dropped replies carried */
  spi?: number;
  /** the home agent the registration went to (the i-HA) */
  homeAgent?: string;
}

/**
 * A home agent's denial whose authenticator does not verify (app/io/mip-driver.ts):
 * it changes nothing, but its code is the best hint for the user (a wrong MN-HA
 * key looks exactly like this); reported once per code.
 */
export interface UnverifiedDenialEvent {
  type: 'registration';
  state: 'unverified-denial';
  code: number;
  authenticated: false;
  homeAgent?: string;
}

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
  /** context the IKE layer puts beside msg (ctx_reason, ctx_addresses, ctx_messages …) */
  [ctx: `ctx_${string}`]: string | number | boolean | string[] | undefined;
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
  | UnverifiedDenialEvent
  | CountersEvent
  | LogEvent
  | UiEvent
  | DnsEvent
  | CaptivePortalEvent
  | ErrorEvent;

export type EngineEventType = EngineEvent['type'];

/** What the IKE core (app/ikev2) and the VPN driver emit: a subset of the engine's events, passed on as they are. */
export type IkeEvent = IkeSaEvent | ChildSaEvent | MobikeUpdateEvent | LivenessEvent | LogEvent | ErrorEvent;

/** Commands a UI or the control socket may send to the engine. */
export type EngineCommand =
  | { cmd: 'connect' }
  | { cmd: 'disconnect' }
  | { cmd: 'set-policy'; policy: 'automatic' | 'always-vpn' }
  | { cmd: 're-detect' }
  | { cmd: 'snapshot' };
