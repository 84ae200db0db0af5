/**
 * Cross-check with an independent ESP implementation: scapy's
 * SecurityAssociation (python3-scapy) decrypts what we encapsulate, and we
 * decapsulate what it encrypts; with the same Seq and IV the bytes match.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../app/base/bytes.ts';
import { EncrId } from '../../../app/wire/ikev2/constants.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import type { CipherSuite } from '../../../app/crypto/suite.ts';
import { encrKeyLength } from '../../../app/crypto/suite.ts';
import { InboundEspSa, OutboundEspSa } from '../../../app/esp/esp-sa.ts';

const SCRIPT = fileURLToPath(new URL('./scapy-esp.py', import.meta.url));

function findPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import scapy.layers.ipsec'], { stdio: 'ignore', timeout: 30_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}
const python = findPython();
const skip = python ? '' : ' (skipped: python3-scapy not installed)';

const CASES: [string, 'aes-gcm' | 'chacha', CipherSuite][] = [
  ['AES-GCM-128', 'aes-gcm', { encr: EncrId.AesGcm16, keyLength: 128 }],
  ['AES-GCM-256', 'aes-gcm', { encr: EncrId.AesGcm16, keyLength: 256 }],
  ['ChaCha20-Poly1305', 'chacha', { encr: EncrId.ChaCha20Poly1305 }],
];

describe('ESP cross-check with scapy', () => {
  for (const [name, alg, suite] of CASES) {
    it.skipIf(!python)(`${name}: scapy opens ours, we open scapy's, bytes identical${skip}`, () => {
      const spi = 0x0a0b0c0d;
      const keymat = new Uint8Array(encrKeyLength(suite)).map((_, i) => (i * 29 + 3) & 0xff);
      const keys = { encr: keymat, integ: new Uint8Array(0) };
      const out = new OutboundEspSa({ spi, suite, keys });
      const inners = [17, 100, 1400].map((n) =>
        encodeIpv4({ src: '10.9.0.2', dst: '192.0.2.80', protocol: IpProto.Udp, id: n }, new Uint8Array(n).map((_, i) => i & 0xff)));
      const ours = inners.map((p) => {
        const r = out.encapsulate(p);
        if (!r.ok) throw new Error(r.reason);
        return r.packet;
      });
      const seq = 77;
      const iv = '00000000' + seq.toString(16).padStart(8, '0'); // our IV convention: the Seq
      const job = { alg, spi, keymat: bytesToHex(keymat), ours: ours.map(bytesToHex), inner: bytesToHex(inners[1]!), seq, iv };
      const r = spawnSync(python!, [SCRIPT, JSON.stringify(job)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const answer = JSON.parse(r.stdout) as { decrypted: string[]; theirs: string };

      expect(answer.decrypted).toEqual(inners.map(bytesToHex));

      const inb = new InboundEspSa({ spi, suite, keys });
      const theirs = hexToBytes(answer.theirs);
      const d = inb.decapsulate(theirs.slice());
      expect(d.ok && bytesToHex(d.inner)).toBe(bytesToHex(inners[1]!));
      expect(d.ok && d.seq).toBe(seq);

      const same = new OutboundEspSa({ spi, suite, keys }, { firstSeq: seq }).encapsulate(inners[1]!);
      expect(same.ok && bytesToHex(same.packet)).toBe(answer.theirs);
    });
  }
});
