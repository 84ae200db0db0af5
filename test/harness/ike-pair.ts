/**
 * Two IKE peers on a ManualClock (strongSwan's exchange_test_helper, quinn's
 * Pair): our IkeSa as initiator and a deliberately tiny test-only responder
 * built from the same codecs and crypto. The responder knows just enough of
 * RFC 7296 to answer IKE_SA_INIT (optionally demanding a COOKIE, another DH
 * group, or refusing), IKE_AUTH with a PSK, and INFORMATIONAL; it can also
 * start an INFORMATIONAL itself. Randomness is deterministic (seeded).
 * With `mobike` it also announces MOBIKE_SUPPORTED and its additional
 * addresses and answers UPDATE_SA_ADDRESSES (RFC 4555 §3.5) from the
 * addresses it sees, NAT included (IkePair.natFor, IkePair.blocked).
 *
 * It rekeys too (Child and IKE SA), and when its rekey and ours cross it
 * does what RFC 7296 §2.8.1/§2.8.2 asks of a peer: answers ours, compares
 * the four nonces when its own is answered, and sends the DELETE that falls
 * to it (queued in `outbox`, delivered by IkePair.drive). Its nonces can be
 * pinned (ResponderOptions.nonces) so a test decides who wins. It keeps its
 * Child SAs (`children`) so tests can check both sides' traffic keys.
 *
 * Every datagram crossing the pair is logged as a WireRecord so tests can
 * be written as exchange diagrams.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { Writer, bytesToHex, concatBytes, equalBytes, fromUtf8, utf8 } from '../../app/base/bytes.ts';
import { ipv4ToBytes } from '../../app/base/ipv4.ts';
import { createDh, natdHash, prf, pskAuth } from '../../app/ikev2/crypto-adapter.ts';
import type { CipherSuite, Random } from '../../app/ikev2/crypto-adapter.ts';
import { IkeSa } from '../../app/ikev2/ike-sa.ts';
import { deriveChildKeys, deriveIkeKeys, initialSkeyseed, rekeySkeyseed } from '../../app/ikev2/keymat.ts';
import { findNotify, first } from '../../app/ikev2/notifies.ts';
import { parseProposals } from '../../app/ikev2/proposal-string.ts';
import { newSession, openMessage, plainMessage, sealMessage } from '../../app/ikev2/session.ts';
import type { Session } from '../../app/ikev2/session.ts';
import { espSuiteOf, ikeSuiteOf, selectProposal } from '../../app/ikev2/suite.ts';
import type { Endpoint, EspKeys, IkeSaConfig, Transmit } from '../../app/ikev2/types.ts';
import { peerAddressList } from '../../app/ikev2/tasks/ike-mobike.ts';
import { idFor } from '../../app/ikev2/tasks/ike-auth.ts';
import { tsPayload } from '../../app/ikev2/tasks/child-create.ts';
import { AuthMethod, CfgAttr, CfgType, ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../app/wire/ikev2/constants.ts';
import { decodeMessage } from '../../app/wire/ikev2/message.ts';
import type { Payload } from '../../app/wire/ikev2/payload.ts';
import { encodeIdBody } from '../../app/wire/ikev2/payloads/id.ts';
import { additionalIp4Notify, cookieNotify, decodeNoNatsAllowedData, invalidKeNotify, natDetectionNotify } from '../../app/wire/ikev2/payloads/notify-data.ts';
import { makeNotify } from '../../app/wire/ikev2/payloads/notify.ts';
import { ManualClock } from './manual-clock.ts';
import { EapCode, EapType, decodeEap, encodeEap } from '../../app/eap/eap-message.ts';
import { generateAuthenticatorResponse, generateNtResponse, mschapv2Msk } from '../../app/eap/mschapv2-crypto.ts';

/** Deterministic bytes: SHA-256 in counter mode over a seed. */
export function seededRandom(seed: string): Random {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const block = sha256(new TextEncoder().encode(`${seed}:${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

export const CLIENT = '192.0.2.2';
export const GATEWAY = '192.0.2.1';
export const PSK = new TextEncoder().encode('pair-psk');

export function clientConfig(over: Partial<IkeSaConfig> = {}): IkeSaConfig {
  return {
    gateway: GATEWAY, localAddr: CLIENT, ikePort: 500, nattPort: 4500, remotePort: 500,
    localId: 'mn@example', remoteId: 'gw.example', psk: PSK,
    ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16',
    remoteTs: [{ addr: '10.10.0.0', len: 16 }], requestDns: true,
    retransmitBaseMs: 1000, retransmitTries: 3, dpdSeconds: 30, natKeepaliveSeconds: 20, mobike: false,
    ...over,
  };
}

export interface ResponderOptions {
  psk?: Uint8Array;
  ike?: string;
  esp?: string;
  demandCookie?: boolean;
  /** answer INVALID_KE_PAYLOAD unless KEi uses this group */
  wantGroup?: number;
  refuse?: boolean;
  /** pretend a NAT rewrote the client's address to this one */
  natPublicAddr?: string;
  tia?: string;
  silent?: boolean;
  /** MOBIKE: announce MOBIKE_SUPPORTED (+ these additional addresses) and answer UPDATE_SA_ADDRESSES */
  mobike?: boolean;
  additional?: string[];
  /** UPDATE_SA_ADDRESSES from these client addresses or "client>gateway" pairs (as seen) → UNACCEPTABLE_ADDRESSES */
  unacceptable?: string[];
  /** echo a different COOKIE2 */
  badCookie2?: boolean;
  /** INTERNAL_DNS_DOMAIN values (RFC 8598) in the CP reply, raw */
  dnsDomains?: string[];
  /** pin the responder's nonces: in its own rekey requests, and in its answers to ours (collision outcomes) */
  nonces?: { request?: Uint8Array; answer?: Uint8Array };
  /**
   * EAP-only (RFC 5998) with EAP-MSCHAPv2 instead of the PSK: the responder has no certificate, so it
   * insists on N(EAP_ONLY_AUTHENTICATION); users: EAP identity → password.
   */
  eap?: { users: Record<string, string>; forgeAuthenticatorResponse?: boolean; ignoreMissingEapOnly?: boolean };
  /** our own address, where a request's destination is not known (GATEWAY by default) */
  address?: string;
  /** the first Child SA's inbound SPI (c0000001 by default): a gateway with several IKE SAs gives each its own */
  espSpi?: Uint8Array;
  /** seed of the deterministic randomness ('responder' by default): distinct IKE SPIs per SA of one gateway */
  seed?: string;
  /** TSr of the first Child SA (10.10.0.0–10.10.255.255 by default) */
  localTs?: Array<{ start: string; end: string }>;
  /** INTERNAL_IP4_DNS in the CP reply (['10.10.0.53'] by default) */
  dnsServers?: string[];
}

export interface WireRecord {
  dir: '-->' | '<--';
  exchange: ExchangeType;
  response: boolean;
  messageId: number;
  /** payload types (inner ones for protected messages, when the pair could open them) */
  payloads: number[];
  notifies: number[];
  at: number;
}

const COOKIE = new Uint8Array(16).fill(0xc0);

/** The test-only responder (one IKE SA). */
export class MiniResponder {
  session?: Session;
  ni?: Uint8Array;
  nr?: Uint8Array;
  initResponse?: Uint8Array;
  childKeys?: { i: EspKeys; r: EspKeys };
  espSpi: Uint8Array;
  authRequests = 0;
  private cache = new Map<number, Uint8Array>();
  private nextRequestId = 0;
  private readonly random: Random;

  constructor(readonly opts: ResponderOptions = {}) {
    this.espSpi = opts.espSpi ?? Uint8Array.of(0xc0, 0, 0, 1);
    this.random = seededRandom(opts.seed ?? 'responder');
  }

  /** A request from the initiator (no marker) → the response bytes, or undefined (silent/ignored). */
  handle(bytes: Uint8Array, src?: Endpoint, dst?: Endpoint): Uint8Array | undefined {
    if (this.opts.silent) return undefined;
    this.src = src;
    this.dst = dst;
    const m = decodeMessage(bytes);
    if (m.header.response) {
      this.onResponse(bytes);
      return undefined;
    }
    const old = [this.oldSession, ...this.retired].find((x) => x && equalBytes(m.header.spiI, x.spiI) && equalBytes(m.header.spiR, x.spiR));
    if (old && old !== this.session) {
      // a rekeyed (or redundant) IKE SA: its DELETE and liveness checks are answered, a CREATE_CHILD_SA gets TEMPORARY_FAILURE (§2.8.2)
      const opened = openMessage(old, bytes);
      if (!opened.ok) return undefined;
      this.requestsSeen.push(opened.msg.payloads);
      if (opened.msg.payloads.some((p) => p.type === PayloadType.Delete && p.protocol === ProtocolId.IKE)) this.retired = this.retired.filter((x) => x !== old);
      const answer = m.header.exchangeType === ExchangeType.CreateChildSa ? [makeNotify(NotifyType.TemporaryFailure)] : [];
      return sealMessage(old, m.header.exchangeType, m.header.messageId, true, answer, this.random);
    }
    const cached = this.cache.get(m.header.messageId);
    if (cached && m.header.exchangeType !== ExchangeType.IkeSaInit) return cached;
    const before = this.session;
    const out = m.header.exchangeType === ExchangeType.IkeSaInit ? this.init(bytes) : this.protectedRequest(bytes);
    // an IKE SA rekey's answer belongs to the old SA: the new one's cache starts empty
    if (out && (this.session === before || before === undefined)) this.cache.set(m.header.messageId, out);
    return out;
  }

  private init(bytes: Uint8Array): Uint8Array {
    const m = decodeMessage(bytes);
    const s = newSession(m.header.spiI, new Uint8Array(8), false);
    const answer = (payloads: Payload[]): Uint8Array => plainMessage(s, ExchangeType.IkeSaInit, 0, true, payloads);
    const cookie = findNotify(m.payloads, NotifyType.Cookie);
    if (this.opts.demandCookie && (!cookie || !equalBytes(cookie.data, COOKIE))) return answer([cookieNotify(COOKIE)]);
    if (this.opts.refuse) return answer([makeNotify(NotifyType.NoProposalChosen)]);
    const ke = first(m.payloads, PayloadType.KE)!;
    if (this.opts.wantGroup !== undefined && ke.group !== this.opts.wantGroup) return answer([invalidKeNotify(this.opts.wantGroup)]);
    const chosen = selectProposal(parseProposals('ike', this.opts.ike ?? 'aes256gcm16-prfsha256-x25519-ecp256'), first(m.payloads, PayloadType.SA)!.proposals, ProtocolId.IKE)!;
    const suite = ikeSuiteOf(chosen.transforms)!;
    const dh = createDh(suite.dh, this.random);
    s.spiR = this.random(8);
    s.suite = suite;
    this.ni = first(m.payloads, PayloadType.Nonce)!.data;
    this.nr = this.random(32);
    s.keys = deriveIkeKeys(suite, initialSkeyseed(suite, this.ni, this.nr, dh.sharedSecret(ke.data)), this.ni, this.nr, s.spiI, s.spiR);
    // NAT-D of the addresses as seen (a datagram's source and destination when given, else the pair's constants)
    const clientSeen = this.opts.natPublicAddr ?? this.src?.addr ?? CLIENT;
    const out = answer([
      { type: PayloadType.SA, proposals: [chosen] },
      { type: PayloadType.KE, group: suite.dh, data: dh.publicKey },
      { type: PayloadType.Nonce, data: this.nr },
      natDetectionNotify(NotifyType.NatDetectionSourceIp, natdHash(s.spiI, s.spiR, ipv4ToBytes(this.dst?.addr ?? GATEWAY), this.dst?.port ?? 500)),
      natDetectionNotify(NotifyType.NatDetectionDestinationIp, natdHash(s.spiI, s.spiR, ipv4ToBytes(clientSeen), this.src?.port ?? 500)),
    ]);
    this.session = s;
    this.history.push(s);
    this.initRequest = bytes;
    this.initResponse = out;
    return out;
  }

  initRequest?: Uint8Array;

  private protectedRequest(bytes: Uint8Array): Uint8Array | undefined {
    const s = this.session;
    if (!s) return undefined;
    const opened = openMessage(s, bytes);
    if (!opened.ok) return undefined;
    const { header, payloads } = opened.msg;
    const reply = (inner: Payload[]): Uint8Array => sealMessage(s, header.exchangeType, header.messageId, true, inner, this.random);
    if (header.exchangeType === ExchangeType.IkeAuth) return reply(this.auth(payloads));
    if (header.exchangeType === ExchangeType.CreateChildSa) {
      const isIke = first(payloads, PayloadType.SA)?.proposals[0]?.protocol === ProtocolId.IKE;
      return isIke ? this.answerIkeRekey(payloads, header.messageId) : reply(this.answerChildRekey(payloads));
    }
    this.requestsSeen.push(payloads);
    return reply(header.exchangeType === ExchangeType.Informational ? this.informational(payloads) : []);
  }

  // ---- MOBIKE (RFC 4555) ----

  private src?: Endpoint;
  private dst?: Endpoint;
  /** Where the responder sends to: set by each accepted UPDATE_SA_ADDRESSES (from the IP header). */
  clientPath?: Endpoint;
  /** Every accepted update's source, in order. */
  readonly updates: Endpoint[] = [];
  /** The client's last address list (ADDITIONAL_IP4_ADDRESS / NO_ADDITIONAL_ADDRESSES). */
  clientAddrs?: string[];

  private informational(payloads: Payload[]): Payload[] {
    const deleted: Uint8Array[] = [];
    for (const d of payloads) {
      if (d.type !== PayloadType.Delete || d.protocol !== ProtocolId.ESP) continue;
      for (const spi of d.spis) {
        const c = this.children.find((x) => x.spiOut === spiNumber(spi));
        if (!c) continue;
        this.children = this.children.filter((x) => x !== c);
        deleted.push(spiBytes(c.spiIn));
      }
    }
    if (deleted.length > 0) return [{ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: deleted }];
    const list = peerAddressList(payloads);
    if (list) this.clientAddrs = list;
    const c2 = findNotify(payloads, NotifyType.Cookie2);
    if (!findNotify(payloads, NotifyType.UpdateSaAddresses)) return c2 ? [makeNotify(NotifyType.Cookie2, c2.data)] : [];
    const src = this.src ?? { addr: CLIENT, port: 4500 };
    const dst = this.dst ?? { addr: this.opts.address ?? GATEWAY, port: 4500 };
    const refused = this.opts.unacceptable ?? [];
    if (refused.includes(src.addr) || refused.includes(`${src.addr}>${dst.addr}`)) return [makeNotify(NotifyType.UnacceptableAddresses)];
    const nn = findNotify(payloads, NotifyType.NoNatsAllowed);
    if (nn) {
      const v = decodeNoNatsAllowedData(nn.data);
      if (v.srcAddr !== src.addr || v.srcPort !== src.port || v.dstAddr !== dst.addr || v.dstPort !== dst.port) return [makeNotify(NotifyType.UnexpectedNatDetected)];
    }
    this.clientPath = { ...src };
    this.updates.push({ ...src });
    const s = this.session!;
    const echoed = this.opts.badCookie2 ? c2!.data.map((b) => b ^ 0xff) : c2!.data;
    return [
      natDetectionNotify(NotifyType.NatDetectionSourceIp, natdHash(s.spiI, s.spiR, ipv4ToBytes(dst.addr), dst.port)),
      natDetectionNotify(NotifyType.NatDetectionDestinationIp, natdHash(s.spiI, s.spiR, ipv4ToBytes(src.addr), src.port)),
      makeNotify(NotifyType.Cookie2, echoed),
    ];
  }

  /** Informational requests the client sent (for asserts). */
  requestsSeen: Payload[][] = [];

  /** The client rekeys a Child SA: answer with a new SPI and nonce; keys kept for asserts. */
  private answerChildRekey(payloads: Payload[]): Payload[] {
    const s = this.session!;
    const rekey = findNotify(payloads, NotifyType.RekeySa);
    const old = rekey ? this.children.find((c) => c.spiOut === spiNumber(rekey.spi)) : undefined;
    if (rekey && !old) return [makeNotify(NotifyType.ChildSaNotFound)];
    const chosen = selectProposal(parseProposals('esp', this.opts.esp ?? 'aes256gcm16'), first(payloads, PayloadType.SA)!.proposals, ProtocolId.ESP)!;
    const esp = espSuiteOf(chosen.transforms)!;
    const nr = this.opts.nonces?.answer ?? this.random(32);
    const spi = Uint8Array.of(0xc0, 0, 0, 3);
    // the client is this exchange's initiator: its i keys are client → gateway
    const ni = first(payloads, PayloadType.Nonce)!.data;
    this.clientRekeyedChild = { spiIn: spi, spiOut: chosen.spi, keys: deriveChildKeys(s.suite!.prf, s.keys!.skD, esp.cipher, ni, nr), nonces: [ni, nr] };
    const keys = this.clientRekeyedChild.keys;
    this.children.push({ spiIn: spiNumber(spi), spiOut: spiNumber(chosen.spi), keysIn: keys.i, keysOut: keys.r });
    // §2.8.1: ours is outstanding for the same child: note it, answer as usual
    if (this.pending?.kind === 'child' && old?.spiIn === 0xc0000001) this.childCollision = [ni, nr];
    return [
      { type: PayloadType.SA, proposals: [{ ...chosen, spi }] },
      { type: PayloadType.Nonce, data: nr },
      first(payloads, PayloadType.TSi)!, first(payloads, PayloadType.TSr)!,
    ];
  }

  clientRekeyedChild?: { spiIn: Uint8Array; spiOut: Uint8Array; keys: { i: EspKeys; r: EspKeys }; nonces: Uint8Array[] };

  /** The client rekeys the IKE SA: answer, then switch to the new session (the client is its initiator). */
  private answerIkeRekey(payloads: Payload[], messageId: number): Uint8Array {
    const s = this.session!;
    const offered = first(payloads, PayloadType.SA)!.proposals;
    const chosen = selectProposal(parseProposals('ike', s.suite!.name), offered, ProtocolId.IKE)!;
    const suite = ikeSuiteOf(chosen.transforms)!;
    const ni = first(payloads, PayloadType.Nonce)!.data;
    const dh = createDh(suite.dh, this.random);
    const gir = dh.sharedSecret(first(payloads, PayloadType.KE)!.data);
    const nr = this.opts.nonces?.answer ?? this.random(32);
    const spiR = this.random(8);
    const out = sealMessage(s, ExchangeType.CreateChildSa, messageId, true, [
      { type: PayloadType.SA, proposals: [{ ...chosen, spi: spiR }] },
      { type: PayloadType.Nonce, data: nr },
      { type: PayloadType.KE, group: suite.dh, data: dh.publicKey },
    ], this.random);
    const next = newSession(chosen.spi, spiR, false);
    this.history.push(next);
    next.suite = suite;
    next.keys = deriveIkeKeys(suite, rekeySkeyseed(s.suite!.prf, s.keys!.skD, gir, ni, nr), ni, nr, chosen.spi, spiR);
    if (this.pending?.kind === 'ike') {
      // §2.8.2: ours is outstanding too; which new SA survives is decided when ours is answered
      this.ikeCollision = { next, nonces: [ni, nr] };
      return out;
    }
    this.oldSession = s;
    this.cache = new Map();
    this.session = next;
    this.oldNextRequestId = this.nextRequestId;
    this.nextRequestId = 0;
    return out;
  }


  /** EAP-only IKE_AUTH state: the first request's payloads, our EAP state, the MSK */
  private eapState?: { first: Payload[]; idi: Payload; step: number; user?: string; challenge: Uint8Array; msk?: Uint8Array; ok?: boolean };
  /** EAP messages the responder saw from the client, by name (for asserts) */
  readonly eapSeen: string[] = [];

  private eapAuth(payloads: Payload[]): Payload[] {
    const s = this.session!;
    const users = this.opts.eap!.users;
    const idr = idFor('gw.example', PayloadType.IDr);
    const eapOut = (code: EapCode, id: number, type?: number, data?: Uint8Array): Payload =>
      ({ type: PayloadType.EAP, message: encodeEap(type === undefined ? { code: code as EapCode.Success, id } : { code: code as EapCode.Request, id, type, data: data! }) });
    const ms = (op: number, body: Uint8Array): Uint8Array => new Writer().u8(op).u8(0x31).u16(4 + body.length).bytes(body).finish();
    if (!this.eapState) {
      const offered = findNotify(payloads, NotifyType.EapOnlyAuthentication) !== undefined || this.opts.eap!.ignoreMissingEapOnly === true;
      if (first(payloads, PayloadType.AUTH) || !offered) return [makeNotify(NotifyType.AuthenticationFailed)];
      this.eapState = { first: payloads, idi: first(payloads, PayloadType.IDi)!, step: 1, challenge: Uint8Array.from({ length: 16 }, (_, i) => 0x70 + i) };
      return [idr, eapOut(EapCode.Request, 1, EapType.Identity, new Uint8Array(0))];
    }
    const st = this.eapState;
    const auth = first(payloads, PayloadType.AUTH);
    if (auth) {
      const signedI = concatBytes(this.initRequest!, this.nr!, prf(s.suite!.prf, s.keys!.skPi, encodeIdBody(st.idi as never)));
      if (!st.msk || !equalBytes(pskAuth(s.suite!.prf, st.msk, signedI), auth.data)) return [makeNotify(NotifyType.AuthenticationFailed)];
      const signedR = concatBytes(this.initResponse!, this.ni!, prf(s.suite!.prf, s.keys!.skPr, encodeIdBody(idr)));
      const rest = this.childAnswer(st.first);
      return [{ type: PayloadType.AUTH, method: AuthMethod.SharedKeyMic, data: pskAuth(s.suite!.prf, st.msk, signedR) }, ...rest];
    }
    const e = decodeEap(first(payloads, PayloadType.EAP)!.message);
    this.eapSeen.push('data' in e ? `${EapCode[e.code]}/${EapType[e.type] ?? e.type}` : EapCode[e.code]);
    if (!('data' in e)) return [eapOut(EapCode.Failure, 9)];
    if (e.type === EapType.Identity) {
      st.user = fromUtf8(e.data);
      if (users[st.user] === undefined) return [eapOut(EapCode.Failure, 2)];
      return [eapOut(EapCode.Request, 2, EapType.MsChapV2, ms(1, concatBytes(Uint8Array.of(16), st.challenge, utf8('gw'))))];
    }
    if (e.type === EapType.MsChapV2 && e.data[0] === 2) {
      const peerChallenge = e.data.subarray(5, 21);
      const nt = e.data.subarray(29, 53);
      const pw = users[st.user!]!;
      st.ok = bytesToHex(generateNtResponse(st.challenge, peerChallenge, st.user!, pw)) === bytesToHex(nt);
      if (!st.ok) return [eapOut(EapCode.Request, 3, EapType.MsChapV2, ms(4, utf8('E=691 R=0 C=00 V=3 M=bad')))];
      st.msk = mschapv2Msk(pw, nt);
      const sr = this.opts.eap!.forgeAuthenticatorResponse ? `S=${'1'.repeat(40)}` : generateAuthenticatorResponse(pw, nt, peerChallenge, st.challenge, st.user!);
      return [eapOut(EapCode.Request, 3, EapType.MsChapV2, ms(3, utf8(`${sr} M=ok`)))];
    }
    return [eapOut(st.ok ? EapCode.Success : EapCode.Failure, 4)];
  }

  private auth(payloads: Payload[]): Payload[] {
    if (this.opts.eap) {
      this.authRequests++;
      return this.eapAuth(payloads);
    }
    this.authRequests++;
    const s = this.session!;
    const idi = first(payloads, PayloadType.IDi)!;
    const auth = first(payloads, PayloadType.AUTH)!;
    const psk = this.opts.psk ?? PSK;
    const signedI = concatBytes(this.initRequest!, this.nr!, prf(s.suite!.prf, s.keys!.skPi, encodeIdBody(idi)));
    if (!equalBytes(pskAuth(s.suite!.prf, psk, signedI), auth.data)) return [makeNotify(NotifyType.AuthenticationFailed)];
    const idr = idFor('gw.example', PayloadType.IDr);
    const signedR = concatBytes(this.initResponse!, this.ni!, prf(s.suite!.prf, s.keys!.skPr, encodeIdBody(idr)));
    return [idr, { type: PayloadType.AUTH, method: AuthMethod.SharedKeyMic, data: pskAuth(s.suite!.prf, psk, signedR) }, ...this.childAnswer(payloads)];
  }

  /** IKE_AUTH's MOBIKE, CP, SA and TS answer to the request that carried SA/TS. */
  private childAnswer(payloads: Payload[]): Payload[] {
    const s = this.session!;
    const sa = first(payloads, PayloadType.SA)!;
    const chosen = selectProposal(parseProposals('esp', this.opts.esp ?? 'aes256gcm16'), sa.proposals, ProtocolId.ESP)!;
    const esp = espSuiteOf(chosen.transforms)!;
    this.childKeys = deriveChildKeys(s.suite!.prf, s.keys!.skD, esp.cipher, this.ni!, this.nr!);
    this.childSuite = esp.cipher;
    this.peerEspSpi = chosen.spi;
    this.children.push({ spiIn: spiNumber(this.espSpi), spiOut: spiNumber(chosen.spi), keysIn: this.childKeys.i, keysOut: this.childKeys.r });
    const mobike = this.opts.mobike && findNotify(payloads, NotifyType.MobikeSupported) ? [
      makeNotify(NotifyType.MobikeSupported), ...(this.opts.additional ?? []).map((a) => additionalIp4Notify(a))] : [];
    if (mobike.length > 0) this.clientAddrs = peerAddressList(payloads) ?? [];
    return [
      ...mobike,
      { type: PayloadType.CP, cfgType: CfgType.Reply, attributes: [
        { kind: 'ip4', type: CfgAttr.InternalIp4Address, address: this.opts.tia ?? '10.10.100.1' },
        ...(this.opts.dnsServers ?? ['10.10.0.53']).map((address) => ({ kind: 'ip4' as const, type: CfgAttr.InternalIp4Dns as const, address })),
        ...(this.opts.dnsDomains ?? []).map((d) => ({ kind: 'raw' as const, type: CfgAttr.InternalDnsDomain, value: new TextEncoder().encode(d) }))] },
      { type: PayloadType.SA, proposals: [{ ...chosen, spi: this.espSpi }] },
      tsPayload(PayloadType.TSi, [{ start: this.opts.tia ?? '10.10.100.1', end: this.opts.tia ?? '10.10.100.1' }]),
      tsPayload(PayloadType.TSr, this.opts.localTs ?? [{ start: '10.10.0.0', end: '10.10.255.255' }]),
    ];
  }

  peerEspSpi?: Uint8Array;
  /** the ESP cipher suite of the IKE_AUTH Child SA */
  childSuite?: CipherSuite;

  /** A request the responder starts (INFORMATIONAL …), sealed for the current session. */
  request(exchange: ExchangeType, inner: Payload[]): Uint8Array {
    return sealMessage(this.session!, exchange, this.nextRequestId++, false, inner, this.random);
  }

  // ---- gateway-initiated rekeys (the responder as CREATE_CHILD_SA initiator) ----

  private pending?: { kind: 'child' | 'ike'; ni: Uint8Array; spi: Uint8Array; dh?: ReturnType<typeof createDh> };
  /** Keys of the Child SA the last child rekey made: i = gateway → client. */
  rekeyedChild?: { spiIn: Uint8Array; spiOut: Uint8Array; keys: { i: EspKeys; r: EspKeys }; nonces: Uint8Array[] };
  /** The pre-rekey session, after an IKE SA rekey. */
  oldSession?: Session;
  responses: Payload[][] = [];

  rekeyChildRequest(): Uint8Array {
    const ni = this.opts.nonces?.request ?? this.random(32);
    const spi = Uint8Array.of(0xc0, 0, 0, 2);
    this.pending = { kind: 'child', ni, spi };
    return this.request(ExchangeType.CreateChildSa, [
      makeNotify(NotifyType.RekeySa, undefined, ProtocolId.ESP, this.espSpi),
      { type: PayloadType.SA, proposals: [{ ...parseProposals('esp', this.opts.esp ?? 'aes256gcm16')[0]!, spi }] },
      { type: PayloadType.Nonce, data: ni },
      tsPayload(PayloadType.TSi, [{ start: '10.10.0.0', end: '10.10.255.255' }]),
      tsPayload(PayloadType.TSr, [{ start: '10.10.100.1', end: '10.10.100.1' }]),
    ]);
  }

  rekeyIkeRequest(): Uint8Array {
    const ni = this.opts.nonces?.request ?? this.random(32);
    const spi = this.random(8);
    const suite = this.session!.suite!;
    const dh = createDh(suite.dh, this.random);
    this.pending = { kind: 'ike', ni, spi, dh };
    return this.request(ExchangeType.CreateChildSa, [
      { type: PayloadType.SA, proposals: [{ ...parseProposals('ike', suite.name)[0]!, spi }] },
      { type: PayloadType.Nonce, data: ni },
      { type: PayloadType.KE, group: suite.dh, data: dh.publicKey },
    ]);
  }

  private onResponse(bytes: Uint8Array): void {
    const s = this.session;
    if (!s) return;
    const opened = openMessage(s, bytes);
    if (!opened.ok) return;
    const payloads = opened.msg.payloads;
    this.responses.push(payloads);
    const p = this.pending;
    if (!p || opened.msg.header.exchangeType !== ExchangeType.CreateChildSa) return;
    this.pending = undefined;
    const childCollision = this.childCollision;
    const ikeCollision = this.ikeCollision;
    this.childCollision = undefined;
    this.ikeCollision = undefined;
    const nonce = first(payloads, PayloadType.Nonce);
    const chosen = first(payloads, PayloadType.SA)?.proposals[0];
    if (!nonce || !chosen) {
      // refused (TEMPORARY_FAILURE, CHILD_SA_NOT_FOUND …): after a collision the client's rekey stands
      if (ikeCollision) this.switchTo(ikeCollision.next);
      return;
    }
    const nr = nonce.data;
    if (p.kind === 'child') {
      const esp = espSuiteOf(chosen.transforms)!;
      this.rekeyedChild = { spiIn: p.spi, spiOut: chosen.spi, keys: deriveChildKeys(s.suite!.prf, s.keys!.skD, esp.cipher, p.ni, nr), nonces: [p.ni, nr] };
      const keys = this.rekeyedChild.keys;
      this.children.push({ spiIn: spiNumber(p.spi), spiOut: spiNumber(chosen.spi), keysIn: keys.r, keysOut: keys.i });
      if (childCollision) {
        // §2.8.1: the SA with the lowest of the four nonces is closed by its creator; the other creator deletes the old one
        const ownRedundant = lowestIsIn([p.ni, nr], childCollision);
        const gone = ownRedundant ? spiNumber(p.spi) : spiNumber(this.espSpi);
        this.children = this.children.filter((c) => c.spiIn !== gone);
        this.outbox.push(this.request(ExchangeType.Informational, [{ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [ownRedundant ? p.spi : this.espSpi] }]));
      }
      return;
    }
    const suite = ikeSuiteOf(chosen.transforms)!;
    const gir = p.dh!.sharedSecret(first(payloads, PayloadType.KE)!.data);
    const next = newSession(p.spi, chosen.spi, true);
    this.history.push(next);
    next.suite = suite;
    next.keys = deriveIkeKeys(suite, rekeySkeyseed(s.suite!.prf, s.keys!.skD, gir, p.ni, nr), p.ni, nr, p.spi, chosen.spi);
    if (ikeCollision && lowestIsIn([p.ni, nr], ikeCollision.nonces)) {
      // §2.8.2: our new IKE SA has the lowest nonce: the client's survives, we delete ours; the client deletes the old one
      this.switchTo(ikeCollision.next);
      this.outbox.push(sealMessage(next, ExchangeType.Informational, 0, false, [{ type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] }], this.random));
      return;
    }
    this.switchTo(next);
    if (ikeCollision) {
      // the client deletes its redundant new SA; we delete the old one
      this.retired.push(ikeCollision.next);
      this.outbox.push(this.deleteOldIkeRequest());
      this.retired = this.retired.filter((x) => x !== this.oldSession);
    }
  }

  /** The current IKE SA becomes `next` (Message IDs from 0); the one before it answers its DELETE. */
  private switchTo(next: Session): void {
    this.oldSession = this.session;
    if (this.session) this.retired.push(this.session);
    this.session = next;
    this.oldNextRequestId = this.nextRequestId;
    this.nextRequestId = 0;
    this.cache.clear();
  }

  /** The responder's Child SAs (its inbound SPI first): i → r keys are client → gateway only for the client's own exchanges. */
  children: { spiIn: number; spiOut: number; keysIn: EspKeys; keysOut: EspKeys }[] = [];
  /** Every IKE SA session the responder had (the wire log opens messages with them). */
  readonly history: Session[] = [];

  /** A request on a given (e.g. pre-rekey) IKE SA, with the responder's next Message ID there. */
  requestOn(s: Session, exchange: ExchangeType, inner: Payload[]): Uint8Array {
    const id = s === this.oldSession ? this.oldNextRequestId++ : s.nextRequestId++;
    return sealMessage(s, exchange, id, false, inner, this.random);
  }

  /** INFORMATIONAL{ D(ESP, spiIn) }: the responder deletes one of its Child SAs (by its inbound SPI). */
  deleteChildRequest(spiIn: number): Uint8Array {
    this.children = this.children.filter((c) => c.spiIn !== spiIn);
    return this.request(ExchangeType.Informational, [{ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: [spiBytes(spiIn)] }]);
  }

  /** The payloads of an IKE SA rekey request, not remembered (its answer completes nothing). */
  ikeRekeyPayloads(): Payload[] {
    const suite = this.session!.suite!;
    const dh = createDh(suite.dh, this.random);
    return [
      { type: PayloadType.SA, proposals: [{ ...parseProposals('ike', suite.name)[0]!, spi: this.random(8) }] },
      { type: PayloadType.Nonce, data: this.random(32) },
      { type: PayloadType.KE, group: suite.dh, data: dh.publicKey },
    ];
  }

  /** Retired IKE SAs (pre-rekey, redundant) that still answer their DELETE. */
  retired: Session[] = [];
  /** Requests the responder starts on its own (the DELETE a collision leaves to it); IkePair.drive delivers them. */
  readonly outbox: Uint8Array[] = [];
  private childCollision?: Uint8Array[];
  private ikeCollision?: { next: Session; nonces: Uint8Array[] };

  private oldNextRequestId = 0;

  /** INFORMATIONAL{ D(IKE) } on the pre-rekey session. */
  deleteOldIkeRequest(): Uint8Array {
    return sealMessage(this.oldSession!, ExchangeType.Informational, this.oldNextRequestId++, false,
      [{ type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] }], this.random);
  }
}

function spiNumber(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function spiBytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** RFC 7296 §2.8.1: is the lowest of all four nonces (octet by octet, a prefix first) one of `mine`? */
function lowestIsIn(mine: Uint8Array[], theirs: Uint8Array[]): boolean {
  const all = [...mine, ...theirs].map((n) => Buffer.from(n));
  const lowest = all.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
  return mine.some((n) => Buffer.from(n).equals(lowest));
}

/** Drives an initiator and a MiniResponder over a lossless (unless told) in-memory path. */
export class IkePair {
  readonly clock = new ManualClock(1_000_000);
  readonly sa: IkeSa;
  readonly log: WireRecord[] = [];
  readonly effects: ReturnType<IkeSa['pollEffect']>[] = [];
  /** return false to drop, or a replacement to tamper with a datagram */
  filter?: (dir: '-->' | '<--', bytes: Uint8Array) => boolean | Uint8Array;
  /** MOBIKE: client address → the address a NAT on that path rewrites it to */
  readonly natFor = new Map<string, string>();
  /** MOBIKE: dead address pairs "client>gateway" (both directions dropped) */
  readonly blocked = new Set<string>();

  /** Datagrams from the initiator that `hold` kept back (in flight), in order; release() delivers them. */
  readonly held: Transmit[] = [];
  /** return true to keep a datagram of the initiator in flight (held) instead of delivering it */
  hold?: (t: Transmit) => boolean;

  constructor(readonly responder: MiniResponder = new MiniResponder(), config: IkeSaConfig = clientConfig(), seed = 'initiator') {
    this.sa = new IkeSa(config, seededRandom(seed));
  }

  /** Delivers everything in flight until both sides are quiet (no time passes); the responder's own requests go when the initiator is quiet. */
  drive(): void {
    for (let guard = 0; guard < 100; guard++) {
      for (let e = this.sa.pollEffect(); e; e = this.sa.pollEffect()) this.effects.push(e);
      const t = this.sa.pollTransmit();
      if (t) {
        if (this.hold?.(t)) this.held.push(t);
        else this.deliverToResponder(t);
        continue;
      }
      const req = this.responder.outbox.shift();
      if (!req) return;
      this.fromResponder(req);
    }
    throw new Error('IkePair.drive: no quiescence after 100 steps');
  }

  /** Delivers the oldest held datagram(s) to the responder, then drives. */
  release(n = 1): void {
    for (const t of this.held.splice(0, n)) this.deliverToResponder(t);
    this.drive();
  }

  private deliverToResponder(t: Transmit): void {
    let bytes = t.remote.port === 4500 ? t.bytes.subarray(4) : t.bytes;
    if (t.bytes.length === 1) return; // keepalive
    if (this.blocked.has(`${t.local.addr}>${t.remote.addr}`)) return;
    this.record('-->', bytes);
    const f = this.filter?.('-->', bytes);
    if (f === false) return;
    if (f instanceof Uint8Array) bytes = f;
    const src = { addr: this.natFor.get(t.local.addr) ?? t.local.addr, port: t.local.port };
    const answer = this.responder.handle(bytes, src, { ...t.remote });
    // the answer goes back along the path the request came in
    if (answer) this.fromResponder(answer, t.remote.port === 4500, t.local.addr, t.remote.addr);
  }

  /** Hands a responder datagram to the initiator (as received on 500 or 4500), by default on the SA's current path. */
  fromResponder(bytes: Uint8Array, natt = this.sa.path.natt, localAddr = this.sa.path.local.addr, remoteAddr = this.sa.path.remote.addr): void {
    this.record('<--', bytes);
    const f = this.filter?.('<--', bytes);
    if (f === false) return;
    const b = f instanceof Uint8Array ? f : bytes;
    const port = natt ? 4500 : 500;
    this.sa.handleDatagram({
      bytes: natt ? concatBytes(new Uint8Array(4), b) : b,
      local: { addr: localAddr, port }, remote: { addr: remoteAddr, port },
    }, this.clock.now());
  }

  command(c: Parameters<IkeSa['handleCommand']>[0]): void {
    this.sa.handleCommand(c, this.clock.now());
    this.drive();
  }

  /** Advances virtual time to the core's next deadline (or by ms) and fires it. */
  advance(ms?: number): number {
    const next = this.sa.nextTimeout();
    const to = ms !== undefined ? this.clock.now() + ms : next;
    if (to === undefined) throw new Error('no timer armed');
    this.clock.set(to);
    this.sa.handleTimeout(to);
    this.drive();
    return to;
  }

  private record(dir: '-->' | '<--', bytes: Uint8Array): void {
    let m;
    try {
      m = decodeMessage(bytes);
    } catch {
      return; // malformed on purpose; the test checks the core's counters
    }
    const r = this.responder;
    const rs = [r.session, r.oldSession, ...r.history].find((x) => x && equalBytes(x.spiI, m.header.spiI)) ?? r.session;
    // the responder's own messages are opened with the keys of the other direction
    const s = rs && dir === '<--' ? { ...rs, weInitiated: !rs.weInitiated } : rs;
    const opened = s && m.payloads.some((p) => p.type === PayloadType.SK) ? openMessage(s, bytes) : undefined;
    const payloads = opened?.ok ? opened.msg.payloads : m.payloads;
    this.log.push({
      dir, exchange: m.header.exchangeType, response: m.header.response, messageId: m.header.messageId,
      payloads: payloads.map((p) => p.type),
      notifies: payloads.flatMap((p) => (p.type === PayloadType.Notify ? [p.notifyType] : [])),
      at: this.clock.now(),
    });
  }

  events(): Record<string, unknown>[] {
    return this.effects.flatMap((e) => (e?.type === 'event' ? [{ ...e.event }] : []));
  }
}
