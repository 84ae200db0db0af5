/**
 * The VPN's credentials as the IKE core wants them: the profile's files and
 * stored secrets read once at start (certificate, key, CA, EAP password via
 * app/io/secrets.ts), and the EAP-TLS runner that answers the core's
 * `eap-tls` effects through node:tls (app/io/eap-tls-engine.ts).
 */
import { readFileSync } from 'node:fs';
import type { VpnProfile } from '../config/profile.ts';
import type { TlsEngineResult } from '../eap/eap-tls.ts';
import { loadLocalCredential, loadTrustAnchor } from '../ikev2/cert-auth.ts';
import type { IkeSaConfig } from '../ikev2/types.ts';
import { NodeTlsEngine } from './eap-tls-engine.ts';
import type { TlsEngineOptions } from './eap-tls-engine.ts';
import type { PlatformClock } from './platform.ts';
import { resolveSecret } from './secrets.ts';

export interface VpnCredentials {
  auth: Pick<IkeSaConfig, 'cert' | 'eap'>;
  /** EAP-TLS: our certificate and key for node:tls */
  tls?: TlsEngineOptions;
}

export async function loadVpnCredentials(vpn: VpnProfile): Promise<VpnCredentials> {
  if (vpn.auth.kind === 'cert') {
    const credential = loadLocalCredential({ certPem: readFileSync(vpn.auth.cert, 'utf8'), keyPem: readFileSync(vpn.auth.key, 'utf8') });
    return { auth: { cert: { credential, anchors: [loadTrustAnchor(readFileSync(vpn.ca!, 'utf8'))] } } };
  }
  if (vpn.auth.kind !== 'eap') return { auth: {} };
  const a = vpn.auth.eap;
  const caPem = readFileSync(vpn.ca!, 'utf8');
  const anchors = [loadTrustAnchor(caPem)];
  const identity = a.identity ?? vpn.localId;
  if (a.method === 'tls') {
    const keyPem = typeof a.key === 'string' ? readFileSync(a.key, 'utf8') : await resolveSecret(a.key);
    const certPem = readFileSync(a.cert, 'utf8');
    loadLocalCredential({ certPem, keyPem }); // the same checks as certificate authentication: parses, matches, not encrypted
    return { auth: { eap: { method: { method: 'tls', identity }, anchors, eapOnly: a.eapOnly } }, tls: { certPem, keyPem, caPem, serverName: vpn.remoteId } };
  }
  const password = await resolveSecret(a.password);
  return { auth: { eap: { method: { method: 'mschapv2', identity, password }, anchors, eapOnly: a.eapOnly } } };
}

/** EAP-TLS: the core's TLS bytes go through node:tls; its answer comes back through `answer`. */
export class EapTlsRunner {
  private engine?: NodeTlsEngine;

  constructor(private readonly options: TlsEngineOptions, private readonly clock: PlatformClock, private readonly answer: (r: TlsEngineResult) => void) {}

  /** `null`: a new handshake. */
  step(input: Uint8Array | null): void {
    if (input === null || !this.engine) {
      this.engine?.close();
      this.engine = new NodeTlsEngine(this.options);
    }
    const engine = this.engine;
    void engine.step(input).then((r) => {
      if (this.engine !== engine) return;
      if (r.done || r.error) {
        this.engine = undefined;
        const t = this.clock.timer(() => engine.close());
        t.arm(this.clock.now() + 100);
      }
      this.answer(r);
    });
  }

  close(): void {
    this.engine?.close();
    this.engine = undefined;
  }
}
