/**
 * Lab tool: sends one UDP datagram (hex) and prints the first reply as hex
 * (node --import tsx udp-send.ts <dst> <port> <hex> [timeoutMs]).
 */
import dgram from 'node:dgram';

const [dst = '', port = '434', hex = '', timeout = '3000'] = process.argv.slice(2);
const s = dgram.createSocket('udp4');
const timer = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ event: 'timeout' })}\n`);
  s.close();
}, Number(timeout));
s.on('message', (m, r) => {
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ event: 'reply', from: r.address, port: r.port, hex: m.toString('hex') })}\n`);
  s.close();
});
s.send(Buffer.from(hex, 'hex'), Number(port), dst);
