/**
 * The VPN as the engine drives it: the controller's vpn-connect, vpn-move
 * and vpn-disconnect effects on VpnDriver instances (app/io/vpn-driver.ts),
 * one per IKE SA, on two alternating TUNs (a new SA comes up beside the old
 * one's stop). What the drivers report comes back as the controller's `vpn`
 * inputs: up once the TUN holds the TIA (and its policy rules are in place),
 * up again after a confirmed MOBIKE move, down when the SA is gone. The
 * controller decides about reconnecting (vpn down → detect again), so the
 * drivers never reconnect by themselves.
 */
import type { Profile } from '../config/profile.ts';
import type { ChildSaEvent, EngineEvent, ErrorEvent, IkeSaEvent, LivenessEvent, LogEvent, MobikeUpdateEvent } from '../events.ts';
import type { Link, MobilityInput } from '../mobility/inputs.ts';
import type { EngineLoop } from './engine-loop.ts';
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
/** tries added to the profile's so that the total retransmission budget stays about as long */
const IKE_EXTRA_TRIES = 2;
/** a MOBIKE move that fails before it could send (no route to the gateway yet) is tried again: 25, 50, 100, 200 ms */
const ROAM_RETRIES = 4;
const ROAM_RETRY_MS = 25;

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
}

// TODO(merge, vpn15): VpnDriverOptions gains `platform?: Platform`; this widening goes then.
type VpnOptions = VpnDriverOptions & { platform?: Platform };
/** what the VPN driver emits (its `emit` parameter) */
type DriverEvent = Parameters<VpnDriverOptions['emit']>[0];
/** the engine's events the IKE core and the VPN driver emit, passed on as they are */
type VpnEvent = IkeSaEvent | ChildSaEvent | MobikeUpdateEvent | LivenessEvent | LogEvent | ErrorEvent;

export class VpnLifecycle {
  private vpn?: VpnHandle;
  private ready?: { tia: string; dev: string };

  constructor(private readonly o: VpnLifecycleOptions) {}

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
    const profile = this.o.profile;
    if (!profile.vpn) return;
    const old = this.vpn;
    if (old) void this.stopHandle(old, why === 'vpn-move' ? 300 : VPN_STOP_MS);
    this.ready = undefined;
    const dev = VPN_TUNS.find((d) => d !== old?.dev) ?? VPN_TUNS[0]!;
    // the driver reports only after start(), when the handle is there
    const ref: { handle?: VpnHandle } = {};
    const opts: VpnOptions = {
      // the controller decides about reconnecting (vpn down → detect again); a lost first message costs 200 ms
      profile: {
        ...profile,
        vpn: {
          ...profile.vpn, reconnect: false, retransmitBaseMs: Math.min(profile.vpn.retransmitBaseMs, IKE_FIRST_RETRANSMIT_MS),
          retransmitTries: profile.vpn.retransmitTries + IKE_EXTRA_TRIES,
        },
      },
      tunName: dev, stopTimeoutMs: VPN_STOP_MS, platform: this.o.platform,
      emit: (ev) => void this.o.loop.enqueue(() => {
        if (ref.handle) this.onEvent(ref.handle, ev);
      }),
      onReady: (info) => this.o.loop.enqueue(() => {
        if (ref.handle) return this.onReady(ref.handle, info);
      }),
    };
    const h: VpnHandle = { dev, stopping: false, driver: new VpnDriver(opts) };
    ref.handle = h;
    this.vpn = h;
    void h.driver.start().then(
      (r) => this.o.loop.enqueue(() => this.onClosed(h, r.error?.code ?? 'closed')),
      (err: Error) => this.o.loop.enqueue(() => this.onClosed(h, err.message)),
    );
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
    if (v) void this.stopHandle(v, VPN_STOP_MS);
  }

  /** The engine stops: the SA is deleted (waiting at most timeoutMs + 1 s for the driver). */
  async stop(timeoutMs: number): Promise<void> {
    const v = this.vpn;
    this.vpn = undefined;
    if (v) await this.stopHandle(v, timeoutMs);
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

  private onEvent(h: VpnHandle, driverEvent: DriverEvent): void {
    if (!isVpnEvent(driverEvent)) {
      const f = flat(driverEvent);
      this.o.publish({ type: 'log', level: 'debug', msg: String(f.type), ctx: f });
      return;
    }
    const ev: VpnEvent = driverEvent;
    this.o.publish(ev);
    // a confirmed MOBIKE update: the VPN is up again, from its new address, with the same TIA
    if (ev.type === 'mobike-update' && this.vpn === h && !h.stopping && h.tia) {
      h.local = ev.to;
      if (h.target === ev.to) h.target = undefined;
      // an answer for an address we have left already confirms nothing about the current link
      if (this.o.link()?.addr !== ev.to) return;
      this.o.vpnReady(undefined);
      this.o.input({ kind: 'vpn', event: 'up', tia: h.tia, local: ev.to });
    }
  }

  private async onReady(h: VpnHandle, info: VpnReadyInfo): Promise<void> {
    if (this.vpn !== h || h.stopping) return;
    h.tia = info.tia;
    h.local = info.local;
    await this.o.setTia(info);
    this.ready = { tia: info.tia, dev: info.dev };
    this.o.vpnReady(info.dns);
    this.o.input({ kind: 'vpn', event: 'up', tia: info.tia, local: info.local });
  }

  private onClosed(h: VpnHandle, reason: string): void {
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

const VPN_EVENT_TYPES: ReadonlySet<string> = new Set<VpnEvent['type']>(['ike-sa', 'child-sa', 'mobike-update', 'liveness', 'log', 'error']);

/**
 * The VPN driver's events are members of the engine's union: checked by
 * their discriminant. TODO(merge, vpn15): with the IKE core's typed events
 * (ikev2/types.ts IkeEvent) this guard is always true, and can go.
 */
function isVpnEvent<E extends { type?: unknown }>(e: E): e is E & VpnEvent {
  return typeof e.type === 'string' && VPN_EVENT_TYPES.has(e.type);
}

/** the scalar fields of an event, as a log's ctx */
export function flat(e: object): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}
