/** IPv4 addresses as dotted strings at the edges and 4-byte arrays on the wire. */

const DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return DOTTED.test(s);
}

export function ipv4ToBytes(s: string): Uint8Array {
  if (!isIPv4(s)) throw new Error(`not an IPv4 address: ${JSON.stringify(s)}`);
  return Uint8Array.from(s.split('.').map(Number));
}

export function bytesToIPv4(b: Uint8Array, off = 0): string {
  if (b.length < off + 4) throw new Error('IPv4 address needs 4 bytes');
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function ipv4ToU32(s: string): number {
  const b = ipv4ToBytes(s);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function u32ToIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export interface Prefix {
  readonly addr: string;
  readonly len: number;
}

/** Parses "a.b.c.d/n"; throws with the offending text. */
export function parsePrefix(s: string): Prefix {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) throw new Error(`not an IPv4 prefix: ${JSON.stringify(s)}`);
  return { addr: m[1]!, len: Number(m[2]) };
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function inPrefix(addr: string, p: Prefix): boolean {
  const mask = prefixMask(p.len);
  return ((ipv4ToU32(addr) & mask) >>> 0) === ((ipv4ToU32(p.addr) & mask) >>> 0);
}

/** First and last address of a prefix, as u32. */
export function prefixRange(p: Prefix): [number, number] {
  const mask = prefixMask(p.len);
  const start = (ipv4ToU32(p.addr) & mask) >>> 0;
  return [start, (start | (~mask >>> 0)) >>> 0];
}
