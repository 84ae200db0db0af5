import { useEffect, useMemo, useState } from 'react';
import { Card } from '../components.tsx';
import { getPath, setPath, validateDraft, type Json } from '../profile-draft.ts';
import type { Transport } from '../transport.ts';

const FIELDS: { path: string; label: string; placeholder: string; secret?: boolean; number?: boolean; section: string }[] = [
  { section: 'Mobile IP', path: 'homeAddress', label: 'Home address', placeholder: '10.10.0.50' },
  { section: 'Mobile IP', path: 'homeAgent', label: 'Home agent (i-HA)', placeholder: '10.10.0.1' },
  { section: 'Mobile IP', path: 'nai', label: 'NAI', placeholder: 'alice@example.com' },
  { section: 'Mobile IP', path: 'mnHaAuth.spi', label: 'MN-HA SPI', placeholder: '256', number: true },
  { section: 'Mobile IP', path: 'mnHaAuth.key', label: 'MN-HA key', placeholder: 'hex:…', secret: true },
  { section: 'VPN', path: 'vpn.gateway', label: 'VPN gateway', placeholder: '198.51.100.1' },
  { section: 'VPN', path: 'vpn.localId', label: 'Local identity', placeholder: 'alice@example.com' },
  { section: 'VPN', path: 'vpn.remoteId', label: 'Gateway identity', placeholder: 'vpn.example.com' },
  { section: 'VPN', path: 'vpn.auth.psk', label: 'Pre-shared key', placeholder: 'stored in the OS keystore', secret: true },
  { section: 'VPN', path: 'vpn.ike', label: 'IKE proposal', placeholder: 'aes256gcm16-prfsha256-x25519' },
  { section: 'VPN', path: 'vpn.esp', label: 'ESP proposal', placeholder: 'aes256gcm16' },
];

export function ProfileView({ transport }: { transport: Transport }) {
  const [draft, setDraft] = useState<Json>({});
  const [text, setText] = useState('{}');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [docPath, setDocPath] = useState<string | null>(null);
  useEffect(() => {
    void transport.profile?.get().then((d) => { setText(d.json); setDraft(JSON.parse(d.json) as Json); setDocPath(d.path); });
  }, [transport]);
  const error = useMemo(() => validateDraft(draft), [draft]);
  const fieldError = (path: string) => (error && (error.field === path || error.field.startsWith(`${path}[`)) ? error.message : null);
  const shownInForm = error !== null && FIELDS.some((f) => fieldError(f.path) !== null);

  const update = (next: Json) => { setDraft(next); setText(JSON.stringify(next, null, 2)); setJsonError(null); setStatus(null); };
  const onText = (t: string) => {
    setText(t);
    try { setDraft(JSON.parse(t) as Json); setJsonError(null); } catch (e) { setJsonError((e as Error).message); }
  };
  const onImport = (file: File | undefined) => void file?.text().then(onText);
  const onSave = () => {
    if (!transport.profile) return;
    void transport.profile.save(text).then(
      (r) => setStatus(r.ok ? `Saved to ${r.path}; the engine uses it from its next start.` : `Not saved: ${r.field} ${r.message}`),
      (e: unknown) => setStatus(`Not saved: ${e instanceof Error ? e.message : String(e)}`),
    );
  };

  return (
    <div className="view" data-testid="profile-view">
      <div className="view-head">
        <div>
          <h1>Profile</h1>
          <p className="muted">The profile the Homeward service runs with{docPath ? <> (<code>{docPath}</code>)</> : ''}. Secrets are never shown here: leave “&lt;redacted&gt;” to keep one, type a new value to replace it.</p>
        </div>
        <div className="button-row">
          <label className="btn">Import…<input type="file" accept="application/json,.json" hidden onChange={(e) => onImport(e.target.files?.[0])} /></label>
          <button className="btn btn-primary" disabled={!transport.profile || error !== null || jsonError !== null} onClick={onSave}
            title={transport.profile ? undefined : 'The headless runner reads its profile from --profile; save from the desktop app.'}>Save</button>
        </div>
      </div>
      {status && <div className="banner banner-info">{status}</div>}
      <div className="grid">
        {['Mobile IP', 'VPN'].map((section) => (
          <Card key={section} title={section}>
            <div className="form">
              {FIELDS.filter((f) => f.section === section).map((f) => {
                const err = fieldError(f.path);
                const v = getPath(draft, f.path);
                return (
                  <label key={f.path} className={`form-row ${err ? 'has-error' : ''}`}>
                    <span className="form-label">{f.label}</span>
                    <input type={f.secret ? 'password' : 'text'} placeholder={f.placeholder} value={v === undefined ? '' : String(v)} data-field={f.path}
                      onChange={(e) => update(setPath(draft, f.path, f.number && e.target.value !== '' && !Number.isNaN(Number(e.target.value)) ? Number(e.target.value) : e.target.value))} />
                    {err && <span className="form-error" data-testid={`error-${f.path}`}>{err}</span>}
                  </label>
                );
              })}
            </div>
          </Card>
        ))}
        <Card title="Advanced (JSON)" className="span-2">
          <textarea className="json-editor mono" spellCheck={false} value={text} onChange={(e) => onText(e.target.value)} aria-label="Profile JSON" />
          {jsonError && <p className="form-error">Not valid JSON: {jsonError}</p>}
          {!jsonError && error && !shownInForm && <p className="form-error" data-testid="error-other"><code>{error.field}</code> {error.message}</p>}
          {!jsonError && !error && <p className="caption ok">Profile is valid.</p>}
        </Card>
      </div>
    </div>
  );
}
