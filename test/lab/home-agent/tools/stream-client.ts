/**
 * Lab tool: a byte-checked TCP stream (node --import tsx stream-client.ts <addr> <port> <seconds> [bytesPerTick]).
 * Sends a deterministic pseudo-random stream every 50 ms for <seconds>, reads
 * the echo and compares every byte. Prints {"event":"progress",…} every
 * second and finally {"event":"done","sent":n,"received":n,"ok":true|false,"src":…}.
 */
import net from 'node:net';

const [addr = '10.1.0.10', port = '5001', seconds = '3', perTick = '2000'] = process.argv.slice(2);
const total = Math.round((Number(seconds) * 1000) / 50) * Number(perTick);
const byteAt = (i: number) => (i * 2654435761 + (i >>> 8)) & 0xff;
let sent = 0;
let received = 0;
let mismatch = -1;
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

const sock = net.connect({ host: addr, port: Number(port) }, () => {
  out({ event: 'connected', src: sock.localAddress });
  const tick = setInterval(() => {
    const n = Math.min(Number(perTick), total - sent);
    const chunk = Buffer.alloc(n);
    for (let i = 0; i < n; i++) chunk[i] = byteAt(sent + i);
    sent += n;
    sock.write(chunk);
    if (sent >= total) clearInterval(tick);
  }, 50);
  const progress = setInterval(() => out({ event: 'progress', sent, received }), 1000);
  sock.on('close', () => clearInterval(progress));
});
sock.on('data', (d) => {
  for (let i = 0; i < d.length; i++) if (mismatch < 0 && d[i] !== byteAt(received + i)) mismatch = received + i;
  received += d.length;
  if (received >= total) {
    out({ event: 'done', sent, received, ok: mismatch < 0 && received === total, mismatch, src: sock.localAddress });
    sock.end();
  }
});
sock.on('error', (e) => {
  out({ event: 'done', sent, received, ok: false, error: e.message });
  process.exit(1);
});
setTimeout(() => {
  out({ event: 'done', sent, received, ok: false, error: 'timeout' });
  process.exit(1);
}, Number(seconds) * 1000 + 30_000).unref();
