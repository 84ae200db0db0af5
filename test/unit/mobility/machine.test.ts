import { describe, expect, it } from 'vitest';
import type { ModeEvent } from '../../../app/events.ts';
import { CFG, Rig, apply } from '../../harness/mobility-rig.ts';

const modes = (r: Rig) =>
  r.since().flatMap((e) => (e.kind === 'event' && e.event.type === 'mode' ? [(e.event as ModeEvent).mode] : []));

describe('mobility controller', () => {
  it('gives the i-HA exactly timeoutMs × (retransmits + 1) from the profile, even when the VPN answers first', () => {
    for (const [timeoutMs, retransmits] of [[1000, 2], [250, 0], [700, 4]] as const) {
      const r = new Rig({ ...CFG, detectionTimeoutMs: timeoutMs, detectionRetransmits: retransmits });
      apply(r, 'link(A)');
      apply(r, 'cmd(connect)');
      const reg = r.since().find((e) => e.kind === 'register-direct');
      expect(reg).toMatchObject({ timeoutMs, retransmits });
      apply(r, 'vpn(up)');
      expect(r.m.stateName).toBe('detecting');
      const window = timeoutMs * (retransmits + 1);
      r.m.handleTimeout(window - 1);
      expect(r.m.stateName).toBe('detecting');
      r.m.handleTimeout(window);
      expect(r.m.stateName).toBe('outside-connecting');
    }
  });

  it('a late TNC reply inside the window still wins over a VPN that answered first', () => {
    const r = new Rig();
    apply(r, 'link(A)');
    apply(r, 'cmd(connect)');
    apply(r, 'vpn(up)');
    r.clock.advance(2999);
    apply(r, 'direct(accepted, tnc)');
    expect(r.m.stateName).toBe('trusted-probing');
    apply(r, 'timer(agents)');
    expect(r.m.stateName).toBe('inside-c');
  });

  it('measures the handover gap from the network change to the release of traffic', () => {
    const r = new Rig();
    apply(r, 'link(A)');
    apply(r, 'cmd(connect)');
    apply(r, 'direct(accepted, tnc)');
    apply(r, 'timer(agents)');
    r.mark();
    r.clock.advance(10_000);
    apply(r, 'link(B)');
    r.clock.advance(400);
    apply(r, 'vpn(up)');
    apply(r, 'timer(detect)'); // 3000 ms after the change
    r.clock.advance(120);
    apply(r, 'vpnreg(accepted)');
    const h = r.since().find((e) => e.kind === 'event' && e.event.type === 'handover');
    expect(h).toEqual({ kind: 'event', event: { type: 'handover', from: 'c', to: 'mc', gapMs: 3120 } });
  });

  it('walks the RFC 5266 tour T1 → U1 → U2 → T2(FA) → U1 → T1 as c, mc, mc, f, mc, c', () => {
    const r = new Rig();
    const settled: string[] = [];
    const take = () => {
      settled.push(...modes(r).filter((m) => m === 'c' || m === 'f' || m === 'mc'));
      r.mark();
    };
    const solicits = () => r.since().filter((e) => e.kind === 'agent-solicit').map((e) => (e.kind === 'agent-solicit' && e.active ? 'on' : 'off'));
    // T1: the i-HA answers with TNC; no FA answers the solicitation within agentWaitMs
    apply(r, 'link(A)');
    apply(r, 'cmd(connect)');
    expect(solicits()).toEqual([]);
    apply(r, 'direct(accepted, tnc)');
    expect(solicits()).toEqual(['on']);
    expect(modes(r)).toEqual(['offline', 'detecting']);
    r.clock.advance(CFG.agentWaitMs);
    r.m.handleTimeout(r.clock.now());
    take();
    // U1: only the gateway answers; solicitation is turned off and stays off
    apply(r, 'link(B)');
    expect(solicits()).toEqual(['off']);
    apply(r, 'vpn(up)');
    apply(r, 'timer(detect)');
    apply(r, 'vpnreg(accepted)');
    take();
    // U2 (behind a NAT): MOBIKE moves the SA, the TIA stays
    r.input({ kind: 'link', link: { iface: 'wlan1', addr: '100.64.0.7' } });
    expect(r.since().some((e) => e.kind === 'vpn-move')).toBe(true);
    apply(r, 'vpn(up)');
    apply(r, 'timer(detect)');
    apply(r, 'vpnreg(accepted)');
    expect(solicits()).toEqual([]);
    take();
    // T2 with a foreign agent: the gateway is unreachable from there; the FA answers the solicitation
    apply(r, 'link(A)');
    apply(r, 'vpn(down)');
    apply(r, 'direct(accepted, tnc)');
    expect(solicits()).toEqual(['on']);
    apply(r, 'agent(fa)');
    apply(r, 'direct(accepted, tnc)');
    take();
    // U1 again: a new IKE SA (the old one was lost), same TIA from the pool
    apply(r, 'link(B)');
    apply(r, 'vpn(up)');
    apply(r, 'timer(detect)');
    apply(r, 'vpnreg(accepted)');
    take();
    // T1 again (no FA there)
    apply(r, 'agent(lost)');
    r.input({ kind: 'link', link: { iface: 'eth1', addr: '10.20.0.5' } });
    apply(r, 'direct(accepted, tnc)');
    apply(r, 'timer(agents)');
    take();
    expect(settled).toEqual(['c', 'mc', 'mc', 'f', 'mc', 'c']);
  });

  it('an agent heard on an untrusted link is never used, and a late one on a trusted link still moves c to f', () => {
    const r = new Rig();
    apply(r, 'link(A)');
    apply(r, 'cmd(connect)');
    apply(r, 'agent(fa)'); // unsolicited advertisement, trust not yet proved
    expect(r.m.stateName).toBe('detecting');
    apply(r, 'vpn(up)');
    apply(r, 'timer(detect)');
    apply(r, 'vpnreg(accepted)');
    expect(r.m.stateName).toBe('outside-mc');
    expect(r.since().some((e) => e.kind === 'register-direct' && e.via)).toBe(false);
    expect(r.since().some((e) => e.kind === 'agent-solicit')).toBe(false);

    const t = new Rig();
    apply(t, 'link(A)');
    apply(t, 'cmd(connect)');
    apply(t, 'direct(accepted, tnc)');
    apply(t, 'timer(agents)');
    expect(t.m.stateName).toBe('inside-c');
    apply(t, 'agent(fa)');
    expect(t.m.stateName).toBe('inside-f');
  });

  it('never trusts a network from a reply without TNC or from a denial', () => {
    for (const reply of ['direct(accepted, no-tnc)', 'direct(denied 131)', 'direct(timeout)', 'direct(stale)']) {
      const r = new Rig();
      apply(r, 'link(A)');
      apply(r, 'cmd(connect)');
      apply(r, reply);
      apply(r, 'vpn(up)');
      // a stale reply proves nothing either way: the i-HA keeps its whole window
      if (reply === 'direct(stale)') {
        expect(r.m.stateName).toBe('detecting');
        apply(r, 'timer(detect)');
      }
      expect(r.m.stateName, reply).toBe('outside-connecting');
      expect(r.since().some((e) => e.kind === 'traffic' && e.action === 'release'), reply).toBe(false);
    }
  });

  it('offline retries back off exponentially and a new link retries at once', () => {
    const r = new Rig();
    apply(r, 'link(A)');
    apply(r, 'cmd(connect)');
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      apply(r, 'vpn(down)');
      apply(r, 'timer(detect)');
      expect(r.m.stateName).toBe('offline');
      delays.push(r.m.context.timers.get('retry')! - r.clock.now());
      apply(r, 'timer(retry)');
      expect(r.m.stateName).toBe('detecting');
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
  });
});
