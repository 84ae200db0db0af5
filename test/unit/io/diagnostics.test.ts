import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptySnapshot } from '../../../app/engine-snapshot.ts';
import { RECORDED_COUNTERS, buildDiagnostics, collectSecrets, recordEvents, redactText, writeTarGz } from '../../../app/io/diagnostics.ts';
import type { EngineEvent } from '../../../app/events.ts';

const PSK = 'correct-horse-battery-staple-42';
const MN_HA_HEX = '00112233445566778899aabbccddeeff';
const PEM_BODY = 'MC4CAQAwBQYDK2VwBCIEIOvYfZ8zq1cB5nd0Q7tJ4G3jK9m1vTlxUPrb2wq8aHx3';
const PEM = `-----BEGIN PRIVATE KEY-----\n${PEM_BODY}\n-----END PRIVATE KEY-----`;

const profile = {
  homeAddress: '10.10.0.50', homeAgent: '10.10.0.1', nai: 'alice@example.com',
  mnHaAuth: { spi: 256, key: `hex:${MN_HA_HEX}` },
  vpn: { gateway: '198.51.100.1', localId: 'alice@example.com', remoteId: 'gw.example.com', auth: { psk: PSK } },
};

/** Unpacks with the system tar: an independent check that the archive is a valid ustar. */
function unpack(data: Uint8Array): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'hw-diag-'));
  try {
    writeFileSync(join(dir, 'd.tar.gz'), data);
    execFileSync('tar', ['-xzf', 'd.tar.gz'], { cwd: dir });
    const out = new Map<string, string>();
    const walk = (p: string, rel: string): void => {
      for (const e of readdirSync(p, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(p, e.name), `${rel}${e.name}/`);
        else if (e.name !== 'd.tar.gz') out.set(`${rel}${e.name}`, readFileSync(join(p, e.name), 'utf8'));
      }
    };
    walk(dir, '');
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('diagnostics export', () => {
  it('archives snapshot, events, log and profile, and none of them contains the PSK, the private key or the MN-HA key', () => {
    const events: { at: number; event: EngineEvent }[] = [
      { at: 1000, event: { type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: '10.10.0.50' } },
      { at: 2000, event: { type: 'log', level: 'debug', msg: `loaded PSK ${PSK} for gw.example.com` } },
      { at: 3000, event: { type: 'log', level: 'debug', msg: `key file contents:\n${PEM}` } },
      { at: 4000, event: { type: 'log', level: 'debug', msg: 'MN-HA', ctx: { key: MN_HA_HEX, spi: 256 } } },
      { at: 5000, event: { type: 'error', code: 'AUTHENTICATION_FAILED', message: `psk="${PSK}" rejected` } },
      { at: 6000, event: { type: 'log', level: 'debug', msg: `SK_ei=${'ab'.repeat(32)} spi 8a3f00c2d14e9b71` } },
    ];
    const snapshot = events.reduce((s, e) => applyEvent(s, e.event, e.at), emptySnapshot());
    const { name, data } = buildDiagnostics({
      snapshot, events, profile, now: Date.UTC(2025, 0, 2, 3, 4, 5), version: '0.1.0', platform: 'linux',
      logLines: [`charon: loaded private key ${PEM}`, `mnHaKey=${MN_HA_HEX.toUpperCase()}`],
    });
    expect(name).toBe('homeward-diagnostics-2025-01-02T03-04-05-000Z.tar.gz');
    const files = unpack(data);
    const base = 'homeward-diagnostics-2025-01-02T03-04-05-000Z/';
    expect([...files.keys()].sort()).toEqual(['README.txt', 'counters.txt', 'events.jsonl', 'log.txt', 'profile.json', 'snapshot.json', 'timeline.txt', 'versions.txt'].map((f) => base + f));
    const all = [...files.values()].join('\n');
    for (const secret of [PSK, MN_HA_HEX, MN_HA_HEX.toUpperCase(), PEM_BODY, 'BEGIN PRIVATE KEY', Buffer.from(PSK).toString('hex'), 'ab'.repeat(32)]) {
      expect(all, secret).not.toContain(secret);
    }
    // what IT needs is still there
    expect(files.get(`${base}log.txt`)).toContain('loaded PSK <redacted> for gw.example.com');
    expect(files.get(`${base}log.txt`)).toContain('spi 8a3f00c2d14e9b71');
    const prof = JSON.parse(files.get(`${base}profile.json`)!);
    expect(prof).toMatchObject({ homeAddress: '10.10.0.50', mnHaAuth: { spi: 256, key: '<redacted>' }, vpn: { auth: { psk: '<redacted>' } } });
    expect(JSON.parse(files.get(`${base}snapshot.json`)!).mode).toBe('mc');
    expect(files.get(`${base}events.jsonl`)!.trim().split('\n')).toHaveLength(events.length);
  });

  it('redactText scrubs PEM blocks (even unterminated), hex: secrets and secret-named pairs, keeps SPIs', () => {
    expect(redactText(`a -----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY----- b`)).toBe('a <redacted private key> b');
    expect(redactText('-----BEGIN RSA PRIVATE KEY-----\nAAAA')).toBe('<redacted private key>');
    expect(redactText('key=hex:0011 other')).toBe('key=<redacted> other');
    expect(redactText('"password": "hunter2", x')).toBe('"password": <redacted>, x');
    expect(redactText('spi 8a3f00c2d14e9b71 in c1a2b3c4')).toBe('spi 8a3f00c2d14e9b71 in c1a2b3c4');
    expect(collectSecrets(profile)).toContain(PSK);
  });

  it('writes a ustar archive whose header checksums and sizes are right (independent reader)', () => {
    const body = 'x'.repeat(700);
    const tar = gunzipSync(writeTarGz([{ name: 'a/b.txt', data: body, mtimeSec: 1 }]));
    expect(tar.length % 512).toBe(0);
    const header = tar.subarray(0, 512);
    const stored = parseInt(header.subarray(148, 156).toString('latin1'), 8);
    const sum = [...header].reduce((a, b, i) => a + (i >= 148 && i < 156 ? 32 : b), 0);
    expect(stored).toBe(sum);
    expect(parseInt(header.subarray(124, 136).toString('latin1'), 8)).toBe(700);
    expect(header.subarray(257, 262).toString('latin1')).toBe('ustar');
    expect(tar.subarray(512, 1212).toString('latin1')).toBe(body);
  });
});

describe('diagnostics export with an EAP profile (issue 20)', () => {
  it('the EAP password is in no file of the archive, the EAP identity and method stay', () => {
    const password = 'Eap-Diag-Pw-93c1';
    const eapProfile = {
      homeAddress: '10.10.0.50', homeAgent: '10.10.0.1',
      vpn: { gateway: '198.51.100.1', localId: 'alice@example.com', remoteId: 'gw.example.com', ca: '/etc/ca.pem',
        auth: { eap: { method: 'mschapv2', identity: 'alice', password } } },
    };
    const events: { at: number; event: EngineEvent }[] = [
      { at: 1000, event: { type: 'log', level: 'debug', msg: `typed ${password} by mistake` } },
    ];
    const snapshot = events.reduce((s, e) => applyEvent(s, e.event, e.at), emptySnapshot());
    const { data } = buildDiagnostics({ snapshot, events, profile: eapProfile, now: 0, version: '0.1.0', platform: 'linux', logLines: [`pw=${password}`] });
    const files = unpack(data);
    const all = [...files.values()].join('\n');
    for (const s of [password, Buffer.from(password).toString('hex'), Buffer.from(password).toString('base64')]) expect(all, s).not.toContain(s);
    const prof = JSON.parse([...files.entries()].find(([k]) => k.endsWith('profile.json'))![1]);
    expect(prof).toMatchObject({ vpn: { auth: { eap: { method: 'mschapv2', identity: 'alice', password: '<redacted>' } } } });
  });
});

describe('the diagnostics event recorder', () => {
  function source() {
    const listeners = new Set<(e: EngineEvent) => void>();
    return {
      emit: (e: EngineEvent) => { for (const l of listeners) l(e); },
      engine: { snapshot: emptySnapshot, onEvent: (cb: (e: EngineEvent) => void) => { listeners.add(cb); return () => listeners.delete(cb); }, command: () => Promise.resolve() },
    };
  }
  const counters = (n: number): EngineEvent => ({ type: 'counters', tunIn: n, tunOut: n, bytesIn: n, bytesOut: n, dropped: {} } as unknown as EngineEvent);
  const log = (n: number): EngineEvent => ({ type: 'log', level: 'info', message: `m${n}` } as unknown as EngineEvent);

  it('keeps the last minute of counters in their own ring, so an hour of traffic neither grows it nor pushes the other events out', () => {
    const s = source();
    let now = 1_000;
    const rec = recordEvents(s.engine, 5, RECORDED_COUNTERS, () => now);
    s.emit(log(0));
    for (let i = 0; i < 3600; i++) { now += 1000; s.emit(counters(i)); if (i === 1800) s.emit(log(1)); }
    const events = rec.events();
    expect(events.filter((e) => e.event.type === 'counters')).toHaveLength(RECORDED_COUNTERS);
    expect(events.filter((e) => e.event.type === 'log').map((e) => (e.event as unknown as { message: string }).message)).toEqual(['m0', 'm1']);
    // in arrival order, with the time each came
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((a, b) => a - b));
    expect(events[0]).toEqual({ at: 1_000, event: log(0) });
    expect((events.at(-1)!.event as unknown as { tunIn: number }).tunIn).toBe(3599);
    // the other events keep their own cap
    for (let i = 2; i < 10; i++) s.emit(log(i));
    expect(rec.events().filter((e) => e.event.type === 'log').map((e) => (e.event as unknown as { message: string }).message)).toEqual(['m5', 'm6', 'm7', 'm8', 'm9']);
    rec.stop();
    s.emit(log(10));
    expect(rec.events().some((e) => (e.event as unknown as { message?: string }).message === 'm10')).toBe(false);
  });

  it('interleaves counters and other events exactly as they came', () => {
    const s = source();
    const rec = recordEvents(s.engine, 10, 10, () => 7);
    const sent = [log(0), counters(1), counters(2), log(3), counters(4), log(5), log(6)];
    for (const e of sent) s.emit(e);
    expect(rec.events().map((e) => e.event)).toEqual(sent);
  });
});
