/** RFC 1071 Internet checksum (ones' complement of the ones' complement sum). */

/** Ones' complement sum of 16-bit words, not yet folded or inverted. */
export function onesSum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum to store in a header whose checksum field is zero. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  return ~foldSum(onesSum(buf, start, end, initial)) & 0xffff;
}

/** True when a region that includes its checksum field sums to 0xffff. */
export function checksumValid(buf: Uint8Array, start = 0, end = buf.length, initial = 0): boolean {
  return foldSum(onesSum(buf, start, end, initial)) === 0xffff;
}
