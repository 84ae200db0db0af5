/** Drives the mobility controller in the table's vocabulary (shared by the mobility unit tests). */
import { MobilityController } from '../../app/mobility/machine.ts';
import type { MobilityConfig } from '../../app/mobility/context.ts';
import type { MobilityEffect } from '../../app/mobility/effects.ts';
import type { MobilityInput, RegistrationResult } from '../../app/mobility/inputs.ts';
import { ManualClock } from './manual-clock.ts';

export const CFG: MobilityConfig = {
  hoa: '10.10.0.77',
  homeAgent: '10.10.0.2',
  detectionTimeoutMs: 1000,
  detectionRetransmits: 2,
  tMonitorMs: 60_000,
  keepVpnInside: true,
  holdUntilDecided: false,
  vpnConfigured: true,
  retryBaseMs: 1000,
  retryMaxMs: 60_000,
};

const LINK_A = { iface: 'eth0', addr: '192.168.1.20' };
const LINK_B = { iface: 'wlan0', addr: '172.16.5.9' };
const FA = { iface: 'eth0', addr: '192.168.1.1', coa: '192.168.1.1' };

/** A test rig: the controller, its clock, and every effect it has emitted since the last mark. */
export class Rig {
  readonly clock = new ManualClock(0);
  readonly m: MobilityController;
  private effects: MobilityEffect[] = [];
  /** the attempt of the last register-direct / register-vpn effect, across marks */
  private last = { direct: 0, vpn: 0 };
  constructor(cfg: MobilityConfig = CFG) {
    this.m = new MobilityController(cfg, this.clock.now());
    this.drain();
  }
  drain(): MobilityEffect[] {
    const out: MobilityEffect[] = [];
    for (let e = this.m.pollEffect(); e; e = this.m.pollEffect()) {
      out.push(e);
      if (e.kind === 'register-direct') this.last.direct = e.attempt;
      if (e.kind === 'register-vpn') this.last.vpn = e.attempt;
    }
    this.effects.push(...out);
    return out;
  }
  mark(): void {
    this.drain();
    this.effects = [];
  }
  since(): MobilityEffect[] {
    this.drain();
    return this.effects;
  }
  input(i: MobilityInput): void {
    this.m.handleInput(i, this.clock.now());
    this.drain();
  }
  /** fires a named timer by advancing the clock to exactly its deadline */
  fire(timer: 'detect' | 'monitor' | 'retry'): void {
    const at = this.m.context.timers.get(timer);
    if (at === undefined) throw new Error(`timer ${timer} is not armed in ${this.m.stateName}`);
    this.clock.set(Math.max(at, this.clock.now()));
    this.m.handleTimeout(this.clock.now());
    this.drain();
  }
  /** the attempt number of the last register effect of that kind emitted */
  lastAttempt(kind: 'direct' | 'vpn'): number {
    this.drain();
    return this.last[kind];
  }
}

export function shortName(e: MobilityEffect): string {
  switch (e.kind) {
    case 'traffic':
      return e.action;
    case 'register-direct':
      return e.via ? 'reg-fa' : 'reg-direct';
    case 'register-vpn':
      return 'reg-vpn';
    case 'deregister':
      return 'dereg';
    case 'data-path':
      return `path:${e.mode}`;
    case 'agent-solicit':
      return e.active ? 'solicit' : 'no-solicit';
    case 'event':
      return e.event.type === 'mode' ? `mode:${e.event.mode}` : e.event.type;
    default:
      return e.kind;
  }
}

function result(spec: string): RegistrationResult {
  const [status, arg] = spec.split(/[ ,]+/).filter(Boolean) as [string, string | undefined];
  if (status === 'accepted') return { status: 'accepted', tnc: arg === 'tnc', coa: '0.0.0.0', lifetime: 600 };
  if (status === 'denied') return { status: 'denied', code: Number(arg), codeName: `CODE_${arg}` };
  if (status === 'timeout') return { status: 'timeout' };
  throw new Error(`bad result ${spec}`);
}

/** Applies an input written in the table's vocabulary. */
export function apply(r: Rig, spec: string): void {
  const m = /^(\w[\w-]*)\((.*)\)$/.exec(spec.trim());
  if (!m) throw new Error(`bad input ${spec}`);
  const [, kind, arg] = m as unknown as [string, string, string];
  const ctx = r.m.context;
  switch (kind) {
    case 'link':
      return r.input({ kind: 'link', link: arg === 'none' ? null : arg === 'A' ? LINK_A : LINK_B });
    case 'direct': {
      if (arg === 'stale') return r.input({ kind: 'direct-registration', attempt: r.lastAttempt('direct') - 1, result: result('accepted tnc') });
      const res = result(arg);
      if (res.status === 'accepted') res.coa = ctx.link?.addr ?? '0.0.0.0';
      return r.input({ kind: 'direct-registration', attempt: r.lastAttempt('direct'), result: res });
    }
    case 'vpnreg':
      return r.input({ kind: 'vpn-registration', attempt: r.lastAttempt('vpn'), result: result(arg) });
    case 'vpn':
      if (arg === 'down') return r.input({ kind: 'vpn', event: 'down', reason: 'test' });
      return r.input({ kind: 'vpn', event: 'up', tia: arg === 'up, new-tia' ? '10.10.100.9' : '10.10.100.1', local: ctx.link?.addr ?? '' });
    case 'agent':
      if (arg === 'rebooted') return r.input({ kind: 'agent', iface: LINK_A.iface, fa: FA, rebooted: true });
      return r.input({ kind: 'agent', iface: LINK_A.iface, fa: arg === 'lost' ? null : FA });
    case 'timer':
      return r.fire(arg as 'detect' | 'monitor' | 'retry');
    case 'cmd':
      if (arg === 'always-vpn') return r.input({ kind: 'command', command: { cmd: 'set-policy', policy: 'always-vpn' } });
      return r.input({ kind: 'command', command: { cmd: arg as 'connect' | 'disconnect' | 're-detect' } });
  }
  throw new Error(`unknown input kind ${kind}`);
}

