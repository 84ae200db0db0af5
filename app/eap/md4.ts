/**
 * MD4 (RFC 1320), for the MS-CHAPv2 NT password hash only.
 *
 * Node 20's OpenSSL 3 keeps MD4 in the legacy provider, which is not loaded
 * (`crypto.createHash('md4')` throws "unsupported"), and MD4 is about sixty
 * lines: written here and checked against the RFC 1320 §A.5 test suite
 * rather than adding a dependency. MD4 is broken as a general hash; MS-CHAPv2
 * needs it anyway.
 */

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;

export function md4(message: Uint8Array): Uint8Array {
  const bitLen = message.length * 8;
  const padded = new Uint8Array((((message.length + 8) >> 6) + 1) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, bitLen >>> 0, true);
  dv.setUint32(padded.length - 4, Math.floor(bitLen / 0x100000000), true);
  let a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
  const x = new Uint32Array(16);
  const F = (p: number, q: number, r: number): number => (p & q) | (~p & r);
  const G = (p: number, q: number, r: number): number => (p & q) | (p & r) | (q & r);
  const H = (p: number, q: number, r: number): number => p ^ q ^ r;
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = dv.getUint32(off + 4 * i, true);
    const [aa, bb, cc, dd] = [a, b, c, d];
    // round 1: [abcd k s] a = (a + F(b,c,d) + X[k]) <<< s
    for (const k of [0, 4, 8, 12]) {
      a = rotl((a + F(b, c, d) + x[k]!) >>> 0, 3);
      d = rotl((d + F(a, b, c) + x[k + 1]!) >>> 0, 7);
      c = rotl((c + F(d, a, b) + x[k + 2]!) >>> 0, 11);
      b = rotl((b + F(c, d, a) + x[k + 3]!) >>> 0, 19);
    }
    // round 2: a = (a + G(b,c,d) + X[k] + 5A827999) <<< s
    for (const k of [0, 1, 2, 3]) {
      a = rotl((a + G(b, c, d) + x[k]! + 0x5a827999) >>> 0, 3);
      d = rotl((d + G(a, b, c) + x[k + 4]! + 0x5a827999) >>> 0, 5);
      c = rotl((c + G(d, a, b) + x[k + 8]! + 0x5a827999) >>> 0, 9);
      b = rotl((b + G(c, d, a) + x[k + 12]! + 0x5a827999) >>> 0, 13);
    }
    // round 3: a = (a + H(b,c,d) + X[k] + 6ED9EBA1) <<< s
    for (const k of [0, 2, 1, 3]) {
      a = rotl((a + H(b, c, d) + x[k]! + 0x6ed9eba1) >>> 0, 3);
      d = rotl((d + H(a, b, c) + x[k + 8]! + 0x6ed9eba1) >>> 0, 9);
      c = rotl((c + H(d, a, b) + x[k + 4]! + 0x6ed9eba1) >>> 0, 11);
      b = rotl((b + H(c, d, a) + x[k + 12]! + 0x6ed9eba1) >>> 0, 15);
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = new Uint8Array(16);
  const o = new DataView(out.buffer);
  [a, b, c, d].forEach((w, i) => o.setUint32(4 * i, w, true));
  return out;
}
