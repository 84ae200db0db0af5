/**
 * The registration client against a tiny in-test home agent that answers
 * with our codecs but signs with node:crypto's HMAC-MD5, on a ManualClock.
 * Each step is written as the exchange it tests:  // RRQ -->  / <-- RRP
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes, hexToBytes } from '../../../app/base/bytes.ts';
import { parseProfile } from '../../../app/config/profile.ts';
import type { CoreFactory } from '../../../app/io/mip-driver.ts';
import { engineCores } from '../../../app/io/engine-config.ts';
import { createRegistrationCore, RegistrationClient, type RegistrationConfig, type RegistrationEvent, type RegistrationTransmit } from '../../../app/mip4/registration.ts';
import { decodeIcmpEcho, encodeIcmpEcho } from '../../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { NTP_UNIX_OFFSET, RrqFlag } from '../../../app/wire/mip4/constants.ts';
import { encodeTlv } from '../../../app/wire/mip4/extensions.ts';
import type { RegistrationExtension } from '../../../app/wire/mip4/registration-extension.ts';
import { encodeRegistrationReply } from '../../../app/wire/mip4/registration-reply.ts';
import { decodeRegistrationRequest, type RegistrationRequest } from '../../../app/wire/mip4/registration-request.ts';
import { decodeTunnelData, encodeTunnelData } from '../../../app/wire/mip4/tunnel-data.ts';
import { ManualClock } from '../../harness/manual-clock.ts';

const KEY = hexToBytes('00112233445566778899aabbccddeeff');
const SPI = 0x1000;
const HOA = '10.1.0.10';
const HA = '10.1.0.1';
const COA = '192.0.2.7';
const WALL0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function seededRng(seed = 7): (n: number) => Uint8Array {
  let x = seed;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[i] = x >>> 24;
    }
    return out;
  };
}

interface ReplyOpts {
  code?: number;
  lifetime?: number;
  identification?: bigint;
  tnc?: boolean;
  udp?: { code: number; keepalive: number };
  key?: Uint8Array;
  spi?: number;
  /** raw extension bytes placed before MN-HA */
  before?: Uint8Array;
  duplicateAuth?: boolean;
  noAuth?: boolean;
}

/** The in-test home agent: our codecs for the body, node:crypto for the authenticator. */
function haReply(req: RegistrationRequest, o: ReplyOpts = {}): Uint8Array {
  const extensions: RegistrationExtension[] = [];
  if (o.udp) extensions.push({ kind: 'udp-tunnel-reply', code: o.udp.code, forced: false, keepaliveSeconds: o.udp.keepalive });
  if (o.tnc) extensions.push({ kind: 'tnc' });
  const body = concatBytes(encodeRegistrationReply({
    code: o.code ?? 0, lifetime: o.lifetime ?? req.lifetime, homeAddress: req.homeAddress, homeAgent: req.homeAgent,
    identification: o.identification ?? req.identification, extensions,
  }), o.before ?? new Uint8Array(0));
  if (o.noAuth) return body;
  const sign = (m: Uint8Array) => {
    const head = concatBytes(m, Uint8Array.of(32, 20), hexToBytes((o.spi ?? SPI).toString(16).padStart(8, '0')));
    return concatBytes(head, new Uint8Array(createHmac('md5', o.key ?? KEY).update(head).digest()));
  };
  const once = sign(body);
  return o.duplicateAuth ? sign(once) : once;
}

class Rig {
  readonly clock = new ManualClock(1_000_000);
  wall = WALL0;
  readonly client: RegistrationClient;
  constructor(over: Partial<RegistrationConfig> = {}) {
    this.client = new RegistrationClient({
      homeAddress: HOA, homeAgent: HA, nai: 'mn@example.org', spi: SPI, key: KEY, lifetimeSeconds: 600,
      reverseTunnel: true, encapsulation: 'ip-in-ip', udpTunnel: 'request', rng: seededRng(), ...over,
    });
  }
  advance(ms: number): void {
    this.clock.advance(ms);
    this.wall += ms;
    this.client.handleTimeout(this.clock.now(), this.wall);
  }
  /** Moves time to the client's next deadline and runs it; returns how far that was. */
  step(): number {
    const next = this.client.nextTimeout();
    if (next === undefined) throw new Error('no timer armed');
    const d = next - this.clock.now();
    this.advance(d);
    return d;
  }
  command(c: Parameters<RegistrationClient['handleCommand']>[0]): void {
    this.client.handleCommand(c, this.clock.now(), this.wall);
  }
  deliver(bytes: Uint8Array, from = HA): void {
    this.client.handleDatagram(bytes, { address: from, port: 434 }, this.clock.now(), this.wall);
  }
  transmits(): RegistrationTransmit[] {
    const out: RegistrationTransmit[] = [];
    for (let t = this.client.pollTransmit(); t; t = this.client.pollTransmit()) out.push(t);
    return out;
  }
  /** The only transmit, decoded as a Registration Request. */
  request(): RegistrationRequest {
    const t = this.transmits();
    expect(t).toHaveLength(1);
    return decodeRegistrationRequest(t[0]!.bytes);
  }
  events(): RegistrationEvent[] {
    const out: RegistrationEvent[] = [];
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) out.push(e);
    return out;
  }
}

function ntpSecondsOf(wallMs: number): number {
  return Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET;
}

describe('registration: happy path', () => {
  it('sends a co-located RRQ with NAI → UDP Tunnel Request → MN-HA and believes a verified reply', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    // RRQ -->
    const [tx] = r.transmits();
    expect(tx!.to).toEqual({ address: HA, port: 434 });
    expect(tx!.source).toBe(COA);
    const req = decodeRegistrationRequest(tx!.bytes);
    expect(req.flags).toBe(RrqFlag.Decapsulation | RrqFlag.ReverseTunnel);
    expect(req).toMatchObject({ lifetime: 600, homeAddress: HOA, homeAgent: HA, careOfAddress: COA });
    expect(req.extensions.map((e) => e.kind)).toEqual(['nai', 'udp-tunnel-request', 'auth']);
    expect(req.extensions[1]).toMatchObject({ force: false, encapsulation: 4 });
    expect(Number(req.identification >> 32n)).toBe(ntpSecondsOf(WALL0));
    const covered = tx!.bytes.subarray(0, tx!.bytes.length - 16);
    expect(tx!.bytes.subarray(-16)).toEqual(new Uint8Array(createHmac('md5', KEY).update(covered).digest()));
    // <-- RRP accepted, 300 s granted, TNC, UDP tunnel with keepalive 30 s
    r.advance(200);
    r.deliver(haReply(req, { lifetime: 300, tnc: true, udp: { code: 0, keepalive: 30 } }));
    expect(r.events()).toEqual([{
      type: 'registration', state: 'accepted', coa: COA, lifetime: 300, tnc: true, udpTunnel: true, encapsulation: 'ip-in-ip', keepaliveSeconds: 30,
      code: 0, codeName: 'registration accepted',
    }]);
    expect(r.client.binding).toMatchObject({ coa: COA, lifetime: 300, expiresAt: 1_000_000 + 300_000 });
    expect(r.client.stats.accepted).toBe(1);
  });

  it('reports tnc: false and no UDP tunnelling when the reply has neither extension (RFC 3519 §3.1.1)', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request()));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', tnc: false, udpTunnel: false })]);
    expect(r.client.nextTimeout()).toBe(1_000_000 + 480_000);
  });

  it('treats a declining UDP Tunnel Reply as no tunnelling, and ignores one it did not ask for', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 64, keepalive: 0 } }));
    expect(r.events()[0]).toMatchObject({ state: 'accepted', udpTunnel: false });
    const off = new Rig({ udpTunnel: 'off' });
    off.command({ type: 'register', coa: COA });
    const req = off.request();
    expect(req.extensions.map((e) => e.kind)).toEqual(['nai', 'auth']);
    off.deliver(haReply(req, { udp: { code: 0, keepalive: 30 } }));
    expect(off.events()[0]).toMatchObject({ state: 'accepted', udpTunnel: false });
  });

  it('registers through a foreign agent without D, UDP request, or flags the FA does not offer', () => {
    const r = new Rig({ encapsulation: 'gre' });
    r.command({ type: 'register', coa: '198.51.100.5', via: '198.51.100.1', faFlags: 0x1000, faLifetime: 120 });
    const [tx] = r.transmits();
    expect(tx!.to).toEqual({ address: '198.51.100.1', port: 434 });
    expect(tx!.source).toBe(HOA);
    const req = decodeRegistrationRequest(tx!.bytes);
    expect(req.flags).toBe(0);
    expect(req.lifetime).toBe(120);
    expect(req.extensions.map((e) => e.kind)).toEqual(['nai', 'auth']);
  });
});

describe('registration: retransmission and identification', () => {
  it('retransmits after 1, 2, 4, 8, 16 s with a new, larger identification each time, then reports a timeout', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const ids = [r.request().identification];
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      gaps.push(r.step());
      ids.push(r.request().identification);
    }
    expect(gaps).toEqual([1000, 2000, 4000, 8000]);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(r.events()).toEqual([]);
    expect(r.step()).toBe(16000);
    expect(r.events()).toEqual([{ type: 'registration', state: 'timeout', coa: COA, lifetime: 0, tnc: false }]);
    r.transmits();
    expect([r.step(), r.step()]).toEqual([32000, 32000]);
  });

  it('never waits longer than the requested lifetime', () => {
    const r = new Rig({ lifetimeSeconds: 5 });
    r.command({ type: 'register', coa: COA });
    const gaps = [r.step(), r.step(), r.step(), r.step()];
    expect(gaps).toEqual([1000, 2000, 4000, 5000]);
  });

  it('keeps identifications strictly increasing when the wall clock stalls or steps back', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    let last = r.request().identification;
    for (const dw of [0, 0, -5000, 0]) {
      r.wall += dw;
      r.command({ type: 'move', coa: COA });
      const id = r.request().identification;
      expect(id > last).toBe(true);
      last = id;
    }
  });

  it('resynchronises on 133 with the HA clock in the high 32 bits and resends at once', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const req = r.request();
    const haSeconds = ntpSecondsOf(WALL0) + 3600;
    // <-- RRP 133, Identification = HA seconds ‖ our low 32
    r.deliver(haReply(req, { code: 133, identification: (BigInt(haSeconds) << 32n) | (req.identification & 0xffffffffn) }));
    expect(r.events()).toEqual([{
      type: 'registration-resync', replayProtection: 'timestamp', offsetSeconds: 3600,
      message: "the home agent's clock is 3600 s ahead of ours (code 133); identifications now follow its clock",
    }]);
    const again = r.request();
    expect(Number(again.identification >> 32n)).toBe(haSeconds);
    r.deliver(haReply(again));
    expect(r.events()[0]).toMatchObject({ state: 'accepted' });
  });
});

describe('registration: replies that must not be believed', () => {
  const cases: [string, (req: RegistrationRequest) => Uint8Array, keyof RegistrationClient['stats']['dropped'], string?][] = [
    ['a wrong authenticator', (q) => haReply(q, { key: new Uint8Array(16) }), 'auth', 'bad-authenticator'],
    ['another SPI', (q) => haReply(q, { spi: SPI + 1 }), 'auth', 'unknown-spi'],
    ['no MN-HA extension', (q) => haReply(q, { noAuth: true }), 'auth'],
    ['a wrong identification', (q) => haReply(q, { identification: q.identification ^ 1n }), 'id', 'identification-mismatch'],
    ['two MN-HA extensions', (q) => haReply(q, { duplicateAuth: true }), 'duplicateAuth'],
    ['an unknown extension < 128', (q) => haReply(q, { before: encodeTlv(100, Uint8Array.of(1)) }), 'unknownExt'],
    ['a truncated reply', (q) => haReply(q).subarray(0, 30), 'malformed'],
  ];
  for (const [what, forge, counter, cause] of cases) {
    it(`drops and counts ${what}${cause ? `, and says so at once as failing: ${cause}` : ''}`, () => {
      const r = new Rig();
      r.command({ type: 'register', coa: COA });
      const req = r.request();
      r.deliver(forge(req));
      r.deliver(forge(req));
      expect(r.client.stats.dropped[counter]).toBe(2);
      // the first drop is reported at once; the second waits for the retransmission
      expect(r.events()).toEqual(cause ? [expect.objectContaining({ type: 'registration', state: 'failing', cause, count: 1, hint: expect.any(String) })] : []);
      expect(r.client.binding).toBeUndefined();
      expect(r.client.pending).toBe(true);
      r.deliver(haReply(req, { before: encodeTlv(200, Uint8Array.of(1)) }));
      expect(r.events()[0]).toMatchObject({ state: 'accepted' });
    });
  }

  it('failing: the count is reported again at the retransmission, each cause on its own, with a hint that names the fix', () => {
    const r = new Rig({ udpTunnel: 'off' });
    r.command({ type: 'register', coa: COA });
    const req = r.request();
    r.deliver(haReply(req, { key: new Uint8Array(16) }));
    r.deliver(haReply(req, { key: new Uint8Array(16) }));
    r.deliver(haReply(req, { spi: 77 }));
    const first = r.events();
    expect(first).toEqual([
      expect.objectContaining({ state: 'failing', cause: 'bad-authenticator', count: 1, tries: 1, coa: COA }),
      expect.objectContaining({ state: 'failing', cause: 'unknown-spi', count: 1, spi: 77 }),
    ]);
    expect(first[0]).toMatchObject({ hint: expect.stringMatching(/mnHaAuth\.key/) });
    expect(first[1]).toMatchObject({ hint: expect.stringMatching(/SPI 77, ours is 4096.*mnHaAuth\.spi/) });
    r.step(); // the first retransmission
    expect(r.events()).toEqual([expect.objectContaining({ state: 'failing', cause: 'bad-authenticator', count: 2 })]);
    r.transmits();
    r.step(); // nothing new: nothing reported
    expect(r.events().filter((e) => e.type === 'registration' && e.state === 'failing')).toEqual([]);
  });

  it('a wrongly keyed reply to a request we never sent says nothing about our key', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const req = r.request();
    r.deliver(haReply({ ...req, identification: req.identification ^ 0xffffn }, { key: new Uint8Array(16) }));
    expect(r.client.stats.dropped.auth).toBe(1);
    expect(r.events()).toEqual([]);
  });

  it('does not believe a forged denial either', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { code: 129, key: new Uint8Array(16) }));
    // not denied: only diagnosed (a wrong key on our side looks exactly like this)
    expect(r.events()).toEqual([expect.objectContaining({ state: 'failing', cause: 'bad-authenticator' })]);
    expect(r.client.stats.dropped.auth).toBe(1);
  });
});

describe('registration: only what the MN-HA authenticator covers is acted on (RFC 5944 §3.5, RFC 5265 §3.4)', () => {
  const TNC_AFTER_AUTH = Uint8Array.of(0x95, 0x02, 0x00, 0x00);

  it('ignores a TNC extension appended after the authenticator of a genuine reply', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    // <-- RRP 0 ‖ MN-HA ‖ 95 02 00 00 (an on-path attacker needs no key for the tail)
    r.deliver(concatBytes(haReply(r.request()), TNC_AFTER_AUTH));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', tnc: false })]);
    expect(r.client.binding?.tnc).toBe(false);
  });

  it('still believes the same TNC extension when the authenticator covers it', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { before: TNC_AFTER_AUTH }));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', tnc: true })]);
  });

  it('ignores a UDP Tunnel Reply appended after the authenticator (RFC 3519 path)', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const tail = Uint8Array.of(44, 6, 0, 0, 0, 0, 0, 30);
    r.deliver(concatBytes(haReply(r.request()), tail));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', udpTunnel: false, tnc: false })]);
    expect(r.client.binding?.udpTunnel).toBe(false);
  });

  it('drops a foreign-agent denial without MN-HA when registered co-located (no FA on the path)', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const req = r.request();
    for (const code of [64, 65, 70, 88, 194]) r.deliver(haReply(req, { code, noAuth: true }));
    expect(r.events()).toEqual([]);
    expect(r.client.stats.dropped.auth).toBe(5);
    expect(r.client.stats.denied).toBe(0);
    expect(r.client.pending).toBe(true);
    r.deliver(haReply(req));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted' })]);
  });

  it('drops an unauthenticated foreign-agent denial that does not come from our FA', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA, via: '198.51.100.1' });
    r.deliver(haReply(r.request(), { code: 65, noAuth: true }), '198.51.100.66');
    expect(r.events()).toEqual([]);
    expect(r.client.stats.dropped.auth).toBe(1);
    expect(r.client.pending).toBe(true);
  });

  it('drops an unassigned code without MN-HA, co-located or through an FA', () => {
    for (const via of [undefined, '198.51.100.1']) {
      const r = new Rig();
      r.command({ type: 'register', coa: COA, ...(via ? { via } : {}) });
      r.deliver(haReply(r.request(), { code: 50, noAuth: true }), via ?? HA);
      expect(r.events()).toEqual([]);
      expect(r.client.stats.dropped.auth).toBe(1);
    }
  });
});

describe('registration: denials and fall-backs', () => {
  for (const [code, name] of [[129, 'administratively prohibited'], [130, 'insufficient resources'],
    [131, 'mobile node failed authentication'], [134, 'poorly formed Request'], [136, 'unknown home agent address'],
    [138, "reverse tunnel is mandatory and 'T' bit not set"]] as const) {
    it(`maps ${code} to a denied event named "${name}"`, () => {
      const r = new Rig();
      r.command({ type: 'register', coa: COA });
      r.deliver(haReply(r.request(), { code }));
      expect(r.events()).toEqual([{ type: 'registration', state: 'denied', coa: COA, lifetime: 0, tnc: false, code, codeName: name }]);
      expect(r.client.pending).toBe(false);
      expect(r.client.nextTimeout()).toBeUndefined();
    });
  }

  it('accepts a foreign agent denial, which carries no MN-HA extension, from the FA we registered through', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA, via: '198.51.100.1' });
    r.deliver(haReply(r.request(), { code: 65, noAuth: true }), '198.51.100.1');
    expect(r.events()).toEqual([expect.objectContaining({ state: 'denied', code: 65, codeName: 'administratively prohibited (FA)' })]);
  });

  it('falls back once from GRE to IP-in-IP on 139', () => {
    const r = new Rig({ encapsulation: 'gre' });
    r.command({ type: 'register', coa: COA });
    const req = r.request();
    expect(req.flags & RrqFlag.GreEncapsulation).toBeTruthy();
    expect(req.extensions[1]).toMatchObject({ encapsulation: 47 });
    r.deliver(haReply(req, { code: 139 }));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration-fallback', what: 'encapsulation', from: 'gre', to: 'ip-in-ip', code: 139 })]);
    const again = r.request();
    expect(again.flags & RrqFlag.GreEncapsulation).toBe(0);
    expect(again.extensions[1]).toMatchObject({ encapsulation: 4 });
    r.deliver(haReply(again, { code: 139 }));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'denied', code: 139 })]);
  });

  it('reports the format the accepted request asked for: GRE, minimal, or IP-in-IP after a fall-back', () => {
    for (const encapsulation of ['gre', 'minimal'] as const) {
      const r = new Rig({ encapsulation, udpTunnel: 'off' });
      r.command({ type: 'register', coa: COA });
      const req = r.request();
      expect(req.flags & (encapsulation === 'gre' ? RrqFlag.GreEncapsulation : RrqFlag.MinimalEncapsulation)).toBeTruthy();
      r.deliver(haReply(req, {}));
      expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', encapsulation })]);
      expect(r.client.binding).toMatchObject({ encapsulation });
    }
    const r = new Rig({ encapsulation: 'gre', udpTunnel: 'off' });
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { code: 139 }));
    r.events();
    r.deliver(haReply(r.request(), {}));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', encapsulation: 'ip-in-ip' })]);
  });

  it('drops the UDP Tunnel Request on 142 unless UDP tunnelling is forced', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { code: 142 }));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration-fallback', what: 'udp-tunnel', code: 142 })]);
    expect(r.request().extensions.map((e) => e.kind)).toEqual(['nai', 'auth']);
    const forced = new Rig({ udpTunnel: 'force' });
    forced.command({ type: 'register', coa: COA });
    const req = forced.request();
    expect(req.extensions[1]).toMatchObject({ kind: 'udp-tunnel-request', force: true });
    forced.deliver(haReply(req, { code: 142 }));
    expect(forced.events()).toEqual([expect.objectContaining({ state: 'denied', code: 142 })]);
  });
});

describe('registration: lifetime, move, deregistration', () => {
  it('re-registers at 80 % of the granted lifetime counted from sending, and reports expiry if that fails', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const req = r.request();
    r.advance(500);
    r.deliver(haReply(req, { lifetime: 100 }));
    r.events();
    expect(r.client.nextTimeout()).toBe(1_000_000 + 80_000);
    r.advance(79_499);
    expect(r.transmits()).toEqual([]);
    r.advance(1);
    expect(r.request().careOfAddress).toBe(COA);
    for (const gap of [1000, 2000, 4000, 8000]) {
      expect(r.step()).toBe(gap);
      r.transmits();
    }
    expect(r.events()).toEqual([]);
    r.step();
    expect(r.events()).toEqual([{ type: 'registration', state: 'expired', coa: COA, lifetime: 0, tnc: false }]);
  });

  it('move re-registers at once and a late reply to the old request is not believed', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    const old = r.request();
    r.advance(300);
    r.command({ type: 'move', coa: '203.0.113.9' });
    const moved = r.request();
    expect(moved.careOfAddress).toBe('203.0.113.9');
    // <-- late RRP for the old CoA
    r.deliver(haReply(old));
    expect(r.events()).toEqual([]);
    expect(r.client.stats.dropped.id).toBe(1);
    r.deliver(haReply(moved));
    expect(r.events()).toEqual([expect.objectContaining({ state: 'accepted', coa: '203.0.113.9' })]);
  });

  it('deregisters with lifetime 0 and CoA = HoA, then stops every timer', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 0, keepalive: 20 } }));
    r.events();
    r.command({ type: 'deregister' });
    const dereg = r.request();
    expect(dereg).toMatchObject({ lifetime: 0, careOfAddress: HOA, homeAddress: HOA });
    expect(dereg.extensions.map((e) => e.kind)).toEqual(['nai', 'auth']);
    r.deliver(haReply(dereg));
    expect(r.events()).toEqual([{ type: 'registration', state: 'deregistered', coa: HOA, lifetime: 0, tnc: false }]);
    expect(r.client.nextTimeout()).toBeUndefined();
    expect(r.client.binding).toBeUndefined();
  });
});

describe('registration: RFC 3519 keepalives', () => {
  function keepaliveEcho(t: RegistrationTransmit): { id: number; seq: number } {
    expect(t.keepalive).toBe(true);
    const td = decodeTunnelData(t.bytes);
    expect(td.nextHeader).toBe(4);
    const ip = decodeIpv4Header(td.payload);
    expect(ip).toMatchObject({ src: HOA, dst: HA, protocol: IpProto.Icmp });
    const e = decodeIcmpEcho(ipv4Payload(td.payload, ip));
    expect(e.type).toBe(8);
    return e;
  }
  function echoReply(e: { id: number; seq: number }): Uint8Array {
    const icmp = encodeIcmpEcho({ type: 0, id: e.id, seq: e.seq, data: new Uint8Array(0) });
    return encodeTunnelData({ nextHeader: 4, payload: encodeIpv4({ src: HA, dst: HOA, protocol: IpProto.Icmp }, icmp) });
  }

  it('sends a keepalive K s after the last packet to the HA, retries, and is satisfied by the echo reply', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 0, keepalive: 30 } }));
    r.events();
    expect(r.client.nextTimeout()).toBe(1_000_000 + 30_000);
    r.advance(10_000);
    r.client.handleDataSent(r.clock.now());
    expect(r.client.nextTimeout()).toBe(1_000_000 + 40_000);
    expect(r.step()).toBe(30_000);
    const first = keepaliveEcho(r.transmits()[0]!);
    expect(r.step()).toBe(5_000);
    const second = keepaliveEcho(r.transmits()[0]!);
    expect(second.seq).toBe(first.seq + 1);
    // <-- echo reply inside tunnel data
    r.deliver(echoReply(second));
    expect(r.client.stats.keepaliveReplies).toBe(1);
    expect(r.step()).toBe(30_000);
    expect(r.transmits()).toHaveLength(1);
  });

  it('with GRE accepted, keepalives and their replies travel as GRE inside tunnel data (Next Header 47)', () => {
    const r = new Rig({ encapsulation: 'gre' });
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 0, keepalive: 30 } }));
    expect(r.events()[0]).toMatchObject({ state: 'accepted', udpTunnel: true, encapsulation: 'gre' });
    r.step();
    const t = r.transmits()[0]!;
    expect(t.keepalive).toBe(true);
    const td = decodeTunnelData(t.bytes);
    expect([td.nextHeader, ...td.payload.subarray(0, 4)]).toEqual([47, 0, 0, 8, 0]);
    const ip = td.payload.subarray(4);
    const e = decodeIcmpEcho(ipv4Payload(ip, decodeIpv4Header(ip)));
    const icmp = encodeIcmpEcho({ type: 0, id: e.id, seq: e.seq, data: new Uint8Array(0) });
    const reply = encodeIpv4({ src: HA, dst: HOA, protocol: IpProto.Icmp }, icmp);
    // IP-in-UDP is not this binding's format: not an answer
    r.deliver(encodeTunnelData({ nextHeader: 4, payload: reply }));
    expect(r.client.stats.keepaliveReplies).toBe(0);
    r.deliver(encodeTunnelData({ nextHeader: 47, payload: concatBytes(Uint8Array.of(0, 0, 8, 0), reply) }));
    expect(r.client.stats.keepaliveReplies).toBe(1);
  });

  it('re-registers after three unanswered keepalives', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 0, keepalive: 30 } }));
    r.events();
    for (let i = 0; i < 3; i++) {
      r.step();
      keepaliveEcho(r.transmits()[0]!);
    }
    r.step();
    expect(r.events()).toEqual([{ type: 'keepalive-lost', unanswered: 3 }]);
    expect(r.request().careOfAddress).toBe(COA);
  });

  it('uses the default K when the reply says 0 and never goes below 10 s', () => {
    const r = new Rig({ keepaliveSeconds: 110 });
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 0, keepalive: 0 } }));
    expect(r.events()[0]).toMatchObject({ keepaliveSeconds: 110 });
    const s = new Rig();
    s.command({ type: 'register', coa: COA });
    s.deliver(haReply(s.request(), { udp: { code: 0, keepalive: 3 } }));
    expect(s.events()[0]).toMatchObject({ keepaliveSeconds: 10 });
    expect(s.client.nextTimeout()).toBe(1_000_000 + 10_000);
  });

  it('ignores an echo reply that is not ours', () => {
    const r = new Rig();
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request(), { udp: { code: 0, keepalive: 30 } }));
    r.step();
    const e = keepaliveEcho(r.transmits()[0]!);
    const foreign = decodeTunnelData(echoReply({ id: e.id ^ 1, seq: e.seq })).payload;
    expect(r.client.handleKeepaliveReply(foreign, r.clock.now())).toBe(false);
    expect(r.client.handleKeepaliveReply(Uint8Array.of(1, 2, 3), r.clock.now())).toBe(false);
    expect(r.client.handleKeepaliveReply(decodeTunnelData(echoReply(e)).payload, r.clock.now())).toBe(true);
    expect(r.client.stats.keepaliveReplies).toBe(1);
  });
});

describe("the engine's registration clients (engineCores)", () => {
  it('the detection probe and the driver draw from one identification sequence: the later request is newer, in the same millisecond too', () => {
    for (const replayProtection of ['timestamp', 'nonce'] as const) {
      const profile = parseProfile({ homeAddress: HOA, homeAgent: HA, mnHaAuth: { spi: SPI, key: 'hex:00112233445566778899aabbccddeeff' }, mip: { replayProtection } });
      const cores = engineCores(profile, seededRng());
      const probe = cores(profile, { localPort: 0 });
      const driver = cores(profile, { localPort: 0 });
      probe.handleCommand({ type: 'register', coa: COA }, 0, WALL0);
      driver.handleCommand({ type: 'register', coa: COA }, 0, WALL0);
      const first = decodeRegistrationRequest(probe.pollTransmit()!.bytes).identification;
      const second = decodeRegistrationRequest(driver.pollTransmit()!.bytes).identification;
      if (replayProtection === 'timestamp') expect(second > first, `${second} > ${first}`).toBe(true);
      else expect(second).not.toBe(first);
    }
    // two separate factories (what the engine had before): the second can be the older one
    const profile = parseProfile({ homeAddress: HOA, homeAgent: HA, mnHaAuth: { spi: SPI, key: 'hex:00112233445566778899aabbccddeeff' } });
    let older = 0;
    for (let i = 0; i < 16; i++) {
      const a = engineCores(profile, seededRng(100 + i))(profile, { localPort: 0 });
      const b = engineCores(profile, seededRng(200 + i))(profile, { localPort: 0 });
      a.handleCommand({ type: 'register', coa: COA }, 0, WALL0);
      b.handleCommand({ type: 'register', coa: COA }, 0, WALL0);
      if (decodeRegistrationRequest(b.pollTransmit()!.bytes).identification < decodeRegistrationRequest(a.pollTransmit()!.bytes).identification) older++;
    }
    expect(older).toBeGreaterThan(0);
  });
});

describe('createRegistrationCore (the factory app/cli/mip.ts loads)', () => {
  it('builds a client from a profile that satisfies the driver contract', () => {
    const profile = parseProfile({
      homeAddress: HOA, homeAgent: HA, nai: 'mn@example.org', mnHaAuth: { spi: SPI, key: 'hex:00112233445566778899aabbccddeeff' },
      mip: { encapsulation: 'ipip', udpTunnel: 'force', lifetimeSeconds: 900 },
    });
    const factory: CoreFactory = (p, o) => createRegistrationCore(p, o, seededRng());
    const core = factory(profile, { localPort: 40000 });
    core.handleCommand({ type: 'register', coa: COA }, 0, WALL0);
    const req = decodeRegistrationRequest(core.pollTransmit()!.bytes);
    expect(req).toMatchObject({ lifetime: 900, homeAddress: HOA, homeAgent: HA });
    expect(req.extensions[1]).toMatchObject({ kind: 'udp-tunnel-request', force: true, encapsulation: 4 });
    expect(() => createRegistrationCore(parseProfile({ homeAddress: HOA, homeAgent: HA }), { localPort: 1 })).toThrow(/mnHaAuth/);
  });
});

describe('registration: nonce-based replay protection (RFC 5944 §5.7.2)', () => {
  it('starts with nonce 0, takes the HA\'s nonce from its 133, then from every authenticated reply; low 32 bits are fresh random', () => {
    const r = new Rig({ replayProtection: 'nonce', udpTunnel: 'off' });
    r.command({ type: 'register', coa: COA });
    const first = r.request();
    expect(first.identification >> 32n).toBe(0n);
    r.deliver(haReply(first, { code: 133, identification: (0xabcdn << 32n) | (first.identification & 0xffffffffn) }));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration-resync', replayProtection: 'nonce', offsetSeconds: 0 })]);
    const second = r.request();
    expect(second.identification >> 32n).toBe(0xabcdn);
    expect(second.identification & 0xffffffffn).not.toBe(first.identification & 0xffffffffn);
    r.deliver(haReply(second, { identification: (0x1234n << 32n) | (second.identification & 0xffffffffn) }));
    expect(r.events()[0]).toMatchObject({ state: 'accepted' });
    r.command({ type: 'move', coa: '192.0.2.8' });
    expect(r.request().identification >> 32n).toBe(0x1234n);
  });

  it('parses mip.replayProtection from the profile and names the field when it is wrong', () => {
    const base = { homeAddress: HOA, homeAgent: HA, mnHaAuth: { spi: SPI, key: 'hex:00112233445566778899aabbccddeeff' } };
    expect(parseProfile({ ...base }).mip.replayProtection).toBe('timestamp');
    expect(parseProfile({ ...base, mip: { replayProtection: 'nonce' } }).mip.replayProtection).toBe('nonce');
    expect(() => parseProfile({ ...base, mip: { replayProtection: 'counter' } })).toThrow(/mip\.replayProtection/);
  });
});

describe('registration: refresh of a binding suspected lost (issue 18)', () => {
  it('re-registers at once with a fresh identification, retransmits after 200, 400, 800, 1000 … ms, and reports its timeout only after refreshTries', () => {
    const r = new Rig({ udpTunnel: 'off', maxTries: 3 });
    r.command({ type: 'register', coa: COA });
    const first = r.request();
    r.deliver(haReply(first));
    expect(r.events()[0]).toMatchObject({ state: 'accepted' });
    r.advance(5000);
    // the home agent restarted: nothing answers any more
    r.command({ type: 'refresh', coa: COA });
    const refresh = r.request();
    expect(refresh.identification > first.identification).toBe(true);
    expect(refresh.careOfAddress).toBe(COA);
    expect(refresh.lifetime).toBe(600);
    const gaps: number[] = [];
    for (let i = 0; i < 9; i++) {
      gaps.push(r.step());
      r.request();
    }
    expect(gaps).toEqual([200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000]);
    // the binding is kept while the refresh runs its course (the controller would detect again on a timeout)
    expect(r.events()).toEqual([]);
    expect(r.client.binding).toMatchObject({ coa: COA });
    // the 10th request went unanswered: timeout, then the ordinary back-off
    expect(r.step()).toBeGreaterThan(1000);
    expect(r.events()).toEqual([{ type: 'registration', state: 'timeout', coa: COA, lifetime: 0, tnc: false }]);
  });

  it('an answer to a refresh retransmission brings the binding back: accepted, 80 % re-registration re-armed', () => {
    const r = new Rig({ udpTunnel: 'off', lifetimeSeconds: 20 });
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request()));
    r.events();
    r.command({ type: 'refresh', coa: COA });
    r.request();
    expect([r.step(), r.step()]).toEqual([200, 400]);
    const [, third] = r.transmits().map((t) => decodeRegistrationRequest(t.bytes));
    if (!third) throw new Error('no third request');
    r.deliver(haReply(third));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration', state: 'accepted', coa: COA, lifetime: 20 })]);
    expect(r.client.pending).toBe(false);
    expect(r.step()).toBe(16_000);
  });

  it('a restarted home agent using nonces answers 133 with a new nonce: resynchronised and sent again at once, then accepted', () => {
    const r = new Rig({ replayProtection: 'nonce', udpTunnel: 'off' });
    r.command({ type: 'register', coa: COA });
    const first = r.request();
    r.deliver(haReply(first, { code: 133, identification: (0x1111n << 32n) | (first.identification & 0xffffffffn) }));
    r.events();
    const second = r.request();
    r.deliver(haReply(second, { identification: (0x2222n << 32n) | (second.identification & 0xffffffffn) }));
    expect(r.events()[0]).toMatchObject({ state: 'accepted' });
    // the HA restarted: it has issued no nonce to us any more
    r.advance(3000);
    r.command({ type: 'refresh', coa: COA });
    const stale = r.request();
    expect(stale.identification >> 32n).toBe(0x2222n);
    r.deliver(haReply(stale, { code: 133, identification: (0x3333n << 32n) | (stale.identification & 0xffffffffn) }));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration-resync', replayProtection: 'nonce' })]);
    // no wait: the next request is already out, with the HA's new nonce
    const fresh = r.request();
    expect(fresh.identification >> 32n).toBe(0x3333n);
    r.deliver(haReply(fresh, { identification: (0x4444n << 32n) | (fresh.identification & 0xffffffffn) }));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration', state: 'accepted' })]);
  });

  it('a restarted home agent whose clock differs answers 133: the same, with timestamps', () => {
    const r = new Rig({ udpTunnel: 'off' });
    r.command({ type: 'register', coa: COA });
    r.deliver(haReply(r.request()));
    r.events();
    r.command({ type: 'refresh', coa: COA });
    const req = r.request();
    const haSeconds = ntpSecondsOf(WALL0) + 60;
    r.deliver(haReply(req, { code: 133, identification: (BigInt(haSeconds) << 32n) | (req.identification & 0xffffffffn) }));
    expect(r.events()).toEqual([expect.objectContaining({ type: 'registration-resync', offsetSeconds: 60 })]);
    const again = r.request();
    expect(Number(again.identification >> 32n)).toBe(haSeconds);
    r.deliver(haReply(again));
    expect(r.events()[0]).toMatchObject({ state: 'accepted' });
  });
});
