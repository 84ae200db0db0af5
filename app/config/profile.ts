/**
 * The profile: one JSON file that configures the mobile node.
 *
 * Field names marked (fixed) are a contract with other tools and tests
 * (issue "IKEv2 initiator"); everything else is ours to extend. Every field is
 * documented in docs/PROFILE.md. `parseProfile` is pure: it takes the parsed
 * JSON and returns a typed, defaulted Profile or throws a ProfileError whose
 * `field` is the dotted path of the first bad field.
 */
import { hexToBytes, utf8 } from '../base/bytes.ts';
import { isIPv4, parsePrefix, type Prefix } from '../base/ipv4.ts';
import { parseEapAuth } from './auth.ts';
import type { EapAuth } from './auth.ts';

export class ProfileError extends Error {
  constructor(readonly field: string, problem: string) {
    super(`profile field "${field}": ${problem}`);
    this.name = 'ProfileError';
  }
}

export type VpnAuth =
  | { kind: 'psk'; psk: Uint8Array }
  | { kind: 'cert'; cert: string; key: string }
  /** EAP (issue 20), parsed in app/config/auth.ts */
  | { kind: 'eap'; eap: EapAuth };

export interface VpnProfile {
  gateway: string; // (fixed)
  localId: string; // (fixed)
  remoteId: string; // (fixed)
  auth: VpnAuth; // (fixed)
  ca?: string; // (fixed)
  ike: string; // (fixed) strongSwan proposal syntax, comma-separated list
  esp: string; // (fixed)
  remoteTs: Prefix[]; // (fixed)
  port: number;
  dpdSeconds: number;
  natKeepaliveSeconds: number;
  reconnect: boolean;
  mobike: boolean;
  noNatsAllowed: boolean;
  requestDns: boolean;
  retransmitBaseMs: number;
  retransmitTries: number;
  /**
   * The engine checks the gateway at once (DPD, short retransmissions) when ESP left for
   * this long with nothing authentic coming back (default 1000; 0: never, only dpdSeconds).
   */
  livenessMs?: number;
  rekeySeconds?: number;
  /** Rekey the IKE SA ourselves every this many seconds (minus up to 10 % jitter, RFC 7296 §2.8.1). */
  ikeRekeySeconds?: number;
}

export interface MipProfile {
  lifetimeSeconds: number;
  reverseTunnel: boolean;
  encapsulation: 'ipip' | 'gre' | 'minimal';
  udpTunnel: 'auto' | 'force' | 'off';
  keepaliveSeconds: number;
  /** RFC 5944 §5.7: identifications as timestamps (default) or nonces, whichever the home agent uses */
  replayProtection: 'timestamp' | 'nonce';
  /**
   * Binding liveness: when tunnelled packets go out but none come back for this long, the binding
   * is suspect (the home agent may have restarted) and is refreshed at once (0: never).
   */
  livenessMs: number;
}

export interface DetectionProfile {
  timeoutMs: number; // (fixed)
  retransmits: number; // (fixed)
  tMonitorSeconds: number;
  keepVpnInside: boolean;
  /** accepted for older profiles; no longer delays traffic (mode c at once, f when an FA advertises) */
  agentWaitMs: number;
  /** strict RFC 5266 §3.4: hold all user traffic until the i-HA decided trust (default false: protected traffic flows through the VPN meanwhile) */
  holdUntilDecided: boolean;
}

/** Intranet DNS (issue 19): used inside (c/f); outside, the gateway's servers come first. */
export interface DnsProfile {
  servers: string[];
  /** names under these domains go only to the intranet servers */
  domains: string[];
}

export interface CaptivePortalProfile {
  /** a plain-HTTP URL that answers 204 when nothing is in the way */
  probeUrl: string;
  /** a new untrusted link whose gateway has not answered this long is probed */
  afterMs: number;
  enabled: boolean;
}

export interface Profile {
  homeAddress: string; // (fixed)
  homeAgent: string; // (fixed)
  nai?: string; // (fixed)
  mnHaAuth?: { spi: number; key: Uint8Array }; // (fixed)
  vpn?: VpnProfile; // (fixed)
  mip: MipProfile;
  detection: DetectionProfile; // (fixed: timeoutMs, retransmits)
  dns: DnsProfile;
  captivePortal: CaptivePortalProfile;
  /** IPv6 prefixes of the intranet: blocked on every link while the engine runs (we tunnel IPv4 only) */
  intranet6: string[];
  /** Never send user traffic in clear while detecting / without a tunnel. Only stricter settings allowed. */
  failClosed: true;
}

type Json = Record<string, unknown>;

function obj(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProfileError(field, 'must be an object');
  return v as Json;
}

function str(o: Json, key: string, path: string, required: true): string;
function str(o: Json, key: string, path: string, required: false): string | undefined;
function str(o: Json, key: string, path: string, required: boolean): string | undefined {
  const v = o[key];
  const field = path ? `${path}.${key}` : key;
  if (v === undefined) {
    if (required) throw new ProfileError(field, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0) throw new ProfileError(field, 'must be a non-empty string');
  return v;
}

function ip(o: Json, key: string, path: string, required: boolean): string | undefined {
  const v = required ? str(o, key, path, true) : str(o, key, path, false);
  if (v !== undefined && !isIPv4(v)) throw new ProfileError(path ? `${path}.${key}` : key, `must be a dotted IPv4 address, got ${JSON.stringify(v)}`);
  return v;
}

function num(o: Json, key: string, path: string, def: number, min: number, max: number, integer = true): number {
  const v = o[key];
  const field = path ? `${path}.${key}` : key;
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new ProfileError(field, `must be ${integer ? 'an integer' : 'a number'}`);
  }
  if (v < min || v > max) throw new ProfileError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function bool(o: Json, key: string, path: string, def: boolean): boolean {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new ProfileError(`${path}.${key}`, 'must be true or false');
  return v;
}

function oneOf<T extends string>(o: Json, key: string, path: string, allowed: readonly T[], def: T): T {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ProfileError(`${path}.${key}`, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return v as T;
}

/**
 * Secret format checks (issue 22), kept apart from the parsing: a value
 * written like a C hex literal ("0x00112233…") is almost always meant as a
 * hex key, and taking it as text would silently use the wrong key.
 */
export function checkSecretFormat(v: string, field: string): void {
  if (/^0[xX][0-9a-fA-F]{2,}$/.test(v)) {
    throw new ProfileError(field, `looks like a hex key ("0x…") but would be taken as text; write it as "hex:${v.slice(2)}"`);
  }
}

/** A secret is "hex:<hex digits>" or a plain UTF-8 string. */
export function parseSecret(v: string, field: string): Uint8Array {
  checkSecretFormat(v, field);
  if (v.startsWith('hex:')) {
    try {
      return hexToBytes(v.slice(4));
    } catch {
      throw new ProfileError(field, 'has an invalid hex value after "hex:"');
    }
  }
  return utf8(v);
}

function knownKeys(o: Json, path: string, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ProfileError(path ? `${path}.${k}` : k, `is not a known field (known: ${allowed.join(', ')})`);
  }
}

/** vpn.livenessMs: how long ESP may leave with nothing authentic coming back before a liveness check (0: never) */
export const DEFAULT_LIVENESS_MS = 1000;

function parseVpn(v: unknown, validateProposal: (s: string, field: string) => void): VpnProfile {
  const o = obj(v, 'vpn');
  knownKeys(o, 'vpn', ['gateway', 'localId', 'remoteId', 'auth', 'ca', 'ike', 'esp', 'remoteTs', 'port', 'dpdSeconds',
    'natKeepaliveSeconds', 'reconnect', 'mobike', 'noNatsAllowed', 'requestDns', 'retransmitBaseMs', 'retransmitTries', 'rekeySeconds', 'ikeRekeySeconds', 'livenessMs']);
  const a = obj(o.auth, 'vpn.auth');
  let auth: VpnAuth;
  if (a.eap !== undefined) {
    knownKeys(a, 'vpn.auth', ['eap']);
    auth = { kind: 'eap', eap: parseEapAuth(a.eap, 'vpn.auth.eap') };
  } else if (a.psk !== undefined) {
    knownKeys(a, 'vpn.auth', ['psk']);
    auth = { kind: 'psk', psk: parseSecret(str(a, 'psk', 'vpn.auth', true), 'vpn.auth.psk') };
    if (auth.psk.length === 0) throw new ProfileError('vpn.auth.psk', 'must not be empty');
  } else if (a.cert !== undefined || a.key !== undefined) {
    knownKeys(a, 'vpn.auth', ['cert', 'key']);
    auth = { kind: 'cert', cert: str(a, 'cert', 'vpn.auth', true), key: str(a, 'key', 'vpn.auth', true) };
  } else {
    throw new ProfileError('vpn.auth', 'must be { "psk": … }, { "cert": path, "key": path } or { "eap": { "method": … } }');
  }
  const ca = str(o, 'ca', 'vpn', false);
  if (auth.kind === 'cert' && ca === undefined) throw new ProfileError('vpn.ca', 'is required with certificate authentication');
  if (auth.kind === 'eap' && ca === undefined) throw new ProfileError('vpn.ca', 'is required with EAP (the gateway authenticates with its certificate)');
  const ike = str(o, 'ike', 'vpn', false) ?? 'aes256gcm16-prfsha256-x25519';
  const esp = str(o, 'esp', 'vpn', false) ?? 'aes256gcm16';
  validateProposal(ike, 'vpn.ike');
  validateProposal(esp, 'vpn.esp');
  const tsRaw = o.remoteTs ?? ['0.0.0.0/0'];
  if (!Array.isArray(tsRaw) || tsRaw.length === 0) throw new ProfileError('vpn.remoteTs', 'must be a non-empty array of IPv4 prefixes');
  const remoteTs = tsRaw.map((t, i) => {
    try {
      if (typeof t !== 'string') throw new Error('not a string');
      return parsePrefix(t);
    } catch {
      throw new ProfileError(`vpn.remoteTs[${i}]`, `must be an IPv4 prefix like "10.10.0.0/16", got ${JSON.stringify(t)}`);
    }
  });
  const rekey = o.rekeySeconds === undefined ? undefined : num(o, 'rekeySeconds', 'vpn', 0, 10, 86400 * 7);
  const ikeRekey = o.ikeRekeySeconds === undefined ? undefined : num(o, 'ikeRekeySeconds', 'vpn', 0, 10, 86400 * 7);
  return {
    gateway: ip(o, 'gateway', 'vpn', true)!,
    localId: str(o, 'localId', 'vpn', true),
    remoteId: str(o, 'remoteId', 'vpn', true),
    auth,
    ...(ca !== undefined ? { ca } : {}),
    ike,
    esp,
    remoteTs,
    port: num(o, 'port', 'vpn', 500, 1, 65535),
    dpdSeconds: num(o, 'dpdSeconds', 'vpn', 30, 1, 3600),
    natKeepaliveSeconds: num(o, 'natKeepaliveSeconds', 'vpn', 20, 1, 3600),
    reconnect: bool(o, 'reconnect', 'vpn', true),
    mobike: bool(o, 'mobike', 'vpn', true),
    noNatsAllowed: bool(o, 'noNatsAllowed', 'vpn', false),
    requestDns: bool(o, 'requestDns', 'vpn', true),
    retransmitBaseMs: num(o, 'retransmitBaseMs', 'vpn', 1000, 100, 60000),
    retransmitTries: num(o, 'retransmitTries', 'vpn', 5, 0, 20),
    livenessMs: num(o, 'livenessMs', 'vpn', DEFAULT_LIVENESS_MS, 0, 60000),
    ...(rekey !== undefined ? { rekeySeconds: rekey } : {}),
    ...(ikeRekey !== undefined ? { ikeRekeySeconds: ikeRekey } : {}),
  };
}

const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const IPV6_PREFIX_RE = /^[0-9a-f:]+:[0-9a-f:]*\/(\d{1,3})$/i;

function stringList(o: Json, key: string, path: string, check: (v: string) => boolean, want: string): string[] {
  const v = o[key];
  const field = `${path}.${key}`;
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ProfileError(field, `must be an array of ${want}`);
  return v.map((x, i) => {
    if (typeof x !== 'string' || !check(x)) throw new ProfileError(`${field}[${i}]`, `must be ${want}, got ${JSON.stringify(x)}`);
    return x.toLowerCase().replace(/\.$/, '');
  });
}

function parseDns(v: unknown): DnsProfile {
  const o = v === undefined ? {} : obj(v, 'dns');
  knownKeys(o, 'dns', ['servers', 'domains']);
  return {
    servers: stringList(o, 'servers', 'dns', isIPv4, 'a dotted IPv4 address'),
    domains: stringList(o, 'domains', 'dns', (d) => DOMAIN_RE.test(d.replace(/\.$/, '')), 'a domain name like "corp.example"'),
  };
}

function parseCaptivePortal(v: unknown): CaptivePortalProfile {
  const o = v === undefined ? {} : obj(v, 'captivePortal');
  knownKeys(o, 'captivePortal', ['probeUrl', 'afterMs', 'enabled']);
  const probeUrl = str(o, 'probeUrl', 'captivePortal', false) ?? 'http://connectivitycheck.gstatic.com/generate_204';
  let u: URL;
  try {
    u = new URL(probeUrl);
  } catch {
    throw new ProfileError('captivePortal.probeUrl', `must be a URL, got ${JSON.stringify(probeUrl)}`);
  }
  // plain HTTP on purpose: a portal can only redirect what it can read
  if (u.protocol !== 'http:') throw new ProfileError('captivePortal.probeUrl', 'must be a plain http:// URL (a portal cannot redirect HTTPS)');
  return { probeUrl, afterMs: num(o, 'afterMs', 'captivePortal', 1000, 100, 60000), enabled: bool(o, 'enabled', 'captivePortal', true) };
}

function parseIntranet6(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ProfileError('intranet6', 'must be an array of IPv6 prefixes like "fd00:10::/48"');
  return v.map((p, i) => {
    const m = typeof p === 'string' ? IPV6_PREFIX_RE.exec(p) : null;
    if (!m || Number(m[1]) > 128) throw new ProfileError(`intranet6[${i}]`, `must be an IPv6 prefix like "fd00:10::/48", got ${JSON.stringify(p)}`);
    return (p as string).toLowerCase();
  });
}

export interface ParseOptions {
  /** Validates a proposal string; throws with a message. Injected so this module stays free of the IKE layer. */
  validateProposal?: (proposal: string, field: string) => void;
}

export function parseProfile(json: unknown, opts: ParseOptions = {}): Profile {
  const o = obj(json, '(profile)');
  knownKeys(o, '', ['homeAddress', 'homeAgent', 'nai', 'mnHaAuth', 'vpn', 'mip', 'detection', 'dns', 'captivePortal', 'intranet6', 'failClosed', '$schema', 'name']);
  const validate = opts.validateProposal ?? (() => undefined);
  const homeAddress = ip(o, 'homeAddress', '', true)!;
  const homeAgent = ip(o, 'homeAgent', '', true)!;
  const nai = str(o, 'nai', '', false);
  let mnHaAuth: Profile['mnHaAuth'];
  if (o.mnHaAuth !== undefined) {
    const m = obj(o.mnHaAuth, 'mnHaAuth');
    knownKeys(m, 'mnHaAuth', ['spi', 'key']);
    if (m.spi === undefined) throw new ProfileError('mnHaAuth.spi', 'is required');
    const spi = num(m, 'spi', 'mnHaAuth', 0, 256, 0xffffffff);
    const key = parseSecret(str(m, 'key', 'mnHaAuth', true), 'mnHaAuth.key');
    if (key.length < 16) throw new ProfileError('mnHaAuth.key', `must be at least 128 bits (RFC 5944 HMAC-MD5), got ${key.length * 8}`);
    mnHaAuth = { spi, key };
  }
  const mo = o.mip === undefined ? {} : obj(o.mip, 'mip');
  knownKeys(mo, 'mip', ['lifetimeSeconds', 'reverseTunnel', 'encapsulation', 'udpTunnel', 'keepaliveSeconds', 'replayProtection', 'livenessMs']);
  const d = o.detection === undefined ? {} : obj(o.detection, 'detection');
  knownKeys(d, 'detection', ['timeoutMs', 'retransmits', 'tMonitorSeconds', 'keepVpnInside', 'agentWaitMs', 'holdUntilDecided']);
  if (o.failClosed !== undefined && o.failClosed !== true) {
    throw new ProfileError('failClosed', 'can only be true: Homeward never sends user traffic in clear while detecting');
  }
  return {
    homeAddress,
    homeAgent,
    ...(nai !== undefined ? { nai } : {}),
    ...(mnHaAuth ? { mnHaAuth } : {}),
    ...(o.vpn !== undefined ? { vpn: parseVpn(o.vpn, validate) } : {}),
    mip: {
      lifetimeSeconds: num(mo, 'lifetimeSeconds', 'mip', 600, 1, 65534),
      reverseTunnel: bool(mo, 'reverseTunnel', 'mip', true),
      encapsulation: oneOf(mo, 'encapsulation', 'mip', ['ipip', 'gre', 'minimal'] as const, 'ipip'),
      udpTunnel: oneOf(mo, 'udpTunnel', 'mip', ['auto', 'force', 'off'] as const, 'auto'),
      keepaliveSeconds: num(mo, 'keepaliveSeconds', 'mip', 110, 10, 3600),
      replayProtection: oneOf(mo, 'replayProtection', 'mip', ['timestamp', 'nonce'] as const, 'timestamp'),
      livenessMs: mo.livenessMs === 0 ? 0 : num(mo, 'livenessMs', 'mip', 1000, 200, 60_000),
    },
    detection: {
      timeoutMs: num(d, 'timeoutMs', 'detection', 1000, 50, 60000),
      retransmits: num(d, 'retransmits', 'detection', 2, 0, 10),
      tMonitorSeconds: num(d, 'tMonitorSeconds', 'detection', 60, 5, 3600),
      keepVpnInside: bool(d, 'keepVpnInside', 'detection', true),
      agentWaitMs: num(d, 'agentWaitMs', 'detection', 300, 0, 5000),
      holdUntilDecided: bool(d, 'holdUntilDecided', 'detection', false),
    },
    dns: parseDns(o.dns),
    captivePortal: parseCaptivePortal(o.captivePortal),
    intranet6: parseIntranet6(o.intranet6),
    failClosed: true,
  };
}

/** A copy safe to log or export: every secret replaced by "<redacted>". */
export function redactProfileJson(json: unknown): unknown {
  const SECRET_KEYS = new Set(['psk', 'key', 'secret', 'password']);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v)) out[k] = SECRET_KEYS.has(k) && typeof val === 'string' ? '<redacted>' : walk(val);
      return out;
    }
    return v;
  };
  return walk(json);
}
