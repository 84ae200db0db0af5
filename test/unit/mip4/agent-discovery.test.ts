/**
 * Agent discovery on a ManualClock: solicitation schedule, agents per
 * interface, lifetime expiry, sequence-number reboot detection.
 */
import { describe, expect, it } from 'vitest';
import { AgentDiscovery, type DiscoveryEvent } from '../../../app/mip4/agent-discovery.ts';
import { encodeAgentAdvertisement } from '../../../app/wire/mip4/agent-advertisement.ts';
import { decodeAgentSolicitation } from '../../../app/wire/mip4/agent-solicitation.ts';
import { AdvFlag } from '../../../app/wire/mip4/constants.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

const FA = AdvFlag.ForeignAgent | AdvFlag.ReverseTunnel | AdvFlag.UdpTunnelling;

function adv(sequence: number, o: { flags?: number; lifetime?: number; coas?: string[] } = {}): Uint8Array {
  return encodeAgentAdvertisement({
    code: 16, lifetime: o.lifetime ?? 30, routers: [], others: [],
    mobility: { sequence, registrationLifetime: 600, flags: o.flags ?? FA, careOfAddresses: o.coas ?? ['198.51.100.1'] },
  });
}

/** rng returning fixed bytes: 0 = no randomisation, 0xff ≈ +25 %. */
function fixedRng(byte: number): (n: number) => Uint8Array {
  return (n) => new Uint8Array(n).fill(byte);
}

function drain(d: AgentDiscovery): DiscoveryEvent[] {
  const out: DiscoveryEvent[] = [];
  for (let e = d.pollEvent(); e; e = d.pollEvent()) out.push(e);
  return out;
}

function solicitations(d: AgentDiscovery): number {
  let n = 0;
  for (let t = d.pollTransmit(); t; t = d.pollTransmit()) {
    expect(t).toMatchObject({ to: '224.0.0.2', ttl: 1 });
    decodeAgentSolicitation(t.bytes);
    n++;
  }
  return n;
}

describe('agent solicitation schedule (RFC 5944 §2.4)', () => {
  it('sends three at 1 s, then doubles up to 60 s', () => {
    const clock = new ManualClock();
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleInterfaceUp('eth0', clock.now());
    expect(solicitations(d)).toBe(1);
    const gaps: number[] = [];
    for (let i = 0; i < 10; i++) {
      const next = d.nextTimeout()!;
      gaps.push(next - clock.now());
      clock.set(next);
      d.handleTimeout(clock.now());
      expect(solicitations(d)).toBe(1);
    }
    expect(gaps).toEqual([1000, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it('randomises upwards only, by at most 25 %, and respects a larger configured maximum', () => {
    const d = new AgentDiscovery({ rng: fixedRng(0xff), maxIntervalMs: 10_000 });
    d.handleInterfaceUp('eth0', 0);
    const gaps: number[] = [];
    let now = 0;
    for (let i = 0; i < 9; i++) {
      const next = d.nextTimeout()!;
      gaps.push(next - now);
      now = next;
      d.handleTimeout(now);
    }
    expect(gaps.slice(0, 2)).toEqual([1250, 1250]);
    expect(gaps.at(-1)).toBe(75_000);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(1000);
  });

  it('stops soliciting once an agent is heard and resumes when it is lost', () => {
    const clock = new ManualClock();
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleInterfaceUp('eth0', clock.now());
    solicitations(d);
    d.handleAdvertisement(adv(0), '198.51.100.1', 'eth0', clock.now());
    expect(d.nextTimeout()).toBe(clock.now() + 30_000);
    clock.advance(30_000);
    d.handleTimeout(clock.now());
    expect(drain(d).map((e) => e.type)).toEqual(['agent-up', 'agent-lost']);
    expect(solicitations(d)).toBe(1);
  });
});

describe('soliciting only where allowed (an untrusted link sees none)', () => {
  it('listens without soliciting, hears agents, and never re-solicits on loss until allowed', () => {
    const clock = new ManualClock();
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleInterfaceUp('eth0', clock.now(), { solicit: false });
    expect(solicitations(d)).toBe(0);
    expect(d.nextTimeout()).toBeUndefined();
    d.handleAdvertisement(adv(0), '198.51.100.1', 'eth0', clock.now());
    clock.advance(30_000);
    d.handleTimeout(clock.now());
    expect(drain(d).map((e) => e.type)).toEqual(['agent-up', 'agent-lost']);
    expect(solicitations(d)).toBe(0);
    d.setSoliciting('eth0', true, clock.now());
    expect(solicitations(d)).toBe(1);
    d.setSoliciting('eth0', false, clock.now());
    expect(d.nextTimeout()).toBeUndefined();
    clock.advance(120_000);
    d.handleTimeout(clock.now());
    expect(solicitations(d)).toBe(0);
  });

  it('allowing soliciting where an agent is already known sends nothing', () => {
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleInterfaceUp('eth0', 0, { solicit: false });
    d.handleAdvertisement(adv(0), '198.51.100.1', 'eth0', 0);
    d.setSoliciting('eth0', true, 5);
    expect(solicitations(d)).toBe(0);
  });
});

describe('agents per interface', () => {
  it('reports agent-up with the FA flags and care-of addresses, and keeps interfaces apart', () => {
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleAdvertisement(adv(0, { flags: FA | AdvFlag.RegistrationRequired }), '198.51.100.1', 'wlan0', 5);
    const [up] = drain(d);
    expect(up).toMatchObject({ type: 'agent-up', iface: 'wlan0', agent: {
      address: '198.51.100.1', foreignAgent: true, homeAgent: false, busy: false, registrationRequired: true,
      reverseTunnel: true, udpTunnelling: true, careOfAddresses: ['198.51.100.1'], expiresAt: 30_005,
    } });
    expect(d.agentsOn('eth0')).toEqual([]);
    expect(d.agentsOn('wlan0')).toHaveLength(1);
  });

  it('refreshes the lifetime on every advertisement and reports a change of the busy bit', () => {
    const clock = new ManualClock();
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleAdvertisement(adv(0), '198.51.100.1', 'eth0', clock.now());
    clock.advance(20_000);
    d.handleAdvertisement(adv(1), '198.51.100.1', 'eth0', clock.now());
    clock.advance(20_000);
    d.handleTimeout(clock.now());
    d.handleAdvertisement(adv(2, { flags: FA | AdvFlag.Busy }), '198.51.100.1', 'eth0', clock.now());
    expect(drain(d).map((e) => e.type)).toEqual(['agent-up', 'agent-updated']);
    expect(d.agentsOn('eth0')[0]!.busy).toBe(true);
  });

  it('detects a reboot when the sequence falls into 0–255, not on rollover to 256', () => {
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleAdvertisement(adv(0xffff), '198.51.100.1', 'eth0', 0);
    d.handleAdvertisement(adv(256), '198.51.100.1', 'eth0', 1);
    d.handleAdvertisement(adv(257), '198.51.100.1', 'eth0', 2);
    d.handleAdvertisement(adv(0), '198.51.100.1', 'eth0', 3);
    expect(drain(d).map((e) => e.type)).toEqual(['agent-up', 'agent-rebooted']);
  });

  it('loses every agent of an interface that goes down', () => {
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleAdvertisement(adv(0), '198.51.100.1', 'eth0', 0);
    d.handleAdvertisement(adv(0), '198.51.100.2', 'eth0', 0);
    d.handleInterfaceDown('eth0', 1);
    expect(drain(d).filter((e) => e.type === 'agent-lost')).toHaveLength(2);
    expect(d.nextTimeout()).toBeUndefined();
  });

  it('ignores plain router advertisements, invalid flag combinations and malformed bytes', () => {
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleAdvertisement(encodeAgentAdvertisement({ code: 0, lifetime: 30, routers: [], others: [] }), '192.0.2.1', 'eth0', 0);
    d.handleAdvertisement(adv(0, { flags: AdvFlag.ReverseTunnel }), '192.0.2.1', 'eth0', 0);
    d.handleAdvertisement(adv(0, { flags: AdvFlag.HomeAgent | AdvFlag.Busy, coas: [] }), '192.0.2.1', 'eth0', 0);
    d.handleAdvertisement(adv(0, { coas: [] }), '192.0.2.1', 'eth0', 0);
    const bad = adv(0);
    bad[3]! ^= 1;
    d.handleAdvertisement(bad, '192.0.2.1', 'eth0', 0);
    expect(d.stats.ignored).toEqual({ malformed: 1, notAgent: 1, invalid: 3, overflow: 0 });
    expect(drain(d)).toEqual([]);
    d.handleAdvertisement(adv(0, { flags: AdvFlag.HomeAgent, coas: [] }), '192.0.2.1', 'eth0', 0);
    expect(drain(d)[0]).toMatchObject({ type: 'agent-up', agent: { homeAgent: true, foreignAgent: false } });
  });
});

describe('agent discovery under a flood of spoofed advertisement sources (issue 14)', () => {
  const spoofed = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

  it('200 000 sources on one link: at most 8 agents kept, the rest counted, the genuine FA still followed', () => {
    const clock = new ManualClock();
    const d = new AgentDiscovery({ rng: fixedRng(0) });
    d.handleInterfaceUp('wlan0', clock.now(), { solicit: false });
    d.handleAdvertisement(adv(1), '198.51.100.1', 'wlan0', clock.now());
    const bytes = adv(7, { lifetime: 9000 });
    for (let i = 0; i < 200_000; i++) d.handleAdvertisement(bytes, spoofed(i), 'wlan0', clock.now());
    expect(d.size).toBe(8);
    expect(d.agentsOn('wlan0')).toHaveLength(8);
    expect(d.stats.ignored.overflow).toBe(200_000 - 7);
    // the genuine agent is still followed: its reboot is noticed
    drain(d);
    d.handleAdvertisement(adv(300), '198.51.100.1', 'wlan0', clock.now());
    d.handleAdvertisement(adv(2), '198.51.100.1', 'wlan0', clock.now());
    expect(drain(d)).toEqual([expect.objectContaining({ type: 'agent-rebooted', agent: expect.objectContaining({ address: '198.51.100.1' }) })]);
  });

  it('caps the total over interfaces too, and frees a slot when an agent expires', () => {
    const clock = new ManualClock();
    const d = new AgentDiscovery({ rng: fixedRng(0), maxAgents: 12, maxAgentsPerInterface: 8 });
    for (const iface of ['a', 'b', 'c']) {
      d.handleInterfaceUp(iface, clock.now(), { solicit: false });
      for (let i = 0; i < 1000; i++) d.handleAdvertisement(adv(1, { lifetime: 10 }), spoofed(i), iface, clock.now());
    }
    expect(d.size).toBe(12);
    expect([d.agentsOn('a').length, d.agentsOn('b').length, d.agentsOn('c').length]).toEqual([8, 4, 0]);
    expect(d.stats.ignored.overflow).toBe(3000 - 12);
    clock.advance(10_000);
    d.handleTimeout(clock.now());
    expect(d.size).toBe(0);
    d.handleAdvertisement(adv(1), '198.51.100.1', 'c', clock.now());
    expect(d.agentsOn('c')).toHaveLength(1);
  });
});
