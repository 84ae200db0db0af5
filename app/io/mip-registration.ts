/**
 * The Mobile IPv4 registration driver: the only loop around the sans-I/O
 * registration client (app/mip4/registration.ts, quinn-style). It owns the
 * registration sockets (one per source address, pinned to that address's
 * device), feeds them to the client, sends its transmits, arms its one timer
 * and reports its events. The data path (app/io/mip-tunnel.ts) learns the
 * accepted binding from `onBinding` and hands back user-data sends and
 * keepalive replies; RFC 3519 tunnel data arriving on a registration socket
 * goes to it through `onTunnelData`.
 *
 * The caller decides where to register from (`register({ coa, source, via })`):
 * the engine's controller, or `homeward mip`'s care-of follower
 * (app/io/mip-driver.ts). Everything outside goes through the Platform.
 */
import type { Instant } from '../base/clock.ts';
import type { Profile } from '../config/profile.ts';
import type { MipEvent } from '../events.ts';
import { bindingAfter, classifyDatagram, MIP_PORT, socketDevice, type DataBinding, type RegistrationLocation } from '../mip4/mn-binding.ts';
import type { CoreCommand, CoreEvent, CoreFactory, CoreTransmit, RegistrationCoreLike } from '../mip4/registration-types.ts';
import { linuxPlatform } from './platform-linux.ts';
import type { DatagramPeer, DatagramSocket, Platform, PlatformTimer } from './platform.ts';

export { MIP_PORT };

export type { CoreCommand, CoreEvent, CoreFactory, CoreTransmit, RegistrationCoreLike };

/** RFC 3519 tunnel data as it arrived: from whom, on which socket (its bound address) and that socket's device. */
export interface TunnelDataArrival {
  from: string;
  local: string;
  device: string | undefined;
}

export interface MipRegistrationOptions {
  core: CoreFactory;
  profile: Profile;
  onEvent(e: MipEvent): void;
  /** the binding the data path may use (undefined: none, fail closed) */
  onBinding?(b: DataBinding | undefined): void;
  /** RFC 3519 tunnel data (type 4) from the HA on a registration socket */
  onTunnelData?(msg: Uint8Array, arrival: TunnelDataArrival): void;
  /** a registration socket's receive path failed on one datagram (counted by the data path's stats) */
  onMalformed?(detail: string): void;
  platform?: Platform;
}

interface RegistrationSocket {
  sock: DatagramSocket;
  device: string | undefined;
}

export class MipRegistration {
  /** datagrams on a registration socket from neither the HA nor the FA relaying its reply */
  droppedWrongSource = 0;
  keepalivesSent = 0;
  private readonly platform: Platform;
  /** built by start(): a profile without a key fails there, not when the engine is constructed */
  private core!: RegistrationCoreLike;
  private readonly timer: PlatformTimer;
  /** registration sockets by source address (the co-located CoA, the TIA or, mode f, the home address) */
  private readonly sockets = new Map<string, RegistrationSocket>();
  private source?: string;
  private via?: string;
  private coa?: string;
  private binding?: DataBinding;
  private stopped = false;
  private deregistered?: () => void;
  private readonly unverifiedCodes = new Set<number>();
  /** a refresh in progress (refresh()): why, and when it began; its outcome is reported as a `liveness` event */
  private refreshing?: { reason: string; at: Instant };
  /** the device the last register() named (a re-created VPN TUN: the old one may still hold the TIA for a moment) */
  private device?: string;

  constructor(private readonly opts: MipRegistrationOptions) {
    this.platform = opts.platform ?? linuxPlatform();
    this.timer = this.platform.clock.timer(() => {
      if (this.stopped || !this.started) return;
      this.core.handleTimeout(this.platform.clock.now(), this.platform.clock.wallNow());
      this.drain();
    });
  }

  /** Builds the registration client; throws when the profile has no MN-HA key. */
  start(): void {
    if (!this.opts.profile.mnHaAuth) throw new Error('profile has no mnHaAuth: Mobile IP needs the MN-HA key (RFC 5944 §3.5)');
    // the client never learns a port: each registration socket has its own (RFC 5944 §3.6.1.1: any source port)
    this.core = this.opts.core(this.opts.profile, { localPort: 0 });
  }

  private get started(): boolean {
    return (this.core as RegistrationCoreLike | undefined) !== undefined;
  }

  /** The registration client's own counters (dropped replies by reason, …), when it keeps any. */
  get coreStats(): unknown {
    return this.started ? this.core.stats : undefined;
  }

  /** The care-of address last registered (undefined before the first register()). */
  get careOf(): string | undefined {
    return this.coa;
  }

  get bound(): DataBinding | undefined {
    return this.binding;
  }

  private get ha(): string {
    return this.opts.profile.homeAgent;
  }

  /**
   * Registers (or moves the binding) with requests sent from `loc.source`
   * instead of the socket the kernel would pick. Sockets of other sources
   * are closed; this one is pinned again to its address's device (the VPN's
   * TUN may have been re-created).
   */
  register(loc: RegistrationLocation): void {
    if (this.stopped || !this.started) return;
    this.refreshing = undefined; // a new location supersedes a refresh of the old one
    this.source = loc.source;
    this.via = loc.via;
    this.device = loc.device;
    for (const [addr, s] of this.sockets) {
      if (addr !== loc.source) {
        s.sock.close();
        this.sockets.delete(addr);
      }
    }
    this.pin(loc);
    const type = this.coa === undefined ? 'register' : 'move';
    this.core.handleCommand(loc.via ? { type, coa: loc.coa, via: loc.via } : { type, coa: loc.coa }, this.platform.clock.now(), this.platform.clock.wallNow());
    this.coa = loc.coa;
    if (loc.accepted && !loc.via) {
      this.binding = { coa: loc.coa, source: loc.source, ...loc.accepted };
      this.opts.onBinding?.(this.binding);
    }
    this.drain();
  }

  /** true while a refresh (refresh()) waits for its outcome */
  get refreshPending(): boolean {
    return this.refreshing !== undefined;
  }

  /**
   * Re-registers at once from the current location — the care-of address,
   * source and FA last registered — with a fresh identification and the
   * client's short retransmissions (a `refresh` command), keeping the data
   * path as it is. The socket is pinned again (the VPN's TUN may be new).
   * Its outcome follows the registration events as
   * `{"type":"liveness","what":"binding","action":"refresh","result":…}`.
   * false when there is nothing to refresh (never registered, stopped).
   */
  refresh(reason: string): boolean {
    if (this.stopped || !this.started || this.coa === undefined || this.source === undefined) return false;
    const loc: RegistrationLocation = {
      coa: this.coa, source: this.source, ...(this.via === undefined ? {} : { via: this.via }), ...(this.device === undefined ? {} : { device: this.device }),
    };
    this.pin(loc);
    const now = this.platform.clock.now();
    this.refreshing = { reason, at: now };
    this.core.handleCommand({ type: 'refresh', coa: loc.coa, ...(loc.via === undefined ? {} : { via: loc.via }) }, now, this.platform.clock.wallNow());
    this.drain();
    return true;
  }

  /** Deregisters (lifetime 0) without stopping; the result arrives as a `registration` event. */
  deregister(): void {
    if (!this.binding || this.stopped) return;
    this.refreshing = undefined;
    this.core.handleCommand({ type: 'deregister' }, this.platform.clock.now(), this.platform.clock.wallNow());
    this.drain();
  }

  /** Sends to the HA's port 434 from the current source (RFC 3519 tunnel data); false when there is no socket. */
  sendToHa(bytes: Uint8Array): boolean {
    const sock = this.source === undefined ? undefined : this.socketFor(this.source);
    sock?.send(bytes, { address: this.ha, port: MIP_PORT });
    return sock !== undefined;
  }

  /** User data went to the HA (restarts the RFC 3519 keepalive timer). */
  dataSent(): void {
    this.core.handleDataSent?.(this.platform.clock.now());
  }

  /** A tunnelled packet from the HA: true when it answered a keepalive (consumed). */
  keepaliveReply(inner: Uint8Array): boolean {
    return this.core.handleKeepaliveReply?.(inner, this.platform.clock.now()) === true;
  }

  /**
   * Deregisters when there is a binding and waits for the answer (at most
   * `timeoutMs` on the platform's clock), then closes every socket.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.stopped) return;
    if (this.binding && this.sockets.size > 0) {
      const done = new Promise<void>((res) => { this.deregistered = res; });
      this.core.handleCommand({ type: 'deregister' }, this.platform.clock.now(), this.platform.clock.wallNow());
      this.drain();
      let wake: () => void = () => undefined;
      const waited = new Promise<void>((res) => { wake = res; });
      const t = this.platform.clock.timer(() => wake());
      t.arm(this.platform.clock.now() + timeoutMs);
      await Promise.race([done, waited]);
      t.stop();
    }
    this.stopped = true;
    this.timer.stop();
    for (const s of this.sockets.values()) s.sock.close();
    this.sockets.clear();
  }

  /**
   * Pins `loc.source`'s socket to the device that address lives on
   * (app/mip4/mn-binding.ts socketDevice): re-applied in place when the
   * socket can be moved, otherwise a new socket is opened on the new device.
   */
  private pin(loc: RegistrationLocation): void {
    const device = socketDevice(loc, (a) => this.platform.deviceOf(a));
    const s = this.sockets.get(loc.source);
    if (!s) return void this.socketFor(loc.source, device);
    if (s.sock.bindToDevice) {
      try {
        s.sock.bindToDevice(device ?? '');
        s.device = device;
      } catch (e) {
        s.device = undefined;
        this.warn('DATA_PATH', `cannot bind ${loc.source}'s socket to ${device ?? 'no device'}: ${(e as Error).message}`);
      }
    } else if (s.device !== device) {
      s.sock.close();
      this.sockets.delete(loc.source);
      this.socketFor(loc.source, device);
    }
  }

  private socketFor(source: string, device?: string): DatagramSocket | undefined {
    const have = this.sockets.get(source);
    if (have) return have.sock;
    let sock: DatagramSocket;
    try {
      sock = this.platform.openDatagram({ address: source, ...(device === undefined ? {} : { device }) });
    } catch (e) {
      // not (yet) our address: lost like a send error, the client retransmits (and a new socket is tried)
      this.warn('UDP_SEND', `${source}: ${(e as Error).message}`);
      return undefined;
    }
    // a device binding the platform could not make is none: tunnel data on it is then refused (wrong device)
    const entry: RegistrationSocket = { sock, device: sock.boundDevice ? sock.boundDevice() : device };
    sock.bound.catch((e: Error) => this.socketError(source, entry, e));
    sock.onError((e) => this.socketError(source, entry, e));
    sock.onMessage((m, from) => this.handleDatagram(m, from, source, entry));
    this.sockets.set(source, entry);
    return sock;
  }

  /** send errors (no route while moving, …): the client retransmits from a new socket */
  private socketError(source: string, entry: RegistrationSocket, e: Error): void {
    this.warn('UDP_SEND', `${source}: ${e.message}`);
    if (this.sockets.get(source) === entry) this.sockets.delete(source);
    entry.sock.close();
  }

  private handleDatagram(msg: Uint8Array, from: DatagramPeer, local: string, entry: RegistrationSocket): void {
    try {
      const verdict = classifyDatagram(msg, from, this.ha, this.via);
      if (verdict === 'wrong-source') this.droppedWrongSource++;
      else if (verdict === 'tunnel-data') this.opts.onTunnelData?.(msg, { from: from.address, local, device: entry.device });
      else {
        const before = this.droppedForAuth();
        this.core.handleDatagram(msg, { address: from.address, port: from.port }, this.platform.clock.now(), this.platform.clock.wallNow());
        if (msg[0] === 3 && msg.length > 1 && msg[1]! >= 128 && this.droppedForAuth() > before) this.reportUnverifiedDenial(msg[1]!);
      }
      this.drain();
    } catch (e) {
      // a guard, not a path: every step counts what it refuses; an escape is a bug, reported per message
      this.opts.onMalformed?.(`registration socket: ${(e as Error).message}`);
    }
  }

  private droppedForAuth(): number {
    const d = (this.core.stats as { dropped?: { auth?: number } } | undefined)?.dropped;
    return d?.auth ?? 0;
  }

  /**
   * A home-agent denial whose authenticator does not verify was dropped by the
   * client and changes nothing. Its code is still the best hint for the user (a
   * wrong MN-HA key shows up exactly like this: the HA answers 131 keyed with
   * the right key), so it is reported once per code, marked unauthenticated.
   */
  private reportUnverifiedDenial(code: number): void {
    if (this.unverifiedCodes.has(code)) return;
    this.unverifiedCodes.add(code);
    this.opts.onEvent({ type: 'registration', state: 'unverified-denial', code, authenticated: false });
  }

  private drain(): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) {
      if (t.keepalive) this.keepalivesSent++;
      if (this.source !== undefined) this.socketFor(this.source)?.send(t.bytes, t.to);
    }
    for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) this.handleEvent(e);
    this.timer.arm(this.stopped ? undefined : this.core.nextTimeout());
  }

  private handleEvent(e: CoreEvent): void {
    const before = this.binding;
    this.binding = bindingAfter(e, this.binding, { ...(this.coa === undefined ? {} : { coa: this.coa }), ...(this.source === undefined ? {} : { source: this.source }) });
    if (this.binding !== before) this.opts.onBinding?.(this.binding);
    if (e.type === 'registration' && e.state === 'deregistered') this.deregistered?.();
    this.opts.onEvent(e);
    if (this.refreshing && e.type === 'registration') this.refreshOutcome(e.state);
  }

  /** The end of a refresh, told after the registration event that ended it. */
  private refreshOutcome(state: string): void {
    const r = this.refreshing!;
    if (state !== 'accepted' && state !== 'denied' && state !== 'timeout' && state !== 'expired') return;
    this.refreshing = undefined;
    const ms = Math.round(this.platform.clock.now() - r.at);
    this.opts.onEvent({
      type: 'liveness', what: 'binding', state: state === 'accepted' ? 'ok' : 'failed', reason: r.reason, action: 'refresh', result: state, ms,
      ...(this.coa === undefined ? {} : { coa: this.coa }),
    });
  }

  private warn(code: string, message: string): void {
    this.opts.onEvent({ type: 'warning', code, message });
  }
}
