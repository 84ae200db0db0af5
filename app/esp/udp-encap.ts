/**
 * What arrives on UDP 4500 (RFC 3948 §2): IKE behind a non-ESP marker, a
 * NAT-keepalive, or ESP whose SPI is never zero.
 *
 *   00 00 00 00 ‖ IKE message      → ike (marker stripped)
 *   FF                             → keepalive (ignore; not a liveness signal)
 *   SPI ≠ 0 ‖ Seq ‖ …              → esp
 *
 * The one demultiplexer of port 4500: the VPN driver (app/io/vpn-driver.ts)
 * and the IKE core (app/ikev2/task-manager.ts handleDatagram) both use it.
 */
import { NAT_KEEPALIVE_BYTE, NON_ESP_MARKER_LENGTH } from './constants.ts';

// Specification (RFC 7296 §3.1: IKE header length; RFC 4303: SPI ‖ Seq)
const IKE_HEADER_LENGTH = 28;
const ESP_MIN = 8;

export type Udp4500Datagram =
  | { kind: 'ike'; message: Uint8Array }
  | { kind: 'keepalive' }
  | { kind: 'esp'; spi: number; packet: Uint8Array }
  | { kind: 'invalid'; reason: 'empty' | 'short-ike' | 'short-esp' };

export function classifyUdp4500(payload: Uint8Array): Udp4500Datagram {
  if (payload.length === 0) return { kind: 'invalid', reason: 'empty' };
  if (payload.length === 1 && payload[0] === NAT_KEEPALIVE_BYTE) return { kind: 'keepalive' };
  if (payload.length >= NON_ESP_MARKER_LENGTH && payload[0] === 0 && payload[1] === 0 && payload[2] === 0 && payload[3] === 0) {
    const message = payload.subarray(NON_ESP_MARKER_LENGTH);
    return message.length < IKE_HEADER_LENGTH ? { kind: 'invalid', reason: 'short-ike' } : { kind: 'ike', message };
  }
  if (payload.length < ESP_MIN) return { kind: 'invalid', reason: 'short-esp' };
  const spi = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
  return { kind: 'esp', spi, packet: payload };
}

/** The one-byte NAT-keepalive payload. */
export function natKeepalive(): Uint8Array {
  return Uint8Array.of(NAT_KEEPALIVE_BYTE);
}

/** An IKE message as sent on port 4500: the four-byte zero marker, then the message. */
export function withNonEspMarker(ikeMessage: Uint8Array): Uint8Array {
  const out = new Uint8Array(NON_ESP_MARKER_LENGTH + ikeMessage.length);
  out.set(ikeMessage, NON_ESP_MARKER_LENGTH);
  return out;
}
