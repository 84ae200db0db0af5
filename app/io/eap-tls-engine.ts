/**
 * The TLS engine behind EAP-TLS (RFC 5216): node:tls (OpenSSL) runs the
 * handshake over a Duplex whose other end is the EAP-TLS framing in the IKE
 * core (app/eap/eap-tls.ts). We do not write TLS.
 *
 *   step(null)          start: the ClientHello comes back
 *   step(serverFlight)  the bytes are pushed into the Duplex; whatever the
 *                       TLS socket writes back is collected until it has
 *                       settled (no new bytes for a turn of the event loop),
 *                       the handshake finished, or it failed
 *
 * TLS 1.2 is pinned: RFC 5216's MSK (§2.3) = TLS-PRF-64(master secret,
 * "client EAP encryption", client.random ‖ server.random), which is
 * `exportKeyingMaterial(64, 'client EAP encryption')` without a context.
 * (TLS 1.3 would need RFC 9190's label and its close_notify dance.)
 * The server's certificate must chain to vpn.ca and name vpn.remoteId.
 */
import { Duplex } from 'node:stream';
import { constants } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { TlsEngineResult } from '../eap/eap-tls.ts';

export interface TlsEngineOptions {
  certPem: string;
  keyPem: string;
  caPem: string;
  /** the identity the server's certificate must carry (vpn.remoteId) */
  serverName: string;
  /** give up on a step after this long */
  stepTimeoutMs?: number;
}

export class NodeTlsEngine {
  private readonly duplex: Duplex;
  private socket?: TLSSocket;
  private out: Buffer[] = [];
  private done = false;
  private error?: { message: string; byPeer: boolean };

  constructor(private readonly o: TlsEngineOptions) {
    this.duplex = new Duplex({
      read: () => { /* data is pushed by step() */ },
      write: (chunk: Buffer, _enc, cb) => {
        this.out.push(chunk);
        cb();
      },
    });
  }

  async step(input: Uint8Array | null): Promise<TlsEngineResult> {
    if (input === null) this.start();
    else this.duplex.push(Buffer.from(input));
    return await this.settle();
  }

  private start(): void {
    const servername = /^[A-Za-z0-9.-]+$/.test(this.o.serverName) && /[A-Za-z]/.test(this.o.serverName) ? this.o.serverName : undefined;
    // node:tls only once an EAP-TLS exchange starts: most profiles never use it, and it costs ~1 MiB resident
    const { checkServerIdentity, connect } = process.getBuiltinModule('node:tls');
    this.socket = connect({
      socket: this.duplex, cert: this.o.certPem, key: this.o.keyPem, ca: this.o.caPem,
      minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', rejectUnauthorized: true,
      // strongSwan's own TLS stack (libtls, its eap-tls server) does not send RFC 5746's
      // renegotiation_info, which OpenSSL 3 demands by default. The attack it prevents needs a
      // renegotiation; this handshake never renegotiates, and it runs inside the IKE SA's encryption.
      secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT,
      ...(servername ? { servername } : {}),
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(this.o.serverName, cert),
    });
    this.socket.on('secureConnect', () => {
      this.done = true;
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      // ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE, ERR_SSL_TLSV1_ALERT_UNKNOWN_CA …: the server's fatal alert
      this.error = { message: code ? `${code}: ${e.message}` : e.message, byPeer: /ALERT/.test(code) };
    });
  }

  private settle(): Promise<TlsEngineResult> {
    return new Promise((resolve) => {
      let quietTurns = 0;
      let seen = this.out.length;
      const timeout = setTimeout(() => finish({ message: 'the TLS engine did not answer in time', byPeer: false }), this.o.stepTimeoutMs ?? 5000);
      const finish = (timedOut?: { message: string; byPeer: boolean }): void => {
        clearTimeout(timeout);
        clearInterval(poll);
        const output = new Uint8Array(Buffer.concat(this.out));
        this.out = [];
        const error = this.error ?? timedOut;
        if (error) return resolve({ output, done: false, error });
        if (this.done) {
          // no context argument at all: RFC 5705 distinguishes "no context" from an empty one
          const exportKm = this.socket!.exportKeyingMaterial.bind(this.socket) as (length: number, label: string) => Buffer;
          const msk = new Uint8Array(exportKm(64, 'client EAP encryption'));
          return resolve({ output, done: true, msk });
        }
        resolve({ output, done: false });
      };
      // settled: output produced and nothing new for two turns, or finished, or failed
      const poll = setInterval(() => {
        if (this.error || this.done) return finish();
        if (this.out.length > 0 && this.out.length === seen) {
          if (++quietTurns >= 2) finish();
        } else {
          quietTurns = 0;
          seen = this.out.length;
        }
      }, 1);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.duplex.destroy();
  }
}
