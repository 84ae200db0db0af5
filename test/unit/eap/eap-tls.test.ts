/** EAP-TLS framing (RFC 5216 §3.1, §2.1.5) in app/eap/eap-tls.ts and its place in the EAP peer. */
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../../app/base/bytes.ts';
import { EapCode, EapType, decodeEap, encodeEap } from '../../../app/eap/eap-message.ts';
import { EapPeer } from '../../../app/eap/eap-peer.ts';
import { EapTlsPeer, decodeEapTls, encodeEapTls } from '../../../app/eap/eap-tls.ts';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
const ACK = '00';

describe('EAP-TLS frames', () => {
  it('flags L/M/S and the TLS Message Length', () => {
    expect(bytesToHex(encodeEapTls({ start: true, more: false, data: new Uint8Array(0) }))).toBe('20');
    expect(bytesToHex(encodeEapTls({ start: false, more: true, totalLength: 0x1234, data: Uint8Array.of(9) }))).toBe('c00000123409');
    expect(decodeEapTls(Uint8Array.of(0xc0, 0, 0, 0x12, 0x34, 9))).toEqual({ start: false, more: true, totalLength: 0x1234, data: Uint8Array.of(9) });
    expect(() => decodeEapTls(Uint8Array.of(0x80, 0, 0))).toThrow();
  });
});

describe('EapTlsPeer', () => {
  it('Start asks the engine for a ClientHello; a short flight goes out whole, without L', () => {
    const p = new EapTlsPeer(100);
    expect(p.process(Uint8Array.of(0x20))).toEqual({ kind: 'engine', input: null });
    expect(bytesToHex(p.engineOutput({ output: bytes(60), done: false }))).toBe(`00${bytesToHex(bytes(60))}`);
  });
  it('inbound fragments are acknowledged and glued before the engine sees them', () => {
    const p = new EapTlsPeer(100);
    p.process(Uint8Array.of(0x20));
    p.engineOutput({ output: bytes(10), done: false });
    const flight = bytes(250, 3);
    expect(p.process(encodeEapTls({ start: false, more: true, totalLength: 250, data: flight.subarray(0, 120) }))).toEqual({ kind: 'respond', data: Uint8Array.of(0) });
    expect(p.process(encodeEapTls({ start: false, more: true, data: flight.subarray(120, 200) }))).toEqual({ kind: 'respond', data: Uint8Array.of(0) });
    const last = p.process(encodeEapTls({ start: false, more: false, data: flight.subarray(200) }));
    expect(last.kind).toBe('engine');
    expect(bytesToHex((last as { input: Uint8Array }).input)).toBe(bytesToHex(flight));
  });
  it('a long flight goes out in fragments: L and the total on the first, M on all but the last, each after the server\'s ACK', () => {
    const p = new EapTlsPeer(100);
    p.process(Uint8Array.of(0x20));
    const out = bytes(230, 5);
    const f1 = decodeEapTls(p.engineOutput({ output: out, done: false }));
    expect(f1).toEqual({ start: false, more: true, totalLength: 230, data: out.subarray(0, 100) });
    const f2 = p.process(Uint8Array.of(0));
    expect(f2.kind).toBe('respond');
    expect(decodeEapTls((f2 as { data: Uint8Array }).data)).toEqual({ start: false, more: true, data: out.subarray(100, 200) });
    const f3 = p.process(Uint8Array.of(0));
    expect(decodeEapTls((f3 as { data: Uint8Array }).data)).toEqual({ start: false, more: false, data: out.subarray(200) });
    // data from the server while our fragments are still going out is a protocol error
    const q = new EapTlsPeer(100);
    q.process(Uint8Array.of(0x20));
    q.engineOutput({ output: out, done: false });
    expect(() => q.process(Uint8Array.of(0, 1, 2))).toThrow(/still going out/);
  });
  it('the engine finishing with nothing to say is acknowledged; the MSK is kept', () => {
    const p = new EapTlsPeer();
    p.process(Uint8Array.of(0x20));
    expect(bytesToHex(p.engineOutput({ output: new Uint8Array(0), done: true, msk: bytes(64) }))).toBe(ACK);
    expect(p.msk()?.length).toBe(64);
  });
});

describe('EAP peer with EAP-TLS', () => {
  const req = (id: number, data: Uint8Array): Uint8Array => encodeEap({ code: EapCode.Request, id, type: EapType.Tls, data });
  it('the engine\'s answer goes back under the request\'s Identifier; Success gives the engine\'s MSK', () => {
    const peer = new EapPeer({ method: 'tls', identity: 'tls@example' }, () => new Uint8Array(0));
    expect(peer.process(req(7, Uint8Array.of(0x20)))).toEqual({ kind: 'engine', input: null });
    const r = peer.engineResult({ output: bytes(20), done: false });
    expect(r.kind).toBe('respond');
    expect(decodeEap((r as { message: Uint8Array }).message)).toMatchObject({ code: EapCode.Response, id: 7, type: EapType.Tls });
    peer.process(req(8, Uint8Array.of(0, 1, 2, 3)));
    peer.engineResult({ output: new Uint8Array(0), done: true, msk: bytes(64, 9) });
    const s = peer.process(encodeEap({ code: EapCode.Success, id: 9 }));
    expect(s.kind).toBe('success');
    expect(bytesToHex((s as { msk: Uint8Array }).msk)).toBe(bytesToHex(bytes(64, 9)));
  });
  it('a server alert → EAP_CERT_REJECTED; our own verification failure → EAP_GATEWAY_UNVERIFIED; Success without a handshake → refused', () => {
    const a = new EapPeer({ method: 'tls', identity: 'x' }, () => new Uint8Array(0));
    a.process(req(1, Uint8Array.of(0x20)));
    expect(a.engineResult({ output: new Uint8Array(0), done: false, error: { message: 'ALERT_UNKNOWN_CA', byPeer: true } })).toMatchObject({ code: 'EAP_CERT_REJECTED' });
    const b = new EapPeer({ method: 'tls', identity: 'x' }, () => new Uint8Array(0));
    b.process(req(1, Uint8Array.of(0x20)));
    expect(b.engineResult({ output: new Uint8Array(0), done: false, error: { message: 'self-signed', byPeer: false } })).toMatchObject({ code: 'EAP_GATEWAY_UNVERIFIED' });
    const c = new EapPeer({ method: 'tls', identity: 'x' }, () => new Uint8Array(0));
    c.process(req(1, Uint8Array.of(0x20)));
    expect(c.process(encodeEap({ code: EapCode.Success, id: 2 }))).toMatchObject({ kind: 'failed', code: 'EAP_GATEWAY_UNVERIFIED' });
  });
});
