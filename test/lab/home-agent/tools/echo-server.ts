/**
 * Lab tool: a TCP echo server (node --import tsx echo-server.ts <addr> <port>).
 * Prints {"event":"listening"} once bound and one line per closed connection
 * with the byte count, so a test can see the stream reached the intranet host.
 */
import net from 'node:net';

const [addr = '0.0.0.0', port = '5001'] = process.argv.slice(2);
const server = net.createServer((sock) => {
  let bytes = 0;
  const peer = `${sock.remoteAddress}:${sock.remotePort}`;
  sock.on('data', (d) => {
    bytes += d.length;
    sock.write(d);
  });
  sock.on('error', () => undefined);
  sock.on('close', () => process.stdout.write(`${JSON.stringify({ event: 'closed', peer, bytes })}\n`));
});
server.listen(Number(port), addr, () => process.stdout.write(`${JSON.stringify({ event: 'listening', addr, port: Number(port) })}\n`));
process.on('SIGTERM', () => process.exit(0));
