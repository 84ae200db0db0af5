import type { HandoverRecord } from '../../../app/engine-snapshot.ts';
import { statusWords } from '../../../main/mode-text.ts';
import { Card, ModeChip } from '../components.tsx';
import { formatClock, formatGap, plural, trustText } from '../format.ts';
import { useEngine } from '../store.ts';

/** Gap colouring: under 0.5 s is seamless, under 2 s noticeable, above that disruptive. */
const gapTone = (ms: number) => (ms < 500 ? 'good' : ms < 2000 ? 'warn' : 'bad');

/** One move: when, what it became (in words, the letters as detail), why, how trust was decided, the addresses and the gap. */
export function HandoverRow({ h }: { h: HandoverRecord }) {
  const words = statusWords({ mode: h.to, trusted: h.trust === 'home-agent-tnc', policy: h.trust === 'always-vpn' ? 'always-vpn' : 'automatic', connected: true });
  return (
    <li className="move" data-testid="handover" data-from={h.from} data-to={h.to}>
      <time className="move-time mono">{formatClock(h.at)}</time>
      <div className="move-what">
        <div className="move-modes">
          <span className="move-label">{words.title}</span>
          <span className="move-letters" aria-label={`mode ${h.from} to ${h.to}`}><ModeChip mode={h.from} /><span className="move-arrow" aria-hidden>→</span><ModeChip mode={h.to} /></span>
        </div>
        <div className="move-why caption" data-testid="handover-why">
          <span>Trigger: {h.trigger ?? 'not reported'}</span> · <span>{trustText(h.trust)}</span>
        </div>
      </div>
      <div className="move-coa mono" data-testid="handover-coa">{h.fromCoa ?? '—'} → {h.toCoa ?? '—'}</div>
      <div className={`move-gap gap-${gapTone(h.gapMs)}`} title="time without user traffic" data-testid="handover-gap">{formatGap(h.gapMs)}</div>
    </li>
  );
}

export function TimelineView() {
  const handovers = useEngine((s) => s.snapshot.handovers);
  const list = handovers.slice().reverse();
  const worst = handovers.reduce((m, h) => Math.max(m, h.gapMs), 0);
  return (
    <div className="view" data-testid="timeline-view">
      <Card title="Handover timeline" aside={<span className="muted" data-testid="moves-count">{plural(handovers.length, 'move')}{handovers.length > 0 ? ` · longest gap ${formatGap(worst)}` : ''}</span>}>
        {list.length === 0 ? <p className="muted">No handovers yet. Each move between networks appears here with the time traffic was held.</p> : (
          <>
            <div className="move move-head" aria-hidden><span>Time</span><span>Move</span><span>Address</span><span>Gap</span></div>
            <ol className="timeline">{list.map((h, i) => <HandoverRow key={`${h.at}-${i}`} h={h} />)}</ol>
          </>
        )}
      </Card>
    </div>
  );
}
