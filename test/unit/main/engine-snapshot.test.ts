import { describe, expect, it } from 'vitest';
import { applyEvent, emptySnapshot, MAX_LOG_LINES, replayEvents } from '../../../app/engine-snapshot.ts';
import type { EngineEvent } from '../../../app/events.ts';
import { roamingScript } from '../../ui/scripted-engine.ts';

const T0 = 1_700_000_000_000;

function replayScript(upTo: number) {
  const steps = roamingScript().slice(0, upTo);
  let at = T0;
  const timed = steps.flatMap((s) => s.events).map((event) => ({ event, at: (at += 1000) }));
  return { snap: replayEvents(timed), timed };
}

describe('applyEvent', () => {
  it('does not mutate its input', () => {
    const s0 = emptySnapshot();
    const frozen = JSON.stringify(s0);
    const s1 = applyEvent(s0, { type: 'mode', mode: 'c', trusted: true, coa: '10.10.1.23', hoa: '10.10.0.50' }, T0);
    expect(JSON.stringify(s0)).toBe(frozen);
    expect(s1.mode).toBe('c');
    expect(s1.modeSince).toBe(T0);
    expect(s1.connected).toBe(true);
  });

  it('keeps modeSince when the mode repeats and resets it on change', () => {
    const m = (mode: 'c' | 'mc'): EngineEvent => ({ type: 'mode', mode, trusted: mode === 'c', coa: '1.1.1.1', hoa: '2.2.2.2' });
    let s = applyEvent(emptySnapshot(), m('c'), T0);
    s = applyEvent(s, m('c'), T0 + 5000);
    expect(s.modeSince).toBe(T0);
    s = applyEvent(s, m('mc'), T0 + 9000);
    expect(s.modeSince).toBe(T0 + 9000);
  });

  it('folds the inside → outside roam: VPN state, TIA, registration expiry, handover with care-of addresses', () => {
    const { snap, timed } = replayScript(2);
    expect(snap.mode).toBe('mc');
    expect(snap.trusted).toBe(false);
    expect(snap.tia).toBe('10.200.0.9');
    expect(snap.gateway).toBe('198.51.100.1');
    expect(snap.homeAgent).toBe('10.10.0.1');
    const reg = timed.filter((t) => t.event.type === 'registration').at(-1)!;
    expect(snap.registration?.expiresAt).toBe(reg.at + 600_000);
    const ikeAt = timed.find((t) => t.event.type === 'ike-sa' && t.event.state === 'established')!.at;
    expect(snap.ikeSa).toMatchObject({ state: 'established', spiI: '8a3f00c2d14e9b71', natLocal: true, establishedAt: ikeAt });
    expect(snap.childSas).toHaveLength(1);
    expect(snap.handovers.map((h) => `${h.from}>${h.to}:${h.gapMs}`)).toEqual(['detecting>c:212', 'c>mc:1840']);
    expect(snap.handovers[1]).toMatchObject({ fromCoa: '10.10.1.23', toCoa: '10.200.0.9' });
    expect(snap.counters.dropped).toEqual({ held: 11, 'esp-auth': 0, replay: 1 });
  });

  it('records MOBIKE moves on the IKE SA and clears SAs when it is deleted', () => {
    const mid = replayScript(3).snap;
    expect(mid.ikeSa?.local).toBe('203.0.113.40');
    expect(mid.ikeSa?.lastMobike).toMatchObject({ from: '192.0.2.77', to: '203.0.113.40', ms: 96 });
    const end = replayScript(4).snap;
    expect(end.mode).toBe('c');
    expect(end.ikeSa?.state).toBe('deleted');
    expect(end.childSas).toEqual([]);
    expect(end.tia).toBeNull();
    expect(end.handovers).toHaveLength(3);
  });

  it('in the real engine\'s order (handover, then the settled mode; detecting has no care-of) records both care-of addresses, the trigger and the trust', () => {
    const hoa = '10.1.0.50';
    const ev: EngineEvent[] = [
      { type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa, reason: 'link up' },
      { type: 'mode', mode: 'c', trusted: true, coa: '10.1.1.20', hoa },
      { type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa, reason: 'link change on eth1' },
      { type: 'handover', from: 'c', to: 'mc', gapMs: 840.4 },
      { type: 'mode', mode: 'mc', trusted: false, coa: '10.99.0.7', hoa },
      { type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa, reason: 'address change', policy: 'always-vpn' },
      { type: 'handover', from: 'mc', to: 'mc', gapMs: 120 },
      { type: 'mode', mode: 'mc', trusted: false, coa: '10.99.0.8', hoa, policy: 'always-vpn' },
    ];
    const s = ev.reduce((acc, e, i) => applyEvent(acc, e, T0 + i), emptySnapshot());
    expect(s.handovers).toEqual([
      { from: 'c', to: 'mc', gapMs: 840.4, at: T0 + 3, fromCoa: '10.1.1.20', toCoa: '10.99.0.7', trigger: 'link change on eth1', trust: 'no-tnc' },
      { from: 'mc', to: 'mc', gapMs: 120, at: T0 + 6, fromCoa: '10.99.0.7', toCoa: '10.99.0.8', trigger: 'address change', trust: 'always-vpn' },
    ]);
    // a recording with the mode event first gives the same record
    const script = replayScript(2).snap;
    expect(script.handovers[1]).toMatchObject({ fromCoa: '10.10.1.23', toCoa: '10.200.0.9', trigger: 'link change', trust: 'no-tnc' });
    expect(script.handovers[0]).toMatchObject({ trust: 'home-agent-tnc', trigger: 'link up' });
  });

  it('takes the NAT state of a MOBIKE move from the event\'s natLocal (what the IKE layer sends)', () => {
    let s = applyEvent(emptySnapshot(), { type: 'ike-sa', state: 'established', gateway: '192.0.2.1', local: '198.51.100.5', natLocal: false, natRemote: false }, T0);
    s = applyEvent(s, { type: 'mobike-update', from: '198.51.100.5', to: '10.9.0.5', ms: 80, natLocal: true, natRemote: false }, T0 + 1);
    expect(s.ikeSa).toMatchObject({ natLocal: true, natRemote: false, local: '10.9.0.5' });
    s = applyEvent(s, { type: 'mobike-update', from: '10.9.0.5', to: '198.51.100.9', ms: 70, natLocal: false }, T0 + 2);
    expect(s.ikeSa?.natLocal).toBe(false);
  });

  it('bounds the log and keeps the newest lines', () => {
    let s = emptySnapshot();
    for (let i = 0; i < MAX_LOG_LINES + 25; i++) s = applyEvent(s, { type: 'log', level: 'info', msg: `line ${i}` }, T0 + i);
    expect(s.log).toHaveLength(MAX_LOG_LINES);
    expect(s.log.at(-1)?.msg).toBe(`line ${MAX_LOG_LINES + 24}`);
    expect(s.log[0]?.msg).toBe('line 25');
  });

  it('a denied registration has no expiry and errors are kept with their field', () => {
    let s = applyEvent(emptySnapshot(), { type: 'registration', state: 'denied', coa: '1.2.3.4', code: 131, codeName: 'MN_AUTH_FAILED' }, T0);
    s = applyEvent(s, { type: 'error', code: 'MN_AUTH_FAILED', message: 'home agent refused the MN-HA authenticator', field: 'mnHaAuth.key', fatal: true }, T0);
    expect(s.registration).toMatchObject({ state: 'denied', expiresAt: null, code: 131 });
    expect(s.lastError).toMatchObject({ field: 'mnHaAuth.key', fatal: true });
  });
});
