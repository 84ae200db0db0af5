import type { EngineSnapshot } from '../../../app/engine-snapshot.ts';
import { modeLabel, modeMeaning } from '../../../main/mode-text.ts';
import { Card, Field, Meter, Pill, useNow } from '../components.tsx';
import { formatBytes, formatCount, formatDuration, formatGap, lifetimeLeft, modeCode, modeTone } from '../format.ts';
import { useEngine, uiStore } from '../store.ts';
import type { Transport } from '../transport.ts';
import { HandoverRow } from './timeline-view.tsx';

function Hero({ s, transport }: { s: EngineSnapshot; transport: Transport }) {
  const now = useNow();
  const run = (c: Parameters<Transport['command']>[0]) => () => void transport.command(c).catch(() => undefined);
  const tone = modeTone(s.mode);
  return (
    <section className={`hero tone-${tone}`} data-testid="hero">
      <div className="hero-badge" data-testid="mode-badge" data-mode={s.mode}>{modeCode(s.mode)}</div>
      <div className="hero-text">
        <div className="hero-kicker">
          {s.trusted ? <Pill tone="good" testId="trust">Trusted network</Pill> : <Pill tone={s.mode === 'offline' ? 'neutral' : 'info'} testId="trust">Untrusted network</Pill>}
          {s.modeSince !== null && <span className="muted">for {formatDuration(now - s.modeSince)}</span>}
        </div>
        <h1 data-testid="mode-label">{modeLabel(s.mode)}</h1>
        <p className="hero-meaning">{modeMeaning(s.mode)}</p>
        {s.reason && <p className="hero-reason">Why: {s.reason}</p>}
      </div>
      <div className="hero-actions">
        <div className="segmented" role="radiogroup" aria-label="Policy">
          <button role="radio" aria-checked={s.policy === 'automatic'} className={s.policy === 'automatic' ? 'on' : ''} onClick={run({ cmd: 'set-policy', policy: 'automatic' })}>Automatic</button>
          <button role="radio" aria-checked={s.policy === 'always-vpn'} className={s.policy === 'always-vpn' ? 'on' : ''} onClick={run({ cmd: 'set-policy', policy: 'always-vpn' })}>Always VPN</button>
        </div>
        <div className="button-row">
          {s.connected
            ? <button className="btn" onClick={run({ cmd: 'disconnect' })}>Disconnect</button>
            : <button className="btn btn-primary" onClick={run({ cmd: 'connect' })}>Connect</button>}
          <button className="btn" onClick={run({ cmd: 're-detect' })} disabled={!s.connected}>Re-detect now</button>
        </div>
      </div>
    </section>
  );
}

export function StatusView({ transport }: { transport: Transport }) {
  const s = useEngine((st) => st.snapshot);
  const now = useNow();
  const reg = s.registration;
  const left = reg ? lifetimeLeft(reg.expiresAt, reg.lifetime, now) : null;
  const sa = s.ikeSa;
  const saUp = sa && (sa.state === 'established' || sa.state === 'rekeyed');
  const dropped = Object.values(s.counters.dropped).reduce((a, b) => a + b, 0);
  const recent = s.handovers.slice(-3).reverse();
  return (
    <div className="view" data-testid="status-view">
      <Hero s={s} transport={transport} />
      <div className="grid">
        <Card title="Addresses">
          <dl className="fields">
            <Field label="Home address" value={s.hoa} mono testId="hoa" />
            <Field label="Care-of address" value={s.coa} mono testId="coa" />
            <Field label="Tunnel inner address (TIA)" value={s.tia} mono testId="tia" />
            <Field label="VPN gateway" value={s.gateway} mono />
            <Field label="Home agent (i-HA)" value={s.homeAgent} mono />
          </dl>
        </Card>
        <Card title="Mobile IP binding" aside={reg && <Pill tone={reg.state === 'accepted' ? 'good' : reg.state === 'denied' ? 'bad' : 'warn'}>{reg.state}</Pill>}>
          {left ? (
            <>
              <div className="big-number" data-testid="lifetime">{left.text}</div>
              <div className="caption">left of {formatDuration((reg?.lifetime ?? 0) * 1000)} lifetime</div>
              <Meter fraction={left.fraction} tone={left.fraction > 0.3 ? 'good' : left.fraction > 0.1 ? 'warn' : 'bad'} />
            </>
          ) : <p className="muted">No binding with the home agent.</p>}
          {reg && <dl className="fields compact">
            <Field label="Registered care-of" value={reg.coa} mono />
            <Field label="Tunnel" value={reg.udpTunnel ? 'UDP (RFC 3519, NAT)' : 'IP-in-IP'} />
          </dl>}
        </Card>
        <Card title="VPN (IKEv2)" aside={sa && <Pill tone={saUp ? 'good' : sa.state === 'connecting' ? 'warn' : 'neutral'}>{sa.state}</Pill>}>
          {saUp && sa.establishedAt !== null ? (
            <>
              <div className="big-number" data-testid="sa-age">{formatDuration(now - sa.establishedAt)}</div>
              <div className="caption">IKE SA age · {sa.ike ?? 'suite unknown'}</div>
              <dl className="fields compact">
                <Field label="NAT" value={sa.natLocal || sa.natRemote ? `detected (${[sa.natLocal && 'local', sa.natRemote && 'remote'].filter(Boolean).join(', ')}) — UDP 4500` : 'none'} />
                <Field label="Last MOBIKE move" value={sa.lastMobike ? `${sa.lastMobike.to} in ${formatGap(sa.lastMobike.ms)}` : 'none'} />
              </dl>
            </>
          ) : <p className="muted">{s.trusted ? 'Not needed inside the enterprise network.' : 'No VPN tunnel.'}</p>}
        </Card>
        <Card title="Traffic">
          <div className="traffic">
            <div><span className="arrow">↓</span><span className="big-number" data-testid="bytes-in">{formatBytes(s.counters.bytesIn)}</span><span className="caption">{formatCount(s.counters.tunIn)} packets in</span></div>
            <div><span className="arrow">↑</span><span className="big-number" data-testid="bytes-out">{formatBytes(s.counters.bytesOut)}</span><span className="caption">{formatCount(s.counters.tunOut)} packets out</span></div>
          </div>
          <p className="caption">{dropped === 0 ? 'No packets dropped.' : `${formatCount(dropped)} packets held or dropped — see Diagnostics.`}</p>
        </Card>
      </div>
      <Card title="Recent moves" aside={<button className="link" onClick={() => uiStore.getState().setView('timeline')}>Full timeline →</button>}>
        {recent.length === 0 ? <p className="muted">No handovers yet.</p> : <ol className="timeline compact">{recent.map((h, i) => <HandoverRow key={`${h.at}-${i}`} h={h} />)}</ol>}
      </Card>
    </div>
  );
}
