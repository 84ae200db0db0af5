/**
 * Configuration of the reference home agent (one JSON file, --config <path>).
 *
 *   {
 *     "address": "10.1.0.1",              the HA's own address (RRQ Home Agent field)
 *     "port": 434,                         UDP port (RFC 5944)
 *     "homeNetwork": "10.1.0.0/24",        home addresses must lie inside it
 *     "intranetDevice": "eth0",            where proxy ARP answers for away mobile nodes
 *     "tunDevice": "ha0",                  the HA's TUN device (created by the HA)
 *     "mobileNodes": [{ "homeAddress": "10.1.0.50", "nai": "mn@example",
 *                       "spi": 256, "key": "hex:00112233…",
 *                       "replyFault": "identification" }],  lab only: every reply to this MN is
 *                                          broken one way ("identification": low 32 bits not the
 *                                          request's, "authenticator": HMAC flipped, "spi": another SPI)
 *     "trustedPrefixes": ["10.2.0.0/24"],  RFC 5265: TNC only for requests from these
 *     "acceptUntrusted": false,            RFC 5265 default: drop requests from elsewhere
 *     "maxLifetime": 600,                  seconds granted at most
 *     "replayToleranceSeconds": 7,         RFC 5944 §5.7 default
 *     "replayProtection": "timestamp",     or "nonce" (RFC 5944 §5.7.2)
 *     "encapsulations": ["gre", "minimal"], offered besides IP-in-IP (G, M; RFC 3519 Next Header 47, 55)
 *     "clockOffsetSeconds": 0,             lab only: skews the HA's clock (provokes 133)
 *     "udpTunnelling": true,               RFC 3519 support
 *     "keepaliveSeconds": 0,               UDP Tunnel Reply keepalive interval (0 = MN default)
 *     "reverseTunnelling": true            RFC 3024 support
 *   }
 */
import { parseSecret } from '../../../app/config/profile.ts';
import { inPrefix, isIPv4, parsePrefix, type Prefix } from '../../../app/base/ipv4.ts';

export interface MobileNodeEntry {
  homeAddress: string;
  nai?: string;
  spi: number;
  key: Uint8Array;
  replyFault?: ReplyFault;
}

export type ReplyFault = 'identification' | 'authenticator' | 'spi';
export type OfferedEncapsulation = 'gre' | 'minimal';

export interface HomeAgentConfig {
  address: string;
  port: number;
  homeNetwork: Prefix;
  intranetDevice?: string;
  tunDevice: string;
  mobileNodes: MobileNodeEntry[];
  trustedPrefixes: Prefix[];
  acceptUntrusted: boolean;
  maxLifetime: number;
  replayToleranceSeconds: number;
  replayProtection: 'timestamp' | 'nonce';
  encapsulations: OfferedEncapsulation[];
  clockOffsetSeconds: number;
  udpTunnelling: boolean;
  keepaliveSeconds: number;
  reverseTunnelling: boolean;
}

type Json = Record<string, unknown>;

function need<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new Error(`home agent config: "${field}" is required`);
  return v;
}

function ip(v: unknown, field: string): string {
  if (typeof v !== 'string' || !isIPv4(v)) throw new Error(`home agent config: "${field}" must be a dotted IPv4 address`);
  return v;
}

function int(v: unknown, field: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`home agent config: "${field}" must be an integer`);
  return v;
}

function bool(v: unknown, field: string, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new Error(`home agent config: "${field}" must be true or false`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new Error(`home agent config: "${field}" must be one of ${allowed.join(', ')}`);
  return v as T;
}

export function parseHomeAgentConfig(json: unknown): HomeAgentConfig {
  if (typeof json !== 'object' || json === null) throw new Error('home agent config: must be a JSON object');
  const o = json as Json;
  const homeNetwork = parsePrefix(need(o.homeNetwork as string | undefined, 'homeNetwork'));
  const mns = need(o.mobileNodes as Json[] | undefined, 'mobileNodes');
  if (!Array.isArray(mns)) throw new Error('home agent config: "mobileNodes" must be an array');
  const mobileNodes = mns.map((m, i): MobileNodeEntry => {
    const homeAddress = ip(m.homeAddress, `mobileNodes[${i}].homeAddress`);
    if (!inPrefix(homeAddress, homeNetwork)) throw new Error(`home agent config: mobileNodes[${i}].homeAddress is outside homeNetwork`);
    const key = parseSecret(need(m.key as string | undefined, `mobileNodes[${i}].key`), `mobileNodes[${i}].key`);
    return {
      homeAddress,
      ...(typeof m.nai === 'string' ? { nai: m.nai } : {}),
      spi: int(m.spi, `mobileNodes[${i}].spi`, 256),
      key,
      ...(m.replyFault === undefined ? {} : { replyFault: oneOf(m.replyFault, `mobileNodes[${i}].replyFault`, ['identification', 'authenticator', 'spi'] as const) }),
    };
  });
  const encaps = (o.encapsulations ?? ['gre', 'minimal']) as unknown;
  if (!Array.isArray(encaps)) throw new Error('home agent config: "encapsulations" must be an array');
  const trusted = (o.trustedPrefixes ?? []) as unknown;
  if (!Array.isArray(trusted)) throw new Error('home agent config: "trustedPrefixes" must be an array');
  return {
    address: ip(o.address, 'address'),
    port: int(o.port, 'port', 434),
    homeNetwork,
    ...(typeof o.intranetDevice === 'string' ? { intranetDevice: o.intranetDevice } : {}),
    tunDevice: typeof o.tunDevice === 'string' ? o.tunDevice : 'ha0',
    mobileNodes,
    trustedPrefixes: trusted.map((p) => parsePrefix(String(p))),
    acceptUntrusted: bool(o.acceptUntrusted, 'acceptUntrusted', false),
    maxLifetime: int(o.maxLifetime, 'maxLifetime', 600),
    replayToleranceSeconds: int(o.replayToleranceSeconds, 'replayToleranceSeconds', 7),
    replayProtection: o.replayProtection === undefined ? 'timestamp' : oneOf(o.replayProtection, 'replayProtection', ['timestamp', 'nonce'] as const),
    encapsulations: encaps.map((e, i) => oneOf(e, `encapsulations[${i}]`, ['gre', 'minimal'] as const)),
    clockOffsetSeconds: int(o.clockOffsetSeconds, 'clockOffsetSeconds', 0),
    udpTunnelling: bool(o.udpTunnelling, 'udpTunnelling', true),
    keepaliveSeconds: int(o.keepaliveSeconds, 'keepaliveSeconds', 0),
    reverseTunnelling: bool(o.reverseTunnelling, 'reverseTunnelling', true),
  };
}

export function isTrusted(cfg: HomeAgentConfig, source: string): boolean {
  return cfg.trustedPrefixes.some((p) => inPrefix(source, p));
}
