/**
 * Which tunnelled packets the mobile node accepts (issue 14, "injection past
 * IPsec"): a packet from the Mobile IP tunnel is decapsulated only when it
 * travelled the binding's path —
 *   outer source      = the home agent,
 *   outer destination = our care-of address of the accepted binding, and
 *   arrived on the device that care-of address lives on (mode c: the access
 *   link; mode mc: the VPN's TUN, so only what came out of ESP).
 * Anything else (no binding, another source, another destination, another
 * device, a header that does not parse) is refused with a reason the driver
 * counts. Without the device check an attacker on the untrusted link could
 * send IP-in-IP "from the HA" to our TIA and reach sockets on the home address
 * without IPsec (RFC 5266 §3: in mode mc the MIP tunnel runs *inside* IPsec).
 *
 * Pure: addresses and device identities in, a verdict out.
 */

/** The path a tunnelled packet must have taken; undefined: no accepted binding. */
export interface TunnelPath {
  ha: string;
  coa: string;
  /** the device the care-of address lives on (ifindex or name); undefined: unknown, nothing is accepted */
  device: number | string | undefined;
}

/** What the receive side saw of one outer packet. */
export interface Arrival {
  src: string;
  dst: string;
  /** the device it arrived on (ifindex from IP_PKTINFO, or the name a socket is bound to) */
  device: number | string | undefined;
}

export type PathRefusal = 'no-binding' | 'malformed' | 'wrong-source' | 'wrong-destination' | 'wrong-device';
export type PathVerdict = { ok: true } | { ok: false; reason: PathRefusal };

export function checkTunnelPath(arrival: Arrival | undefined, path: TunnelPath | undefined): PathVerdict {
  if (!path) return { ok: false, reason: 'no-binding' };
  if (!arrival) return { ok: false, reason: 'malformed' };
  if (arrival.src !== path.ha) return { ok: false, reason: 'wrong-source' };
  if (arrival.dst !== path.coa) return { ok: false, reason: 'wrong-destination' };
  if (path.device === undefined || path.device === '' || arrival.device !== path.device) return { ok: false, reason: 'wrong-device' };
  return { ok: true };
}

/**
 * The outer source and destination of a raw IPv4 packet (header included),
 * or undefined when it is not a well-formed IPv4 header: version 4, IHL ≥ 5,
 * the header and the total length within the bytes received.
 */
export function outerAddresses(pkt: Uint8Array): { src: string; dst: string } | undefined {
  if (pkt.length < 20 || pkt[0]! >> 4 !== 4) return undefined;
  const ihl = (pkt[0]! & 0x0f) * 4;
  const total = (pkt[2]! << 8) | pkt[3]!;
  if (ihl < 20 || ihl > pkt.length || total < ihl || total > pkt.length) return undefined;
  return {
    src: `${pkt[12]}.${pkt[13]}.${pkt[14]}.${pkt[15]}`,
    dst: `${pkt[16]}.${pkt[17]}.${pkt[18]}.${pkt[19]}`,
  };
}

/** Drop reports for the user: the 1st, 10th, 100th, … drop of a reason (bounded under a flood). */
export function worthReporting(count: number): boolean {
  if (count < 1) return false;
  let n = count;
  while (n % 10 === 0) n /= 10;
  return n === 1;
}
