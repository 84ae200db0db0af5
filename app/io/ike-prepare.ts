/**
 * The next IKE_SA_INIT's ephemeral key pair and nonce, made while idle
 * (crypto-adapter's prepareInit): a new IKE SA — a reconnect, a move
 * without a warm SA — then sends its first message without waiting for
 * them. One is kept at most; take() hands it to exactly one IkeSa and
 * forgets it, so no key pair or nonce is ever used twice (docs/IKEV2.md,
 * "Prepared key pair").
 */
import { prepareInit, type PreparedInit } from '../ikev2/crypto-adapter.ts';
import { NONCE_BYTES } from '../ikev2/tasks/ike-init.ts';
import type { DhId } from '../wire/ikev2/constants.ts';
import type { PlatformClock, PlatformTimer } from './platform.ts';

/** After an SA came up, the preparation waits this long: the moment's own work (routes, registration) goes first. */
export const PREPARE_DELAY_MS = 100;

export class InitPreparer {
  private ready?: { group: DhId; init: PreparedInit };
  private want?: DhId;
  private readonly timer: PlatformTimer;

  constructor(private readonly clock: PlatformClock, private readonly random: (n: number) => Uint8Array) {
    this.timer = clock.timer(() => this.make());
  }

  /** The prepared key pair and nonce if they are of this group (then no longer here), else undefined. */
  take(group: DhId): PreparedInit | undefined {
    const r = this.ready;
    this.ready = undefined;
    return r && r.group === group ? r.init : undefined;
  }

  /** Prepare one of this group a little later (nothing when one is there already). */
  soon(group: DhId): void {
    if (this.ready?.group === group) return;
    this.want = group;
    this.timer.arm(this.clock.now() + PREPARE_DELAY_MS);
  }

  /** Drops what was prepared and what was asked for. */
  clear(): void {
    this.timer.stop();
    this.ready = undefined;
    this.want = undefined;
  }

  get prepared(): boolean {
    return this.ready !== undefined;
  }

  private make(): void {
    const group = this.want;
    this.want = undefined;
    if (group === undefined || this.ready?.group === group) return;
    try {
      this.ready = { group, init: prepareInit(group, this.random, NONCE_BYTES) };
    } catch {
      // a group we cannot make keys for: the IkeSa makes (and reports) its own
      this.ready = undefined;
    }
  }
}
