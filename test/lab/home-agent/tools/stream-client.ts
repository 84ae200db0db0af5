/**
 * Lab tool: a byte-checked TCP stream (node --import tsx stream-client.ts <addr> <port> <seconds> [bytesPerTick]).
 * Sends a deterministic pseudo-random stream every 50 ms for <seconds>, reads
 * the echo and compares every byte. Prints {"event":"progress",…} every
 * second and finally {"event":"done","sent":n,"received":n,"ok":true|false,"src":…}.
 * <seconds> = 0: send until SIGTERM/SIGINT, then wait (≤ 15 s) for the echo of
 * everything sent and finish the same way (the demo's endless session).
 */
import net from 'node:net';

const [addr = '10.1.0.10', port = '5001', seconds = '3', perTick = '2000'] = process.argv.slice(2);
const endless = Number(seconds) === 0;
let total = endless ? Infinity : Math.round((Number(seconds) * 1000) / 50) * Number(perTick);
const byteAt = (i: number) => (i * 2654435761 + (i >>> 8)) & 0xff;
let sent = 0;
let received = 0;
let mismatch = -1;
let finished = false;
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
let tick: NodeJS.Timeout | undefined;

const finish = (o: Record<string, unknown>, code: number): void => {
  if (finished) return;
  finished = true;
  out({ event: 'done', sent, received, ...o });
  process.exitCode = code;
  sock.end();
  setTimeout(() => process.exit(code), 200).unref();
};

const sock = net.connect({ host: addr, port: Number(port) }, () => {
  out({ event: 'connected', src: sock.localAddress });
  tick = setInterval(() => {
    const n = Math.min(Number(perTick), total - sent);
    const chunk = Buffer.alloc(n);
    for (let i = 0; i < n; i++) chunk[i] = byteAt(sent + i);
    sent += n;
    sock.write(chunk);
    if (sent >= total) clearInterval(tick);
  }, 50);
  const progress = setInterval(() => out({ event: 'progress', sent, received, ok: mismatch < 0 }), 1000);
  sock.on('close', () => clearInterval(progress));
});
sock.on('data', (d) => {
  for (let i = 0; i < d.length; i++) if (mismatch < 0 && d[i] !== byteAt(received + i)) mismatch = received + i;
  received += d.length;
  if (received >= total) finish({ ok: mismatch < 0 && received === total, mismatch, src: sock.localAddress }, mismatch < 0 ? 0 : 1);
});
sock.on('error', (e) => finish({ ok: false, error: e.message }, 1));
sock.on('close', () => finish({ ok: false, error: 'connection closed by the peer' }, 1));

const stop = (): void => {
  if (!endless || total !== Infinity) return;
  clearInterval(tick);
  total = sent;
  if (received >= total) finish({ ok: mismatch < 0, mismatch, src: sock.localAddress }, mismatch < 0 ? 0 : 1);
  setTimeout(() => finish({ ok: false, error: 'echo incomplete 15 s after stop' }, 1), 15_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!endless) setTimeout(() => finish({ ok: false, error: 'timeout' }, 1), Number(seconds) * 1000 + 30_000).unref();
