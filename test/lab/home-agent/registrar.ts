/**
 * Registration processing at the home agent: one Registration Request in,
 * at most one Registration Reply out, plus the binding-cache change and one
 * log record. Pure (time and the wall clock come in as arguments), so the
 * order of checks can be read top to bottom against the RFCs:
 *
 *   1. decode; malformed or an unknown extension 0–127 → silently dropped   (RFC 5944 §1.9)
 *   2. RFC 5265 §5.2: source outside the trusted prefixes → dropped, unless acceptUntrusted
 *   3. find the mobility security association (HoA, or NAI when HoA = 0)   (RFC 2794)
 *   4. exactly one valid MN-HA extension with the SA's SPI, else 131         (RFC 5944 §3.8.2.1)
 *   5. Home Agent field must be ours, else 136 (reply carries our address)
 *   6. identification (RFC 5944 §5.7), one of:
 *      timestamps: within tolerance and newer than the last, else 133 with our NTP
 *        seconds in the high 32 bits;
 *      nonces (§5.7.2): the high 32 bits must be the nonce we sent last (a fresh MN
 *        does not know it yet), else 133 carrying a new one; every reply carries the
 *        next nonce in the high 32 bits and the request's low 32 bits
 *   7. flags: G (GRE, RFC 2784) or M (minimal, RFC 2004) not offered → 139 (G wins when
 *      both are set); T without support → 137                               (RFC 3024)
 *   8. UDP Tunnel Request: D must be set, Reserved3 = 0 (134), encapsulation 0/4, or
 *      47/55 when offered (else 142); NAT detected when the IP source ≠ CoA; F forces it
 *                                                                          (RFC 3519 §3.1, §3.3, §4.2)
 *   9. lifetime 0 or CoA = HoA → deregistration; otherwise (re)place the binding
 *  10. reply: NAI echoed, UDP Tunnel Reply, TNC (trusted sources only), MN-HA last
 */
import type { Instant } from '../../../app/base/clock.ts';
import { randomBytes } from 'node:crypto';
import { BindingCache, type Binding, type TunnelFormat, type TunnelMode } from './binding-cache.ts';
import { isTrusted, type HomeAgentConfig, type MobileNodeEntry } from './config.ts';
import { RrqFlag, buildReply, breakReply, decodeRrq, ntpSeconds, verifyMnHa, type Rrq } from './wire.ts';

export interface Source {
  address: string;
  port: number;
}

export interface RegistrationOutcome {
  reply?: Uint8Array;
  added?: Binding;
  removed?: Binding;
  log: Record<string, unknown>;
}

export class Registrar {
  /** RFC 5944 §5.7.2: the nonce each mobile node must put in its next request's high 32 bits */
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly cfg: HomeAgentConfig,
    readonly cache: BindingCache,
    private readonly newNonce: () => number = () => randomBytes(4).readUInt32BE(0),
  ) {}

  handleRequest(bytes: Uint8Array, src: Source, now: Instant, wallMs: number): RegistrationOutcome {
    const decoded = decodeRrq(bytes);
    if (!decoded.ok) return { log: { event: 'dropped', reason: decoded.reason, from: src.address } };
    const rrq = decoded.rrq;
    const trusted = isTrusted(this.cfg, src.address);
    if (!trusted && !this.cfg.acceptUntrusted) {
      return { log: { event: 'dropped', reason: 'untrusted source (RFC 5265)', from: src.address } };
    }
    const mn = this.findMobileNode(rrq);
    if (!mn) return this.deny(rrq, undefined, 131, 'no mobility security association', src);
    const auth = verifyMnHa(bytes, mn.spi, mn.key);
    if (!auth.ok) return this.deny(rrq, mn, 131, `MN-HA authentication failed: ${auth.reason}`, src);
    if (rrq.homeAgent !== this.cfg.address) return this.deny(rrq, mn, 136, `unknown home agent ${rrq.homeAgent}`, src);
    const idProblem = this.checkIdentification(mn.homeAddress, rrq.identification, wallMs);
    if (idProblem) return this.deny(rrq, mn, 133, idProblem, src, this.replyId(mn, rrq, wallMs, true));
    this.cache.noteIdentification(mn.homeAddress, rrq.identification);
    const mode = this.chooseMode(rrq, src);
    if (typeof mode === 'number') return this.deny(rrq, mn, mode, 'tunnelling request refused', src, this.replyId(mn, rrq, wallMs, false));
    if (rrq.lifetime === 0 || rrq.careOfAddress === mn.homeAddress) return this.deregister(rrq, mn, src, trusted, this.replyId(mn, rrq, wallMs, false));
    return this.register(rrq, mn, src, trusted, mode, now, this.replyId(mn, rrq, wallMs, false));
  }

  /**
   * The reply's identification. Timestamps: the request's, or (133) our clock's seconds over
   * the request's low 32 bits. Nonces: always our next nonce over the request's low 32 bits.
   */
  private replyId(mn: MobileNodeEntry, rrq: Rrq, wallMs: number, mismatch: boolean): bigint {
    const low = rrq.identification & 0xffffffffn;
    if (this.cfg.replayProtection === 'nonce') {
      const next = this.newNonce() >>> 0;
      this.nonces.set(mn.homeAddress, next);
      return (BigInt(next) << 32n) | low;
    }
    return mismatch ? (BigInt(this.ntpNow(wallMs)) << 32n) | low : rrq.identification;
  }

  private findMobileNode(rrq: Rrq): MobileNodeEntry | undefined {
    if (rrq.homeAddress !== '0.0.0.0') return this.cfg.mobileNodes.find((m) => m.homeAddress === rrq.homeAddress);
    return rrq.nai === undefined ? undefined : this.cfg.mobileNodes.find((m) => m.nai === rrq.nai);
  }

  private ntpNow(wallMs: number): number {
    return ntpSeconds(wallMs + this.cfg.clockOffsetSeconds * 1000);
  }

  /** Returns why the identification is unacceptable, or undefined when it is fine. */
  private checkIdentification(homeAddress: string, id: bigint, wallMs: number): string | undefined {
    if (this.cfg.replayProtection === 'nonce') {
      const expected = this.nonces.get(homeAddress);
      if (expected === undefined) return 'no nonce issued to this mobile node yet';
      return Number(id >> 32n) === expected ? undefined : 'nonce is not the one we issued last (replay or lost reply)';
    }
    const seconds = Number(id >> 32n);
    const skew = seconds - this.ntpNow(wallMs);
    if (Math.abs(skew) > this.cfg.replayToleranceSeconds) return `timestamp off by ${skew} s`;
    const last = this.cache.lastIdentification(homeAddress);
    if (last !== undefined && id <= last) return 'identification not newer than the last accepted one (replay)';
    return undefined;
  }

  /** The tunnel to use, or a denial code (RFC 5944 §3.3, RFC 3024, RFC 3519). */
  private chooseMode(rrq: Rrq, src: Source): { mode: TunnelMode; format: TunnelFormat } | number {
    const offers = (f: 'gre' | 'minimal') => this.cfg.encapsulations.includes(f);
    let raw: TunnelFormat = 'ipip';
    if (rrq.flags & RrqFlag.G) {
      if (!offers('gre')) return 139;
      raw = 'gre';
    } else if (rrq.flags & RrqFlag.M) {
      if (!offers('minimal')) return 139;
      raw = 'minimal';
    }
    if (rrq.flags & RrqFlag.T && !this.cfg.reverseTunnelling) return 137;
    const utr = rrq.udpTunnelRequest;
    if (!utr) return { mode: raw, format: raw };
    if (!(rrq.flags & RrqFlag.D) || utr.reserved !== 0) return 134;
    const e = utr.encapsulation;
    const inUdp: TunnelFormat | undefined = e === 0 || e === 4 ? 'ipip' : e === 47 && offers('gre') ? 'gre' : e === 55 && offers('minimal') ? 'minimal' : undefined;
    if (inUdp === undefined) return 142;
    const natDetected = src.address !== rrq.careOfAddress;
    if (!this.cfg.udpTunnelling) return utr.force ? 129 : { mode: raw, format: raw };
    return natDetected || utr.force ? { mode: 'udp', format: inUdp } : { mode: raw, format: raw };
  }

  private register(rrq: Rrq, mn: MobileNodeEntry, src: Source, trusted: boolean, chosen: { mode: TunnelMode; format: TunnelFormat }, now: Instant, id: bigint): RegistrationOutcome {
    const { mode, format } = chosen;
    const lifetime = Math.min(rrq.lifetime, this.cfg.maxLifetime);
    const binding: Binding = {
      homeAddress: mn.homeAddress,
      careOfAddress: rrq.careOfAddress,
      tunnelDst: mode === 'udp' ? src.address : rrq.careOfAddress,
      tunnelPort: mode === 'udp' ? src.port : 0,
      mode,
      format,
      reverseTunnel: (rrq.flags & RrqFlag.T) !== 0,
      trusted,
      lifetime,
      expiresAt: now + lifetime * 1000,
      lastId: rrq.identification,
    };
    const replaced = this.cache.put(binding);
    const code = rrq.flags & RrqFlag.S ? 1 : 0;
    const reply = this.sign(mn, {
      code, lifetime, homeAddress: mn.homeAddress, homeAgent: this.cfg.address, identification: id,
      ...(rrq.nai !== undefined ? { nai: rrq.nai } : {}),
      ...(rrq.udpTunnelRequest ? { udpTunnelReply: { code: mode === 'udp' ? 0 : 64, keepalive: this.cfg.keepaliveSeconds } } : {}),
      tnc: trusted,
    });
    const log = {
      event: 'binding-added', homeAddress: mn.homeAddress, coa: rrq.careOfAddress, tunnel: mode, encapsulation: format,
      tunnelDst: binding.tunnelDst, tunnelPort: binding.tunnelPort, lifetime, tnc: trusted, from: src.address, code,
    };
    return { reply, added: binding, ...(replaced ? { removed: replaced } : {}), log };
  }

  private deregister(rrq: Rrq, mn: MobileNodeEntry, src: Source, trusted: boolean, id: bigint): RegistrationOutcome {
    const removed = this.cache.remove(mn.homeAddress);
    const reply = this.sign(mn, {
      code: 0, lifetime: 0, homeAddress: mn.homeAddress, homeAgent: this.cfg.address, identification: id,
      ...(rrq.nai !== undefined ? { nai: rrq.nai } : {}), tnc: trusted,
    });
    return { reply, ...(removed ? { removed } : {}), log: { event: 'binding-removed', homeAddress: mn.homeAddress, reason: 'deregistration', from: src.address } };
  }

  /** The reply with its MN-HA extension — broken the configured way for a lab-only faulty mobile node. */
  private sign(mn: MobileNodeEntry, f: Parameters<typeof buildReply>[0]): Uint8Array {
    return mn.replyFault ? breakReply(f, mn.spi, mn.key, mn.replyFault) : buildReply(f, mn.spi, mn.key);
  }

  private deny(rrq: Rrq, mn: MobileNodeEntry | undefined, code: number, reason: string, src: Source, id = rrq.identification): RegistrationOutcome {
    const fields = {
      code, lifetime: 0, homeAddress: mn?.homeAddress ?? rrq.homeAddress, homeAgent: this.cfg.address, identification: id,
      ...(rrq.nai !== undefined ? { nai: rrq.nai } : {}), tnc: false,
    };
    const reply = mn ? this.sign(mn, fields) : buildReply(fields, undefined, undefined);
    return { reply, log: { event: 'denied', code, reason, homeAddress: rrq.homeAddress, from: src.address } };
  }
}
