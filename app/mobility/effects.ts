/**
 * Effects the mobility controller asks the driver to perform. They are
 * values: the controller never touches a socket, a route or the clock.
 */
import type { EngineEvent, Mode } from '../events.ts';
import type { ForeignAgent } from './inputs.ts';

export type MobilityEffect =
  /**
   * User traffic from the TUN: `hold` queues it (bounded) while the mode is
   * being settled, `release` sends what is held through the settled mode,
   * `drop` discards it and keeps dropping (fail closed: nothing leaves in clear).
   */
  | { kind: 'traffic'; action: 'hold' | 'release' | 'drop' }
  /**
   * Send a Registration Request straight to the i-HA — never through the VPN.
   * `via` = register through a foreign agent (mode f). `detect` = the
   * detection request of RFC 5266 §3.4: it runs beside a registration through
   * the VPN (register-vpn) without cancelling it or being cancelled by it.
   */
  | { kind: 'register-direct'; attempt: number; coa: string; via?: ForeignAgent; timeoutMs: number; retransmits: number; detect?: true }
  /** Register through the VPN tunnel with the TIA as co-located care-of address (mode mc), reverse tunnelling on. */
  | { kind: 'register-vpn'; attempt: number; tia: string; timeoutMs: number; retransmits: number }
  /** Deregister the binding (lifetime 0) — on disconnect. */
  | { kind: 'deregister' }
  /** Set up a new IKE SA from this local address. */
  | { kind: 'vpn-connect'; local: string }
  /** Move the existing IKE SA to this local address with MOBIKE (RFC 4555). */
  | { kind: 'vpn-move'; local: string }
  /** Delete the IKE SA (INFORMATIONAL DELETE). */
  | { kind: 'vpn-disconnect' }
  /**
   * Agent solicitation (RFC 5944 §2.4) on an interface: on only once the i-HA
   * proved the network trusted — an untrusted link never sees one — and off
   * again when the node detects anew. Listening for advertisements is always on.
   */
  | { kind: 'agent-solicit'; iface: string; active: boolean }
  /** Configure the data path (routes, tunnels) for a settled mode. */
  | { kind: 'data-path'; mode: Extract<Mode, 'c' | 'f' | 'mc'>; coa: string }
  /** Publish an event on the JSON stream / IPC. */
  | { kind: 'event'; event: EngineEvent };
