/**
 * Lab tool: a misbehaving home agent (node --import tsx fake-ha.ts <addr> <spi> <keyHex>).
 * Answers the first three Registration Requests with replies the mobile node
 * must drop (RFC 5944 §3.6.2.1), one JSON line each, then answers properly:
 *   1. accepted, but the authenticator is wrong
 *   2. accepted, authenticated, but the identification does not match
 *   3. accepted, with two valid MN-HA extensions
 *   4+ accepted, correct
 * Replies are built here with node:crypto, independent of Homeward's codecs.
 */
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';

const [addr = '0.0.0.0', spiText = '300', keyHex = ''] = process.argv.slice(2);
const key = Buffer.from(keyHex, 'hex');
const kinds = ['wrong-authenticator', 'wrong-identification', 'duplicate-mn-ha', 'good'] as const;
let n = 0;

function reply(req: Buffer, kind: (typeof kinds)[number]): Buffer {
  const head = Buffer.alloc(20);
  head[0] = 3;
  head[1] = 0;
  head.writeUInt16BE(Math.min(req.readUInt16BE(2), 300), 2);
  req.copy(head, 4, 4, 12); // HoA, HA
  req.copy(head, 12, 16, 24); // identification
  if (kind === 'wrong-identification') head.writeUInt32BE((head.readUInt32BE(16) + 1) >>> 0, 16);
  const auth = (covered: Buffer) => {
    const ext = Buffer.from([32, 20, 0, 0, 0, 0]);
    ext.writeUInt32BE(Number(spiText), 2);
    const c = Buffer.concat([covered, ext]);
    const mac = createHmac('md5', key).update(c).digest();
    if (kind === 'wrong-authenticator') mac[0]! ^= 0xff;
    return Buffer.concat([c, mac]);
  };
  const tnc = Buffer.from([149, 2, 0, 0]);
  const once = auth(Buffer.concat([head, tnc]));
  return kind === 'duplicate-mn-ha' ? auth(once) : once;
}

const s = dgram.createSocket('udp4');
s.on('message', (m, r) => {
  if (m[0] !== 1 || m.length < 24) return;
  const kind = kinds[Math.min(n++, 3)]!;
  s.send(reply(m, kind), r.port, r.address);
  process.stdout.write(`${JSON.stringify({ event: 'sent', kind, lifetime: m.readUInt16BE(2) })}\n`);
});
s.bind(434, addr, () => process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`));
process.on('SIGTERM', () => process.exit(0));
