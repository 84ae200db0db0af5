/**
 * Agent discovery on the access link (RFC 5944 §2.4): a raw ICMP socket
 * (the platform's) pinned to the link feeds Agent Advertisements to the
 * sans-I/O app/mip4/agent-discovery.ts, its Agent Solicitations go out on the
 * same socket, and its agent-up / -updated / -rebooted / -lost events become
 * the engine's `agent` input when the usable foreign agent of the link
 * changed (app/mip4/fa-choice.ts foreignAgentChange). The engine's loop drives its timers (it is
 * one of the loop's Deadlines).
 *
 * Solicitations stay off until the engine says the link may be solicited on
 * (the controller's `agent-solicit` effect: only on a trusted link).
 */
import type { Instant } from '../base/clock.ts';
import type { RandomBytes } from '../mip4/identification.ts';
import { AgentDiscovery } from '../mip4/agent-discovery.ts';
import type { ForeignAgent, Link } from '../mobility/inputs.ts';
import { agentAdvertisement, foreignAgentChange, type AgentChange } from '../mip4/fa-choice.ts';
import { IpProto } from '../wire/ip/ipv4-header.ts';
import type { EngineLoop } from './engine-loop.ts';
import type { Platform } from './platform.ts';
import type { RawSocket } from './raw-socket.ts';
import { RxGuard } from './rx-guard.ts';

export type { AgentChange };

export interface AgentDiscoveryDriverOptions {
  platform: Platform;
  loop: EngineLoop;
  /** the foreign agent the controller knows on this interface */
  known(iface: string): ForeignAgent | undefined;
  onChange(change: AgentChange): void;
  log(level: 'info' | 'warn', msg: string): void;
  rng?: RandomBytes;
}

export class AgentDiscoveryDriver {
  private readonly core: AgentDiscovery;
  /** the raw ICMP socket, pinned to the access link */
  private icmp?: { iface: string; sock: RawSocket };
  /** the ICMP/agent receive path: one hostile advertisement is counted and dropped, never fatal */
  private readonly rxGuard: RxGuard;
  private closed = false;
  private readonly deadline = {
    nextTimeout: (): Instant | undefined => this.core.nextTimeout(),
    handleTimeout: (now: Instant): void => {
      this.core.handleTimeout(now);
      this.drain();
    },
  };

  constructor(private readonly o: AgentDiscoveryDriverOptions) {
    this.core = new AgentDiscovery({ rng: o.rng ?? ((n) => o.platform.random(n)) });
    this.rxGuard = new RxGuard('an ICMP packet of agent discovery', (msg) => o.log('warn', msg));
    o.loop.add(this.deadline);
  }

  /** advertisements (and ICMP packets) dropped as malformed or hostile */
  get rxErrors(): number {
    return this.rxGuard.dropped;
  }

  /** The access link changed: listen on the new one (solicitations wait for setSoliciting). */
  setLink(link: Link | null): void {
    const now = this.o.platform.clock.now();
    if (this.icmp && this.icmp.iface !== link?.iface) {
      this.icmp.sock.close();
      this.core.handleInterfaceDown(this.icmp.iface, now);
      this.icmp = undefined;
    }
    if (link && !this.icmp && !this.closed) {
      const iface = link.iface;
      try {
        const sock = this.o.platform.openRaw(IpProto.Icmp, { device: iface, ttl: 1, multicastTtl: 1 });
        sock.onPacket((pkt) => this.rxGuard.run(() => {
          // every ICMP packet of the link arrives here: only advertisements go on the chain
          const h = agentAdvertisement(pkt);
          if (h) void this.o.loop.enqueue(() => this.rxGuard.run(() => this.onAdvertisement(iface, h.icmp, h.src)));
        }));
        this.icmp = { iface, sock };
      } catch (e) {
        this.o.log('warn', `agent discovery off on ${iface}: ${(e as Error).message}`);
      }
      // listen only: solicitations wait until the controller knows the link is trusted
      this.core.handleInterfaceUp(iface, now, { solicit: false });
    }
    this.drain();
  }

  /** The controller's agent-solicit: only the access link's discovery can solicit (a stale iface: the link moved on). */
  setSoliciting(iface: string, active: boolean): void {
    this.core.setSoliciting(iface, active && this.icmp?.iface === iface, this.o.platform.clock.now());
    this.drain();
  }

  close(): void {
    this.closed = true;
    this.o.loop.remove(this.deadline);
    this.icmp?.sock.close();
    this.icmp = undefined;
  }

  private onAdvertisement(iface: string, icmp: Uint8Array, src: string): void {
    if (this.closed || this.icmp?.iface !== iface) return;
    this.core.handleAdvertisement(icmp, src, iface, this.o.platform.clock.now());
    this.drain();
  }

  private drain(): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) {
      if (this.icmp?.iface === t.iface) this.icmp.sock.send(t.bytes, t.to);
    }
    for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
      const change = foreignAgentChange(e, this.core.agentsOn(e.iface), this.o.known(e.iface));
      if (!change) continue;
      const { fa, iface } = change;
      this.o.log('info', change.rebooted && fa ? `foreign agent ${fa.addr} on ${iface} rebooted`
        : fa ? `foreign agent ${fa.addr} on ${iface} offers ${fa.coa}` : `no foreign agent on ${iface}`);
      this.o.onChange(change);
    }
  }
}
