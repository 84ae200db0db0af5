/**
 * `--keylog <file>`: tshark's UAT lines for every SA we derive, so any
 * capture of our traffic can be decrypted by an independent dissector
 * (formats in /work/shared/LAB.md "Independent checkers"):
 *
 *   ikev2_decryption_table: SPIi,SPIr,SK_ei,SK_er,"<encr>",SK_ai,SK_ar,"<integ>"
 *   esp_sa:                 "IPv4","src","dst","0xSPI","<encr>","0xKEY","<auth>","0xAUTHKEY"
 *
 * Debug only: the file holds live keys. Lines are appended, one per SA.
 */
import { appendFileSync } from 'node:fs';
import { bytesToHex } from '../base/bytes.ts';
import { EncrId, IntegId } from '../wire/ikev2/constants.ts';
import type { CipherSuite } from '../ikev2/crypto-adapter.ts';
import type { ChildSaInfo, IkeKeyLog } from '../ikev2/types.ts';

function ikeEncrName(s: CipherSuite): string {
  if (s.encr === EncrId.AesGcm16) return `AES-GCM-${s.keyLength} with 16 octet ICV [RFC5282]`;
  if (s.encr === EncrId.AesCbc) return `AES-CBC-${s.keyLength} [RFC3602]`;
  return 'ChaCha20-Poly1305 [RFC7634]';
}

function ikeIntegName(s: CipherSuite): string {
  switch (s.integ) {
    case IntegId.HmacSha2_256_128: return 'HMAC_SHA2_256_128 [RFC4868]';
    case IntegId.HmacSha2_384_192: return 'HMAC_SHA2_384_192 [RFC4868]';
    case IntegId.HmacSha2_512_256: return 'HMAC_SHA2_512_256 [RFC4868]';
    case IntegId.HmacSha1_96: return 'HMAC_SHA1_96 [RFC2404]';
    default: return 'NONE [RFC4306]';
  }
}

function espEncrName(s: CipherSuite): string {
  if (s.encr === EncrId.AesGcm16) return 'AES-GCM with 16 octet ICV [RFC4106]';
  if (s.encr === EncrId.AesCbc) return 'AES-CBC [RFC3602]';
  return 'NULL';
}

function espAuthName(s: CipherSuite): string {
  switch (s.integ) {
    case IntegId.HmacSha2_256_128: return 'HMAC-SHA-256-128 [RFC4868]';
    case IntegId.HmacSha2_384_192: return 'HMAC-SHA-384-192 [RFC4868]';
    case IntegId.HmacSha2_512_256: return 'HMAC-SHA-512-256 [RFC4868]';
    case IntegId.HmacSha1_96: return 'HMAC-SHA-1-96 [RFC2404]';
    default: return 'NULL';
  }
}

export function ikeKeylogLine(k: IkeKeyLog): string {
  return `ikev2_decryption_table: ${[bytesToHex(k.spiI), bytesToHex(k.spiR), bytesToHex(k.skEi), bytesToHex(k.skEr),
    `"${ikeEncrName(k.suite)}"`, bytesToHex(k.skAi), bytesToHex(k.skAr), `"${ikeIntegName(k.suite)}"`].join(',')}`;
}

/** Two lines per Child SA: inbound (gateway → us) and outbound. */
export function espKeylogLines(c: ChildSaInfo, local: string, gateway: string): string[] {
  const line = (src: string, dst: string, spi: number, k: ChildSaInfo['keysIn']): string =>
    `esp_sa: ${['"IPv4"', `"${src}"`, `"${dst}"`, `"0x${spi.toString(16).padStart(8, '0')}"`, `"${espEncrName(c.suite)}"`,
      `"0x${bytesToHex(k.encr)}"`, `"${espAuthName(c.suite)}"`, `"${k.integ.length ? `0x${bytesToHex(k.integ)}` : ''}"`].join(',')}`;
  return [line(gateway, local, c.spiIn, c.keysIn), line(local, gateway, c.spiOut, c.keysOut)];
}

export class KeyLog {
  constructor(private readonly path: string) {}

  write(lines: string[]): void {
    appendFileSync(this.path, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  }
}
