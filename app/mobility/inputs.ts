/**
 * Inputs to the RFC 5266 mobility controller — one documented union.
 * Every result that comes back from a registration or the VPN carries the
 * `attempt` number of the effect that asked for it, so a late answer from an
 * earlier network is recognised and ignored.
 */
import type { EngineCommand } from '../events.ts';

/** The access link the node currently uses (after debouncing in app/io). */
export interface Link {
  iface: string;
  /** our address on it: the co-located care-of address candidate */
  addr: string;
}

/** A foreign agent advertising on a link (RFC 5944 §2.1). */
export interface ForeignAgent {
  iface: string;
  /** the agent's own address (where registrations go) */
  addr: string;
  /** the care-of address it offers */
  coa: string;
}

/**
 * The outcome of one registration attempt as reported by the registration
 * core. `accepted` is only ever reported for a reply whose MN-HA
 * authenticator verified and whose identification matched.
 */
export type RegistrationResult =
  | { status: 'accepted'; tnc: boolean; coa: string; lifetime: number }
  | { status: 'denied'; code: number; codeName: string }
  | { status: 'timeout' };

export type MobilityInput =
  /** The usable access link changed (null: no connectivity at all). */
  | { kind: 'link'; link: Link | null }
  /**
   * A foreign agent appeared on, or vanished from (fa: null), an interface;
   * `rebooted`: its advertisement sequence number fell back below 256 (RFC
   * 5944 §2.3.1), so it has forgotten the registrations it relayed.
   */
  | { kind: 'agent'; iface: string; fa: ForeignAgent | null; rebooted?: boolean }
  /** Result of a Registration Request sent straight to the i-HA (modes c/f, and detection). */
  | { kind: 'direct-registration'; attempt: number; result: RegistrationResult }
  /** Result of a Registration Request sent through the VPN with the TIA as CoA (mode mc). */
  | { kind: 'vpn-registration'; attempt: number; result: RegistrationResult }
  /** The VPN: an IKE SA is up (new or moved by MOBIKE to `local`), or is gone. */
  | { kind: 'vpn'; event: 'up'; tia: string; local: string }
  | { kind: 'vpn'; event: 'down'; reason: string }
  /** A command from the user (tray, UI, control socket). */
  | { kind: 'command'; command: EngineCommand }
  /** The engine slept (a suspend, or the process was frozen) for `sleptMs`: the network may have changed meanwhile. */
  | { kind: 'resume'; sleptMs: number };
