/**
 * The VPN's reconnect policy (profile `vpn.reconnect`): after an IKE SA that
 * was once up dies of silence (DEAD_PEER, TIMEOUT) or the gateway deletes it,
 * a new one is started — first after 1 s, doubling to 30 s; a successful
 * setup starts the count again. A failure before the first setup (wrong PSK,
 * no proposal) is final, and so is anything once we are stopping.
 */
import { backoff } from '../base/clock.ts';

const FIRST_MS = 1000;
const FACTOR = 2;
const CAP_MS = 30_000;

export class ReconnectPolicy {
  private everEstablished = false;
  private attempt = 0;

  constructor(private readonly enabled: boolean) {}

  /** An IKE SA came up. */
  established(): void {
    this.everEstablished = true;
    this.attempt = 0;
  }

  /** Whether a close with this error (undefined: deleted) is answered with a new IKE SA. */
  recovers(error: { code: string } | undefined, stopping: boolean): boolean {
    const reconnectable = !error || error.code === 'DEAD_PEER' || error.code === 'TIMEOUT';
    return !stopping && this.enabled && this.everEstablished && reconnectable;
  }

  /** ms to wait before the next attempt (each call is one more attempt). */
  nextDelay(): number {
    return backoff(this.attempt++, FIRST_MS, FACTOR, CAP_MS);
  }
}
