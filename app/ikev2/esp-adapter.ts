/**
 * Stop-gap ESP tunnel-mode SA (RFC 4303, RFC 4106, RFC 7634) for the VPN
 * driver while app/esp/** lands; same shape, so the driver switches by
 * changing one import.
 *
 *   SPI (4) | Seq (4) | IV (8 AEAD / 16 CBC) | enc(inner | pad 1,2,3… | PadLen | NH=4) | ICV
 *
 * AEAD: nonce = salt | IV (IV = the 64-bit sequence number, never repeats),
 * AAD = SPI | Seq. CBC: HMAC over SPI..ciphertext. Anti-replay window of 64,
 * updated only after the ICV checked out.
 */
import { cbc, gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { concatBytes, equalBytes } from '../base/bytes.ts';
import { EncrId, IntegId } from '../wire/ikev2/constants.ts';
import { isAead } from './crypto-adapter.ts';
import type { CipherSuite, Random } from './crypto-adapter.ts';
import type { EspKeys } from './types.ts';

export const ESP_NEXT_HEADER_IPV4 = 4;
const WINDOW = 64n;

export type EspOpenResult =
  | { ok: true; inner: Uint8Array; nextHeader: number }
  | { ok: false; reason: 'short' | 'spi' | 'icv' | 'replay' | 'padding' };

function integHash(id: IntegId | undefined): { hash: typeof sha256 | typeof sha1 | typeof sha384 | typeof sha512; icv: number } {
  switch (id) {
    case IntegId.HmacSha1_96: return { hash: sha1, icv: 12 };
    case IntegId.HmacSha2_384_192: return { hash: sha384, icv: 24 };
    case IntegId.HmacSha2_512_256: return { hash: sha512, icv: 32 };
    default: return { hash: sha256, icv: 16 };
  }
}

export class EspSa {
  private seq = 0n;
  private highest = 0n;
  private bitmap = 0n;
  private readonly aead: boolean;
  private readonly ivLen: number;
  private readonly icvLen: number;

  constructor(readonly spiIn: number, readonly spiOut: number, private readonly suite: CipherSuite,
    private readonly keysIn: EspKeys, private readonly keysOut: EspKeys, private readonly random: Random) {
    this.aead = isAead(suite.encr);
    this.ivLen = this.aead ? 8 : 16;
    this.icvLen = this.aead ? 16 : integHash(suite.integ).icv;
  }

  /** An inner IPv4 packet → ESP packet (to send in UDP 4500). */
  seal(inner: Uint8Array, nextHeader = ESP_NEXT_HEADER_IPV4): Uint8Array {
    this.seq++;
    if (this.seq > 0xffffffffn) throw new RangeError('ESP sequence number exhausted; rekey');
    const block = this.suite.encr === EncrId.AesCbc ? 16 : 4;
    const padLen = (block - ((inner.length + 2) % block)) % block;
    const plain = new Uint8Array(inner.length + padLen + 2);
    plain.set(inner);
    for (let i = 0; i < padLen; i++) plain[inner.length + i] = i + 1;
    plain[plain.length - 2] = padLen;
    plain[plain.length - 1] = nextHeader;
    const hdr = new Uint8Array(8);
    const v = new DataView(hdr.buffer);
    v.setUint32(0, this.spiOut);
    v.setUint32(4, Number(this.seq));
    if (this.aead) {
      const iv = new Uint8Array(8);
      new DataView(iv.buffer).setBigUint64(0, this.seq);
      return concatBytes(hdr, iv, this.aeadCipher(this.keysOut, iv, hdr).encrypt(plain));
    }
    const iv = this.random(16);
    const ct = cbc(this.keysOut.encr, iv, { disablePadding: true }).encrypt(plain);
    const body = concatBytes(hdr, iv, ct);
    const { hash, icv } = integHash(this.suite.integ);
    return concatBytes(body, hmac(hash, this.keysOut.integ, body).subarray(0, icv));
  }

  open(pkt: Uint8Array): EspOpenResult {
    if (pkt.length < 8 + this.ivLen + this.icvLen + 2) return { ok: false, reason: 'short' };
    const v = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
    if (v.getUint32(0) !== this.spiIn) return { ok: false, reason: 'spi' };
    const seq = BigInt(v.getUint32(4));
    if (!this.replayOk(seq)) return { ok: false, reason: 'replay' };
    const hdr = pkt.subarray(0, 8);
    const iv = pkt.subarray(8, 8 + this.ivLen);
    let plain: Uint8Array;
    try {
      if (this.aead) plain = this.aeadCipher(this.keysIn, iv, hdr).decrypt(pkt.subarray(8 + this.ivLen));
      else {
        const { hash, icv } = integHash(this.suite.integ);
        const macEnd = pkt.length - icv;
        if (!equalBytes(hmac(hash, this.keysIn.integ, pkt.subarray(0, macEnd)).subarray(0, icv), pkt.subarray(macEnd))) {
          return { ok: false, reason: 'icv' };
        }
        const ct = pkt.subarray(8 + this.ivLen, macEnd);
        if (ct.length % 16 !== 0) return { ok: false, reason: 'padding' };
        plain = cbc(this.keysIn.encr, iv, { disablePadding: true }).decrypt(ct);
      }
    } catch {
      return { ok: false, reason: 'icv' };
    }
    this.replayUpdate(seq);
    const padLen = plain[plain.length - 2]!;
    if (padLen + 2 > plain.length) return { ok: false, reason: 'padding' };
    return { ok: true, inner: plain.subarray(0, plain.length - 2 - padLen), nextHeader: plain[plain.length - 1]! };
  }

  private aeadCipher(k: EspKeys, iv: Uint8Array, aad: Uint8Array): { encrypt(p: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array } {
    const key = k.encr.subarray(0, k.encr.length - 4);
    const nonce = concatBytes(k.encr.subarray(k.encr.length - 4), iv);
    return this.suite.encr === EncrId.ChaCha20Poly1305 ? chacha20poly1305(key, nonce, aad) : gcm(key, nonce, aad);
  }

  private replayOk(seq: bigint): boolean {
    if (seq === 0n) return false;
    if (seq > this.highest) return true;
    const diff = this.highest - seq;
    return diff < WINDOW && ((this.bitmap >> diff) & 1n) === 0n;
  }

  private replayUpdate(seq: bigint): void {
    if (seq > this.highest) {
      const shift = seq - this.highest;
      this.bitmap = shift >= WINDOW ? 1n : ((this.bitmap << shift) | 1n) & ((1n << WINDOW) - 1n);
      this.highest = seq;
    } else this.bitmap |= 1n << (this.highest - seq);
  }
}
