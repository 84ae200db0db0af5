import type { EngineSnapshot } from '../../../app/engine-snapshot.ts';
import type { EngineCommand } from '../../../app/events.ts';
import { modeMeaning, statusWords } from '../../../main/mode-text.ts';
import { Card, Field, Meter, Pill, useNow } from '../components.tsx';
import { formatBytes, formatCount, formatDuration, formatGap, lifetimeLeft, modeTone } from '../format.ts';
import { engineStore, useEngine, uiStore } from '../store.ts';
import type { Transport } from '../transport.ts';
import { HandoverRow } from './timeline-view.tsx';

/** Runs a command; a refusal or an unreachable engine is shown (banner), never swallowed. */
export function useCommand(transport: Transport): (c: EngineCommand, what: string) => () => void {
  return (c, what) => () => {
    engineStore.getState().setCommandError(null);
    void transport.command(c).catch((e: unknown) => engineStore.getState().setCommandError(`Could not ${what}: ${e instanceof Error ? e.message : String(e)}`));
  };
}

function Hero({ s, transport }: { s: EngineSnapshot; transport: Transport }) {
  const now = useNow();
  const live = useEngine((st) => st.live);
  const run = useCommand(transport);
  const words = statusWords(s, live);
  const tone = live ? modeTone(s.mode) : 'down';
  return (
    <section className={`hero tone-${tone}`} data-testid="hero" aria-label="Connection status">
      <div className="hero-badge" data-testid="mode-badge" data-mode={s.mode} data-live={live} aria-hidden>{words.short}</div>
      <div className="hero-text">
        <div className="hero-kicker">
          <Pill tone={words.trust.tone} testId="trust">{words.trust.label}</Pill>
          {live && s.modeSince !== null && <span className="muted">for {formatDuration(now - s.modeSince)}</span>}
        </div>
        <h1 data-testid="mode-label">{words.title}</h1>
        <p className="hero-meaning">{words.meaning}</p>
        <p className="hero-reason" data-testid="mode-detail">
          <span title={modeMeaning(s.mode)}>Detail: {words.detail}</span>{s.reason && <> · why: {s.reason}</>}
        </p>
      </div>
      <div className="hero-actions">
        <div className="segmented" role="radiogroup" aria-label="Policy">
          <button role="radio" aria-checked={s.policy === 'automatic'} className={s.policy === 'automatic' ? 'on' : ''} disabled={!live} onClick={run({ cmd: 'set-policy', policy: 'automatic' }, 'switch to Automatic')}>Automatic</button>
          <button role="radio" aria-checked={s.policy === 'always-vpn'} className={s.policy === 'always-vpn' ? 'on' : ''} disabled={!live} onClick={run({ cmd: 'set-policy', policy: 'always-vpn' }, 'switch to Always VPN')}>Always VPN</button>
        </div>
        <div className="button-row">
          {s.connected
            ? <button className="btn" disabled={!live} onClick={run({ cmd: 'disconnect' }, 'disconnect')}>Disconnect</button>
            : <button className="btn btn-primary" disabled={!live} onClick={run({ cmd: 'connect' }, 'connect')}>Connect</button>}
          <button className="btn" onClick={run({ cmd: 're-detect' }, 'check the network again')} disabled={!live || !s.connected}>Re-detect now</button>
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
            <Field label="Current address (care-of)" value={s.coa} mono testId="coa" hint="the address this device is reached at on the current network" />
            <Field label="VPN inner address" value={s.tia} mono testId="tia" hint="the tunnel inner address (TIA) the VPN gateway gave this device" />
            <Field label="VPN gateway" value={s.gateway} mono />
            <Field label="Home agent" value={s.homeAgent} mono hint="the internal home agent (i-HA) that keeps your home address" />
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
                <Field label="NAT" testId="nat" value={sa.natLocal || sa.natRemote ? `detected (${[sa.natLocal && 'this device', sa.natRemote && 'the gateway'].filter(Boolean).join(', ')} behind NAT) — UDP 4500` : 'none'} />
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
