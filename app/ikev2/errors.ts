/**
 * The typed errors a hostile or broken peer can provoke inside the IKE core:
 * a malformed payload (DecodeError, IkeDecodeError), a bad Diffie-Hellman
 * public value (DhError: wrong length, not on the curve, degenerate), a
 * value out of range for a codec (RangeError) or an algorithm we do not
 * implement (UnsupportedAlgorithm). The task manager catches exactly these
 * at its datagram boundary: the message is counted and dropped (or, when it
 * was authenticated, the exchange fails cleanly). Anything else is a bug and
 * is left to surface.
 */
import { DecodeError } from '../base/bytes.ts';
import { DhError } from '../crypto/dh.ts';
import { UnsupportedAlgorithm } from '../crypto/prf.ts';

export { DhError } from '../crypto/dh.ts';

export function isPeerInputError(e: unknown): e is Error {
  return e instanceof DecodeError || e instanceof DhError || e instanceof RangeError || e instanceof UnsupportedAlgorithm;
}

/** A short reason for stats and events: 'dh', 'malformed', 'range', 'unsupported'. */
export function peerInputReason(e: Error): string {
  if (e instanceof DhError) return 'bad-ke';
  if (e instanceof DecodeError) return 'malformed';
  if (e instanceof UnsupportedAlgorithm) return 'unsupported';
  return 'out-of-range';
}
