/** ESP and its UDP encapsulation: wire constants and our limits. */

// Specification (RFC 4303 §2, §3.3.3)

/** SPI (4) ‖ Sequence Number (4) */
export const ESP_HEADER_LENGTH = 8;
export const ESP_TRAILER_LENGTH = 2; // Pad Length ‖ Next Header
export const MAX_ESP_SEQ = 0xffff_ffff;

/** Next Header values (IANA protocol numbers) that tunnel mode uses. */
export enum NextHeader {
  Ipv4 = 4,
  /** dummy packet (RFC 4303 §2.6): the receiver discards it */
  NoNextHeader = 59,
}

// Specification (RFC 3948 §2, §2.2, §2.3)

export const NAT_T_PORT = 4500;
export const NON_ESP_MARKER_LENGTH = 4;
export const NAT_KEEPALIVE_BYTE = 0xff;

// Implementation

/** Outbound SAs ask for a rekey from this sequence number on (~94% of the space). */
export const DEFAULT_REKEY_SEQ = 0xf000_0000;
