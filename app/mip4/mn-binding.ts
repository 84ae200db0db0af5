/**
 * The mobile node's decisions around its binding that the I/O drivers
 * (app/io/mip-registration.ts, app/io/mip-tunnel.ts) used to make inline:
 * register or move (or nothing: already on this address), which device a
 * care-of address's registration socket is pinned to, whose datagrams the
 * registration socket takes (the HA, or the foreign agent relaying its
 * reply), what the data path carries after each registration event, and how
 * an outbound packet leaves. Pure: values in, a decision out.
 */
import type { MipEvent } from '../events.ts';
import { TUNNEL_FORMATS, type TunnelFormat } from './tunnel-format.ts';

export const MIP_PORT = 434;

/** Where a registration goes from: the care-of address, the socket's source, and the FA relaying it (mode f). */
export interface RegistrationLocation {
  coa: string;
  /** the co-located CoA on the link, the TIA (mode mc), or the home address (mode f, via the FA) */
  source: string;
  /** the foreign agent our requests go through (mode f) */
  via?: string;
  /**
   * the device the source lives on, when the caller knows it better than an
   * address lookup: a new IKE SA with the same TIA holds it on the other TUN
   * while the old one is still being torn down
   */
  device?: string;
  /**
   * The home agent accepted this care-of address already (the detection
   * request's verified reply): the data path uses it at once, in this
   * format, while our own request refreshes it — not one round trip later
   * with the previous binding's care-of address as the outer source.
   */
  accepted?: { udpTunnel: boolean; format: TunnelFormat };
}

/** The accepted binding as the data path sees it. */
export interface DataBinding {
  coa: string;
  /** the address the accepted request left from: RFC 3519 tunnel data comes back to it (= coa unless a fixed CoA is not ours) */
  source: string;
  /** RFC 3519 UDP tunnelling on the registration socket */
  udpTunnel: boolean;
  format: TunnelFormat;
}

/**
 * The registration command for a care-of address: `register` the first
 * time, `move` afterwards. `observed` undefined (no route to the HA) or
 * equal to the current one (already on this address): nothing.
 */
export function careOfCommand(current: string | undefined, observed: string | undefined): 'register' | 'move' | undefined {
  if (observed === undefined || observed === current) return undefined;
  return current === undefined ? 'register' : 'move';
}

/**
 * The device a registration socket is pinned to (SO_BINDTODEVICE): the one
 * its source address lives on, so that replies and RFC 3519 tunnel data are
 * taken only from there. Mode f (`via`): the source is the home address and
 * the requests go to the FA on the link: no device.
 */
export function socketDevice(loc: Pick<RegistrationLocation, 'source' | 'via' | 'device'>, deviceOf: (addr: string) => string | undefined): string | undefined {
  return loc.via === undefined ? loc.device ?? deviceOf(loc.source) : undefined;
}

/**
 * The address a co-located care-of address registers from: the CoA itself
 * when it is one of ours; a fixed CoA that is not (`homeward mip --coa`, e.g.
 * the address a static NAT maps us to) registers from the address the host
 * picks towards the HA, as an unbound socket would.
 */
export function registrationSource(coa: string, isOurs: boolean, towardsHa: string | undefined): string | undefined {
  return isOurs ? coa : towardsHa;
}

export type DatagramVerdict = 'registration' | 'tunnel-data' | 'wrong-source';

/**
 * What a datagram on a registration socket is: from the HA's port 434 a
 * reply (or RFC 3519 tunnel data, type 4); in mode f the foreign agent may
 * relay the reply (type 3) too — the registration client still verifies the
 * MN-HA authenticator. Anything else is refused.
 */
export function classifyDatagram(msg: Uint8Array, from: { address: string; port: number }, ha: string, via: string | undefined): DatagramVerdict {
  const relayed = via !== undefined && from.address === via && msg[0] === 3;
  if ((from.address !== ha && !relayed) || from.port !== MIP_PORT) return 'wrong-source';
  return msg[0] === 4 ? 'tunnel-data' : 'registration';
}

/**
 * The data path after a registration event: an accepted binding carries
 * the format and tunnelling it was accepted with; a denial, an expiry or a
 * deregistration ends it (fail closed); anything else (a timed-out
 * re-registration included) keeps the old one until it expires.
 */
export function bindingAfter(e: MipEvent, current: DataBinding | undefined, last: { coa?: string; source?: string }): DataBinding | undefined {
  if (e.type !== 'registration') return current;
  if (e.state === 'accepted') {
    const format = TUNNEL_FORMATS.find((f) => f === e.encapsulation) ?? 'ip-in-ip';
    const coa = e.coa ?? last.coa ?? '';
    return { coa, source: last.source ?? coa, udpTunnel: e.udpTunnel === true, format };
  }
  if (e.state === 'denied' || e.state === 'expired' || e.state === 'deregistered') return undefined;
  return current;
}

/** The device outer packets are pinned to, and whether the FA is the router (mode f: no encapsulation of ours). */
export interface DataPath {
  /** the access link (modes c, f) or the VPN's TUN (mode mc) */
  device: string;
  /**
   * Mode f: the foreign agent is the router — packets from the home address
   * leave on the link as they are and the FA reverse-tunnels them (RFC 3024
   * §5.2, direct delivery style); no IP-in-IP from us.
   */
  direct?: boolean;
}

export type OutboundRoute = 'no-binding' | 'udp' | 'direct' | 'encapsulate' | 'no-path';

/**
 * How a packet from the home-address TUN leaves: nothing without a binding
 * (fail closed); RFC 3519 tunnel data on the registration socket; as it is
 * to the FA (mode f); encapsulated on the raw socket pinned to the data
 * path; nowhere while there is no data path.
 */
export function outboundRoute(b: DataBinding | undefined, path: DataPath | undefined): OutboundRoute {
  if (!b) return 'no-binding';
  if (b.udpTunnel) return 'udp';
  if (!path) return 'no-path';
  return path.direct === true ? 'direct' : 'encapsulate';
}
