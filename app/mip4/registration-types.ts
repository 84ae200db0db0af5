/**
 * The registration client's vocabulary: configuration, commands, transmits,
 * events, counters and the binding (see registration.ts for the behaviour).
 */
import type { Instant } from '../base/clock.ts';
import type { Profile } from '../config/profile.ts';
import type { IdentificationSource, RandomBytes } from './identification.ts';

export type EncapsulationPreference = 'ip-in-ip' | 'gre' | 'minimal';
export type UdpTunnelMode = 'off' | 'request' | 'force';

export interface RegistrationConfig {
  homeAddress: string;
  homeAgent: string;
  nai?: string;
  spi: number;
  key: Uint8Array;
  /** Requested lifetime, seconds (1..65535; 65535 = infinite). */
  lifetimeSeconds: number;
  /** T bit (RFC 3024). Always set when UDP tunnelling is requested (RFC 3519 §3.1.5). */
  reverseTunnel: boolean;
  encapsulation: EncapsulationPreference;
  /** RFC 3519 UDP Tunnel Request (co-located CoA only); 'force' sets F. */
  udpTunnel: UdpTunnelMode;
  /** K: seconds without sending to the HA before a keepalive (default 110, never below 10). */
  keepaliveSeconds?: number;
  /** Wait for a keepalive's echo reply before sending the next one (default 5 s). */
  keepaliveRetryMs?: number;
  /** Unanswered keepalives before re-registering (default 3). */
  keepaliveMaxUnanswered?: number;
  /** First retransmission timeout (≥ 1000 ms, default 1000), doubling, capped (default 32 s, never above the lifetime). */
  retransmitInitialMs?: number;
  retransmitCapMs?: number;
  /** Requests per attempt before a 'timeout' event (default 5); retrying continues at the cap. */
  maxTries?: number;
  /**
   * A `refresh` (a binding suspected lost: the home agent restarted, the laptop woke up) is
   * retransmitted sooner: first after this many ms (default 200), doubling up to
   * `refreshRetransmitCapMs` (default 1000), for `refreshTries` requests (default 10, ≈ 8 s)
   * before its 'timeout'; then the ordinary back-off.
   */
  refreshRetransmitMs?: number;
  refreshRetransmitCapMs?: number;
  refreshTries?: number;
  /** Re-register at this fraction of the granted lifetime (default 0.8). */
  reregisterFraction?: number;
  /** Code 133 resynchronisations per attempt (default 2). */
  maxResyncs?: number;
  /** RFC 5944 §5.7: timestamps (default) or nonces, as the home agent expects. */
  replayProtection?: 'timestamp' | 'nonce';
  rng: RandomBytes;
  /**
   * The identification source to draw from (default: the client's own). Two
   * clients registering the same home address with the same home agent (the
   * engine's detection probe and its driver) must share one: with a sequence
   * each, a request from one can be older than the other's accepted one, and
   * the home agent answers 133 (RFC 5944 §5.7).
   */
  ids?: IdentificationSource;
}

export interface Location {
  coa: string;
  /** Register through this foreign agent (FA care-of mode); absent = co-located CoA, straight to the HA. */
  via?: string;
  /** The FA's advertisement flags (AdvFlag): M/G/T are requested only when it offers them. */
  faFlags?: number;
  /** The FA's advertised registration lifetime: the request never asks for more. */
  faLifetime?: number;
}

export type RegistrationCommand =
  | ({ type: 'register' } & Location)
  | ({ type: 'move' } & Location)
  /** re-register at once from the current location (fresh identification), with short retransmissions */
  | ({ type: 'refresh' } & Location)
  | { type: 'deregister' };

export type RegistrationTransmit = {
  bytes: Uint8Array;
  to: { address: string; port: number };
  /** IP source to use: the co-located CoA, else the home address (RFC 5944 §3.6.1.1). */
  source: string;
  keepalive?: boolean;
};

export type RegistrationEvent =
  | {
    type: 'registration'; state: 'accepted'; coa: string; via?: string; lifetime: number; tnc: boolean; udpTunnel: boolean;
    /** the data path's format: what the accepted request asked for (G/M bit, UDP Tunnel Request encapsulation) */
    encapsulation: EncapsulationPreference; keepaliveSeconds?: number; code: number; codeName: string;
  }
  | { type: 'registration'; state: 'denied'; coa: string; lifetime: 0; tnc: false; code: number; codeName: string }
  | { type: 'registration'; state: 'timeout' | 'expired' | 'deregistered'; coa: string; lifetime: 0; tnc: boolean }
  | { type: 'registration-resync'; replayProtection: 'timestamp' | 'nonce'; offsetSeconds: number; message: string }
  | {
    type: 'registration'; state: 'failing'; cause: FailingCause; count: number; coa: string; tries: number;
    /** what the user can change (clock, mnHaAuth.key, mnHaAuth.spi, mip.replayProtection) */
    hint: string;
    spi?: number;
  }
  | { type: 'registration-fallback'; what: 'encapsulation' | 'udp-tunnel' | 'lifetime'; from: string; to: string; code: number; codeName: string }
  | { type: 'keepalive-lost'; unanswered: number };

/** Why replies from the home agent keep being dropped (RFC 5944 §3.6.2.1). */
export type FailingCause = 'identification-mismatch' | 'bad-authenticator' | 'unknown-spi';

export type DropReason = 'auth' | 'id' | 'malformed' | 'duplicateAuth' | 'unknownExt';

export interface RegistrationStats {
  requestsSent: number;
  retransmissions: number;
  accepted: number;
  denied: number;
  keepalivesSent: number;
  keepaliveReplies: number;
  dropped: Record<DropReason, number>;
}

export interface Binding {
  coa: string;
  via?: string;
  /** Granted lifetime (min of requested and granted), seconds. */
  lifetime: number;
  /** Counted from when the accepted request was sent. */
  expiresAt?: Instant;
  tnc: boolean;
  udpTunnel: boolean;
  /** the data path's format the home agent accepted */
  encapsulation: EncapsulationPreference;
  keepaliveSeconds?: number;
}

/**
 * What a driver (app/io/mip-registration.ts) needs from the sans-I/O
 * registration client, quinn-style: inputs carry `now` (monotonic) and
 * `wallMs` (NTP identifications); transmits and events are polled.
 */
export type CoreCommand = RegistrationCommand;
export interface CoreTransmit {
  bytes: Uint8Array;
  to: { address: string; port: number };
  keepalive?: boolean;
}
/** The client's events: members of the engine's event union (app/events.ts). */
export type CoreEvent = RegistrationEvent;
export interface RegistrationCoreLike {
  handleDatagram(bytes: Uint8Array, from: { address: string; port: number }, now: Instant, wallMs: number): void;
  handleCommand(cmd: CoreCommand, now: Instant, wallMs: number): void;
  handleTimeout(now: Instant, wallMs: number): void;
  pollTransmit(): CoreTransmit | undefined;
  pollEvent(): CoreEvent | undefined;
  nextTimeout(): Instant | undefined;
  /** User data went to the HA (restarts the RFC 3519 keepalive timer). */
  handleDataSent?(now: Instant): void;
  /** A tunnelled packet from the HA that may answer a keepalive; true when consumed. */
  handleKeepaliveReply?(inner: Uint8Array, now: Instant): boolean;
  readonly stats?: unknown;
}
export type CoreFactory = (profile: Profile, opts: { localPort: number }) => RegistrationCoreLike;
