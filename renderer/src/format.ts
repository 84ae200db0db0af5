/** Pure presentation helpers: numbers and times as people read them. */
import type { LogRecord, TrustDecision } from '../../app/engine-snapshot.ts';
import type { Mode } from '../../app/events.ts';

export function modeCode(mode: Mode): string {
  switch (mode) {
    case 'c': case 'f': case 'mc': return mode;
    case 'detecting': return '…';
    case 'offline': return '—';
    case 'blocked': return '!';
  }
}

/** Colour family of a mode: inside (green), outside (blue), waiting (amber), down (grey), error (red). */
export function modeTone(mode: Mode): 'inside' | 'outside' | 'waiting' | 'down' | 'error' {
  switch (mode) {
    case 'c': case 'f': return 'inside';
    case 'mc': return 'outside';
    case 'detecting': return 'waiting';
    case 'offline': return 'down';
    case 'blocked': return 'error';
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** 0:42, 9:05, 1:02:03 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A handover gap as people read it: whole milliseconds under a second, then seconds. */
export function formatGap(ms: number): string {
  const r = Math.round(ms);
  return r < 1000 ? `${r} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "1 move", "3 moves". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** How trust was decided for a move, in words. */
export function trustText(t: TrustDecision | null): string {
  switch (t) {
    case 'home-agent-tnc': return 'Trusted: the home agent answered with TNC';
    case 'no-tnc': return 'Untrusted: no trusted answer from the home agent';
    case 'always-vpn': return 'VPN forced by the Always VPN policy';
    case null: return 'Trust not settled';
  }
}

export function formatClock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Log lines at or above `level` whose text (message or context) contains `search`, newest first. */
export function filterLog(log: readonly LogRecord[], level: LogRecord['level'], search: string): LogRecord[] {
  const min = LEVELS.indexOf(level);
  const q = search.trim().toLowerCase();
  return log
    .filter((l) => LEVELS.indexOf(l.level) >= min)
    .filter((l) => !q || l.msg.toLowerCase().includes(q) || (l.ctx !== undefined && JSON.stringify(l.ctx).toLowerCase().includes(q)))
    .slice()
    .reverse();
}

/** Registration lifetime left, as a fraction 0..1 and text. */
export function lifetimeLeft(expiresAt: number | null, lifetime: number | null, now: number): { fraction: number; text: string } | null {
  if (expiresAt === null || lifetime === null || lifetime <= 0) return null;
  const left = Math.max(0, expiresAt - now);
  return { fraction: Math.min(1, left / (lifetime * 1000)), text: formatDuration(left) };
}
