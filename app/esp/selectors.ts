/**
 * Traffic selectors on the ESP receive path (RFC 4301 §5.2 step 4): after a
 * packet is authenticated and decrypted, its inner IPv4 source must lie in
 * the peer's selectors (our TSr) and its destination in ours (our TSi);
 * otherwise it is dropped and counted. Pure, allocation-free per packet:
 * ranges are compiled to u32 pairs once per SA.
 *
 * Address ranges only (the SAs here are negotiated for any protocol and port).
 * An empty list admits nothing.
 */
import { ipv4ToU32 } from '../base/ipv4.ts';

/** A selector range as the IKE core hands it over (dotted quads, inclusive). */
export interface AddressRange {
  start: string;
  end: string;
}

export interface CompiledSelectors {
  /** [start, end] u32 pairs, flattened */
  readonly local: Uint32Array;
  readonly remote: Uint32Array;
}

function compile(ranges: readonly AddressRange[]): Uint32Array {
  const out = new Uint32Array(ranges.length * 2);
  ranges.forEach((r, i) => {
    out[2 * i] = ipv4ToU32(r.start);
    out[2 * i + 1] = ipv4ToU32(r.end);
  });
  return out;
}

export function compileSelectors(local: readonly AddressRange[], remote: readonly AddressRange[]): CompiledSelectors {
  return { local: compile(local), remote: compile(remote) };
}

function inRanges(addr: number, r: Uint32Array): boolean {
  for (let i = 0; i < r.length; i += 2) if (addr >= r[i]! && addr <= r[i + 1]!) return true;
  return false;
}

/**
 * True when the inner IPv4 packet (as decapsulated) goes from the peer's
 * selectors to ours. Not IPv4 or too short for a header: false.
 */
export function inboundWithinSelectors(inner: Uint8Array, sel: CompiledSelectors): boolean {
  if (inner.length < 20 || (inner[0]! >> 4) !== 4) return false;
  const src = ((inner[12]! << 24) | (inner[13]! << 16) | (inner[14]! << 8) | inner[15]!) >>> 0;
  const dst = ((inner[16]! << 24) | (inner[17]! << 16) | (inner[18]! << 8) | inner[19]!) >>> 0;
  return inRanges(src, sel.remote) && inRanges(dst, sel.local);
}
