/**
 * Our dgram sockets hand a datagram to the kernel inside send() (app/io/literal-lookup.ts):
 * with Node's default lookup an address literal is still resolved on the next tick, so a
 * socket closed right after send() — or a handler that works on after it — held it back.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { literalLookup } from '../../../app/io/literal-lookup.ts';
import { openNodeDatagram } from '../../../app/io/platform-linux.ts';
import { openUdpTransport } from '../../../app/io/udp-transport.ts';

const open: dgram.Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function receiver(): Promise<{ port: number; next: Promise<Buffer> }> {
  const r = dgram.createSocket('udp4');
  open.push(r);
  await new Promise<void>((res) => r.bind(0, '127.0.0.1', () => res()));
  const next = new Promise<Buffer>((res, rej) => {
    r.once('message', (m) => res(m));
    setTimeout(() => rej(new Error('nothing arrived within 2 s')), 2000).unref();
  });
  return { port: r.address().port, next };
}

describe('literalLookup: datagrams leave inside send()', () => {
  it('answers an IPv4 literal before it returns, and leaves a name to dns.lookup', async () => {
    const seen: unknown[] = [];
    literalLookup('192.0.2.1', 4, (err, addr, family) => seen.push([err, addr, family]));
    expect(seen).toEqual([[null, '192.0.2.1', 4]]);
    const viaDns = await new Promise<unknown[]>((res) => literalLookup('localhost', 4, (err, addr, family) => res([err, addr, family])));
    expect(viaDns).toEqual([null, '127.0.0.1', 4]);
  });

  it('the IKE transport: a datagram sent and the socket closed in the same tick still arrives', async () => {
    const r = await receiver();
    const t = await openUdpTransport('127.0.0.1');
    t.send({ bytes: new Uint8Array([1, 2, 3, 4]), local: { addr: '127.0.0.1', port: t.ikePort }, remote: { addr: '127.0.0.1', port: r.port } });
    t.close();
    expect([...(await r.next)]).toEqual([1, 2, 3, 4]);
  });

  it('the platform datagram socket (registrations, detection probes): the same', async () => {
    const r = await receiver();
    const s = openNodeDatagram({ address: '127.0.0.1' });
    await s.bound;
    s.send(new Uint8Array([9, 8, 7]), { address: '127.0.0.1', port: r.port });
    s.close();
    expect([...(await r.next)]).toEqual([9, 8, 7]);
  });
});
