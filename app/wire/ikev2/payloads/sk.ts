/**
 * Encrypted and Authenticated payload, SK (RFC 7296 §3.14):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     Initialization Vector                     |
 *   ~                    Encrypted IKE Payloads                     ~
 *   |               |             Padding (0-255 octets)            |
 *   +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 *   |                                               |  Pad Length   |
 *   ~                    Integrity Checksum Data                    ~
 *
 * Here the body (IV through ICV) is opaque; app/crypto encrypts and decrypts
 * it. The generic header's Next Payload names the FIRST INNER payload, and the
 * SK payload is always the last one of a message (§3.14), so its own chain
 * ends there. See message.ts for how AAD and the body offset are exposed.
 */
import type { PayloadType } from '../constants.ts';

export interface SkPayload {
  type: PayloadType.SK;
  critical?: boolean;
  /** Type of the first payload inside the ciphertext (NoNextPayload if none). */
  firstInner: PayloadType;
  /** IV | ciphertext (inner payloads, padding, pad length) | ICV. */
  body: Uint8Array;
}
