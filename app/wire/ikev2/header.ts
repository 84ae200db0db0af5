/**
 * IKE header (RFC 7296 §3.1), 28 bytes:
 *
 *                        1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       IKE SA Initiator's SPI                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       IKE SA Responder's SPI                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          Message ID                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                            Length                             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Flags: R (0x20) response, V (0x10) higher version supported (we send 0),
 * I (0x08) sent by the original initiator. Length covers the whole message.
 * Next Payload and Length are filled in by message.ts.
 */
import { Reader, Writer } from '../../base/bytes.ts';
import {
  HeaderFlag, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION, IKE_MINOR_VERSION, IKE_SPI_LENGTH, NotifyType,
} from './constants.ts';
import type { ExchangeType, PayloadType } from './constants.ts';
import { IkeDecodeError } from './errors.ts';

/** The header fields a sender chooses. SPIs are 8 bytes each. */
export interface IkeHeader {
  spiI: Uint8Array;
  spiR: Uint8Array;
  exchangeType: ExchangeType;
  /** I flag: set by the original initiator of the IKE SA. */
  initiator: boolean;
  /** R flag: set on responses. */
  response: boolean;
  /** V flag; we always send false. */
  higherVersion?: boolean;
  messageId: number;
}

/** A header as read off the wire, with the fields message.ts fills in. */
export interface DecodedIkeHeader extends IkeHeader {
  nextPayload: PayloadType;
  majorVersion: number;
  minorVersion: number;
  higherVersion: boolean;
  length: number;
}

export function encodeHeader(w: Writer, h: IkeHeader, nextPayload: PayloadType, length: number): void {
  if (h.spiI.length !== IKE_SPI_LENGTH || h.spiR.length !== IKE_SPI_LENGTH) {
    throw new RangeError(`IKE SPIs must be ${IKE_SPI_LENGTH} bytes (got ${h.spiI.length} and ${h.spiR.length})`);
  }
  if (!Number.isInteger(h.messageId) || h.messageId < 0 || h.messageId > 0xffffffff) {
    throw new RangeError(`IKE Message ID out of range: ${h.messageId}`);
  }
  let flags = 0;
  if (h.initiator) flags |= HeaderFlag.Initiator;
  if (h.response) flags |= HeaderFlag.Response;
  if (h.higherVersion) flags |= HeaderFlag.Version;
  w.bytes(h.spiI).bytes(h.spiR).u8(nextPayload).u8((IKE_MAJOR_VERSION << 4) | IKE_MINOR_VERSION);
  w.u8(h.exchangeType).u8(flags).u32(h.messageId).u32(length);
}

/**
 * Reads the 28-byte header. A major version other than 2 fails with
 * INVALID_MAJOR_VERSION (RFC 7296 §2.5); the minor version is kept as is.
 * The caller checks the Length field against the datagram.
 */
export function decodeHeader(r: Reader): DecodedIkeHeader {
  if (r.remaining < IKE_HEADER_LENGTH) {
    throw new IkeDecodeError(`IKE header truncated: ${r.remaining} of ${IKE_HEADER_LENGTH} bytes`,
      NotifyType.InvalidSyntax, undefined, r.offset);
  }
  const spiI = r.bytes(IKE_SPI_LENGTH).slice();
  const spiR = r.bytes(IKE_SPI_LENGTH).slice();
  const nextPayload = r.u8() as PayloadType;
  const version = r.u8();
  const majorVersion = version >> 4;
  if (majorVersion !== IKE_MAJOR_VERSION) {
    // The answer carries our version in its header, not in notification data.
    throw new IkeDecodeError(`unsupported IKE major version ${majorVersion}`, NotifyType.InvalidMajorVersion,
      undefined, 17);
  }
  const exchangeType = r.u8() as ExchangeType;
  const flags = r.u8();
  const messageId = r.u32();
  const length = r.u32();
  return {
    spiI, spiR, nextPayload, majorVersion, minorVersion: version & 0x0f, exchangeType,
    initiator: (flags & HeaderFlag.Initiator) !== 0,
    response: (flags & HeaderFlag.Response) !== 0,
    higherVersion: (flags & HeaderFlag.Version) !== 0,
    messageId, length,
  };
}
