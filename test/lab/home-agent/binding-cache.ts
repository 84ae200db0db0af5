/**
 * The home agent's binding cache (RFC 5944 §3.8.2): home address → current
 * care-of address, how to tunnel to it, and when the binding expires.
 * Simultaneous bindings (S) are not supported: a new registration replaces
 * the binding (reply code 1 when S was asked for, RFC 5944 §3.4).
 *
 * Pure: time comes in as `now` (monotonic ms); expired bindings are handed
 * back by `expire(now)` so the caller can tear down the interception.
 */
import type { Instant } from '../../../app/base/clock.ts';
import { ipv4ToU32 } from '../../../app/base/ipv4.ts';

/** How packets travel: raw IP in one of the formats, or RFC 3519 UDP tunnel data (carrying `format`). */
export type TunnelMode = 'ipip' | 'udp' | 'gre' | 'minimal';
export type TunnelFormat = 'ipip' | 'gre' | 'minimal';

export interface Binding {
  homeAddress: string;
  /** The CoA from the request. */
  careOfAddress: string;
  /** Where tunnelled packets go: the CoA, or the NAT's address and port (RFC 3519). */
  tunnelDst: string;
  tunnelPort: number;
  mode: TunnelMode;
  /** the packet format: = mode for raw tunnels, the Next Header inside UDP tunnel data */
  format: TunnelFormat;
  reverseTunnel: boolean;
  trusted: boolean;
  lifetime: number;
  expiresAt: Instant;
  /** Last accepted identification, for the replay check. */
  lastId: bigint;
}

export class BindingCache {
  private readonly bindings = new Map<string, Binding>();
  /** the same bindings by home address as a 32-bit number: the data path looks up without making a string */
  private readonly byAddress32 = new Map<number, Binding>();
  /** Highest identification accepted per home address, kept across deregistration. */
  private readonly lastIds = new Map<string, bigint>();

  get(homeAddress: string): Binding | undefined {
    return this.bindings.get(homeAddress);
  }

  /** get() by the home address as an unsigned 32-bit number (the bytes of a header). */
  getByAddress32(homeAddress: number): Binding | undefined {
    return this.byAddress32.get(homeAddress);
  }

  lastIdentification(homeAddress: string): bigint | undefined {
    return this.lastIds.get(homeAddress);
  }

  noteIdentification(homeAddress: string, id: bigint): void {
    this.lastIds.set(homeAddress, id);
  }

  /** Adds or replaces; returns the binding it replaced, if any. */
  put(b: Binding): Binding | undefined {
    const old = this.bindings.get(b.homeAddress);
    this.bindings.set(b.homeAddress, b);
    this.byAddress32.set(ipv4ToU32(b.homeAddress), b);
    return old;
  }

  remove(homeAddress: string): Binding | undefined {
    const old = this.bindings.get(homeAddress);
    this.bindings.delete(homeAddress);
    if (old) this.byAddress32.delete(ipv4ToU32(homeAddress));
    return old;
  }

  /** Finds the binding whose tunnel endpoint is this address (and port, for UDP). */
  byTunnelEndpoint(addr: string, port?: number): Binding | undefined {
    for (const b of this.bindings.values()) {
      if (b.tunnelDst === addr && (port === undefined || b.tunnelPort === port)) return b;
    }
    return undefined;
  }

  expire(now: Instant): Binding[] {
    const gone: Binding[] = [];
    for (const b of this.bindings.values()) if (b.expiresAt <= now) gone.push(b);
    for (const b of gone) {
      this.bindings.delete(b.homeAddress);
      this.byAddress32.delete(ipv4ToU32(b.homeAddress));
    }
    return gone;
  }

  nextExpiry(): Instant | undefined {
    let min: Instant | undefined;
    for (const b of this.bindings.values()) if (min === undefined || b.expiresAt < min) min = b.expiresAt;
    return min;
  }

  all(): Binding[] {
    return [...this.bindings.values()];
  }
}
