/**
 * Lab tool: a scripted mobile node for testing the reference home agent on
 * its own (independent of the product's registration client).
 *
 *   node --import tsx scripted-mn.ts <ha> <rrqHex> [pingDst] [hoa]
 *
 * Sends the given Registration Request from one UDP socket, prints the reply,
 * then (when pingDst is given) sends an ICMP echo from the home address inside
 * RFC 3519 tunnel data on the same socket and prints what comes back through
 * the tunnel. One JSON line per step.
 */
import dgram from 'node:dgram';
import { decodeIcmpEcho, encodeIcmpEcho, IcmpType } from '../../../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../../../../app/wire/ip/ipv4-header.ts';

const [ha = '', rrqHex = '', pingDst, hoa = '10.1.0.50'] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const s = dgram.createSocket('udp4');
const fail = setTimeout(() => {
  out({ event: 'timeout' });
  process.exit(1);
}, 5000);

let pinged = false;
s.on('message', (m) => {
  if (m[0] === 3) {
    out({ event: 'reply', hex: m.toString('hex'), code: m[1] });
    if (!pingDst || m[1]! > 1) return finish();
    pinged = true;
    const echo = encodeIcmpEcho({ type: IcmpType.EchoRequest, id: 0x4d4e, seq: 1, data: Buffer.from('through the home agent') });
    const inner = encodeIpv4({ src: hoa, dst: pingDst, protocol: IpProto.Icmp }, echo);
    s.send(Buffer.concat([Buffer.from([4, 4, 0, 0]), inner]), 434, ha);
    return;
  }
  if (m[0] === 4 && pinged) {
    const inner = new Uint8Array(m.subarray(4));
    const h = decodeIpv4Header(inner);
    const echo = decodeIcmpEcho(ipv4Payload(inner, h));
    out({ event: 'tunnelled', src: h.src, dst: h.dst, icmpType: echo.type, id: echo.id, data: Buffer.from(echo.data).toString() });
    finish();
  }
});

function finish(): void {
  clearTimeout(fail);
  s.close();
}

s.bind(0, () => s.send(Buffer.from(rrqHex, 'hex'), 434, ha));
