import type { HandoverRecord } from '../../../app/engine-snapshot.ts';
import { modeLabel } from '../../../main/mode-text.ts';
import { Card, ModeChip } from '../components.tsx';
import { formatClock, formatGap } from '../format.ts';
import { useEngine } from '../store.ts';

/** Gap colouring: under 0.5 s is seamless, under 2 s noticeable, above that disruptive. */
const gapTone = (ms: number) => (ms < 500 ? 'good' : ms < 2000 ? 'warn' : 'bad');

export function HandoverRow({ h }: { h: HandoverRecord }) {
  return (
    <li className="move" data-testid="handover" data-from={h.from} data-to={h.to}>
      <time className="move-time mono">{formatClock(h.at)}</time>
      <div className="move-modes">
        <ModeChip mode={h.from} /><span className="move-arrow">→</span><ModeChip mode={h.to} />
        <span className="move-label">{modeLabel(h.to)}</span>
      </div>
      <div className="move-coa mono">{h.fromCoa ?? '—'} → {h.toCoa ?? '—'}</div>
      <div className={`move-gap gap-${gapTone(h.gapMs)}`} title="time without user traffic">{formatGap(h.gapMs)}</div>
    </li>
  );
}

export function TimelineView() {
  const handovers = useEngine((s) => s.snapshot.handovers);
  const list = handovers.slice().reverse();
  const worst = handovers.reduce((m, h) => Math.max(m, h.gapMs), 0);
  return (
    <div className="view" data-testid="timeline-view">
      <Card title="Handover timeline" aside={<span className="muted">{handovers.length} moves{handovers.length > 0 ? ` · longest gap ${formatGap(worst)}` : ''}</span>}>
        {list.length === 0 ? <p className="muted">No handovers yet. Each move between networks appears here with the time traffic was held.</p> : (
          <>
            <div className="move move-head"><span>Time</span><span>Move</span><span>Care-of address</span><span>Gap</span></div>
            <ol className="timeline">{list.map((h, i) => <HandoverRow key={`${h.at}-${i}`} h={h} />)}</ol>
          </>
        )}
      </Card>
    </div>
  );
}
