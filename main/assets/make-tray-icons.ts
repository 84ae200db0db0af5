/**
 * Writes the tray icons (22×22 and @2x PNGs, one per TrayIcon) without an
 * image library: a filled disc in the mode's colour with a light ring.
 * Run: npx tsx main/assets/make-tray-icons.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import type { TrayIcon } from '../tray.ts';

const COLOURS: Record<TrayIcon, [number, number, number]> = {
  inside: [31, 157, 107], 'outside-vpn': [47, 111, 222], detecting: [201, 138, 18], offline: [123, 135, 152], error: [207, 59, 59],
};

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) { c ^= b; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function discPng(size: number, [r, g, b]: [number, number, number]): Buffer {
  const rows: Buffer[] = [];
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c) / (size / 2);
      const alpha = Math.max(0, Math.min(1, (0.95 - d) * size / 2));
      const ring = d > 0.72 && d < 0.95;
      row.set(ring ? [255, 255, 255, Math.round(alpha * 230)] : [r, g, b, Math.round(alpha * 255)], 1 + x * 4);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

const here = dirname(fileURLToPath(import.meta.url));
for (const [name, colour] of Object.entries(COLOURS)) {
  writeFileSync(join(here, `tray-${name}.png`), discPng(22, colour));
  writeFileSync(join(here, `tray-${name}@2x.png`), discPng(44, colour));
}
