/**
 * `vpn.auth.eap` (issue 20), kept apart from profile.ts's other fields:
 *
 *   "auth": { "eap": { "method": "mschapv2", "identity": "alice", "password": "…" | { "secret": "corp-vpn" } } }
 *   "auth": { "eap": { "method": "tls", "identity": "alice", "cert": "/path.pem", "key": "/path.key" | { "secret": "name" } } }
 *
 * identity defaults to vpn.localId; eapOnly (default true) offers RFC 5998
 * EAP-only authentication. A secret field is either the value itself or
 * `{"secret": "<name>"}`: a stored secret the driver resolves at connect
 * time (app/io/secrets.ts), so the profile file holds no password. Pure:
 * nothing is read here.
 */
import { ProfileError } from './profile.ts';

/** A secret as the profile gives it: inline, or the name of a stored one. */
export type SecretRef = { value: string } | { secret: string };

export type EapAuth =
  | { method: 'mschapv2'; identity?: string; password: SecretRef; eapOnly: boolean }
  | { method: 'tls'; identity?: string; cert: string; key: string | SecretRef; eapOnly: boolean };

type Json = Record<string, unknown>;

/** Names of stored secrets: a file name under the secrets directory and a Secret Service attribute. */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function parseSecretRef(v: unknown, field: string): SecretRef {
  if (typeof v === 'string') {
    if (v.length === 0) throw new ProfileError(field, 'must not be empty');
    return { value: v };
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Json;
    const extra = Object.keys(o).filter((k) => k !== 'secret');
    if (extra.length > 0) throw new ProfileError(`${field}.${extra[0]}`, 'is not a known field (known: secret)');
    if (typeof o.secret !== 'string' || !SECRET_NAME.test(o.secret)) {
      throw new ProfileError(`${field}.secret`, 'must name a stored secret: letters, digits, ".", "_" or "-", at most 64');
    }
    return { secret: o.secret };
  }
  throw new ProfileError(field, 'must be a string or { "secret": "<name>" }');
}

function optStr(o: Json, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ProfileError(`${path}.${key}`, 'must be a non-empty string');
  return v;
}

export function parseEapAuth(v: unknown, path: string): EapAuth {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProfileError(path, 'must be an object');
  const o = v as Json;
  const method = o.method;
  const known = method === 'tls' ? ['method', 'identity', 'cert', 'key', 'eapOnly'] : ['method', 'identity', 'password', 'eapOnly'];
  if (method !== 'mschapv2' && method !== 'tls') throw new ProfileError(`${path}.method`, 'must be "mschapv2" or "tls"');
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new ProfileError(`${path}.${k}`, `is not a known field with method "${method}" (known: ${known.join(', ')})`);
  const identity = optStr(o, 'identity', path);
  if (o.eapOnly !== undefined && typeof o.eapOnly !== 'boolean') throw new ProfileError(`${path}.eapOnly`, 'must be true or false');
  const eapOnly = o.eapOnly !== false;
  const id = identity !== undefined ? { identity } : {};
  if (method === 'mschapv2') {
    if (o.password === undefined) throw new ProfileError(`${path}.password`, 'is required with method "mschapv2"');
    return { method, ...id, password: parseSecretRef(o.password, `${path}.password`), eapOnly };
  }
  const cert = optStr(o, 'cert', path);
  if (cert === undefined) throw new ProfileError(`${path}.cert`, 'is required with method "tls"');
  if (o.key === undefined) throw new ProfileError(`${path}.key`, 'is required with method "tls"');
  const key = typeof o.key === 'string' ? o.key : parseSecretRef(o.key, `${path}.key`);
  if (key === '') throw new ProfileError(`${path}.key`, 'must be a non-empty string');
  return { method, ...id, cert, key, eapOnly };
}
