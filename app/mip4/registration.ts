/**
 * Mobile IPv4 registration client (RFC 5944 §3.6, RFC 3024, RFC 3519,
 * RFC 5265), sans-I/O in the quinn style:
 *
 *   inputs   handleCommand(register | move | deregister, now, wallMs)
 *            handleDatagram(bytes from port 434, from, now, wallMs)
 *            handleTimeout(now, wallMs), handleDataSent(now), handleKeepaliveReply(inner, now)
 *   outputs  pollTransmit() → UDP payloads for the agent's port 434
 *            pollEvent()    → registration outcomes
 *            nextTimeout()
 *
 * `now` is monotonic (timers); `wallMs` is the wall clock, used only for the
 * NTP timestamps in identifications (or nonces, `replayProtection: 'nonce'`,
 * RFC 5944 §5.7.2: identification.ts).
 *
 * Lifecycle of one registration attempt:
 *
 *   idle ──register/move──► pending ──accepted──► bound ──80% of lifetime──► pending …
 *                             │ ▲  retransmit 1 s, 2 s, 4 s … (new ID each time, capped)
 *                             │ ▲  refresh (binding suspect): 200, 400, 800, 1000 … ms for
 *                             │ │  refreshTries requests, then as above
 *                             │ └─ 133: resync clock, resend │ 139/72/142: fall back, resend
 *                             ├──denied──► idle (event denied)
 *                             └──max tries──► event timeout, keep retrying at the cap
 *   bound ──deregister──► pending(lifetime 0, CoA = HoA) ──accepted──► idle (event deregistered)
 *
 * A reply is believed only after (reply-auth.ts, the one gate for every
 * reply, direct or RFC 3519): it decodes (no unknown extension < 128), it
 * carries exactly one valid MN-HA authenticator with our SPI — except a
 * foreign-agent denial while registering through that FA, from its address
 * — and its low-32 identification matches a request of the current attempt.
 * Only the extensions before the MN-HA authenticator (the ones its HMAC
 * covers) are interpreted: TNC and UDP Tunnel Reply after it are ignored.
 * Otherwise it is dropped and counted — and when the drop points at something
 * the user can fix (an Identification we never sent, our SPI with a bad HMAC,
 * another SPI), a `failing` event names the cause with a hint, at once and
 * again at each retransmission while it keeps happening.
 *
 * The accepted event carries the data path's format (`encapsulation`): what
 * the accepted request asked for (G/M, and the UDP Tunnel Request's
 * Encapsulation); keepalives travel in it (tunnel-format.ts).
 */
import { TimerTable, type Instant } from '../base/clock.ts';
import { appendMnHaAuth } from '../wire/mip4/auth.ts';
import {
  AdvFlag, Encapsulation, ExtensionType, isAccepted, KEEPALIVE_DEFAULT_SECONDS, KEEPALIVE_MIN_SECONDS, LIFETIME_INFINITE, MIP_PORT,
  MipMessageType, REGISTRATION_REPLY_FIXED_LENGTH, ReplyCode, replyCodeName, RrqFlag,
} from '../wire/mip4/constants.ts';
import { splitRegistrationExtensions, type RegistrationExtension } from '../wire/mip4/registration-extension.ts';
import type { RegistrationReply } from '../wire/mip4/registration-reply.ts';
import { encodeRegistrationRequest } from '../wire/mip4/registration-request.ts';
import { udpTunnelAssented } from '../wire/mip4/udp-tunnel-extensions.ts';
import type { Profile } from '../config/profile.ts';
import { newIdentificationSource, type IdentificationSource, type RandomBytes } from './identification.ts';
import { KeepaliveProbe } from './keepalive.ts';
import { decapsulateUdp, encapsulateUdp } from './tunnel-format.ts';
import { openRegistrationReply } from './reply-auth.ts';
import type {
  Binding, EncapsulationPreference, FailingCause, Location, RegistrationCommand, RegistrationConfig, RegistrationEvent, RegistrationStats,
  RegistrationTransmit, UdpTunnelMode,
} from './registration-types.ts';

export type {
  Binding, DropReason, EncapsulationPreference, FailingCause, Location, RegistrationCommand, RegistrationConfig, RegistrationEvent,
  RegistrationStats, RegistrationTransmit, UdpTunnelMode,
} from './registration-types.ts';

interface Attempt {
  kind: 'register' | 'deregister';
  loc: Location;
  lifetime: number;
  sent: Map<number, Instant>;
  /** the data-path format each request (by low-32 identification) asked the HA for */
  formats: Map<number, EncapsulationPreference>;
  tries: number;
  resyncs: number;
  udpRequested: boolean;
  timedOut: boolean;
  /** a refresh of a binding suspected lost: short retransmissions (refreshRetransmitMs …) */
  fast: boolean;
  /** dropped replies by cause, and the count last reported in a `failing` event */
  failing: Map<FailingCause, { count: number; reported: number; spi?: number }>;
}

type TimerKey = 'retransmit' | 'reregister' | 'expiry' | 'keepalive';

const ENCAP_FLAGS: Record<EncapsulationPreference, number> = { 'ip-in-ip': 0, gre: RrqFlag.GreEncapsulation, minimal: RrqFlag.MinimalEncapsulation };
const ENCAP_PROTO: Record<EncapsulationPreference, Encapsulation> = { 'ip-in-ip': Encapsulation.IpInIp, gre: Encapsulation.Gre, minimal: Encapsulation.Minimal };

export class RegistrationClient {
  readonly stats: RegistrationStats = {
    requestsSent: 0, retransmissions: 0, accepted: 0, denied: 0, keepalivesSent: 0, keepaliveReplies: 0,
    dropped: { auth: 0, id: 0, malformed: 0, duplicateAuth: 0, unknownExt: 0 },
  };
  private readonly timers = new TimerTable<TimerKey>();
  private readonly transmits: RegistrationTransmit[] = [];
  private readonly events: RegistrationEvent[] = [];
  private readonly ids: IdentificationSource;
  private readonly keepalive: KeepaliveProbe;
  private encapsulation: EncapsulationPreference;
  private udpMode: UdpTunnelMode;
  private location?: Location;
  private attempt?: Attempt;
  private current?: Binding;
  private lastSentToHa?: Instant;
  /** low 32 bits of our recent requests' identifications, across attempts (diagnosis only) */
  private readonly recentIds: number[] = [];

  constructor(private readonly cfg: RegistrationConfig) {
    if (cfg.lifetimeSeconds < 1 || cfg.lifetimeSeconds > LIFETIME_INFINITE) throw new RangeError('lifetimeSeconds must be 1..65535');
    if ((cfg.retransmitInitialMs ?? 1000) < 1000) throw new RangeError('retransmitInitialMs must be at least 1000 (RFC 5944 §3.6.3)');
    this.ids = cfg.ids ?? newIdentificationSource(cfg.replayProtection, cfg.rng);
    this.keepalive = new KeepaliveProbe(cfg.homeAddress, cfg.homeAgent, cfg.rng);
    this.encapsulation = cfg.encapsulation;
    this.udpMode = cfg.udpTunnel;
  }

  /** The accepted binding, if any. */
  get binding(): Readonly<Binding> | undefined {
    return this.current;
  }

  get pending(): boolean {
    return this.attempt !== undefined;
  }

  // ── inputs ──────────────────────────────────────────────────────────

  handleCommand(cmd: RegistrationCommand, now: Instant, wallMs: number): void {
    if (cmd.type === 'deregister') {
      if (!this.location) {
        this.events.push({ type: 'registration', state: 'deregistered', coa: this.cfg.homeAddress, lifetime: 0, tnc: false });
        return;
      }
      this.startAttempt('deregister', now, wallMs);
      return;
    }
    const { type, ...loc } = cmd;
    this.location = loc;
    this.startAttempt('register', now, wallMs, type === 'refresh');
  }

  handleDatagram(bytes: Uint8Array, from: { address: string; port: number }, now: Instant, wallMs: number): void {
    if (bytes[0] === MipMessageType.TunnelData) {
      const d = decapsulateUdp(bytes, this.current?.encapsulation ?? 'ip-in-ip');
      if (d.ok) this.handleKeepaliveReply(d.inner, now);
      else this.stats.dropped.malformed++;
      return;
    }
    if (bytes[0] !== MipMessageType.RegistrationReply) {
      this.stats.dropped.malformed++;
      return;
    }
    this.handleReply(bytes, from.address, now, wallMs);
  }

  handleTimeout(now: Instant, wallMs: number): void {
    for (const key of this.timers.expired(now)) {
      if (key === 'retransmit') this.onRetransmitTimer(now, wallMs);
      else if (key === 'reregister') this.startAttempt('register', now, wallMs);
      else if (key === 'expiry') this.onExpiry();
      else this.onKeepaliveTimer(now, wallMs);
    }
  }

  /** User data went to the HA: restarts the keepalive interval (RFC 3519 §4.9). */
  handleDataSent(now: Instant): void {
    this.lastSentToHa = now;
    if (this.current?.udpTunnel && this.keepalive.unanswered === 0) this.armKeepalive(now);
  }

  /** A tunnelled packet from the HA; true when it was the echo reply to our keepalive. */
  handleKeepaliveReply(inner: Uint8Array, _now: Instant): boolean {
    if (!this.keepalive.isReply(inner)) return false;
    this.stats.keepaliveReplies++;
    this.keepalive.answered();
    if (this.current?.udpTunnel && this.lastSentToHa !== undefined) this.armKeepalive(this.lastSentToHa);
    return true;
  }

  // ── outputs ─────────────────────────────────────────────────────────

  pollTransmit(): RegistrationTransmit | undefined {
    return this.transmits.shift();
  }

  pollEvent(): RegistrationEvent | undefined {
    return this.events.shift();
  }

  nextTimeout(): Instant | undefined {
    return this.timers.next();
  }

  // ── requests ────────────────────────────────────────────────────────

  private startAttempt(kind: Attempt['kind'], now: Instant, wallMs: number, fast = false): void {
    const loc = this.location;
    if (!loc) return;
    this.timers.stop('reregister');
    this.timers.stop('retransmit');
    const lifetime = kind === 'deregister' ? 0 : Math.min(this.cfg.lifetimeSeconds, loc.faLifetime ?? LIFETIME_INFINITE);
    this.attempt = {
      kind, loc, lifetime, sent: new Map(), formats: new Map(), tries: 0, resyncs: 0, udpRequested: false, timedOut: false, failing: new Map(), fast,
    };
    this.sendRequest(now, wallMs);
  }

  private sendRequest(now: Instant, wallMs: number): void {
    const a = this.attempt!;
    const id = this.ids.next(wallMs);
    a.sent.set(Number(id & 0xffffffffn), now);
    this.recentIds.push(Number(id & 0xffffffffn));
    if (this.recentIds.length > 64) this.recentIds.shift();
    if (a.tries > 0) this.stats.retransmissions++;
    a.tries++;
    this.stats.requestsSent++;
    const { bytes, udp, format } = this.buildRequest(a, id);
    a.udpRequested ||= udp;
    a.formats.set(Number(id & 0xffffffffn), format);
    const to = a.loc.via ?? this.cfg.homeAgent;
    const source = a.loc.via === undefined ? a.loc.coa : this.cfg.homeAddress;
    this.transmits.push({ bytes, to: { address: to, port: MIP_PORT }, source });
    if (a.loc.via === undefined) this.lastSentToHa = now;
    this.timers.set('retransmit', now + this.retransmitDelay(a));
  }

  private retransmitDelay(a: Attempt): number {
    if (this.fastPhase(a)) {
      // RFC 5944 §3.6.3 asks for ≥ 1 s between ordinary requests; a refresh probes a binding we have
      // reason to think is gone while user traffic is being lost, so the first tries go sooner
      const first = this.cfg.refreshRetransmitMs ?? 200;
      return Math.min(this.cfg.refreshRetransmitCapMs ?? 1000, first * 2 ** (a.tries - 1));
    }
    const initial = this.cfg.retransmitInitialMs ?? 1000;
    let cap = this.cfg.retransmitCapMs ?? 32_000;
    if (a.lifetime > 0 && a.lifetime !== LIFETIME_INFINITE) cap = Math.min(cap, a.lifetime * 1000);
    return Math.max(initial, Math.min(cap, initial * 2 ** (a.tries - 1)));
  }

  private buildRequest(a: Attempt, identification: bigint): { bytes: Uint8Array; udp: boolean; format: EncapsulationPreference } {
    const colocated = a.loc.via === undefined;
    const offered = (f: number) => colocated || a.loc.faFlags === undefined || (a.loc.faFlags & f) !== 0;
    const udp = colocated && a.kind === 'register' && this.udpMode !== 'off';
    let flags = colocated ? RrqFlag.Decapsulation : 0;
    if ((this.cfg.reverseTunnel && offered(AdvFlag.ReverseTunnel)) || udp) flags |= RrqFlag.ReverseTunnel;
    const encapFlag = ENCAP_FLAGS[this.encapsulation];
    const advFlag = this.encapsulation === 'gre' ? AdvFlag.GreEncapsulation : AdvFlag.MinimalEncapsulation;
    const encapAsked = encapFlag !== 0 && offered(advFlag);
    if (encapAsked) flags |= encapFlag;
    // what the HA agrees to when it accepts this request: G/M (RFC 5944 §3.3), and the same
    // format inside RFC 3519 tunnel data (the UDP Tunnel Request's Encapsulation field)
    const format: EncapsulationPreference = encapAsked || udp ? this.encapsulation : 'ip-in-ip';
    const extensions: RegistrationExtension[] = [];
    if (this.cfg.nai !== undefined) extensions.push({ kind: 'nai', nai: this.cfg.nai });
    if (udp) {
      extensions.push({
        kind: 'udp-tunnel-request', force: this.udpMode === 'force', registrationThroughFa: false,
        encapsulation: ENCAP_PROTO[this.encapsulation],
      });
    }
    const body = encodeRegistrationRequest({
      flags, lifetime: a.lifetime, homeAddress: this.cfg.homeAddress, homeAgent: this.cfg.homeAgent,
      careOfAddress: a.kind === 'deregister' ? this.cfg.homeAddress : a.loc.coa, identification, extensions,
    });
    return { bytes: appendMnHaAuth(body, this.cfg.spi, this.cfg.key), udp, format };
  }

  /** A refresh's short retransmissions, for its first refreshTries requests. */
  private fastPhase(a: Attempt): boolean {
    return a.fast && a.tries < (this.cfg.refreshTries ?? 10);
  }

  private onRetransmitTimer(now: Instant, wallMs: number): void {
    const a = this.attempt;
    if (!a) return;
    this.reportFailing(a);
    const maxTries = a.fast ? Math.max(this.cfg.maxTries ?? 5, this.cfg.refreshTries ?? 10) : this.cfg.maxTries ?? 5;
    if (a.tries >= maxTries && !a.timedOut) {
      a.timedOut = true;
      if (a.kind === 'deregister') {
        this.reset();
        this.events.push({ type: 'registration', state: 'timeout', coa: this.cfg.homeAddress, lifetime: 0, tnc: false });
        return;
      }
      this.dropBinding();
      this.events.push({ type: 'registration', state: 'timeout', coa: a.loc.coa, lifetime: 0, tnc: false });
    }
    this.sendRequest(now, wallMs);
  }

  // ── replies ─────────────────────────────────────────────────────────

  /** Every reply goes through openRegistrationReply (reply-auth.ts): only what the MN-HA authenticator covers is acted on. */
  private handleReply(bytes: Uint8Array, from: string, now: Instant, wallMs: number): void {
    const a = this.attempt;
    const opened = openRegistrationReply(bytes, {
      spi: this.cfg.spi, key: this.cfg.key, homeAddress: this.cfg.homeAddress, from, ...(a?.loc.via !== undefined ? { via: a.loc.via } : {}),
    });
    if (!opened.ok) {
      this.stats.dropped[opened.reason]++;
      // only replies that answer one of our requests (low 32 bits) say something about our configuration
      const ours = a !== undefined && bytes.length >= 20 && a.sent.has(new DataView(bytes.buffer, bytes.byteOffset + 16, 4).getUint32(0));
      const spi = opened.reason === 'auth' && ours ? replyMnHaSpi(bytes) : undefined;
      if (a && spi !== undefined) this.noteFailing(a, spi === this.cfg.spi >>> 0 ? 'bad-authenticator' : 'unknown-spi', spi);
      return;
    }
    const reply = opened.reply;
    const sentAt = a?.sent.get(Number(reply.identification & 0xffffffffn));
    if (!a || sentAt === undefined) {
      this.stats.dropped.id++;
      // a late answer to an earlier attempt is normal; one to no request we sent is the HA's doing
      if (a && opened.authenticated && !this.recentIds.includes(Number(reply.identification & 0xffffffffn))) this.noteFailing(a, 'identification-mismatch');
      return;
    }
    if (opened.authenticated) this.ids.observeReply(Number(reply.identification >> 32n));
    if (isAccepted(reply.code)) this.onAccepted(a, sentAt, reply);
    else this.onDenied(a, reply, now, wallMs);
  }

  private onAccepted(a: Attempt, sentAt: Instant, reply: RegistrationReply): void {
    this.attempt = undefined;
    this.timers.stop('retransmit');
    this.stats.accepted++;
    const tnc = reply.extensions.some((e) => e.kind === 'tnc');
    const lifetime = Math.min(a.lifetime, reply.lifetime);
    if (a.kind === 'deregister' || lifetime === 0) {
      this.reset();
      this.events.push({ type: 'registration', state: 'deregistered', coa: this.cfg.homeAddress, lifetime: 0, tnc });
      return;
    }
    const tr = reply.extensions.find((e) => e.kind === 'udp-tunnel-reply');
    const udpTunnel = a.udpRequested && tr !== undefined && udpTunnelAssented(tr);
    const keepaliveSeconds = udpTunnel ? Math.max(KEEPALIVE_MIN_SECONDS, tr!.keepaliveSeconds || (this.cfg.keepaliveSeconds ?? KEEPALIVE_DEFAULT_SECONDS)) : undefined;
    const encapsulation = a.formats.get(Number(reply.identification & 0xffffffffn)) ?? 'ip-in-ip';
    const b: Binding = { coa: a.loc.coa, lifetime, tnc, udpTunnel, encapsulation, ...(a.loc.via ? { via: a.loc.via } : {}), ...(keepaliveSeconds ? { keepaliveSeconds } : {}) };
    if (lifetime !== LIFETIME_INFINITE) {
      b.expiresAt = sentAt + lifetime * 1000;
      this.timers.set('expiry', b.expiresAt);
      this.timers.set('reregister', sentAt + Math.floor(lifetime * 1000 * (this.cfg.reregisterFraction ?? 0.8)));
    } else {
      this.timers.stop('expiry');
      this.timers.stop('reregister');
    }
    this.current = b;
    this.keepalive.answered();
    if (udpTunnel) this.armKeepalive(this.lastSentToHa ?? sentAt);
    else this.timers.stop('keepalive');
    this.events.push({
      type: 'registration', state: 'accepted', coa: b.coa, ...(b.via ? { via: b.via } : {}), lifetime, tnc, udpTunnel, encapsulation,
      ...(keepaliveSeconds ? { keepaliveSeconds } : {}), code: reply.code, codeName: replyCodeName(reply.code),
    });
  }

  private onDenied(a: Attempt, reply: RegistrationReply, now: Instant, wallMs: number): void {
    const code = reply.code;
    if (this.tryRepair(a, reply, wallMs)) {
      a.tries = 0;
      this.sendRequest(now, wallMs);
      return;
    }
    this.stats.denied++;
    this.attempt = undefined;
    this.timers.stop('retransmit');
    this.dropBinding();
    this.events.push({ type: 'registration', state: 'denied', coa: a.kind === 'deregister' ? this.cfg.homeAddress : a.loc.coa, lifetime: 0, tnc: false, code, codeName: replyCodeName(code) });
  }

  /** Denials the MN can repair by itself; true when a new request should go out at once. */
  private tryRepair(a: Attempt, reply: RegistrationReply, wallMs: number): boolean {
    const code = reply.code;
    const codeName = replyCodeName(code);
    if (code === ReplyCode.HaIdentificationMismatch && a.resyncs < (this.cfg.maxResyncs ?? 2)) {
      // RFC 5944 §3.6.2.3, §5.7: the HA's high-order 32 bits are its clock (or its next nonce)
      a.resyncs++;
      this.ids.resynchronise(Number(reply.identification >> 32n), wallMs);
      const off = this.ids.offsetSeconds;
      const message = this.ids.kind === 'nonce'
        ? 'the home agent sent a new nonce (code 133); requests now use it'
        : `the home agent's clock is ${Math.abs(off)} s ${off >= 0 ? 'ahead of' : 'behind'} ours (code 133); identifications now follow its clock`;
      this.events.push({ type: 'registration-resync', replayProtection: this.ids.kind, offsetSeconds: off, message });
      return true;
    }
    const encapRefused = code === ReplyCode.HaEncapsulationUnavailable || code === ReplyCode.FaEncapsulationUnavailable
      || (code === ReplyCode.HaUdpEncapsulationUnavailable && a.udpRequested);
    if (encapRefused && this.encapsulation !== 'ip-in-ip') {
      this.events.push({ type: 'registration-fallback', what: 'encapsulation', from: this.encapsulation, to: 'ip-in-ip', code, codeName });
      this.encapsulation = 'ip-in-ip';
      return true;
    }
    if (code === ReplyCode.HaUdpEncapsulationUnavailable && a.udpRequested && this.udpMode === 'request') {
      this.events.push({ type: 'registration-fallback', what: 'udp-tunnel', from: 'request', to: 'off', code, codeName });
      this.udpMode = 'off';
      a.udpRequested = false;
      return true;
    }
    if (code === ReplyCode.FaLifetimeTooLong && reply.lifetime > 0 && reply.lifetime < a.lifetime) {
      this.events.push({ type: 'registration-fallback', what: 'lifetime', from: String(a.lifetime), to: String(reply.lifetime), code, codeName });
      a.lifetime = reply.lifetime;
      return true;
    }
    return false;
  }

  // ── diagnosis ───────────────────────────────────────────────────────

  /** A reply dropped for one of the causes a user can fix: reported at once the first time, then once per retransmission. */
  private noteFailing(a: Attempt, cause: FailingCause, spi?: number): void {
    const f = a.failing.get(cause) ?? { count: 0, reported: 0 };
    f.count++;
    if (spi !== undefined) f.spi = spi;
    a.failing.set(cause, f);
    if (f.reported === 0) this.reportCause(a, cause, f);
  }

  /** At each retransmission: the causes with drops since their last report. */
  private reportFailing(a: Attempt): void {
    for (const [cause, f] of a.failing) if (f.count !== f.reported) this.reportCause(a, cause, f);
  }

  private reportCause(a: Attempt, cause: FailingCause, f: { count: number; reported: number; spi?: number }): void {
    f.reported = f.count;
    this.events.push({
      type: 'registration', state: 'failing', cause, count: f.count, coa: a.loc.coa, tries: a.tries,
      ...(f.spi !== undefined ? { spi: f.spi } : {}), hint: this.hint(cause, f.spi),
    });
  }

  private hint(cause: FailingCause, spi: number | undefined): string {
    if (cause === 'bad-authenticator') {
      return 'replies carry our SPI but their MN-HA authenticator does not verify: mnHaAuth.key differs from the key the home agent has for this mobile node';
    }
    if (cause === 'unknown-spi') {
      return `replies are authenticated under SPI ${spi ?? '?'}, ours is ${this.cfg.spi >>> 0}: set mnHaAuth.spi (and its key) to the home agent's security association for this mobile node`;
    }
    return this.ids.kind === 'nonce'
      ? 'authenticated replies echo an Identification we never sent: the home agent may not use nonces (try mip.replayProtection "timestamp"), or another node registers this home address'
      : 'authenticated replies echo an Identification we never sent (RFC 5944 §5.7): the home agent may expect nonces (try mip.replayProtection "nonce"), may not echo the low 32 bits, or another node registers this home address; check both clocks too';
  }

  // ── binding upkeep ──────────────────────────────────────────────────

  private onExpiry(): void {
    const b = this.current;
    if (!b) return;
    this.dropBinding();
    this.events.push({ type: 'registration', state: 'expired', coa: b.coa, lifetime: 0, tnc: false });
  }

  private armKeepalive(from: Instant): void {
    const k = this.current?.keepaliveSeconds ?? this.cfg.keepaliveSeconds ?? KEEPALIVE_DEFAULT_SECONDS;
    this.timers.set('keepalive', from + Math.max(KEEPALIVE_MIN_SECONDS, k) * 1000);
  }

  private onKeepaliveTimer(now: Instant, wallMs: number): void {
    if (!this.current?.udpTunnel) return;
    if (this.keepalive.unanswered >= (this.cfg.keepaliveMaxUnanswered ?? 3)) {
      this.events.push({ type: 'keepalive-lost', unanswered: this.keepalive.unanswered });
      this.keepalive.answered();
      // the HA (or the NAT before it) has lost us: a refresh, with its short retransmissions
      this.startAttempt('register', now, wallMs, true);
      return;
    }
    // in the binding's format: the HA drops tunnel data whose Next Header is not the binding's (RFC 3519 §3.3)
    const bytes = encapsulateUdp(this.keepalive.buildInner(), this.current.encapsulation, { src: this.current.coa, dst: this.cfg.homeAgent });
    this.transmits.push({ bytes, to: { address: this.cfg.homeAgent, port: MIP_PORT }, source: this.current.coa, keepalive: true });
    this.stats.keepalivesSent++;
    this.lastSentToHa = now;
    const k = (this.current.keepaliveSeconds ?? KEEPALIVE_DEFAULT_SECONDS) * 1000;
    this.timers.set('keepalive', now + Math.min(k, this.cfg.keepaliveRetryMs ?? 5000));
  }

  private dropBinding(): void {
    this.current = undefined;
    this.timers.stop('expiry');
    this.timers.stop('keepalive');
    if (this.attempt?.kind !== 'register') this.timers.stop('reregister');
  }

  private reset(): void {
    this.attempt = undefined;
    this.current = undefined;
    this.location = undefined;
    this.timers.clear();
  }
}

/**
 * The factory app/cli/mip.ts loads: a client for the profile's home agent
 * with a co-located care-of address (mode c). Randomness comes from Web Crypto.
 */
export function createRegistrationCore(profile: Profile, _opts: { localPort: number }, rng?: RandomBytes): RegistrationClient {
  if (!profile.mnHaAuth) throw new Error('profile has no mnHaAuth: Mobile IP needs the MN-HA key (RFC 5944 §3.5)');
  const m = profile.mip;
  return new RegistrationClient({
    homeAddress: profile.homeAddress, homeAgent: profile.homeAgent, ...(profile.nai !== undefined ? { nai: profile.nai } : {}),
    spi: profile.mnHaAuth.spi, key: profile.mnHaAuth.key, lifetimeSeconds: m.lifetimeSeconds, reverseTunnel: m.reverseTunnel,
    encapsulation: m.encapsulation === 'ipip' ? 'ip-in-ip' : m.encapsulation,
    udpTunnel: m.udpTunnel === 'auto' ? 'request' : m.udpTunnel, keepaliveSeconds: m.keepaliveSeconds, replayProtection: m.replayProtection,
    rng: rng ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n))),
  });
}

/** The SPI of a reply's (first) MN-HA authentication extension, if it has one that can be read. */
function replyMnHaSpi(bytes: Uint8Array): number | undefined {
  try {
    const ext = splitRegistrationExtensions(bytes, REGISTRATION_REPLY_FIXED_LENGTH).find((e) => e.type === ExtensionType.MnHaAuth);
    if (!ext || ext.data.length < 4) return undefined;
    return ((ext.data[0]! << 24) | (ext.data[1]! << 16) | (ext.data[2]! << 8) | ext.data[3]!) >>> 0;
  } catch {
    return undefined;
  }
}
