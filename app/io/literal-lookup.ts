/**
 * The `lookup` our dgram sockets are created with. Node resolves the
 * destination of every unconnected `socket.send()` through `lookup`, and
 * dns.lookup answers even an address literal on the next tick: the datagram
 * leaves only after the whole handler that sent it has returned — for an
 * IKE_AUTH request, after the step's effects (events, logs, the data path's
 * SAs), ~1 ms on the wire in the bench's IKE setup (docs/PERFORMANCE.md).
 * Every destination we send to is an IPv4 literal, so this answers those
 * at once (the datagram is handed to the kernel inside send()) and leaves
 * anything else to dns.lookup.
 */
import dns from 'node:dns';
import { isIPv4 } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

export function literalLookup(hostname: string, options: unknown, callback: LookupCallback): void {
  if (isIPv4(hostname)) {
    callback(null, hostname, 4);
    return;
  }
  const family = typeof options === 'number' ? options : 4;
  dns.lookup(hostname, { family }, (err, address, fam) => callback(err, address, fam));
}
