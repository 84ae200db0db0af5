/**
 * The detection request of RFC 5266 §3.4 on a registration client and a
 * datagram socket of its own (from the link's address), so that it runs
 * beside a registration through the VPN instead of replacing it. It is
 * closed at its first result, which goes to the engine (`onResult`); the
 * engine's loop drives its retransmissions (it is one of the loop's
 * Deadlines while it runs).
 */
import type { Instant } from '../base/clock.ts';
import type { Profile } from '../config/profile.ts';
import type { RegistrationEvent } from '../events.ts';
import type { RegistrationResult } from '../mobility/inputs.ts';
import type { EngineLoop } from './engine-loop.ts';
import type { CoreFactory, RegistrationCoreLike } from './mip-driver.ts';
import type { DatagramSocket, Platform } from './platform.ts';

export interface ProbeRun {
  attempt: number;
  coa: string;
  /** the link's address the request leaves from */
  source: string;
}

export interface DetectionProbeOptions {
  platform: Platform;
  loop: EngineLoop;
  profile: Profile;
  core: CoreFactory;
  /** settles once the link's policy rule (pref 990) keeps the request off the VPN */
  linkReady(): Promise<void>;
  warn(msg: string): void;
  /** the first result (the probe is closed already) */
  onResult(run: ProbeRun, event: RegistrationEvent, result: RegistrationResult): void;
}

interface Running extends ProbeRun {
  core: RegistrationCoreLike;
  sock: DatagramSocket;
}

export class DetectionProbe {
  private run?: Running;
  /** the loop's view of this probe: the running client's next retransmission */
  private readonly deadline = {
    nextTimeout: (): Instant | undefined => this.run?.core.nextTimeout(),
    handleTimeout: (now: Instant): void => {
      const r = this.run;
      if (!r) return;
      r.core.handleTimeout(now, this.o.platform.clock.wallNow());
      this.drain();
    },
  };

  constructor(private readonly o: DetectionProbeOptions) {}

  /** the address the running request leaves from (undefined: none running) */
  get source(): string | undefined {
    return this.run?.source;
  }

  start(attempt: number, coa: string, source: string): void {
    this.stop();
    const { platform, loop } = this.o;
    const core = this.o.core(this.o.profile, { localPort: 0 });
    const sock = platform.openDatagram({ address: source, port: 0 });
    const run: Running = { attempt, coa, source, core, sock };
    this.run = run;
    loop.add(this.deadline);
    const warn = (err: Error): void => void loop.enqueue(() => {
      if (this.run === run) this.o.warn(`detection request from ${source}: ${err.message}`);
    });
    sock.bound.catch(warn);
    sock.onError(warn);
    sock.onMessage((bytes, from) => void loop.enqueue(() => {
      if (this.run !== run) return;
      core.handleDatagram(bytes, from, platform.clock.now(), platform.clock.wallNow());
      this.drain();
    }));
    // the first request leaves once the link's rule (pref 990) keeps it off the VPN (sends before the bind are queued)
    void this.o.linkReady().then(() => {
      if (this.run !== run) return;
      core.handleCommand({ type: 'register', coa }, platform.clock.now(), platform.clock.wallNow());
      // only transmits can come out of a request just sent; results go through the chain
      for (let t = core.pollTransmit(); t; t = core.pollTransmit()) if (!t.keepalive) sock.send(t.bytes, t.to);
      void loop.enqueue(() => this.drain());
    });
  }

  stop(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    this.o.loop.remove(this.deadline);
    try {
      r.sock.close();
    } catch {
      // already closed
    }
  }

  private drain(): void {
    const r = this.run;
    if (!r) return;
    for (let t = r.core.pollTransmit(); t; t = r.core.pollTransmit()) {
      if (!t.keepalive) r.sock.send(t.bytes, t.to);
    }
    for (let e = r.core.pollEvent(); e; e = r.core.pollEvent()) {
      if (!isRegistrationEvent(e)) continue;
      const result = registrationResult(e);
      if (!result) continue;
      this.stop();
      this.o.onResult({ attempt: r.attempt, coa: r.coa, source: r.source }, e, result);
      return;
    }
  }
}

const REGISTRATION_STATES: ReadonlySet<string> = new Set<RegistrationEvent['state']>(['accepted', 'denied', 'timeout', 'expired', 'deregistered', 'failing']);

/**
 * A registration event of the client or the MipDriver as the engine's event
 * (app/events.ts), checked by its discriminant, state and care-of address.
 */
export function isRegistrationEvent<E extends object>(e: E): e is E & RegistrationEvent {
  const state: unknown = Reflect.get(e, 'state');
  if (Reflect.get(e, 'type') !== 'registration' || typeof state !== 'string') return false;
  return state === 'unverified-denial' ? typeof Reflect.get(e, 'code') === 'number' : REGISTRATION_STATES.has(state) && typeof Reflect.get(e, 'coa') === 'string';
}

/** A registration event of the core as the controller's result (undefined: not a result). */
export function registrationResult(e: RegistrationEvent): RegistrationResult | undefined {
  switch (e.state) {
    case 'accepted': return { status: 'accepted', tnc: e.tnc === true, coa: String(e.coa ?? ''), lifetime: Number(e.lifetime ?? 0) };
    case 'denied': return { status: 'denied', code: Number(e.code ?? 0), codeName: String(e.codeName ?? '') };
    case 'timeout': case 'expired': return { status: 'timeout' };
    default: return undefined;
  }
}
