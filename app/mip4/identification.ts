/**
 * Identifications for registration requests (RFC 5944 §5.7), timestamps by
 * default, nonces (§5.7.2) for home agents that use them.
 *
 * Timestamps:
 *
 *   high 32 bits: NTP seconds (Unix seconds + 2 208 988 800) + our offset to the HA's clock
 *   low 32 bits:  NTP fraction; the bits a millisecond clock cannot supply are random
 *
 * Every identification is strictly greater than the previous one. After a
 * code 133 reply the HA's seconds (its reply's high 32 bits) fix the offset,
 * and the sequence restarts from the HA's clock.
 *
 * Nonces: high 32 bits = the nonce the HA sent in its last reply (0 before
 * the first; the HA answers that with 133 and a nonce), low 32 bits = a new
 * random nonce of ours, which the reply must echo.
 */
import { NTP_UNIX_OFFSET } from '../wire/mip4/constants.ts';

/** Random bytes, injected (crypto in the driver, a seeded stream in tests). */
export type RandomBytes = (n: number) => Uint8Array;

/** A millisecond is 2^32 / 1000 ≈ 2^22 fraction units: the top 10 bits come from the clock. */
const CLOCK_FRACTION_MASK = 0xffc00000;

export function randomU32(rng: RandomBytes): number {
  const b = rng(4);
  return (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
}

export function ntpSeconds(wallMs: number): number {
  return (Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET) % 2 ** 32;
}

/** What the registration client needs from either kind of identification. */
export interface IdentificationSource {
  readonly kind: 'timestamp' | 'nonce';
  /** Seconds added to our clock to match the HA's (timestamps; 0 for nonces). */
  readonly offsetSeconds: number;
  next(wallMs: number): bigint;
  /** Code 133: the reply's high 32 bits are the HA's clock seconds, or its next nonce. */
  resynchronise(high32: number, wallMs: number): void;
  /** Any authenticated reply that matched one of our requests (nonces: adopt the HA's next nonce). */
  observeReply(high32: number): void;
}

export class NonceIdentification implements IdentificationSource {
  readonly kind = 'nonce';
  readonly offsetSeconds = 0;
  private haNonce = 0;

  constructor(private readonly rng: RandomBytes) {}

  next(_wallMs: number): bigint {
    return (BigInt(this.haNonce) << 32n) | BigInt(randomU32(this.rng));
  }

  resynchronise(high32: number, _wallMs: number): void {
    this.haNonce = high32 >>> 0;
  }

  observeReply(high32: number): void {
    this.haNonce = high32 >>> 0;
  }
}

export class IdentificationClock implements IdentificationSource {
  readonly kind = 'timestamp';
  private last = 0n;
  private offset = 0;

  constructor(private readonly rng: RandomBytes) {}

  /** Seconds added to our NTP time to match the home agent's clock. */
  get offsetSeconds(): number {
    return this.offset;
  }

  next(wallMs: number): bigint {
    const secs = (ntpSeconds(wallMs) + this.offset + 2 ** 32) % 2 ** 32;
    const ms = wallMs - Math.floor(wallMs / 1000) * 1000;
    const fraction = Math.floor((ms * 2 ** 32) / 1000) >>> 0;
    const rnd = randomU32(this.rng);
    const low = ((fraction & CLOCK_FRACTION_MASK) | (rnd & ~CLOCK_FRACTION_MASK)) >>> 0;
    let id = (BigInt(secs) << 32n) | BigInt(low);
    if (id <= this.last) id = this.last + 1n + BigInt(rnd & 0xfff);
    this.last = id & 0xffffffffffffffffn;
    return this.last;
  }

  /** Code 133: adopt the HA's seconds from its reply (RFC 5944 §3.6.2.3, §5.7). */
  resynchronise(haSeconds: number, wallMs: number): void {
    this.offset = haSeconds - ntpSeconds(wallMs);
    this.last = 0n;
  }

  observeReply(_high32: number): void {}
}

/** The identification source a home agent with this replay protection expects (RFC 5944 §5.7). */
export function newIdentificationSource(kind: 'timestamp' | 'nonce' | undefined, rng: RandomBytes): IdentificationSource {
  return kind === 'nonce' ? new NonceIdentification(rng) : new IdentificationClock(rng);
}
