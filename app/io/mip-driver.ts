/**
 * The Mobile IPv4 mobile node: the registration driver
 * (app/io/mip-registration.ts) and the data path (app/io/mip-tunnel.ts)
 * wired together, one shape for both callers:
 *
 *   - the engine (app/io/engine.ts) drives `register()`, `deregister()`,
 *     `setDataPath()` and `sendOut()` from its mobility controller, and
 *     `refreshBinding(reason)` when it has reason to doubt the binding (a resume);
 *   - `homeward mip register` (app/cli/mip.ts) calls `followCareOf()`: the
 *     care-of address is the source the host picks towards the HA (or a fixed
 *     one), re-checked every second; a change re-registers from it and pins
 *     the data path to its device (app/mip4/mn-binding.ts careOfCommand).
 *
 * Binding liveness (issue 18, app/mip4/binding-liveness.ts): while there is a
 * binding whose inbound comes through our tunnel, the data path's packet
 * counters are sampled a few times per `mip.livenessMs`; tunnelled packets
 * going out with none coming back for that long make the binding suspect (a
 * restarted home agent has forgotten it) and it is refreshed at once.
 *
 * Order of a run: start (TUN, routes, receive sockets) → register → … → stop
 * (deregister with lifetime 0, wait briefly for the reply, undo the set-up).
 */
import type { Profile } from '../config/profile.ts';
import type { MipEvent } from '../events.ts';
import { BindingLiveness } from '../mip4/binding-liveness.ts';
import { careOfCommand, registrationSource, type DataPath, type RegistrationLocation } from '../mip4/mn-binding.ts';
import { MipRegistration, type CoreFactory } from './mip-registration.ts';
import { MipTunnel, step, type MipTunnelStats } from './mip-tunnel.ts';
import { linuxPlatform } from './platform-linux.ts';
import type { Platform, PlatformTimer } from './platform.ts';
import type { TunStats } from './tun-device.ts';

export { MIP_PORT, type CoreCommand, type CoreFactory, type CoreTransmit, type RegistrationCoreLike } from './mip-registration.ts';
export { TUN_MTU } from './mip-tunnel.ts';
export type { DataPath, MipEvent };


const RULE_PREF_HA = 1000;
const CARE_OF_CHECK_MS = 1000;
const LIVENESS_DEFAULT_MS = 1000;

export interface MipDriverOptions {
  /** Builds the registration client; see RegistrationCoreLike. */
  core: CoreFactory;
  profile: Profile;
  /** followCareOf(): a fixed care-of address instead of the host's source address towards the HA. */
  coa?: string;
  /** Prefixes reached through the home network (routed into the TUN). */
  routes: string[];
  tunName: string;
  onEvent(e: MipEvent): void;
  /** @deprecated ignored: there is one shape; `homeward mip` calls followCareOf() */
  manual?: boolean;
  /** Decides, before anything else, whether a packet from the TUN may go now (true) or is taken by the caller (held/dropped). */
  gate?(pkt: Uint8Array): boolean;
  platform?: Platform;
}

export interface MipDriverStats extends MipTunnelStats {
  keepalivesSent: number;
}

export class MipDriver {
  private readonly platform: Platform;
  private readonly registration: MipRegistration;
  private readonly tunnel: MipTunnel;
  private watch?: PlatformTimer;
  private stopped = false;
  /** stop() began: no refresh may replace its deregistration */
  private stopping = false;
  private readonly liveness: BindingLiveness;
  private readonly livenessTimer: PlatformTimer;
  /** the data path last set (mode f's direct path: the FA delivers inbound on the link, nothing to watch) */
  private path?: DataPath;

  constructor(private readonly opts: MipDriverOptions) {
    this.platform = opts.platform ?? linuxPlatform();
    const p = opts.profile;
    this.liveness = new BindingLiveness(p.mip.livenessMs ?? LIVENESS_DEFAULT_MS);
    this.livenessTimer = this.platform.clock.timer(() => this.sampleLiveness());
    this.registration = new MipRegistration({
      core: opts.core, profile: p, platform: this.platform,
      onEvent: (e) => {
        if (e.type === 'registration' && e.state === 'accepted') this.liveness.confirmed(this.platform.clock.now());
        opts.onEvent(e);
      },
      onBinding: (b) => {
        this.tunnel.setBinding(b);
        this.watchLiveness();
      },
      onTunnelData: (msg, arrival) => this.tunnel.handleTunnelData(msg, arrival),
      onMalformed: (detail) => this.tunnel.countMalformed(detail),
    });
    this.tunnel = new MipTunnel({
      homeAddress: p.homeAddress, homeAgent: p.homeAgent, tunName: opts.tunName, routes: opts.routes, platform: this.platform,
      registration: this.registration,
      onEvent: (e) => opts.onEvent(e),
      ...(opts.gate ? { gate: opts.gate } : {}),
    });
  }

  /** Both drivers' counters in one (the shape `homeward mip` prints and the engine's counters read). */
  get stats(): MipDriverStats {
    const t = this.tunnel.stats;
    return { ...t, droppedWrongSource: t.droppedWrongSource + this.registration.droppedWrongSource, keepalivesSent: this.registration.keepalivesSent };
  }

  /** The home-address TUN's counters: rx = packets users sent, tx = packets delivered to them. */
  get tunStats(): Readonly<TunStats> | undefined {
    return this.tunnel.tunStats;
  }

  /** The registration client's own counters (dropped replies by reason, …), when it keeps any. */
  get coreStats(): unknown {
    return this.registration.coreStats;
  }

  async start(): Promise<void> {
    this.registration.start();
    await this.tunnel.start();
  }

  /** Registers (or moves the binding) with requests sent from `loc.source`: the co-located CoA, the TIA, or (mode f, `via`) the home address. */
  register(loc: RegistrationLocation): void {
    if (!this.stopped) this.registration.register(loc);
  }

  /** Outer packets leave only through `path.device` from now on (undefined: nowhere). */
  setDataPath(path: DataPath | undefined): void {
    this.tunnel.setDataPath(path);
    this.path = path;
    this.watchLiveness();
  }

  /**
   * The binding may be gone (the engine woke from a suspend, …): re-register
   * at once — fresh identification, the current care-of address and mode —
   * without tearing down the tunnel. The usual registration events follow,
   * framed by `{"type":"liveness","what":"binding","reason":<reason>,…}`.
   * Nothing happens before the first registration.
   */
  refreshBinding(reason: string): void {
    this.refresh(reason);
  }

  /**
   * The engine's traffic gate opened (true) or holds/drops (false). In mode mc the
   * tunnel runs in the VPN's native data plane only while it is open (the native
   * pass does not ask the gate per packet).
   */
  setTrafficOpen(open: boolean): void {
    this.tunnel.setTrafficOpen(open);
  }

  /** Sends a packet that the gate held, through the current binding (or counts it dropped). */
  sendOut(pkt: Uint8Array): void {
    this.tunnel.send(pkt);
  }

  /** Deregisters (lifetime 0) without stopping; the result arrives as a `registration` event. */
  deregister(): void {
    this.registration.deregister();
  }

  /**
   * `homeward mip`: the HA stays on the main table (registrations and
   * tunnelled packets never enter the TUN), then the care-of address is
   * followed — registered now, re-checked every second.
   */
  async followCareOf(): Promise<void> {
    const ha = this.opts.profile.homeAgent;
    await step(this.platform.net.ensureRule({ to: `${ha}/32`, table: 'main', pref: RULE_PREF_HA }));
    await step(this.platform.net.ensureRule({ to: `${ha}/32`, action: 'unreachable', pref: RULE_PREF_HA + 1 }));
    this.watch = this.platform.clock.timer(() => {
      this.watch?.arm(this.platform.clock.now() + CARE_OF_CHECK_MS);
      void this.checkCareOf();
    });
    await this.checkCareOf();
    this.watch.arm(this.platform.clock.now() + CARE_OF_CHECK_MS);
  }

  private async checkCareOf(): Promise<void> {
    if (this.stopped) return;
    const current = this.registration.careOf;
    const coa = this.opts.coa ?? (await this.platform.sourceTowards(this.opts.profile.homeAgent));
    const cmd = careOfCommand(current, coa);
    if (cmd === undefined || coa === undefined || this.stopped || this.registration.careOf !== current) return;
    const ours = this.platform.deviceOf(coa) !== undefined;
    const source = registrationSource(coa, ours, ours ? undefined : await this.platform.sourceTowards(this.opts.profile.homeAgent));
    if (source === undefined || this.stopped || this.registration.careOf !== current) return;
    this.opts.onEvent({ type: 'care-of', coa, moved: cmd === 'move' });
    const device = this.platform.deviceOf(source);
    this.setDataPath(device === undefined ? undefined : { device });
    this.registration.register({ coa, source });
  }

  private refresh(reason: string, silentMs?: number): void {
    if (this.stopping || this.registration.careOf === undefined) return;
    const coa = this.registration.careOf;
    this.opts.onEvent({ type: 'liveness', what: 'binding', state: 'suspect', reason, ...(silentMs === undefined ? {} : { silentMs: Math.round(silentMs) }), action: 'refresh', coa });
    this.registration.refresh(reason);
  }

  /** Watches the binding's traffic while there is a binding whose inbound comes through our tunnel. */
  private watchLiveness(): void {
    const b = this.registration.bound;
    const on = !this.stopping && b !== undefined && (b.udpTunnel || (this.path !== undefined && this.path.direct !== true));
    const s = this.tunnel.stats;
    this.liveness.watch(on, this.platform.clock.now(), s.tunnelledOut, s.tunnelledIn);
    this.livenessTimer.arm(this.liveness.nextTimeout());
  }

  private sampleLiveness(): void {
    if (this.stopping) return;
    const s = this.tunnel.stats;
    const v = this.liveness.sample(this.platform.clock.now(), s.tunnelledOut, s.tunnelledIn);
    if (v?.kind === 'back') {
      this.opts.onEvent({ type: 'liveness', what: 'binding', state: 'ok', reason: 'one-sided', result: 'inbound-resumed', silentMs: Math.round(v.silentMs) });
    } else if (v?.kind === 'suspect' && !this.registration.refreshPending) {
      this.refresh('one-sided', v.silentMs);
    }
    this.livenessTimer.arm(this.liveness.nextTimeout());
  }

  async stop(timeoutMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    this.watch?.stop();
    this.livenessTimer.stop();
    await this.registration.stop(timeoutMs);
    this.stopped = true;
    const ha = this.opts.profile.homeAgent;
    await this.tunnel.stop();
    await step(this.platform.net.delRule({ to: `${ha}/32`, action: 'unreachable', pref: RULE_PREF_HA + 1 }), true);
    await step(this.platform.net.delRule({ to: `${ha}/32`, table: 'main', pref: RULE_PREF_HA }), true);
  }
}
