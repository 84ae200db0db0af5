/**
 * Tunnel-mode ESP over IPv4 in user space (RFC 4303 §2–3; AES-GCM per
 * RFC 4106, ChaCha20-Poly1305 per RFC 7634, AES-CBC + HMAC per RFC 3602 /
 * RFC 4868). Pure: no clock, no sockets; the driver moves the bytes.
 *
 *   SPI (4) ‖ Seq (4) ‖ IV ‖ [inner ‖ pad 1,2,3… ‖ PadLen ‖ NextHeader]enc ‖ ICV
 *
 * Outbound flow (OutboundEspSa.encapsulate):
 *   1. take the next Seq (from 1; refuse to wrap, flag `rekey` near the end)
 *   2. one allocation: the whole ESP packet; copy the inner packet into it
 *   3. pad so the trailer ends on the block size (16 CBC, 4 AEAD)
 *   4. IV = the 64-bit Seq for AEAD (unique per key), random for CBC
 *   5. encrypt in place; AEAD AAD = SPI ‖ Seq; CBC: HMAC over SPI‖Seq‖IV‖CT
 *
 * Inbound flow (InboundEspSa.decapsulate), RFC 4303 §3.4 order:
 *   1. length, SPI        2. replay check (no state change)
 *   3. ICV, constant time, before any decryption
 *   4. replay window update   5. trailer: pad bytes, Next Header (59 → dummy)
 *   6. with selectors: inner source in TSr, destination in TSi (RFC 4301 §5.2)
 * decapsulate decrypts IN PLACE: the inner packet is a view of the buffer it
 * was given. Every outcome is a typed result; bad input never throws.
 */
import { randomFillSync } from 'node:crypto';
import { Slab } from '../base/bytes.ts';
import { createAead } from '../crypto/aead.ts';
import type { Aead, AeadBackend } from '../crypto/aead.ts';
import { createCbcHmac } from '../crypto/cbc-hmac.ts';
import type { CbcHmac } from '../crypto/cbc-hmac.ts';
import type { ChildKeys } from '../crypto/keymat.ts';
import { ReplayWindow } from '../crypto/replay-window.ts';
import { AES_BLOCK, aeadAlgOf, icvLength, ivLength } from '../crypto/suite.ts';
import type { CipherSuite } from '../crypto/suite.ts';
import { compileSelectors, inboundWithinSelectors, type AddressRange, type CompiledSelectors } from './selectors.ts';
import { DEFAULT_REKEY_SEQ, ESP_HEADER_LENGTH, ESP_TRAILER_LENGTH, MAX_ESP_SEQ, NextHeader } from './constants.ts';

export interface EspSaConfig {
  spi: number;
  suite: CipherSuite;
  /** This direction's keys from deriveChildKeys (AEAD: encr = key ‖ salt, integ empty). */
  keys: ChildKeys;
  /** Default: the fastest available. */
  backend?: AeadBackend;
  /**
   * Inbound only: the Child SA's traffic selectors (local = our TSi, remote =
   * our TSr). Given, a decapsulated packet from outside remote or to outside
   * local is dropped as 'selector' (RFC 4301 §5.2).
   */
  selectors?: { local: readonly AddressRange[]; remote: readonly AddressRange[] };
}

interface Transform {
  readonly ivLength: number;
  readonly icvLength: number;
  readonly block: number;
  readonly aead?: Aead;
  readonly cbc?: CbcHmac;
}

function transformOf(c: EspSaConfig): Transform {
  if (!Number.isInteger(c.spi) || c.spi < 1 || c.spi > 0xffff_ffff) throw new RangeError(`ESP SPI ${c.spi}`);
  const alg = aeadAlgOf(c.suite);
  const base = { ivLength: ivLength(c.suite), icvLength: icvLength(c.suite), block: alg ? 4 : AES_BLOCK };
  if (alg) return { ...base, aead: createAead(alg, c.keys.encr, c.backend) };
  return { ...base, cbc: createCbcHmac(c.keys.encr, c.suite.integ!, c.keys.integ, c.backend) };
}

// ───────────────────────────── outbound ─────────────────────────────

export interface OutboundOptions {
  /** The first Seq to send; default 1 (tests reproducing published packets use others). */
  firstSeq?: number;
  /** From this Seq on every result says `rekey: true`. */
  rekeySeq?: number;
  /** Fills the explicit IV; default: AEAD = 64-bit Seq, CBC = random. */
  fillIv?: (iv: Uint8Array, seq: number) => void;
}

export type EncapResult =
  | { ok: true; packet: Uint8Array; seq: number; rekey: boolean }
  | { ok: false; reason: 'seq-exhausted' | 'too-long' };

export interface OutboundCounters {
  packets: number;
  bytes: number;
  refused: number;
}

export class OutboundEspSa {
  readonly spi: number;
  readonly counters: OutboundCounters = { packets: 0, bytes: 0, refused: 0 };
  private readonly t: Transform;
  private nextSeq: number;
  private readonly rekeySeq: number;
  private readonly fillIv: (iv: Uint8Array, seq: number) => void;
  private readonly slab = new Slab();

  constructor(config: EspSaConfig, opts: OutboundOptions = {}) {
    this.t = transformOf(config);
    this.spi = config.spi;
    this.nextSeq = opts.firstSeq ?? 1;
    this.rekeySeq = opts.rekeySeq ?? DEFAULT_REKEY_SEQ;
    this.fillIv = opts.fillIv ?? (this.t.aead ? seqIv : (iv) => void randomFillSync(iv));
  }

  /** The Seq the next packet will carry. */
  get seq(): number {
    return this.nextSeq;
  }

  encapsulate(inner: Uint8Array, nextHeader: number = NextHeader.Ipv4): EncapResult {
    if (this.nextSeq > MAX_ESP_SEQ) {
      this.counters.refused++;
      return { ok: false, reason: 'seq-exhausted' };
    }
    const { ivLength: ivLen, icvLength: icvLen, block } = this.t;
    const ptLen = Math.ceil((inner.length + ESP_TRAILER_LENGTH) / block) * block;
    const ptOff = ESP_HEADER_LENGTH + ivLen;
    if (ptOff + ptLen + icvLen > 0xffff - 28) return { ok: false, reason: 'too-long' };
    const seq = this.nextSeq++;
    // every byte of `out` is written below (header, IV, inner, padding, trailer, ICV)
    const out = this.slab.alloc(ptOff + ptLen + icvLen);
    putU32(out, 0, this.spi);
    putU32(out, 4, seq);
    const iv = out.subarray(ESP_HEADER_LENGTH, ptOff);
    this.fillIv(iv, seq);
    out.set(inner, ptOff);
    const padLen = ptLen - inner.length - ESP_TRAILER_LENGTH;
    for (let i = 1; i <= padLen; i++) out[ptOff + inner.length + i - 1] = i;
    out[ptOff + ptLen - 2] = padLen;
    out[ptOff + ptLen - 1] = nextHeader;
    if (this.t.aead) {
      this.t.aead.sealInPlace(out, ptOff, ptLen, iv, out.subarray(0, ESP_HEADER_LENGTH));
    } else {
      this.t.cbc!.encryptInPlace(out, ptOff, ptLen, iv);
      this.t.cbc!.mac.computeInto(out.subarray(0, ptOff + ptLen), out, ptOff + ptLen);
    }
    this.counters.packets++;
    this.counters.bytes += inner.length;
    return { ok: true, packet: out, seq, rekey: seq >= this.rekeySeq };
  }

  /** A dummy packet (Next Header 59) with `length` zero bytes of payload, for traffic-flow confidentiality. */
  encapsulateDummy(length = 0): EncapResult {
    return this.encapsulate(new Uint8Array(length), NextHeader.NoNextHeader);
  }
}

function seqIv(iv: Uint8Array, seq: number): void {
  iv.fill(0, 0, 4);
  putU32(iv, 4, seq);
}

function putU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function getU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

// ───────────────────────────── inbound ──────────────────────────────

export type DropReason = 'short' | 'spi' | 'replay' | 'icv' | 'length' | 'padding' | 'next-header' | 'dummy' | 'selector';

export type DecapResult =
  | { ok: true; inner: Uint8Array; seq: number; nextHeader: number }
  | { ok: false; reason: DropReason };

export interface InboundCounters {
  packets: number;
  bytes: number;
  drops: Record<DropReason, number>;
}

export interface InboundOptions {
  /** Anti-replay window size (≥ 64); default 128. */
  replayWindow?: number;
}

export class InboundEspSa {
  readonly spi: number;
  readonly window: ReplayWindow;
  readonly counters: InboundCounters = {
    packets: 0, bytes: 0,
    drops: { short: 0, spi: 0, replay: 0, icv: 0, length: 0, padding: 0, 'next-header': 0, dummy: 0, selector: 0 },
  };
  private readonly t: Transform;
  private readonly selectors?: CompiledSelectors;

  constructor(config: EspSaConfig, opts: InboundOptions = {}) {
    this.t = transformOf(config);
    if (config.selectors) this.selectors = compileSelectors(config.selectors.local, config.selectors.remote);
    this.spi = config.spi;
    this.window = new ReplayWindow(opts.replayWindow);
  }

  /** Authenticates and decrypts packet (SPI onwards) in place. */
  decapsulate(packet: Uint8Array): DecapResult {
    const r = this.open(packet);
    if (r.ok) {
      this.counters.packets++;
      this.counters.bytes += r.inner.length;
    } else {
      this.counters.drops[r.reason]++;
    }
    return r;
  }

  private open(packet: Uint8Array): DecapResult {
    const { ivLength: ivLen, icvLength: icvLen } = this.t;
    const ptOff = ESP_HEADER_LENGTH + ivLen;
    const ctLen = packet.length - ptOff - icvLen;
    if (ctLen < (this.t.aead ? ESP_TRAILER_LENGTH : AES_BLOCK)) return { ok: false, reason: 'short' };
    if (getU32(packet, 0) !== this.spi) return { ok: false, reason: 'spi' };
    const seq = getU32(packet, 4);
    if (!this.window.check(seq)) return { ok: false, reason: 'replay' };
    const iv = packet.subarray(ESP_HEADER_LENGTH, ptOff);
    if (this.t.aead) {
      if (!this.t.aead.openInPlace(packet, ptOff, ctLen, iv, packet.subarray(0, ESP_HEADER_LENGTH))) return { ok: false, reason: 'icv' };
    } else {
      const end = ptOff + ctLen;
      if (!this.t.cbc!.mac.verify(packet.subarray(0, end), packet.subarray(end))) return { ok: false, reason: 'icv' };
      if (ctLen % AES_BLOCK !== 0) return { ok: false, reason: 'length' };
      this.t.cbc!.decryptInPlace(packet, ptOff, ctLen, iv.slice());
    }
    this.window.update(seq);
    return this.trailer(packet, ptOff, ctLen, seq);
  }

  private trailer(packet: Uint8Array, ptOff: number, ptLen: number, seq: number): DecapResult {
    const nextHeader = packet[ptOff + ptLen - 1]!;
    const padLen = packet[ptOff + ptLen - 2]!;
    if (padLen + ESP_TRAILER_LENGTH > ptLen) return { ok: false, reason: 'padding' };
    const innerLen = ptLen - ESP_TRAILER_LENGTH - padLen;
    // RFC 4303 §2.4: default padding is 1, 2, 3, …; the receiver SHOULD check it
    for (let i = 1; i <= padLen; i++) if (packet[ptOff + innerLen + i - 1] !== i) return { ok: false, reason: 'padding' };
    if (nextHeader === NextHeader.NoNextHeader) return { ok: false, reason: 'dummy' };
    if (nextHeader !== NextHeader.Ipv4) return { ok: false, reason: 'next-header' };
    const inner = packet.subarray(ptOff, ptOff + innerLen);
    if (this.selectors && !inboundWithinSelectors(inner, this.selectors)) return { ok: false, reason: 'selector' };
    return { ok: true, inner, seq, nextHeader };
  }
}
