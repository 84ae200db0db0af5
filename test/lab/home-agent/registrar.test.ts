/**
 * The reference home agent's registration rules, without a network: requests
 * are built here by hand (independent HMAC-MD5 from node:crypto) and the
 * replies are checked byte by byte.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../../app/base/bytes.ts';
import { ipv4ToBytes } from '../../../app/base/ipv4.ts';
import { BindingCache } from './binding-cache.ts';
import { parseHomeAgentConfig } from './config.ts';
import { Registrar } from './registrar.ts';
import { NTP_UNIX_OFFSET } from './wire.ts';

const KEY = '00112233445566778899aabbccddeeff';
const WALL = 1_790_000_000_000;
const cfgJson = {
  address: '10.1.0.1', homeNetwork: '10.1.0.0/24', trustedPrefixes: ['10.2.0.0/24'],
  mobileNodes: [{ homeAddress: '10.1.0.50', nai: 'mn@example', spi: 300, key: `hex:${KEY}` }],
};
const cfg = parseHomeAgentConfig(cfgJson);

function ntpId(wallMs: number, low = 0x1234): bigint {
  return (BigInt(Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET) << 32n) | BigInt(low);
}

interface Req { flags?: number; lifetime?: number; coa?: string; id: bigint; key?: string; spi?: number; udp?: Uint8Array; authTwice?: boolean; ha?: string }

function rrq(r: Req): Uint8Array {
  const head = Buffer.alloc(24);
  head[0] = 1;
  head[1] = r.flags ?? 0x02;
  head.writeUInt16BE(r.lifetime ?? 300, 2);
  Buffer.from(ipv4ToBytes('10.1.0.50')).copy(head, 4);
  Buffer.from(ipv4ToBytes(r.ha ?? '10.1.0.1')).copy(head, 8);
  Buffer.from(ipv4ToBytes(r.coa ?? '10.2.0.100')).copy(head, 12);
  head.writeBigUInt64BE(r.id, 16);
  let msg = Buffer.concat([head, Buffer.from(r.udp ?? [])]);
  const addAuth = () => {
    const ext = Buffer.from([32, 20, 0, 0, 0, 0]);
    ext.writeUInt32BE(r.spi ?? 300, 2);
    const covered = Buffer.concat([msg, ext]);
    msg = Buffer.concat([covered, createHmac('md5', Buffer.from(r.key ?? KEY, 'hex')).update(covered).digest()]);
  };
  addAuth();
  if (r.authTwice) addAuth();
  return new Uint8Array(msg);
}

function replyAuthValid(reply: Uint8Array): boolean {
  const n = reply.length;
  const covered = Buffer.from(reply.subarray(0, n - 16));
  return createHmac('md5', Buffer.from(KEY, 'hex')).update(covered).digest().equals(Buffer.from(reply.subarray(n - 16)));
}

const from = { address: '10.2.0.100', port: 40000 };

describe('reference home agent: registration', () => {
  it('accepts a trusted, authenticated request: binding, TNC, valid MN-HA, ID echoed', () => {
    const reg = new Registrar(cfg, new BindingCache());
    const id = ntpId(WALL);
    const out = reg.handleRequest(rrq({ id }), from, 0, WALL);
    expect(out.log).toMatchObject({ event: 'binding-added', tnc: true, tunnel: 'ipip' });
    const rep = Buffer.from(out.reply!);
    expect(rep[0]).toBe(3);
    expect(rep[1]).toBe(0);
    expect(rep.readUInt16BE(2)).toBe(300);
    expect(rep.readBigUInt64BE(12)).toBe(id);
    expect(rep.subarray(20, 24)).toEqual(Buffer.from(hexToBytes('95020000')));
    expect(replyAuthValid(out.reply!)).toBe(true);
    expect(reg.cache.get('10.1.0.50')?.careOfAddress).toBe('10.2.0.100');
  });

  it('drops requests from untrusted sources silently (RFC 5265 default)', () => {
    const reg = new Registrar(cfg, new BindingCache());
    const out = reg.handleRequest(rrq({ id: ntpId(WALL) }), { address: '192.0.2.9', port: 1 }, 0, WALL);
    expect(out.reply).toBeUndefined();
    expect(reg.cache.get('10.1.0.50')).toBeUndefined();
  });

  it('accepts untrusted sources without TNC when configured to', () => {
    const reg = new Registrar({ ...cfg, acceptUntrusted: true }, new BindingCache());
    const out = reg.handleRequest(rrq({ id: ntpId(WALL), coa: '192.0.2.9' }), { address: '192.0.2.9', port: 1 }, 0, WALL);
    expect(out.log).toMatchObject({ event: 'binding-added', tnc: false });
    expect(Buffer.from(out.reply!).includes(Buffer.from([0x95, 2, 0, 0]))).toBe(false);
  });

  it('wrong key → 131, duplicated MN-HA → 131, wrong SPI → 131, and no binding', () => {
    for (const r of [{ key: 'ff'.repeat(16) }, { authTwice: true }, { spi: 301 }]) {
      const reg = new Registrar(cfg, new BindingCache());
      const out = reg.handleRequest(rrq({ id: ntpId(WALL), ...r }), from, 0, WALL);
      expect(out.reply![1]).toBe(131);
      expect(reg.cache.get('10.1.0.50')).toBeUndefined();
    }
  });

  it('replay and clock skew → 133 carrying the HA clock in the high 32 bits, low 32 copied', () => {
    const reg = new Registrar(cfg, new BindingCache());
    const req = rrq({ id: ntpId(WALL, 0xabcd) });
    expect(reg.handleRequest(req, from, 0, WALL).reply![1]).toBe(0);
    const replay = Buffer.from(reg.handleRequest(req, from, 0, WALL + 1000).reply!);
    expect(replay[1]).toBe(133);
    expect(replay.readUInt32BE(12)).toBe(Math.floor((WALL + 1000) / 1000) + NTP_UNIX_OFFSET);
    expect(replay.readUInt32BE(16)).toBe(0xabcd);
    const skewed = Buffer.from(reg.handleRequest(rrq({ id: ntpId(WALL - 60_000, 7) }), from, 0, WALL).reply!);
    expect(skewed[1]).toBe(133);
  });

  it('UDP tunnelling: NAT detected (source ≠ CoA) → UDP with Tunnel Reply 0; no NAT → IP-in-IP, declined', () => {
    const utr = Uint8Array.from([144, 6, 0, 0, 0, 4, 0, 0]);
    const reg = new Registrar(cfg, new BindingCache());
    const nat = reg.handleRequest(rrq({ id: ntpId(WALL, 1), flags: 0x22, udp: utr, coa: '10.9.9.9' }), { address: '10.2.0.1', port: 5555 }, 0, WALL);
    expect(nat.log).toMatchObject({ event: 'binding-added', tunnel: 'udp', tunnelDst: '10.2.0.1', tunnelPort: 5555 });
    expect(Buffer.from(nat.reply!).subarray(20, 28)).toEqual(Buffer.from([44, 6, 0, 0, 0, 0, 0, 0]));
    const direct = reg.handleRequest(rrq({ id: ntpId(WALL, 2), flags: 0x22, udp: utr }), from, 0, WALL);
    expect(direct.log).toMatchObject({ tunnel: 'ipip' });
    expect(direct.reply![23]).toBe(64);
    const noD = reg.handleRequest(rrq({ id: ntpId(WALL, 3), flags: 0x02, udp: utr }), from, 0, WALL);
    expect(noD.reply![1]).toBe(134);
  });

  it('GRE asked for from an HA that offers no GRE → 139; deregistration removes the binding', () => {
    const reg = new Registrar(parseHomeAgentConfig({ ...cfgJson, encapsulations: [] }), new BindingCache());
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 1), flags: 0x0a }), from, 0, WALL).reply![1]).toBe(139);
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 2), flags: 0x12 }), from, 0, WALL).reply![1]).toBe(139);
    reg.handleRequest(rrq({ id: ntpId(WALL, 3) }), from, 0, WALL);
    const dereg = reg.handleRequest(rrq({ id: ntpId(WALL, 4), lifetime: 0, coa: '10.1.0.50' }), from, 0, WALL);
    expect(dereg.log).toMatchObject({ event: 'binding-removed' });
    expect(reg.cache.get('10.1.0.50')).toBeUndefined();
  });

  it('a truncated request or an unknown extension below 128 is dropped without a reply', () => {
    const reg = new Registrar(cfg, new BindingCache());
    const good = rrq({ id: ntpId(WALL) });
    for (let n = 0; n < good.length; n++) {
      const reply = reg.handleRequest(good.subarray(0, n), from, 0, WALL).reply;
      // 24 bytes is a complete request with no MN-HA extension: denied (131), not dropped.
      if (n === 24) expect(reply?.[1]).toBe(131);
      else expect(reply).toBeUndefined();
    }
    const unknown = rrq({ id: ntpId(WALL), udp: Uint8Array.from([99, 0]) });
    expect(reg.handleRequest(unknown, from, 0, WALL)).toMatchObject({ log: { event: 'dropped' } });
  });

  it('G → a GRE binding, M → a minimal one, G and M → GRE; in UDP tunnel data the Tunnel Request\'s encapsulation (47/55) decides', () => {
    const reg = new Registrar(cfg, new BindingCache());
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 1), flags: 0x0a }), from, 0, WALL)).toMatchObject({ added: { mode: 'gre', format: 'gre' }, log: { tunnel: 'gre', encapsulation: 'gre' } });
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 2), flags: 0x12 }), from, 0, WALL)).toMatchObject({ added: { mode: 'minimal', format: 'minimal' } });
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 3), flags: 0x1a }), from, 0, WALL)).toMatchObject({ added: { mode: 'gre' } });
    // F set: UDP tunnelling with GRE inside
    const utrGre = Uint8Array.from([144, 6, 0, 0, 0x80, 47, 0, 0]);
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 4), flags: 0x2a, udp: utrGre }), from, 0, WALL)).toMatchObject({ added: { mode: 'udp', format: 'gre' } });
    const utrOdd = Uint8Array.from([144, 6, 0, 0, 0x80, 41, 0, 0]);
    expect(reg.handleRequest(rrq({ id: ntpId(WALL, 5), flags: 0x22, udp: utrOdd }), from, 0, WALL).reply![1]).toBe(142);
  });

  it('nonces (RFC 5944 §5.7.2): a first request gets 133 with a nonce; the request using it is accepted; replaying it gets 133', () => {
    let n = 0x1000;
    const reg = new Registrar(parseHomeAgentConfig({ ...cfgJson, replayProtection: 'nonce' }), new BindingCache(), () => ++n);
    const first = reg.handleRequest(rrq({ id: (0xdeadn << 32n) | 0x77n }), from, 0, WALL).reply!;
    expect(first[1]).toBe(133);
    expect(replyAuthValid(first)).toBe(true);
    const r1 = Buffer.from(first);
    expect([r1.readUInt32BE(12), r1.readUInt32BE(16)]).toEqual([0x1001, 0x77]);
    const ok = reg.handleRequest(rrq({ id: (0x1001n << 32n) | 0x78n }), from, 0, WALL);
    expect(ok.reply![1]).toBe(0);
    const r2 = Buffer.from(ok.reply!);
    expect([r2.readUInt32BE(12), r2.readUInt32BE(16)]).toEqual([0x1002, 0x78]);
    expect(reg.handleRequest(rrq({ id: (0x1001n << 32n) | 0x78n }), from, 0, WALL).reply![1]).toBe(133);
  });

  it('lab faults: each broken reply is broken only its own way', () => {
    const faulty = (replyFault: string) => new Registrar(parseHomeAgentConfig({ ...cfgJson, mobileNodes: [{ ...cfgJson.mobileNodes[0], replyFault }] }), new BindingCache());
    const id = ntpId(WALL, 0x4242);
    const idReply = Buffer.from(faulty('identification').handleRequest(rrq({ id }), from, 0, WALL).reply!);
    expect(replyAuthValid(idReply)).toBe(true);
    expect(idReply.readUInt32BE(16)).not.toBe(0x4242);
    const authReply = Buffer.from(faulty('authenticator').handleRequest(rrq({ id }), from, 0, WALL).reply!);
    expect(replyAuthValid(authReply)).toBe(false);
    expect(authReply.readUInt32BE(16)).toBe(0x4242);
    const spiReply = Buffer.from(faulty('spi').handleRequest(rrq({ id }), from, 0, WALL).reply!);
    expect(spiReply.readUInt32BE(spiReply.length - 20)).toBe(301);
    expect(replyAuthValid(spiReply)).toBe(true);
  });
});
