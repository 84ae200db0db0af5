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
export type HandoverTrigger = 'link' | 'vpn-lost' | 'registration-lost' | 'agent' | 'user' | 'policy' | 'retry' | 'resume';

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

/**
 * Is the gateway still there? From the IKE core (`ok`: a DPD answered;
 * `failed`: one went unanswered; `suspect`: an unprotected INVALID_IKE_SPI
 * came back) and, with `reason`, from the engine's quick checks
 * (docs/ENGINE.md, "Recovery"): `suspect` says why and what is done,
 * `ok` / `failed` / `replaced` how it ended and after how many `ms`.
 */
export interface LivenessEvent {
  type: 'liveness';
  /** replaced: the new IKE SA prepared beside the check was up first */
  state: 'ok' | 'failed' | 'suspect' | 'replaced';
  gateway: string;
  silentMs?: number;
  /** what made the SA suspect: ESP sent with nothing back, a resume, INVALID_IKE_SPI */
  reason?: LivenessReason;
  /** suspect: what is done — a DPD with short retransmissions, and/or a new IKE SA prepared beside it */
  action?: 'dpd' | 'dpd+new-sa' | 'mobike+new-sa' | 'new-sa';
  /** ok / failed / replaced: ms since the check began */
  ms?: number;
}

export type LivenessReason = 'one-sided' | 'resume' | 'invalid-ike-spi';

/** The engine noticed a suspend or a frozen process (docs/ENGINE.md, "Recovery"). */
export interface ResumeEvent {
  type: 'resume';
  /** how long it was away: the jump of CLOCK_BOOTTIME or of the monotonic clock beyond its tick */
  sleptMs: number;
  /** suspend: the boot-time clock jumped (the machine slept); freeze: the monotonic one did (SIGSTOP, a stalled VM) */
  kind: 'suspend' | 'freeze';
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
 * The Mobile IP binding's liveness (issue 18): one story per suspicion, e.g.
 *
 *   {"type":"liveness","what":"binding","state":"suspect","reason":"one-sided","silentMs":1010,"action":"refresh"}
 *   {"type":"registration","state":"accepted",…}
 *   {"type":"liveness","what":"binding","state":"ok","reason":"one-sided","action":"refresh","result":"accepted","ms":35}
 *   {"type":"liveness","what":"binding","state":"ok","reason":"one-sided","result":"inbound-resumed","silentMs":1870}
 *
 * `reason`: what made the binding suspect — `one-sided` (tunnelled packets
 * went out, none came back for mip.livenessMs) or the reason the engine gave
 * MipDriver.refreshBinding (e.g. `resume`). `action`: what was done (`refresh`:
 * re-registered at once). `result`: how it ended (the refresh's registration
 * outcome, then `inbound-resumed` when traffic comes back).
 */
export interface BindingLivenessEvent {
  type: 'liveness';
  what: 'binding';
  state: 'suspect' | 'ok' | 'failed';
  reason: string;
  action?: 'refresh';
  result?: 'accepted' | 'denied' | 'timeout' | 'expired' | 'inbound-resumed';
  /** suspect: how long outbound went unanswered; inbound-resumed: how long inbound was silent */
  silentMs?: number;
  /** the refresh's outcome: from the refresh to its outcome */
  ms?: number;
  coa?: string;
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
export type MipEvent = RegistrationEvent | RegistrationResyncEvent | RegistrationFallbackEvent | KeepaliveLostEvent | CareOfEvent | WarningEvent | BindingLivenessEvent | MipDataPathEvent;

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
  | ResumeEvent
  | RegistrationEvent
  | RegistrationResyncEvent
  | RegistrationFallbackEvent
  | KeepaliveLostEvent
  | BindingLivenessEvent
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
