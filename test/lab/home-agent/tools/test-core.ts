/**
 * A test double of the registration client (RegistrationCoreLike), so the
 * MN driver's data path (TUN, policy routes, IP-in-IP, UDP tunnelling, CoA
 * changes) can be exercised against the reference HA before/independently of
 * app/mip4/registration.ts. Deliberately simple and NOT a client to ship:
 * requests are built with node:crypto, replies are believed when their
 * identification matches (no reply authentication), 133 resynchronises once,
 * retransmission is a flat 1 s, there is no re-registration and no keepalive.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Instant } from '../../../../app/base/clock.ts';
import type { Profile } from '../../../../app/config/profile.ts';
import type { CoreCommand, CoreTransmit, RegistrationCoreLike } from '../../../../app/io/mip-driver.ts';
import type { RegistrationEvent } from '../../../../app/mip4/registration-types.ts';

const NTP_UNIX_OFFSET = 2_208_988_800;

export function createTestCore(profile: Profile): RegistrationCoreLike {
  const auth = profile.mnHaAuth;
  if (!auth) throw new Error('test core: profile has no mnHaAuth');
  const tx: CoreTransmit[] = [];
  const events: RegistrationEvent[] = [];
  let pending: { coa: string; lifetime: number; id: bigint; at: Instant } | undefined;
  let clockOffset = 0;
  let lastSeconds = 0;
  const stats = { sent: 0, replies: 0, droppedId: 0 };

  const build = (coa: string, lifetime: number, wallMs: number): { bytes: Buffer; id: bigint } => {
    const seconds = Math.max(Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET + clockOffset, lastSeconds);
    lastSeconds = seconds;
    const id = (BigInt(seconds) << 32n) | BigInt(randomBytes(4).readUInt32BE(0));
    const udp = profile.mip.udpTunnel !== 'off';
    const head = Buffer.alloc(24);
    head[0] = 1;
    head[1] = (profile.mip.reverseTunnel ? 0x02 : 0) | (udp ? 0x20 : 0);
    head.writeUInt16BE(lifetime, 2);
    Buffer.from(profile.homeAddress.split('.').map(Number)).copy(head, 4);
    Buffer.from(profile.homeAgent.split('.').map(Number)).copy(head, 8);
    Buffer.from(coa.split('.').map(Number)).copy(head, 12);
    head.writeBigUInt64BE(id, 16);
    const utr = udp ? Buffer.from([144, 6, 0, 0, profile.mip.udpTunnel === 'force' ? 0x80 : 0, 4, 0, 0]) : Buffer.alloc(0);
    const spi = Buffer.alloc(6);
    spi[0] = 32;
    spi[1] = 20;
    spi.writeUInt32BE(auth.spi, 2);
    const covered = Buffer.concat([head, utr, spi]);
    return { bytes: Buffer.concat([covered, createHmac('md5', auth.key).update(covered).digest()]), id };
  };

  const send = (coa: string, lifetime: number, now: Instant, wallMs: number) => {
    const { bytes, id } = build(coa, lifetime, wallMs);
    pending = { coa, lifetime, id, at: now };
    stats.sent++;
    tx.push({ bytes, to: { address: profile.homeAgent, port: 434 } });
  };

  return {
    stats,
    handleCommand(cmd: CoreCommand, now, wallMs) {
      if (cmd.type === 'deregister') send(profile.homeAddress, 0, now, wallMs);
      else send(cmd.coa, profile.mip.lifetimeSeconds, now, wallMs);
    },
    handleDatagram(bytes, _from, now, wallMs) {
      const b = Buffer.from(bytes);
      if (b.length < 20 || b[0] !== 3 || !pending) return;
      if ((b.readBigUInt64BE(12) & 0xffffffffn) !== (pending.id & 0xffffffffn)) {
        stats.droppedId++;
        return;
      }
      stats.replies++;
      const code = b[1]!;
      const p = pending;
      pending = undefined;
      if (code === 133) {
        const offsetSeconds = b.readUInt32BE(12) - Number(p.id >> 32n);
        clockOffset += offsetSeconds;
        events.push({ type: 'registration-resync', replayProtection: 'timestamp', offsetSeconds, message: `home agent clock differs by ${offsetSeconds} s` });
        send(p.coa, p.lifetime, now, wallMs);
        return;
      }
      if (code > 1) {
        events.push({ type: 'registration', state: 'denied', coa: p.coa, lifetime: 0, tnc: false, code, codeName: `reply code ${code}` });
        return;
      }
      if (p.lifetime === 0) {
        events.push({ type: 'registration', state: 'deregistered', coa: p.coa, lifetime: 0, tnc: false });
        return;
      }
      let tnc = false;
      let udpTunnel = false;
      for (let o = 20; o + 1 < b.length; o += 2 + b[o + 1]!) {
        if (b[o] === 149) tnc = true;
        if (b[o] === 44) udpTunnel = b[o + 3]! < 64;
      }
      events.push({ type: 'registration', state: 'accepted', coa: p.coa, lifetime: b.readUInt16BE(2), tnc, udpTunnel, encapsulation: 'ip-in-ip', code, codeName: 'accepted' });
    },
    handleTimeout(now, wallMs) {
      if (pending && now - pending.at >= 1000) send(pending.coa, pending.lifetime, now, wallMs);
    },
    pollTransmit: () => tx.shift(),
    pollEvent: () => events.shift(),
    nextTimeout: () => (pending ? pending.at + 1000 : undefined),
  };
}
