/**
 * Profile `vpn` section → the IKE SA core's configuration. Pure: the files
 * and secrets it names are read by the driver (app/io/vpn-credentials.ts)
 * and handed in as `auth`.
 */
import type { VpnProfile } from '../config/profile.ts';
import type { IkeSaConfig } from './types.ts';

export interface IkeSaSetting {
  /** our address towards the gateway and the ports our sockets got */
  localAddr: string;
  ikePort: number;
  nattPort: number;
  /** all our usable addresses (MOBIKE); announced when more than one */
  addresses: string[];
  /** wall-clock ms minus monotonic ms (certificate validity) */
  wallOffsetMs: number;
  auth: Pick<IkeSaConfig, 'cert' | 'eap'>;
}

export function ikeSaConfig(vpn: VpnProfile, s: IkeSaSetting): IkeSaConfig {
  const { cert, eap } = s.auth;
  return {
    gateway: vpn.gateway, localAddr: s.localAddr, ikePort: s.ikePort, nattPort: s.nattPort, remotePort: vpn.port,
    localId: vpn.localId, remoteId: vpn.remoteId, psk: vpn.auth.kind === 'psk' ? vpn.auth.psk : new Uint8Array(0),
    ...(cert ? { cert, wallOffsetMs: s.wallOffsetMs } : {}),
    ...(eap ? { eap, wallOffsetMs: s.wallOffsetMs } : {}), ike: vpn.ike, esp: vpn.esp, remoteTs: vpn.remoteTs,
    requestDns: vpn.requestDns, retransmitBaseMs: vpn.retransmitBaseMs, retransmitTries: vpn.retransmitTries,
    dpdSeconds: vpn.dpdSeconds, natKeepaliveSeconds: vpn.natKeepaliveSeconds, mobike: vpn.mobike,
    ...(vpn.noNatsAllowed ? { noNatsAllowed: true } : {}), ...(s.addresses.length > 1 ? { additionalAddrs: s.addresses } : {}),
    ...(vpn.rekeySeconds !== undefined ? { rekeySeconds: vpn.rekeySeconds } : {}),
  };
}
