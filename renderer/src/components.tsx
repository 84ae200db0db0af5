import { useEffect, useState, type ReactNode } from 'react';
import type { Mode } from '../../app/events.ts';
import { modeCode, modeTone } from './format.ts';

/** Re-renders every `periodMs` so countdowns move; the time is read here, in the view, never in a store. */
export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(t);
  }, [periodMs]);
  return now;
}

export function Card(props: { title: string; aside?: ReactNode; children: ReactNode; className?: string; testId?: string }) {
  return (
    <section className={`card ${props.className ?? ''}`} data-testid={props.testId}>
      <header className="card-head">
        <h2>{props.title}</h2>
        {props.aside}
      </header>
      {props.children}
    </section>
  );
}

export function Field(props: { label: string; value: ReactNode; mono?: boolean; testId?: string; hint?: string }) {
  return (
    <div className="field">
      <dt>{props.label}</dt>
      <dd className={props.mono ? 'mono' : undefined} data-testid={props.testId} title={props.hint}>
        {props.value ?? <span className="muted">—</span>}
      </dd>
    </div>
  );
}

export function ModeChip({ mode }: { mode: Mode }) {
  return <span className={`mode-chip tone-${modeTone(mode)}`}>{modeCode(mode)}</span>;
}

export function Pill(props: { tone: 'good' | 'info' | 'warn' | 'bad' | 'neutral'; children: ReactNode; testId?: string }) {
  return <span className={`pill pill-${props.tone}`} data-testid={props.testId}>{props.children}</span>;
}

export function Meter({ fraction, tone }: { fraction: number; tone: 'good' | 'warn' | 'bad' }) {
  return (
    <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)}>
      <div className={`meter-fill meter-${tone}`} style={{ width: `${Math.round(fraction * 100)}%` }} />
    </div>
  );
}
