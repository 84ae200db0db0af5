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

export interface HandoverEvent {
  type: 'handover';
  from: Mode;
  to: Mode;
  /** time without user traffic, from the network event until traffic flows again */
  gapMs: number;
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

export interface ChildSaEvent {
  type: 'child-sa';
  state: 'installed' | 'rekeyed' | 'deleted';
  spiIn: string;
  spiOut: string;
  esp: string;
  localTs: string[];
  remoteTs: string[];
}

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
  state: 'accepted' | 'denied' | 'timeout' | 'deregistered';
  coa: string;
  lifetime?: number;
  tnc?: boolean;
  code?: number;
  codeName?: string;
  udpTunnel?: boolean;
  via?: string;
  /** the home agent the registration went to (the i-HA) */
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

export type EngineEvent =
  | ModeEvent
  | HandoverEvent
  | IkeSaEvent
  | ChildSaEvent
  | MobikeUpdateEvent
  | LivenessEvent
  | RegistrationEvent
  | CountersEvent
  | LogEvent
  | UiEvent
  | ErrorEvent;

export type EngineEventType = EngineEvent['type'];

/** Commands a UI or the control socket may send to the engine. */
export type EngineCommand =
  | { cmd: 'connect' }
  | { cmd: 'disconnect' }
  | { cmd: 'set-policy'; policy: 'automatic' | 'always-vpn' }
  | { cmd: 're-detect' }
  | { cmd: 'snapshot' };
