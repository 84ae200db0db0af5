/**
 * EAP-TLS (RFC 5216), the peer's framing, sans-I/O. TLS itself is not here:
 * the handshake runs in a TLS engine the driver owns (node:tls over a
 * Duplex, app/io/eap-tls-engine.ts); this module cuts and glues its bytes.
 *
 *   Type-Data of EAP type 13 (§3.1):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |L M S R R R R R|  TLS Message Length (4, only with L)          ~
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   ~  TLS Data ...
 *   L (0x80) length included · M (0x40) more fragments · S (0x20) start
 *
 * Inbound fragments (M set) are acknowledged with an empty EAP-TLS response
 * and glued; the whole flight goes to the engine. Outbound flights longer
 * than `fragmentSize` go out in pieces, the first with L and the total
 * length, every one but the last with M; the server acknowledges each with
 * an empty request (§2.1.5). When the engine has nothing to say (after the
 * server's Finished) we acknowledge, and the server ends with EAP Success.
 */
import { DecodeError, Reader, Writer, concatBytes } from '../base/bytes.ts';

export const TLS_FLAG_L = 0x80;
export const TLS_FLAG_M = 0x40;
export const TLS_FLAG_S = 0x20;

export interface EapTlsFrame {
  start: boolean;
  more: boolean;
  /** TLS Message Length, when the L flag was set */
  totalLength?: number;
  data: Uint8Array;
}

export function decodeEapTls(typeData: Uint8Array): EapTlsFrame {
  const r = new Reader(typeData, 'EAP-TLS');
  const flags = r.u8();
  const totalLength = flags & TLS_FLAG_L ? r.u32() : undefined;
  return {
    start: (flags & TLS_FLAG_S) !== 0, more: (flags & TLS_FLAG_M) !== 0,
    ...(totalLength !== undefined ? { totalLength } : {}), data: r.rest(),
  };
}

export function encodeEapTls(f: EapTlsFrame): Uint8Array {
  const flags = (f.totalLength !== undefined ? TLS_FLAG_L : 0) | (f.more ? TLS_FLAG_M : 0) | (f.start ? TLS_FLAG_S : 0);
  const w = new Writer(5 + f.data.length).u8(flags);
  if (f.totalLength !== undefined) w.u32(f.totalLength);
  return w.bytes(f.data).finish();
}

/** What the engine reports back (app/io/eap-tls-engine.ts). */
export interface TlsEngineResult {
  output: Uint8Array;
  /** the handshake finished (server Finished verified) */
  done: boolean;
  /** RFC 5216 §2.3 key material, 64 bytes, with done */
  msk?: Uint8Array;
  /** the handshake failed; byPeer: the server sent a fatal alert (it refused us) */
  error?: { message: string; byPeer: boolean };
}

export type TlsStep =
  | { kind: 'respond'; data: Uint8Array }
  /** hand these TLS bytes to the engine (null: start a handshake) and wait for its result */
  | { kind: 'engine'; input: Uint8Array | null };

const MAX_FLIGHT = 64 * 1024;

export class EapTlsPeer {
  private inbound: Uint8Array[] = [];
  private inboundLength = 0;
  private outbound?: Uint8Array;
  private outOffset = 0;
  private mskValue?: Uint8Array;

  constructor(private readonly fragmentSize = 1000) {}

  /** One EAP-TLS request's Type-Data. Throws DecodeError on protocol violations. */
  process(typeData: Uint8Array): TlsStep {
    const f = decodeEapTls(typeData);
    if (f.start) {
      this.inbound = [];
      this.inboundLength = 0;
      this.outbound = undefined;
      this.mskValue = undefined;
      return { kind: 'engine', input: null };
    }
    if (this.outbound && this.outOffset < this.outbound.length) {
      if (f.data.length !== 0 || f.more) throw new DecodeError('EAP-TLS: the server sent data while our fragments were still going out');
      return { kind: 'respond', data: this.nextFragment() };
    }
    this.outbound = undefined;
    this.inboundLength += f.data.length;
    if (this.inboundLength > MAX_FLIGHT) throw new DecodeError(`EAP-TLS: server flight longer than ${MAX_FLIGHT} bytes`);
    this.inbound.push(f.data);
    if (f.more) return { kind: 'respond', data: encodeEapTls({ start: false, more: false, data: new Uint8Array(0) }) };
    const flight = concatBytes(...this.inbound);
    this.inbound = [];
    this.inboundLength = 0;
    return { kind: 'engine', input: flight };
  }

  /** The engine's answer to the last input: its bytes go out (fragmented), or an acknowledgement. */
  engineOutput(r: TlsEngineResult): Uint8Array {
    if (r.done && r.msk) this.mskValue = r.msk;
    if (r.output.length === 0) return encodeEapTls({ start: false, more: false, data: new Uint8Array(0) });
    this.outbound = r.output;
    this.outOffset = 0;
    return this.nextFragment();
  }

  private nextFragment(): Uint8Array {
    const out = this.outbound!;
    const first = this.outOffset === 0;
    const end = Math.min(out.length, this.outOffset + this.fragmentSize);
    const more = end < out.length;
    const frame = encodeEapTls({ start: false, more, ...(first && more ? { totalLength: out.length } : {}), data: out.subarray(this.outOffset, end) });
    this.outOffset = end;
    return frame;
  }

  /** The MSK, once the engine finished the handshake (it verified the server's certificate). */
  msk(): Uint8Array | undefined {
    return this.mskValue;
  }
}
