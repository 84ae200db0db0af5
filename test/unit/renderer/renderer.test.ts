import { describe, expect, it } from 'vitest';
import { emptySnapshot } from '../../../app/engine-snapshot.ts';
import { filterLog, formatBytes, formatDuration, formatGap, lifetimeLeft, modeCode, modeTone } from '../../../renderer/src/format.ts';
import { setPath, validateDraft } from '../../../renderer/src/profile-draft.ts';
import { createEngineStore } from '../../../renderer/src/store.ts';
import { roamingScript } from '../../ui/scripted-engine.ts';

describe('engine store', () => {
  it('is fed by a snapshot, then by events folded with the shared reducer', () => {
    const store = createEngineStore();
    expect(store.getState().ready).toBe(false);
    store.getState().setSnapshot({ ...emptySnapshot(), hoa: '10.10.0.50' });
    let t = 1000;
    for (const step of roamingScript().slice(0, 2)) for (const e of step.events) store.getState().ingest(e, (t += 100));
    const s = store.getState().snapshot;
    expect(store.getState().ready).toBe(true);
    expect(s.mode).toBe('mc');
    expect(s.handovers.map((h) => h.to)).toEqual(['c', 'mc']);
    expect(s.registration?.expiresAt).toBeGreaterThan(600_000);
  });
});

describe('format', () => {
  it('modes as badge codes and tones', () => {
    expect(['c', 'f', 'mc', 'detecting', 'offline', 'blocked'].map((m) => modeCode(m as never))).toEqual(['c', 'f', 'mc', '…', '—', '!']);
    expect(modeTone('mc')).toBe('outside');
    expect(modeTone('f')).toBe('inside');
  });

  it('bytes, durations, gaps', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2_811_000)).toBe('2.7 MiB');
    expect(formatDuration(598_400)).toBe('9:58');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(-5)).toBe('0:00');
    expect(formatGap(212)).toBe('212 ms');
    expect(formatGap(1840)).toBe('1.84 s');
  });

  it('lifetime left counts down and is null without an accepted binding', () => {
    expect(lifetimeLeft(100_000, 600, 40_000)).toEqual({ fraction: 0.1, text: '1:00' });
    expect(lifetimeLeft(100_000, 600, 200_000)?.fraction).toBe(0);
    expect(lifetimeLeft(null, 600, 0)).toBeNull();
  });

  it('log filter: minimum level, search in message and context, newest first', () => {
    const log = [
      { level: 'debug' as const, msg: 'a', at: 1 },
      { level: 'info' as const, msg: 'link up', at: 2, ctx: { component: 'mobility' } },
      { level: 'warn' as const, msg: 'i-HA silent', at: 3 },
    ];
    expect(filterLog(log, 'info', '').map((l) => l.at)).toEqual([3, 2]);
    expect(filterLog(log, 'debug', 'MOBILITY').map((l) => l.at)).toEqual([2]);
    expect(filterLog(log, 'error', '')).toEqual([]);
  });
});

describe('profile draft', () => {
  it('setPath edits nested fields without mutating, and removes emptied ones', () => {
    const a = { vpn: { gateway: '1.2.3.4' } };
    const b = setPath(a, 'vpn.auth.psk', 'x');
    expect(b).toEqual({ vpn: { gateway: '1.2.3.4', auth: { psk: 'x' } } });
    expect(a).toEqual({ vpn: { gateway: '1.2.3.4' } });
    expect(setPath({ nai: 'n' }, 'nai', '')).toEqual({});
  });

  it('validation names the field the engine would reject; redacted secrets count as present', () => {
    expect(validateDraft({ homeAddress: '10.10.0.500', homeAgent: '10.10.0.1' })).toMatchObject({ field: 'homeAddress' });
    expect(validateDraft({ homeAddress: '10.10.0.50' })).toMatchObject({ field: 'homeAgent', message: 'is required' });
    expect(validateDraft({ homeAddress: '10.10.0.50', homeAgent: '10.10.0.1', mnHaAuth: { spi: 256, key: '<redacted>' } })).toBeNull();
  });
});
