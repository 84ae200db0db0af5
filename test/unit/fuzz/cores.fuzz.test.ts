/**
 * Fuzzing the protocol cores' datagram handlers: the IKE SA (waiting for the
 * IKE_SA_INIT response; established, with forged requests and forged
 * responses sealed with the real keys), the MIP registration client (a
 * request pending) and agent discovery. The property: the handler never
 * throws — a bad datagram is counted and dropped — and the core stays
 * usable: afterwards the genuine reply is still accepted (or the peer's
 * genuine request still answered). ESP's open is in esp-sk.fuzz.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../../app/base/bytes.ts';
import { openMessage, sealMessage, type Session } from '../../../app/ikev2/session.ts';
import { AgentDiscovery } from '../../../app/mip4/agent-discovery.ts';
import { RegistrationClient, type RegistrationConfig } from '../../../app/mip4/registration.ts';
import { DhId, ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../app/wire/ikev2/constants.ts';
import { decodeMessage, encodeMessage } from '../../../app/wire/ikev2/message.ts';
import type { Payload } from '../../../app/wire/ikev2/payload.ts';
import { makeNotify } from '../../../app/wire/ikev2/payloads/notify.ts';
import { internetChecksum } from '../../../app/wire/ip/checksum.ts';
import { encodeAgentAdvertisement } from '../../../app/wire/mip4/agent-advertisement.ts';
import { appendMnHaAuth } from '../../../app/wire/mip4/auth.ts';
import { AdvFlag, Encapsulation } from '../../../app/wire/mip4/constants.ts';
import { encodeRegistrationReply, type RegistrationReply } from '../../../app/wire/mip4/registration-reply.ts';
import { decodeRegistrationRequest } from '../../../app/wire/mip4/registration-request.ts';
import { encodeTunnelData } from '../../../app/wire/mip4/tunnel-data.ts';
import { IkePair, seededRandom } from '../../harness/ike-pair.ts';
import { assertFast, CORE_RUNS, FUZZ_TIMEOUT_MS, inputs, mutate, Tally } from './kit.ts';
import { authWaitingInitiator, drain, onPath, droppedTotal, genuineAuthResponse, genuineInitResponse, NOW, path500, pendingInitiator } from './rigs.ts';
import { PAYLOADS } from './samples.ts';

// ── payload-level edits of a genuine message (decoded, edited, re-encoded) ──

const bytesOf = (lengths: number[]) => fc.oneof(fc.constantFrom(...lengths), fc.integer({ min: 0, max: 300 }))
  .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

const extraPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.constantFrom(...PAYLOADS),
  fc.record({ g: fc.constantFrom(DhId.Curve25519, DhId.Ecp256, DhId.Modp2048, 0, 99), data: bytesOf([0, 1, 31, 32, 33, 64, 65, 255, 256]) })
    .map(({ g, data }): Payload => ({ type: PayloadType.KE, group: g, data })),
  bytesOf([16, 32, 256]).filter((d) => d.length >= 16 && d.length <= 256).map((data): Payload => ({ type: PayloadType.Nonce, data })),
  fc.record({ t: fc.constantFrom(NotifyType.Cookie, NotifyType.InvalidKePayload, NotifyType.NoProposalChosen, NotifyType.RekeySa, NotifyType.UpdateSaAddresses,
    NotifyType.NatDetectionSourceIp, NotifyType.NatDetectionDestinationIp, NotifyType.AuthenticationFailed, NotifyType.Cookie2, NotifyType.AdditionalIp4Address,
    NotifyType.MobikeSupported, NotifyType.NoAdditionalAddresses, 16390, 1, 7), data: bytesOf([0, 2, 4, 8, 20, 64]), spi: fc.constantFrom(0, 4, 8) })
    .map(({ t, data, spi }) => makeNotify(t, data, spi === 4 ? ProtocolId.ESP : ProtocolId.None, new Uint8Array(spi).fill(0xc0))),
  fc.record({ p: fc.constantFrom(ProtocolId.IKE, ProtocolId.ESP), n: fc.integer({ min: 0, max: 3 }) })
    .map(({ p, n }): Payload => ({ type: PayloadType.Delete, protocol: p, spis: p === ProtocolId.IKE ? [] : Array.from({ length: n }, (_, i) => Uint8Array.of(0xc0, 0, 0, i + 1)) })),
);

type Edit = { op: 'drop' | 'dup'; at: number } | { op: 'insert'; at: number; p: Payload } | { op: 'replace'; at: number; p: Payload };
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constantFrom('drop' as const, 'dup' as const), at: fc.nat(20) }),
  fc.record({ op: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(20), p: extraPayload }),
);

function applyEdits(base: readonly Payload[], edits: readonly Edit[]): Payload[] {
  const ps = [...base];
  for (const e of edits) {
    const i = ps.length === 0 ? 0 : e.at % ps.length;
    if (e.op === 'drop') ps.splice(i, 1);
    else if (e.op === 'dup' && ps[i]) ps.splice(i, 0, ps[i]!);
    else if (e.op === 'insert') ps.splice(i, 0, e.p);
    else if (e.op === 'replace') ps.splice(i, 1, e.p);
  }
  return ps;
}

const editsArb = fc.array(edit, { minLength: 1, maxLength: 4 });

// ── IKE SA waiting for the IKE_SA_INIT response ──

describe('fuzz: IKE SA handleDatagram (app/ikev2/ike-sa.ts)', () => {
  it('waiting for the IKE_SA_INIT response: never throws; the genuine response is still accepted', () => {
    const genuine = genuineInitResponse();
    const g = decodeMessage(genuine);
    const rebuilt = (edits: Edit[]) => encodeMessage(g.header, applyEdits(g.payloads, edits));
    const arb = fc.oneof(
      { weight: 2, arbitrary: inputs({ genuine: [genuine], maxRandomLength: 200 }) },
      { weight: 2, arbitrary: editsArb.map(rebuilt) },
    );
    const tally = new Tally('core ike-sa awaiting IKE_SA_INIT');
    let sa = pendingInitiator();
    let checks = 0;
    const accepts = (): void => {
      // the genuine response moves the SA on: it sends IKE_AUTH
      sa.handleDatagram({ ...path500, bytes: genuine }, NOW + 1);
      expect(sa.state).toBe('connecting');
      expect(drain(sa)).toBe(true);
      checks++;
      sa = pendingInitiator();
    };
    assertFast(fc.property(arb, (bytes) => {
      tally.runs++;
      const before = droppedTotal(sa);
      sa.handleDatagram({ ...path500, bytes }, NOW + 1);
      const sent = drain(sa);
      if (droppedTotal(sa) > before) tally.rejected++;
      else tally.accepted++;
      if (sent || sa.state !== 'connecting') sa = pendingInitiator(); // it moved on (or gave up): start again
      else if (tally.runs % 250 === 0) accepts();
    }), CORE_RUNS);
    tally.record();
    accepts();
    expect(checks).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT_MS);

  it('waiting for the IKE_AUTH response: forged and authentic-but-hostile responses never throw; the genuine one still completes it', () => {
    const { bytes: genuine, pair } = genuineAuthResponse();
    const probe = authWaitingInitiator();
    const opened = openMessage(probe.session, genuine);
    if (!opened.ok) throw new Error(`cannot open the genuine IKE_AUTH response: ${opened.reason}`);
    const inner = opened.msg.payloads;
    const gw = pair.responder.session!;
    const random = seededRandom('fuzz-auth');
    const arb = fc.oneof(
      { weight: 1, arbitrary: inputs({ genuine: [genuine], maxRandomLength: 200 }) },
      { weight: 3, arbitrary: editsArb.map((edits) => sealMessage(gw, ExchangeType.IkeAuth, 1, true, applyEdits(inner, edits), random)) },
    );
    const tally = new Tally('core ike-sa awaiting IKE_AUTH');
    let sa = authWaitingInitiator();
    const completes = (): void => {
      sa.handleDatagram(onPath(sa, genuine), NOW + 2);
      expect(sa.state).toBe('established');
      sa = authWaitingInitiator();
    };
    assertFast(fc.property(arb, (bytes) => {
      tally.runs++;
      const before = droppedTotal(sa);
      sa.handleDatagram(onPath(sa, bytes), NOW + 2);
      drain(sa);
      if (droppedTotal(sa) > before) tally.rejected++;
      else tally.accepted++;
      if (sa.state !== 'connecting' || !sa.session.outstanding) sa = authWaitingInitiator(); // established or failed: start again
      else if (tally.runs % 250 === 0) completes();
    }), Math.max(300, Math.floor(CORE_RUNS / 4)));
    tally.record();
    completes();
  }, FUZZ_TIMEOUT_MS);

  it('established: forged and authentic-but-hostile requests and responses never throw; the SA keeps answering', () => {
    let pair = established();
    let session = pair.sa.session;
    const tally = new Tally('core ike-sa established');
    const exchanges = [ExchangeType.Informational, ExchangeType.CreateChildSa, ExchangeType.IkeAuth, ExchangeType.IkeSaInit];
    const requestBodies: Payload[][] = [
      [],
      [makeNotify(NotifyType.UpdateSaAddresses)],
      [{ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [Uint8Array.of(0xc0, 0, 0, 1)] }],
    ];
    type In =
      | { kind: 'bytes'; bytes: Uint8Array }
      | { kind: 'request'; exchange: ExchangeType; base: number; edits: Edit[]; mutations: number[] }
      | { kind: 'response'; command: 'dpd-now' | 'rekey-child' | 'rekey-ike'; edits: Edit[] };
    const arb: fc.Arbitrary<In> = fc.oneof(
      inputs({ genuine: [], maxRandomLength: 160 }).map((bytes): In => ({ kind: 'bytes', bytes })),
      fc.record({ kind: fc.constant('request' as const), exchange: fc.constantFrom(...exchanges), base: fc.nat(requestBodies.length - 1), edits: editsArb,
        mutations: fc.array(fc.nat(), { maxLength: 2 }) }),
      fc.record({ kind: fc.constant('response' as const), command: fc.constantFrom('dpd-now' as const, 'rekey-child' as const, 'rekey-ike' as const), edits: editsArb }),
    );
    const random = seededRandom('fuzz-gateway');
    const gw = (): Session => pair.responder.session!;
    const answers = (): void => {
      // a genuine request from the gateway (an empty INFORMATIONAL, i.e. a liveness check) is still answered
      const s = pair.sa.session;
      const req = sealMessage(gw(), ExchangeType.Informational, s.peerNextId, false, [], random);
      pair.sa.handleDatagram(onPath(pair.sa, req), pair.clock.now());
      expect(drain(pair.sa)).toBe(true);
    };
    assertFast(fc.property(arb, (x) => {
      tally.runs++;
      const sa = pair.sa;
      const before = droppedTotal(sa);
      let bytes: Uint8Array;
      if (x.kind === 'bytes') bytes = x.bytes;
      else if (x.kind === 'request') {
        bytes = sealMessage(gw(), x.exchange, sa.session.peerNextId, false, applyEdits(requestBodies[x.base]!, x.edits), random);
        // a few header bit flips of an otherwise authentic message
        if (x.mutations.length > 0) bytes = mutate(bytes, x.mutations.map((m) => ({ op: 'flip', at: (m % 28) / bytes.length, bit: m % 8 })));
      } else {
        if (!sa.session.outstanding) {
          sa.handleCommand({ type: x.command }, pair.clock.now());
          drain(sa);
        }
        const out = sa.session.outstanding;
        if (!out) return; // nothing to answer (e.g. no Child SA to rekey)
        const base: Payload[] = out.exchange === ExchangeType.CreateChildSa
          ? (x.command === 'rekey-ike' ? [PAYLOADS[0]!, PAYLOADS[8]!, PAYLOADS[1]!] : [PAYLOADS[0]!, PAYLOADS[8]!, PAYLOADS[15]!, PAYLOADS[16]!])
          : [];
        bytes = sealMessage(gw(), out.exchange, out.messageId, true, applyEdits(base, x.edits), random);
      }
      sa.handleDatagram(onPath(pair.sa, bytes), pair.clock.now());
      drain(sa);
      if (droppedTotal(sa) > before) tally.rejected++;
      else tally.accepted++;
      if (sa.state !== 'established' || sa.session !== session || !equalBytes(sa.session.spiR, gw().spiR)) {
        pair = established(); // closed, deleted or rekeyed away from our test gateway: start again
        session = pair.sa.session;
      } else if (tally.runs % 200 === 0) answers();
    }), CORE_RUNS);
    tally.record();
    answers();
  }, FUZZ_TIMEOUT_MS);
});

function established(): IkePair {
  const pair = new IkePair();
  pair.command({ type: 'connect' });
  if (pair.sa.state !== 'established') throw new Error(`pair not established: ${pair.sa.state}`);
  drain(pair.sa);
  return pair;
}


// ── MIP registration client with a request pending ──

const KEY = new Uint8Array(16).map((_, i) => 0x30 + i);
const SPI = 0x1000;
const HOA = '10.1.0.10';
const HA = '10.1.0.1';
const COA = '192.0.2.7';
const WALL = Date.UTC(2026, 0, 1);

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

function pendingClient(): { client: RegistrationClient; reply: Omit<RegistrationReply, 'extensions'> } {
  const cfg: RegistrationConfig = {
    homeAddress: HOA, homeAgent: HA, nai: 'mn@example.org', spi: SPI, key: KEY, lifetimeSeconds: 600,
    reverseTunnel: true, encapsulation: 'ip-in-ip', udpTunnel: 'request', rng: seededRng(),
  };
  const client = new RegistrationClient(cfg);
  client.handleCommand({ type: 'register', coa: COA }, NOW, WALL);
  const t = client.pollTransmit();
  if (!t) throw new Error('no RRQ');
  while (client.pollTransmit());
  const req = decodeRegistrationRequest(t.bytes);
  return { client, reply: { code: 0, lifetime: 600, homeAddress: req.homeAddress, homeAgent: req.homeAgent, identification: req.identification } };
}

describe('fuzz: MIP registration client handleDatagram (app/mip4/registration.ts)', () => {
  it('a request pending: random, mutated and re-signed mutant replies never throw; the genuine reply is still accepted', () => {
    let { client, reply } = pendingClient();
    const body = encodeRegistrationReply({ ...reply, extensions: [{ kind: 'udp-tunnel-reply', code: 0, forced: false, keepaliveSeconds: 110 }, { kind: 'tnc' }] });
    const genuine = appendMnHaAuth(body, SPI, KEY);
    const denied = appendMnHaAuth(encodeRegistrationReply({ ...reply, code: 130, extensions: [] }), SPI, KEY);
    const tunnel = encodeTunnelData({ nextHeader: Encapsulation.IpInIp, payload: new Uint8Array(28).fill(0x45) });
    const arb = fc.oneof(
      { weight: 2, arbitrary: inputs({ genuine: [genuine, denied, tunnel], maxRandomLength: 96 }) },
      // authentic mutants: the body is mutated, then signed with the real key, so everything after the authenticator check runs
      { weight: 2, arbitrary: inputs({ genuine: [body], maxRandomLength: 0 }).map((b) => appendMnHaAuth(b, SPI, KEY)) },
    );
    const tally = new Tally('core mip4 registration (pending)');
    let checks = 0;
    const accepts = (): void => {
      client.handleDatagram(genuine, { address: HA, port: 434 }, NOW + 10, WALL + 10);
      expect(client.binding).toMatchObject({ coa: COA, lifetime: 600 });
      checks++;
      ({ client, reply } = pendingClient());
    };
    const droppedOf = (c: RegistrationClient): number => Object.values(c.stats.dropped).reduce((a, n) => a + n, 0);
    assertFast(fc.property(arb, (bytes) => {
      tally.runs++;
      const before = droppedOf(client);
      client.handleDatagram(bytes, { address: HA, port: 434 }, NOW + 10, WALL + 10);
      while (client.pollTransmit());
      while (client.pollEvent());
      if (droppedOf(client) > before) tally.rejected++;
      else tally.accepted++;
      if (!client.pending) ({ client, reply } = pendingClient()); // answered (accepted or denied): start again
      else if (tally.runs % 250 === 0) accepts();
    }), CORE_RUNS);
    tally.record();
    accepts();
    expect(checks).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT_MS);
});

// ── agent discovery ──

function fixIcmp(b: Uint8Array): Uint8Array {
  if (b.length < 4) return b;
  b[2] = 0;
  b[3] = 0;
  const c = internetChecksum(b);
  b[2] = c >> 8;
  b[3] = c & 0xff;
  return b;
}

describe('fuzz: agent discovery handleAdvertisement (app/mip4/agent-discovery.ts)', () => {
  it('never throws; a genuine advertisement is still believed afterwards', () => {
    const adv = (seq: number): Uint8Array => encodeAgentAdvertisement({
      code: 16, lifetime: 30, routers: [{ address: '198.51.100.1', preference: 0 }], prefixLengths: [24], others: [],
      mobility: { sequence: seq, registrationLifetime: 600, flags: AdvFlag.ForeignAgent | AdvFlag.ReverseTunnel, careOfAddresses: ['198.51.100.1'] },
    });
    const d = new AgentDiscovery({ rng: (n) => new Uint8Array(n) });
    d.handleInterfaceUp('eth0', NOW);
    const sources = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '203.0.113.9'];
    const tally = new Tally('core mip4 agent discovery');
    let now = NOW;
    const arb = fc.tuple(inputs({ genuine: [adv(1), adv(300)], fixup: fixIcmp, maxRandomLength: 80 }), fc.nat(sources.length - 1), fc.nat(3000));
    assertFast(fc.property(arb, ([bytes, src, dt]) => {
      tally.runs++;
      const before = d.stats.ignored.malformed + d.stats.ignored.notAgent + d.stats.ignored.invalid;
      now += dt;
      d.handleAdvertisement(bytes, sources[src]!, 'eth0', now);
      d.handleTimeout(now);
      while (d.pollEvent());
      while (d.pollTransmit());
      const after = d.stats.ignored.malformed + d.stats.ignored.notAgent + d.stats.ignored.invalid;
      if (after > before) tally.rejected++;
      else tally.accepted++;
    }), CORE_RUNS);
    tally.record();
    d.handleAdvertisement(adv(7), '192.0.2.99', 'eth0', now);
    const events = [];
    for (let e = d.pollEvent(); e; e = d.pollEvent()) events.push(e);
    expect(events).toContainEqual(expect.objectContaining({ type: 'agent-up', iface: 'eth0' }));
    expect(d.agentsOn('eth0').map((a) => a.address)).toContain('192.0.2.99');
  }, FUZZ_TIMEOUT_MS);
});
