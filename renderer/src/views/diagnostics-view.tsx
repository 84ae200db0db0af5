import { useState } from 'react';
import { counterLabel } from '../../../app/engine-snapshot.ts';
import { statusWords } from '../../../main/mode-text.ts';
import { Card, Field, Pill } from '../components.tsx';
import { filterLog, formatClock, formatCount, formatDuration, formatGap } from '../format.ts';
import { uiStore, useEngine, useUi } from '../store.ts';
import type { Transport } from '../transport.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function LogPanel() {
  const log = useEngine((s) => s.snapshot.log);
  const level = useUi((s) => s.logLevel);
  const search = useUi((s) => s.logSearch);
  const lines = filterLog(log, level, search);
  return (
    <Card title="Live log" className="span-2" aside={
      <div className="log-tools">
        <div className="segmented small" role="radiogroup" aria-label="Minimum level">
          {LEVELS.map((l) => <button key={l} role="radio" aria-checked={level === l} className={level === l ? 'on' : ''} onClick={() => uiStore.getState().setLogLevel(l)}>{l}</button>)}
        </div>
        <input type="search" placeholder="Search log" value={search} aria-label="Search log" onChange={(e) => uiStore.getState().setLogSearch(e.target.value)} />
      </div>}>
      <ol className="log" data-testid="log">
        {lines.length === 0 && <li className="muted">No matching log lines.</li>}
        {lines.map((l, i) => (
          <li key={`${l.at}-${i}`} className={`log-line lvl-${l.level}`}>
            <time className="mono">{formatClock(l.at)}</time>
            <span className="lvl">{l.level}</span>
            <span className="msg">{l.msg}</span>
            {l.ctx && <span className="ctx mono">{Object.entries(l.ctx).map(([k, v]) => `${k}=${String(v)}`).join(' ')}</span>}
          </li>
        ))}
      </ol>
    </Card>
  );
}

export function DiagnosticsView({ transport }: { transport: Transport }) {
  const s = useEngine((st) => st.snapshot);
  const [exported, setExported] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const sa = s.ikeSa;
  const reg = s.registration;
  const drops = Object.entries(s.counters.dropped).sort((a, b) => b[1] - a[1]);
  const doExport = () => {
    setBusy(true);
    setExported(null);
    void transport.exportDiagnostics()
      .then((text) => setExported({ ok: true, text }), (e: unknown) => setExported({ ok: false, text: `Export failed: ${e instanceof Error ? e.message : String(e)}` }))
      .finally(() => setBusy(false));
  };
  return (
    <div className="view" data-testid="diagnostics-view">
      <div className="view-head">
        <div>
          <h1>Diagnostics</h1>
          <p className="muted">What IT needs to see. Exported bundles never contain pre-shared keys, private keys or MN-HA keys.</p>
        </div>
        <div className="button-row">
          <button className="btn btn-primary" onClick={doExport} disabled={busy}>{busy ? 'Exporting…' : 'Export diagnostics'}</button>
          <span className={exported?.ok === false ? 'export-failed' : 'caption'} role="status" aria-live="polite" data-testid="export-result" data-ok={exported?.ok}>{exported?.text}</span>
        </div>
      </div>
      {s.lastError && (
        <div className={`banner ${s.lastError.fatal ? 'banner-bad' : 'banner-warn'}`}>
          <strong>{s.lastError.code}</strong> {s.lastError.message}{s.lastError.field && <> (profile field <code>{s.lastError.field}</code>)</>}
        </div>
      )}
      <div className="grid">
        <Card title="IKE SA" testId="ike-sa" aside={sa ? <Pill tone={sa.state === 'established' || sa.state === 'rekeyed' ? 'good' : 'neutral'}>{sa.state}</Pill> : <Pill tone="neutral">none</Pill>}>
          {sa ? (
            <dl className="fields">
              <Field label="Gateway" value={sa.gateway} mono />
              <Field label="Local address" value={sa.local} mono />
              <Field label="SPI initiator / responder" value={sa.spiI && sa.spiR ? `${sa.spiI} / ${sa.spiR}` : null} mono />
              <Field label="IKE suite" value={sa.ike} mono />
              <Field label="NAT" value={`local ${sa.natLocal ? 'behind NAT' : 'no NAT'} · gateway ${sa.natRemote ? 'behind NAT' : 'no NAT'}`} />
              <Field label="Last MOBIKE update" value={sa.lastMobike ? `${sa.lastMobike.from} → ${sa.lastMobike.to} (${formatGap(sa.lastMobike.ms)})` : null} mono />
              <Field label="Liveness" value={s.liveness ? `${s.liveness.state}${s.liveness.silentMs ? `, silent ${formatDuration(s.liveness.silentMs)}` : ''}` : null} />
            </dl>
          ) : <p className="muted">No IKE SA. Inside the enterprise network the VPN is not used.</p>}
        </Card>
        <Card title="Mobile IP binding" testId="binding" aside={reg && <Pill tone={reg.state === 'accepted' ? 'good' : 'bad'}>{reg.state}</Pill>}>
          {reg ? (
            <dl className="fields">
              <Field label="Home address" value={s.hoa} mono />
              <Field label="Home agent" value={s.homeAgent} mono />
              <Field label="Care-of address" value={reg.coa} mono />
              <Field label="Lifetime granted" value={reg.lifetime !== null ? `${reg.lifetime} s` : null} />
              <Field label="Trusted network" value={reg.tnc ? 'yes — the home agent answered with TNC' : 'no'} />
              <Field label="Encapsulation" value={reg.udpTunnel ? 'UDP tunnelling (RFC 3519)' : 'IP-in-IP'} />
              {reg.code !== null && <Field label="Reply code" value={`${reg.code}${reg.codeName ? ` ${reg.codeName}` : ''}`} mono />}
            </dl>
          ) : <p className="muted">No registration yet.</p>}
        </Card>
        <Card title="Child SAs" className="span-2" testId="child-sas">
          {s.childSas.length === 0 ? <p className="muted">No child SAs installed.</p> : (
            <table className="table">
              <thead><tr><th>SPI in</th><th>SPI out</th><th>ESP suite</th><th>Local selectors</th><th>Remote selectors</th></tr></thead>
              <tbody>{s.childSas.map((c) => (
                <tr key={c.spiIn}><td className="mono">{c.spiIn}</td><td className="mono">{c.spiOut}</td><td className="mono">{c.esp}</td><td className="mono">{c.localTs.join(', ')}</td><td className="mono">{c.remoteTs.join(', ')}</td></tr>
              ))}</tbody>
            </table>
          )}
        </Card>
        <Card title="Packets" testId="counters">
          <dl className="fields">
            <Field label="Tunnel packets in / out" value={`${formatCount(s.counters.tunIn)} / ${formatCount(s.counters.tunOut)}`} />
          </dl>
          {drops.length === 0 ? <p className="caption">Nothing held or dropped.</p> : (
            <table className="table"><thead><tr><th>Held or dropped</th><th className="num">Packets</th></tr></thead>
              <tbody>{drops.map(([k, v]) => <tr key={k}><td title={k}>{counterLabel(k)}</td><td className="num mono">{formatCount(v)}</td></tr>)}</tbody>
            </table>
          )}
        </Card>
        <Card title="Engine">
          <dl className="fields">
            <Field label="Policy" value={s.policy === 'automatic' ? 'Automatic (trusted network detection)' : 'Always VPN'} />
            <Field label="Mode" value={`${statusWords(s).title} (${s.mode})`} />
            <Field label="Last update" value={s.updatedAt !== null ? formatClock(s.updatedAt) : null} mono />
          </dl>
        </Card>
        <LogPanel />
      </div>
    </div>
  );
}
