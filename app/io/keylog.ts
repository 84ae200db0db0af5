/**
 * `--keylog <file>`: tshark's UAT lines for every SA we derive, so any
 * capture of our traffic can be decrypted by an independent dissector
 * (formats in docs/LAB.md "Independent checkers"):
 *
 *   ikev2_decryption_table: SPIi,SPIr,SK_ei,SK_er,"<encr>",SK_ai,SK_ar,"<integ>"
 *   esp_sa:                 "IPv4","src","dst","0xSPI","<encr>","0xKEY","<auth>","0xAUTHKEY"
 *
 * Debug only: the file holds live keys. Lines are appended, one per SA.
 *
 * The engine runs as root, and the path often lies in a shared directory
 * (/tmp): the file is opened once with O_NOFOLLOW | O_CREAT | O_APPEND and
 * mode 0600, and refused (KeyLogError, naming the path) when it is a
 * symbolic link, not a regular file (FIFO, device, directory), has other
 * hard links, or belongs to another user; an existing file is narrowed to 0600.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';
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

export class KeyLogError extends Error {
  constructor(readonly path: string, why: string) {
    super(`--keylog ${path}: ${why}`);
    this.name = 'KeyLogError';
  }
}

/** Opens (creating 0600) the key log for appending; throws KeyLogError when the path is not safe to write as root. */
export function openKeyLogFile(path: string): number {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not hang the engine (and is refused below)
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new KeyLogError(path, 'is a symbolic link; refusing to follow it');
    if (code === 'ENXIO') throw new KeyLogError(path, 'is a FIFO or socket, not a regular file');
    throw new KeyLogError(path, (e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyLogError(path, 'is not a regular file');
    if (st.nlink > 1) throw new KeyLogError(path, `has ${st.nlink} hard links; refusing to write keys into a file linked elsewhere`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new KeyLogError(path, `belongs to uid ${st.uid}, not to us (uid ${uid})`);
    if ((st.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export class KeyLog {
  private fd: number | undefined;

  /** Opens the file at once, so a bad path fails the start, not the first SA. */
  constructor(private readonly path: string) {
    this.fd = openKeyLogFile(path);
  }

  write(lines: string[]): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, lines.map((l) => `${l}\n`).join(''));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
