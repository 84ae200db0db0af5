/**
 * The VPN as the engine drives it: the controller's vpn-connect, vpn-move
 * and vpn-disconnect effects on VpnDriver instances (app/io/vpn-driver.ts),
 * one per IKE SA, on two alternating TUNs (a new SA comes up beside the old
 * one's stop). What the drivers report comes back as the controller's `vpn`
 * inputs: up once the TUN holds the TIA (and its policy rules are in place),
 * up again after a confirmed MOBIKE move, down when the SA is gone. The
 * controller decides about reconnecting (vpn down → detect again), so the
 * drivers never reconnect by themselves.
 *
 * Recovery (issue 18, docs/ENGINE.md "Recovery"): an SA that is up is
 * *suspect* when ESP left for `vpn.livenessMs` with nothing authentic coming
 * back (one-sided), after a resume, or when an unprotected INVALID_IKE_SPI
 * came back. A suspect SA gets a quick check — a DPD at once, retransmitted
 * after 200 and 560 ms — and, unless only one-sided traffic made it suspect,
 * a new IKE SA is prepared beside it on the other TUN (make-before-break):
 *
 *   up ──suspect──► checking ──authentic answer (DPD, MOBIKE, ESP)──► up (the new SA, if any, deleted)
 *                      │  └──the new SA is up first──► the new SA (the old one deleted; new TIA: the binding follows)
 *                      └──no answer in QUICK_CHECK_MS──► the new SA (on its way, or started now); the old one deleted
 */
import type { Instant } from '../base/clock.ts';
import { OneSidedLiveness } from '../base/liveness.ts';
import { DEFAULT_LIVENESS_MS, type Profile } from '../config/profile.ts';
import type { EngineEvent, LivenessReason } from '../events.ts';
import type { Link, MobilityInput } from '../mobility/inputs.ts';
import type { Deadline, EngineLoop } from './engine-loop.ts';
import { InitPreparer } from './ike-prepare.ts';
import type { Platform } from './platform.ts';
import { VPN_TUNS } from './policy-routes.ts';
import { VpnDriver, type VpnDriverOptions } from './vpn-driver.ts';

/** ms the gateway has to answer our DELETE at a stop */
export const VPN_STOP_MS = 1500;
/**
 * IKE and MOBIKE requests (new IKE SA, UPDATE_SA_ADDRESSES) are first
 * retransmitted after this long, then backed off by 2: a first message lost
 * on a fresh link must not cost a whole profile base interval (docs/MOBILITY.md).
 */
export const IKE_FIRST_RETRANSMIT_MS = 200;
/**
 * …and never wait longer than this between two tries: a gateway that was gone
 * (restarted, a lid closed for a while) is found within about a second of
 * being back, instead of after a back-off grown to several seconds.
 */
export const IKE_RETRANSMIT_CAP_MS = 1000;
/** tries added to the profile's so that the total retransmission budget stays about as long */
const IKE_EXTRA_TRIES = 2;
/** a MOBIKE move that fails before it could send (no route to the gateway yet) is tried again: 25, 50, 100, 200 ms */
const ROAM_RETRIES = 4;
const ROAM_RETRY_MS = 25;
/** the ESP counters are sampled this often while an SA is up (one-sided liveness) */
export const LIVENESS_SAMPLE_MS = 250;
/**
 * A quick check without an authentic answer for this long failed: the DPD
 * left at 0 and was retransmitted at 200 and 560 ms (IKE_FIRST_RETRANSMIT_MS,
 * backed off by 1.8), so three tries had a lab round trip each to come back.
 */
export const QUICK_CHECK_MS = 1000;
/** how long the old SA may take to answer its DELETE when a new one replaced it */
const REPLACED_STOP_MS = 300;

export interface VpnReadyInfo {
  tia: string;
  local: string;
  dev: string;
  dns?: { servers: string[]; domains: string[] };
}

export interface VpnLifecycleOptions {
  profile: Profile;
  platform: Platform;
  loop: EngineLoop;
  link(): Link | null;
  input(i: MobilityInput): void;
  publish(ev: EngineEvent): void;
  /** the TUN holds the TIA: its policy rules (resolves once they are in place) */
  setTia(info: VpnReadyInfo): Promise<void>;
  /** the VPN is up (new SA: its DNS; MOBIKE: undefined) */
  vpnReady(dns: VpnReadyInfo['dns']): void;
}

interface VpnHandle {
  driver: VpnDriver;
  dev: string;
  stopping: boolean;
  /** the TIA of the IKE SA once it is ready (kept across MOBIKE moves) */
  tia?: string;
  /** our address on the SA's current path */
  local?: string;
  /** the address a MOBIKE move was last asked for, until the gateway confirms it */
  target?: string;
  /** the driver's start() ended (the SA is gone) */
  closed: boolean;
  liveness: OneSidedLiveness;
  /** the quick check under way (undefined: none) */
  check?: Check;
  /** a DPD of ours is outstanding: its answer is the check's story, not a `liveness` event of its own */
  askedDpd: boolean;
  /** authentic ESP received at the last sample */
  lastRx: number;
  /** one-sided checks the gateway answered in a row: the next one waits longer (a host that does not answer is no dead gateway) */
  okInRow: number;
  quietUntil: Instant;
}

interface Check {
  reason: LivenessReason;
  startedAt: Instant;
  deadline: Instant;
  /** authentic ESP received when the check began: more since is an answer */
  rxAtStart: number;
  /** the new IKE SA prepared beside the check (make-before-break) */
  candidate?: VpnHandle;
}

/** what the VPN driver emits (its `emit` parameter): members of the engine's event union, passed on as they are */
type DriverEvent = Parameters<VpnDriverOptions['emit']>[0];

export class VpnLifecycle implements Deadline {
  private vpn?: VpnHandle;
  private ready?: { tia: string; dev: string };
  /** the next sample of the ESP counters */
  private sampleAt?: Instant;
  private readonly livenessMs: number;
  /** one prepared IKE_SA_INIT key pair and nonce for all our drivers: each new IKE SA takes it (app/io/ike-prepare.ts) */
  private readonly preparer: InitPreparer;

  constructor(private readonly o: VpnLifecycleOptions) {
    this.livenessMs = o.profile.vpn?.livenessMs ?? DEFAULT_LIVENESS_MS;
    this.preparer = new InitPreparer(o.platform.clock, (n) => o.platform.random(n));
  }

  /** the SA that is up: its TIA and TUN (undefined: none) */
  get up(): { tia: string; dev: string } | undefined {
    return this.ready;
  }

  /** there is an SA, up or on its way */
  get active(): boolean {
    return this.vpn !== undefined;
  }

  /** A new IKE SA (the old one, if any, is stopped beside it). */
  start(why: 'vpn-connect' | 'vpn-move'): void {
    if (!this.o.profile.vpn) return;
    const old = this.vpn;
    if (old) {
      this.dropCandidate(old);
      void this.stopHandle(old, why === 'vpn-move' ? REPLACED_STOP_MS : VPN_STOP_MS);
    }
    this.ready = undefined;
    this.vpn = this.open(old?.dev);
  }

  /** A VpnDriver (a new IKE SA) on the TUN that `avoid` does not use. */
  private open(avoid: string | undefined): VpnHandle {
    const profile = this.o.profile;
    const dev = VPN_TUNS.find((d) => d !== avoid) ?? VPN_TUNS[0]!;
    // the driver reports only after start(), when the handle is there
    const ref: { handle?: VpnHandle } = {};
    const opts: VpnDriverOptions = {
      // the controller decides about reconnecting (vpn down → detect again); a lost first message costs 200 ms
      profile: {
        ...profile,
        vpn: {
          ...profile.vpn!, reconnect: false, retransmitBaseMs: Math.min(profile.vpn!.retransmitBaseMs, IKE_FIRST_RETRANSMIT_MS),
          retransmitTries: profile.vpn!.retransmitTries + IKE_EXTRA_TRIES,
        },
      },
      tunName: dev, stopTimeoutMs: VPN_STOP_MS, platform: this.o.platform, retransmitCapMs: IKE_RETRANSMIT_CAP_MS, preparer: this.preparer,
      emit: (ev) => void this.o.loop.enqueue(() => {
        if (ref.handle) this.onEvent(ref.handle, ev);
      }),
      onReady: (info) => this.o.loop.enqueue(() => {
        if (ref.handle) return this.onReady(ref.handle, info);
      }),
    };
    const h: VpnHandle = {
      dev, stopping: false, closed: false, driver: new VpnDriver(opts),
      liveness: new OneSidedLiveness({ silentMs: this.livenessMs }), lastRx: 0, okInRow: 0, quietUntil: 0, askedDpd: false,
    };
    ref.handle = h;
    void h.driver.start().then(
      (r) => this.o.loop.enqueue(() => this.onClosed(h, r.error?.code ?? 'closed')),
      (err: Error) => this.o.loop.enqueue(() => this.onClosed(h, err.message)),
    );
    return h;
  }

  /**
   * MOBIKE (RFC 4555): the same IKE SA, TIA and TUN move to the new local
   * address; the binding at the HA (CoA = TIA) stays. Without a live SA — or
   * when the driver cannot roam — a new IKE SA from the new address instead.
   */
  move(local: string, eventAt: number): void {
    const h = this.vpn;
    if (!h || h.stopping || !h.tia) return this.start('vpn-move');
    // already there (a re-detection on the same link): nothing to update, the SA is up as it is
    const tia = h.tia;
    // (not when a move elsewhere is still unanswered: the SA's path is then that one, not this)
    if (h.local === local && (h.target === undefined || h.target === local)) return void this.o.loop.enqueue(() => this.o.input({ kind: 'vpn', event: 'up', tia, local }));
    h.target = local;
    this.roam(h, local, eventAt, 0);
  }

  /** The controller's vpn-disconnect. */
  disconnect(): void {
    const v = this.vpn;
    this.vpn = undefined;
    this.ready = undefined;
    if (v) {
      this.dropCandidate(v);
      void this.stopHandle(v, VPN_STOP_MS);
    }
  }

  /** The engine stops: the SA is deleted (waiting at most timeoutMs + 1 s for the driver). */
  async stop(timeoutMs: number): Promise<void> {
    const v = this.vpn;
    this.vpn = undefined;
    this.preparer.clear();
    if (v) {
      const c = v.check?.candidate;
      v.check = undefined;
      await Promise.all([this.stopHandle(v, timeoutMs), c ? this.stopHandle(c, timeoutMs) : undefined]);
    }
  }

  /**
   * The engine woke up (a suspend, or the process was frozen): the SA that
   * was up is suspect — a quick check, and a new IKE SA prepared beside it.
   * An SA still being set up carries on with its own retransmissions.
   */
  resume(now: Instant): void {
    if (this.vpn) this.suspect(this.vpn, 'resume', now);
  }

  // Deadline: the ESP counters' samples and the quick check's end
  nextTimeout(): Instant | undefined {
    const h = this.vpn;
    if (!h || h.stopping) return undefined;
    const sample = h.tia !== undefined && this.livenessMs > 0 ? this.sampleAt : undefined;
    const check = h.check?.deadline;
    if (sample === undefined) return check;
    return check === undefined ? sample : Math.min(sample, check);
  }

  handleTimeout(now: Instant): void {
    const h = this.vpn;
    if (!h || h.stopping) return;
    if (this.sampleAt !== undefined && now >= this.sampleAt) {
      this.sampleAt = now + LIVENESS_SAMPLE_MS;
      this.sample(h, now);
    }
    if (h.check && this.vpn === h && now >= h.check.deadline) this.checkFailed(h, now);
  }

  /** One sample of the driver's ESP counters (no per-packet work: the native path's are read from the addon here). */
  private sample(h: VpnHandle, now: Instant): void {
    if (!h.tia) return;
    const t = h.driver.espTotals();
    const heard = t.in > h.lastRx;
    h.lastRx = t.in;
    if (h.check) {
      if (t.in > h.check.rxAtStart) this.checkOk(h, now);
      return;
    }
    if (heard) h.okInRow = 0;
    if (!h.liveness.sample(now, t.out, t.in)) return;
    // the gateway answered the last checks: this silence is more likely a host that does not answer; ask again later
    if (now < h.quietUntil) return h.liveness.reset();
    this.suspect(h, 'one-sided', now);
  }

  /** Starts the quick check of an SA that is up (and, but for one-sided traffic, a new SA beside it). */
  private suspect(h: VpnHandle, reason: LivenessReason, now: Instant): void {
    if (!h.tia || h.stopping || this.vpn !== h) return;
    const gateway = this.o.profile.vpn!.gateway;
    const parallel = reason !== 'one-sided';
    if (h.check) {
      // a one-sided check under way, then a resume or INVALID_IKE_SPI: prepare the new SA too
      if (!parallel || h.check.candidate) return;
      h.check.reason = reason;
      this.o.publish({ type: 'liveness', state: 'suspect', gateway, reason, action: 'new-sa' });
      h.check.candidate = this.open(h.dev);
      return;
    }
    h.check = { reason, startedAt: now, deadline: now + QUICK_CHECK_MS, rxAtStart: h.driver.espTotals().in };
    const moving = h.target !== undefined && h.target !== h.local;
    this.o.publish({ type: 'liveness', state: 'suspect', gateway, reason, action: parallel ? (moving ? 'mobike+new-sa' : 'dpd+new-sa') : 'dpd' });
    h.driver.checkLiveness();
    h.askedDpd = true;
    if (parallel) h.check.candidate = this.open(h.dev);
  }

  /** The old SA answered (DPD, MOBIKE, authentic ESP): it stays; a new SA on its way is deleted. */
  private checkOk(h: VpnHandle, now: Instant): void {
    const c = h.check;
    if (!c) return;
    h.check = undefined;
    this.o.publish({ type: 'liveness', state: 'ok', gateway: this.o.profile.vpn!.gateway, reason: c.reason, ms: Math.round(now - c.startedAt) });
    if (c.candidate) void this.stopHandle(c.candidate, VPN_STOP_MS);
    h.liveness.reset();
    if (c.reason === 'one-sided') {
      h.okInRow++;
      h.quietUntil = now + Math.min(this.livenessMs * 2 ** h.okInRow, this.o.profile.vpn!.dpdSeconds * 1000);
    }
  }

  /** No authentic answer in time: the old SA ends now; the new one (on its way, or started now) takes over. */
  private checkFailed(h: VpnHandle, now: Instant): void {
    const c = h.check!;
    h.check = undefined;
    this.o.publish({ type: 'liveness', state: 'failed', gateway: this.o.profile.vpn!.gateway, reason: c.reason, ms: Math.round(now - c.startedAt), action: 'new-sa' });
    const next = c.candidate;
    if (next && !next.stopping && !next.closed) {
      void this.stopHandle(h, REPLACED_STOP_MS);
      this.vpn = next;
      this.ready = undefined;
      return;
    }
    this.start('vpn-move');
  }

  /** The new SA prepared beside a check is not needed (or the whole VPN goes). */
  private dropCandidate(h: VpnHandle): void {
    const c = h.check?.candidate;
    h.check = undefined;
    if (c) void this.stopHandle(c, VPN_STOP_MS);
  }

  /**
   * One MOBIKE move; a failure while the new link is still being set up (no
   * route to the gateway yet) is tried again shortly, on the same SA, before
   * the fallback to a new IKE SA — which costs a new TIA and registration.
   */
  private roam(h: VpnHandle, local: string, eventAt: number, tries: number): void {
    const here = (): boolean => this.vpn === h && !h.stopping && this.o.link()?.addr === local;
    h.driver.roam(local, eventAt).catch((err: Error) => this.o.loop.enqueue(() => {
      if (!here()) return;
      if (tries < ROAM_RETRIES) {
        this.o.loop.after(ROAM_RETRY_MS * 2 ** tries, () => void this.o.loop.enqueue(() => {
          if (here()) this.roam(h, local, eventAt, tries + 1);
        }));
        return;
      }
      this.o.publish({ type: 'log', level: 'warn', msg: `MOBIKE move to ${local} failed (${err.message}): new IKE SA` });
      this.start('vpn-move');
    }));
  }

  private onEvent(h: VpnHandle, ev: DriverEvent): void {
    const current = this.vpn === h && !h.stopping;
    if (ev.type === 'liveness' && current && (ev.state === 'suspect' || (ev.state === 'ok' && (h.check || h.askedDpd)))) {
      // the core's hint (INVALID_IKE_SPI) or the answer to our quick check's DPD: the engine's check tells the story
      if (ev.state === 'suspect') return this.suspect(h, ev.reason ?? 'invalid-ike-spi', this.o.platform.clock.now());
      h.askedDpd = false;
      return this.checkOk(h, this.o.platform.clock.now());
    }
    this.o.publish(ev);
    // a confirmed MOBIKE update: the VPN is up again, from its new address, with the same TIA
    if (ev.type === 'mobike-update' && current && h.tia) {
      h.local = ev.to;
      if (h.target === ev.to) h.target = undefined;
      // an authenticated answer: the SA is alive
      if (h.check) this.checkOk(h, this.o.platform.clock.now());
      // an answer for an address we have left already confirms nothing about the current link
      if (this.o.link()?.addr !== ev.to) return;
      this.o.vpnReady(undefined);
      this.o.input({ kind: 'vpn', event: 'up', tia: h.tia, local: ev.to });
    }
  }

  private async onReady(h: VpnHandle, info: VpnReadyInfo): Promise<void> {
    const old = this.vpn;
    if (old && old !== h && old.check?.candidate === h && !h.stopping) {
      // make-before-break: the new SA is up before the old one answered — it takes over
      const c = old.check;
      old.check = undefined;
      const now = this.o.platform.clock.now();
      this.o.publish({ type: 'liveness', state: 'replaced', gateway: this.o.profile.vpn!.gateway, reason: c.reason, ms: Math.round(now - c.startedAt) });
      void this.stopHandle(old, REPLACED_STOP_MS);
      this.vpn = h;
      this.ready = undefined;
    }
    if (this.vpn !== h || h.stopping) return;
    h.tia = info.tia;
    h.local = info.local;
    await this.o.setTia(info);
    this.ready = { tia: info.tia, dev: info.dev };
    h.lastRx = h.driver.espTotals().in;
    this.sampleAt = this.o.platform.clock.now() + LIVENESS_SAMPLE_MS;
    this.o.vpnReady(info.dns);
    this.o.input({ kind: 'vpn', event: 'up', tia: info.tia, local: info.local });
  }

  private onClosed(h: VpnHandle, reason: string): void {
    h.closed = true;
    if (this.vpn !== h || h.stopping) return;
    this.vpn = undefined;
    this.ready = undefined;
    this.o.input({ kind: 'vpn', event: 'down', reason });
  }

  private async stopHandle(h: VpnHandle, timeoutMs: number): Promise<void> {
    h.stopping = true;
    await Promise.race([h.driver.stop(), this.o.loop.sleep(timeoutMs + 1000)]).catch(() => undefined);
  }
}

/** the scalar fields of an event, as a log's ctx */
export function flat(e: object): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}
