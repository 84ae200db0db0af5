/** What the VPN driver (app/io/vpn-driver.ts) is given and gives back. */
import type { Profile } from '../config/profile.ts';
import type { IkeEvent } from '../ikev2/types.ts';
import type { InitPreparer } from './ike-prepare.ts';
import type { Platform } from './platform.ts';

export interface VpnDriverOptions {
  profile: Profile;
  emit: (event: IkeEvent) => void;
  keylog?: string;
  tunName?: string;
  /** ms to wait for the gateway's answer to our DELETE at stop */
  stopTimeoutMs?: number;
  /**
   * Called once the TUN holds the TIA and the routes for the traffic selectors
   * are installed — from then on a packet sent from the TIA enters the tunnel
   * (app/io/engine.ts registers with the home agent through it).
   */
  onReady?(info: { tia: string; local: string; dev: string; /** the gateway's DNS servers and split-DNS domains (RFC 8598) */ dns?: { servers: string[]; domains: string[] } }): void;
  /** Watch the links ourselves and roam on a change (`vpn up` standalone; the engine calls roam() itself). */
  monitor?: boolean;
  /** the operating system (default: Linux) */
  platform?: Platform;
  /**
   * Retransmissions of IKE requests back off by 1.8 up to this interval
   * (default 60 s): the engine caps them at 1 s so that a gateway coming back
   * is found within about a second (docs/ENGINE.md, "Recovery").
   */
  retransmitCapMs?: number;
  /** the next IKE_SA_INIT's key pair and nonce, made while idle (default: the driver's own; the engine shares one) */
  preparer?: InitPreparer;
}

export interface VpnResult {
  error?: { code: string; message: string };
}
