/**
 * The IKE/ESP UDP sockets: one on the IKE port (500) and one on the NAT-T
 * port (4500), bound on the current local address; a port already taken (or
 * not permitted) falls back to an ephemeral one. Datagrams are handed over
 * as they come; on 4500 the caller tells IKE (non-ESP marker), ESP and
 * keepalives apart (RFC 3948 §2.2).
 */
import dgram from 'node:dgram';
import type { Datagram, Endpoint, Transmit } from '../ikev2/types.ts';
import { literalLookup } from './literal-lookup.ts';

export const IKE_PORT = 500;
export const NATT_PORT = 4500;

export interface UdpTransport {
  readonly localAddr: string;
  readonly ikePort: number;
  readonly nattPort: number;
  onDatagram(handler: (d: Datagram) => void): void;
  send(t: Transmit): void;
  close(): void;
  readonly stats: { rx: number; tx: number; txErrors: number };
  /**
   * The NAT-T socket's descriptor for the native data plane (app/io/native-esp-path.ts),
   * which then reads it on its own thread: pause() stops Node's reads, resume() restarts them.
   * Absent where the socket has no descriptor (fakes).
   */
  natt?(): NattHandle | undefined;
}

export interface NattHandle {
  readonly fd: number;
  pause(): void;
  resume(): void;
}

interface UdpHandle {
  fd: number;
  recvStop(): number;
  recvStart(): number;
}

/**
 * The libuv handle of a bound dgram socket. Node keeps it under its "state symbol";
 * the public `_handle` getter would print DEP0112 on every start.
 */
function udpHandle(s: dgram.Socket): UdpHandle | undefined {
  const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'state symbol');
  const state: unknown = sym ? Reflect.get(s, sym) : undefined;
  const h: unknown = typeof state === 'object' && state !== null ? Reflect.get(state, 'handle') : undefined;
  return isUdpHandle(h) ? h : undefined;
}

/** Node's internal handle, checked member by member before we rely on it. */
function isUdpHandle(h: unknown): h is UdpHandle {
  if (typeof h !== 'object' || h === null) return false;
  const fd: unknown = Reflect.get(h, 'fd');
  return typeof fd === 'number' && fd >= 0 && typeof Reflect.get(h, 'recvStop') === 'function' && typeof Reflect.get(h, 'recvStart') === 'function';
}

function bind(addr: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    // literalLookup: the datagram leaves inside send(), before the step's effects run
    const s = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    const onError = (e: Error): void => {
      s.close();
      reject(e);
    };
    s.once('error', onError);
    s.bind({ address: addr, port, exclusive: true }, () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

async function bindPreferred(addr: string, port: number): Promise<dgram.Socket> {
  try {
    return await bind(addr, port);
  } catch {
    return bind(addr, 0);
  }
}

export async function openUdpTransport(localAddr: string): Promise<UdpTransport> {
  const ike = await bindPreferred(localAddr, IKE_PORT);
  let natt: dgram.Socket;
  try {
    natt = await bindPreferred(localAddr, NATT_PORT);
  } catch (e) {
    ike.close();
    throw e;
  }
  const stats = { rx: 0, tx: 0, txErrors: 0 };
  const ikePort = ike.address().port;
  const nattPort = natt.address().port;
  let handler: ((d: Datagram) => void) | undefined;
  const listen = (s: dgram.Socket, local: Endpoint): void => {
    s.on('message', (msg, rinfo) => {
      stats.rx++;
      handler?.({ bytes: new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), local, remote: { addr: rinfo.address, port: rinfo.port } });
    });
    s.on('error', () => {
      stats.txErrors++;
    });
  };
  listen(ike, { addr: localAddr, port: ikePort });
  listen(natt, { addr: localAddr, port: nattPort });
  let closed = false;
  return {
    localAddr, ikePort, nattPort, stats,
    onDatagram(h) {
      handler = h;
    },
    send(t) {
      if (closed) return;
      const s = t.local.port === nattPort ? natt : ike;
      stats.tx++;
      s.send(t.bytes, t.remote.port, t.remote.addr, (err) => {
        if (err) stats.txErrors++;
      });
    },
    close() {
      if (closed) return;
      closed = true;
      ike.close();
      natt.close();
    },
    natt() {
      const h = closed ? undefined : udpHandle(natt);
      if (!h) return undefined;
      return {
        fd: h.fd,
        pause: () => void (closed || h.recvStop()),
        resume: () => void (closed || h.recvStart()),
      };
    },
  };
}
