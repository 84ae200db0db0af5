/**
 * The engine's options and the registration client it builds for the
 * profile (app/io/engine.ts).
 */
import type { Profile } from '../config/profile.ts';
import type { Policy } from '../events.ts';
import { newIdentificationSource, type IdentificationSource, type RandomBytes } from '../mip4/identification.ts';
import { RegistrationClient } from '../mip4/registration.ts';
import type { DnsBackend } from './dns.ts';
import type { CoreFactory, MipDriver, MipDriverOptions, RegistrationCoreLike } from './mip-driver.ts';
import type { Platform } from './platform.ts';

export interface EngineOptions {
  profile: Profile;
  mipTun?: string;
  /** prefixes reached through the home network (default: the profile's vpn.remoteTs) */
  routes?: string[];
  policy?: Policy;
  /** the registration client (default: app/mip4/registration.ts with the profile's detection timing) */
  core?: CoreFactory;
  /** state that outlives a crash (the resolver file's original); default /var/lib/homeward */
  stateDir?: string;
  /** the resolver file (default /etc/resolv.conf) */
  resolvConf?: string;
  /** the outside world: sockets, TUNs, network configuration, link events, clock, randomness (default linuxPlatform()) */
  platform?: Platform;
  /** the DNS backend (default: systemd-resolved when it runs, else the resolver file): tests and in-memory twins */
  dnsBackend?: DnsBackend;
  /** the Mobile IP driver (default: app/io/mip-driver.ts's MipDriver over the platform) */
  mipDriver?: (opts: MipOptions) => MipPort;
}

/** What the engine uses of the Mobile IP driver. */
export type MipPort = Pick<MipDriver, 'start' | 'stop' | 'register' | 'deregister' | 'setDataPath' | 'sendOut' | 'tunStats' | 'stats' | 'coreStats'>
  & Partial<Pick<MipDriver, 'setTrafficOpen'>> & {
    /** re-register the binding at once (the engine woke up: it may have expired meanwhile); absent: the driver cannot */
    refreshBinding?(reason: string): void;
  };

/** The registration client with RFC 5266 detection timing: first retransmission after detection.timeoutMs (≥ 1 s). */
export function engineCore(profile: Profile, rng: RandomBytes = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)), ids?: IdentificationSource): RegistrationCoreLike {
  if (!profile.mnHaAuth) throw new Error('profile has no mnHaAuth: Mobile IP needs the MN-HA key (RFC 5944 §3.5)');
  const m = profile.mip;
  return new RegistrationClient({
    homeAddress: profile.homeAddress, homeAgent: profile.homeAgent, ...(profile.nai !== undefined ? { nai: profile.nai } : {}),
    spi: profile.mnHaAuth.spi, key: profile.mnHaAuth.key, lifetimeSeconds: m.lifetimeSeconds, reverseTunnel: true,
    encapsulation: m.encapsulation === 'ipip' ? 'ip-in-ip' : m.encapsulation,
    udpTunnel: m.udpTunnel === 'auto' ? 'request' : m.udpTunnel, keepaliveSeconds: m.keepaliveSeconds, replayProtection: m.replayProtection,
    retransmitInitialMs: Math.max(1000, profile.detection.timeoutMs), maxTries: profile.detection.retransmits + 1, rng,
    ...(ids ? { ids } : {}),
  });
}

/**
 * The engine's registration clients (the detection probe's, one per detection, and the
 * driver's): they register the same home address with the same home agent, so they draw
 * from one identification sequence — with one each, a request from one can be older than
 * the other's accepted one in the same millisecond, and the home agent answers 133.
 */
export function engineCores(profile: Profile, rng: RandomBytes): CoreFactory {
  const ids = newIdentificationSource(profile.mip.replayProtection, rng);
  return (p) => engineCore(p, rng, ids);
}

export type MipOptions = MipDriverOptions;
/** what the MipDriver reports (its onEvent parameter) */
export type MipEvent = Parameters<MipDriverOptions['onEvent']>[0];
