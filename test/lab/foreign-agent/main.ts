/**
 * The reference foreign agent for the lab (mode `f`, RFC 5944 §3.7, RFC 3024):
 *
 *   node --import tsx test/lab/foreign-agent/main.ts --config <file.json>
 *   { "linkDevice": "lan0", "linkAddress": "10.4.0.1", "prefixLength": 24,
 *     "careOfAddress": "10.2.0.5", "tunDevice": "fa0", "advertiseIntervalMs": 1000,
 *     "registrationLifetime": 600, "advertisementLifetime": 3 }
 *
 * - advertises on the link: ICMP type 9 + extensions 16 (R, F, T; the CoA) and 19,
 *   to 224.0.0.1 with TTL 1, every interval and at once in answer to a solicitation
 *   (type 10, to ALL-ROUTERS 224.0.0.2, which the FA joins on its link);
 * - relays Registration Requests from the link (UDP linkAddress:434) to the HA
 *   named in them (from careOfAddress:434), and Replies back to the mobile node;
 * - visitors (accepted replies): a /32 route to the HoA on the link; IP-in-IP from the
 *   HA to the CoA is de-tunnelled onto the link; with T, packets from the HoA arriving
 *   on the link are policy-routed into the FA's TUN and reverse-tunnelled to the HA.
 * JSON log lines on stdout: ready, relayed-request, relayed-reply, visitor-added/-removed.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { bytesToIPv4 } from '../../../app/base/ipv4.ts';
import { openTun } from '../../../app/io/native-tun.ts';
import { openRawSocket } from '../../../app/io/raw-socket.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { decodeRrq, RrqFlag } from '../home-agent/wire.ts';
import { encodeAgentAdvertisement } from '../../../app/wire/mip4/agent-advertisement.ts';
import { AdvCode, AdvFlag } from '../../../app/wire/mip4/constants.ts';

const log = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
const ip = (args: string[], tolerate = false) => {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if (!tolerate) throw new Error(`ip ${args.join(' ')}: ${(e as { stderr?: Buffer }).stderr?.toString().trim()}`, { cause: e });
  }
};
const TABLE = '435';

interface Visitor { homeAddress: string; homeAgent: string; reverse: boolean }
interface Pending { mnAddress: string; mnPort: number; homeAgent: string; lifetime: number; reverse: boolean }

function main(): void {
  const i = process.argv.indexOf('--config');
  const cfg = JSON.parse(readFileSync(process.argv[i + 1] ?? '', 'utf8')) as {
    linkDevice: string; linkAddress: string; prefixLength: number; careOfAddress: string;
    tunDevice?: string; advertiseIntervalMs?: number; registrationLifetime?: number;
    /** seconds an advertisement stays valid (RFC 1256 Lifetime); default three intervals */
    advertisementLifetime?: number;
  };
  const visitors = new Map<string, Visitor>();
  const pending = new Map<string, Pending>();
  const tun = openTun(cfg.tunDevice ?? 'fa0');
  ip(['link', 'set', tun.name, 'mtu', '1400', 'up']);
  ip(['route', 'replace', 'default', 'dev', tun.name, 'table', TABLE]);
  const raw = openRawSocket(IpProto.IpInIp, { hdrincl: true });
  const icmp = openRawSocket(IpProto.Icmp, { device: cfg.linkDevice, multicastTtl: 1, ttl: 1 });
  const linkSock = dgram.createSocket('udp4');
  const haSock = dgram.createSocket('udp4');
  for (const sock of [linkSock, haSock]) sock.on('error', (e) => log({ event: 'udp-error', message: e.message }));

  let seq = 0;
  const advertise = () => {
    icmp.send(encodeAgentAdvertisement({
      code: AdvCode.RoutesCommonTraffic, lifetime: cfg.advertisementLifetime ?? 3 * Math.ceil((cfg.advertiseIntervalMs ?? 1000) / 1000),
      routers: [{ address: cfg.linkAddress, preference: 0 }], prefixLengths: [cfg.prefixLength], others: [],
      mobility: {
        sequence: seq, registrationLifetime: cfg.registrationLifetime ?? 600, careOfAddresses: [cfg.careOfAddress],
        flags: AdvFlag.RegistrationRequired | AdvFlag.ForeignAgent | AdvFlag.ReverseTunnel,
      },
    }), '224.0.0.1');
    seq = seq === 0xffff ? 256 : seq + 1; // RFC 5944 §2.3.2: wrap to 256, 0–255 mean "rebooted"
  };
  icmp.onPacket((pkt) => {
    try {
      const h = decodeIpv4Header(pkt);
      if (ipv4Payload(pkt, h)[0] === 10) advertise(); // Agent Solicitation
    } catch { /* not for us */ }
  });

  const addVisitor = (v: Visitor) => {
    visitors.set(v.homeAddress, v);
    if (v.reverse) ip(['rule', 'add', 'from', v.homeAddress, 'iif', cfg.linkDevice, 'lookup', TABLE, 'pref', '1100']);
    log({ event: 'visitor-added', ...v });
  };
  const removeVisitor = (hoa: string, reason: string) => {
    const v = visitors.get(hoa);
    if (!v) return;
    visitors.delete(hoa);
    if (v.reverse) ip(['rule', 'del', 'from', hoa, 'iif', cfg.linkDevice, 'lookup', TABLE, 'pref', '1100'], true);
    ip(['route', 'del', `${hoa}/32`, 'dev', cfg.linkDevice], true);
    log({ event: 'visitor-removed', homeAddress: hoa, reason });
  };

  // Registration Request from the link → the home agent (unchanged: the MN-HA authenticator covers it)
  linkSock.on('message', (msg, r) => {
    const d = decodeRrq(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    if (!d.ok) return log({ event: 'dropped', reason: d.reason, from: r.address });
    if (d.rrq.careOfAddress !== cfg.careOfAddress && d.rrq.lifetime !== 0) return log({ event: 'dropped', reason: `CoA ${d.rrq.careOfAddress} is not ours` });
    const key = `${d.rrq.homeAddress}/${d.rrq.identification & 0xffffffffn}`;
    pending.set(key, { mnAddress: r.address, mnPort: r.port, homeAgent: d.rrq.homeAgent, lifetime: d.rrq.lifetime, reverse: (d.rrq.flags & RrqFlag.T) !== 0 });
    if (r.address === d.rrq.homeAddress) ip(['route', 'replace', `${r.address}/32`, 'dev', cfg.linkDevice]);
    haSock.send(msg, 434, d.rrq.homeAgent);
    log({ event: 'relayed-request', homeAddress: d.rrq.homeAddress, homeAgent: d.rrq.homeAgent, lifetime: d.rrq.lifetime });
  });

  // Registration Reply from the home agent → the mobile node
  haSock.on('message', (msg, r) => {
    if (msg.length < 20 || msg[0] !== 3 || r.port !== 434) return;
    const hoa = bytesToIPv4(msg, 4);
    const key = `${hoa}/${msg.readUInt32BE(16)}`;
    const p = pending.get(key);
    if (!p || p.homeAgent !== r.address) return log({ event: 'dropped', reason: 'reply matches no pending request', homeAddress: hoa });
    pending.delete(key);
    const code = msg[1]!;
    if (code <= 1 && p.lifetime > 0 && !visitors.has(hoa)) addVisitor({ homeAddress: hoa, homeAgent: p.homeAgent, reverse: p.reverse });
    if (code <= 1 && p.lifetime === 0) removeVisitor(hoa, 'deregistration');
    linkSock.send(msg, p.mnPort, p.mnAddress);
    log({ event: 'relayed-reply', homeAddress: hoa, code });
  });

  // HA → CoA: de-tunnel onto the link
  raw.onPacket((pkt) => {
    try {
      const outer = decodeIpv4Header(pkt);
      const inner = ipv4Payload(pkt, outer);
      const v = visitors.get(decodeIpv4Header(inner).dst);
      if (v && outer.src === v.homeAgent && outer.dst === cfg.careOfAddress) raw.send(inner, v.homeAddress);
    } catch { /* malformed: dropped */ }
  });
  // link → HA: reverse tunnel (RFC 3024), outer source = the CoA
  tun.onPacket((pkt) => {
    try {
      const h = decodeIpv4Header(pkt, false);
      const v = visitors.get(h.src);
      if (!v) return;
      raw.send(encodeIpv4({ src: cfg.careOfAddress, dst: v.homeAgent, protocol: IpProto.IpInIp, tos: h.tos, dontFragment: (h.flags & 2) !== 0 }, pkt), v.homeAgent);
    } catch { /* malformed: dropped */ }
  });

  const timer = setInterval(advertise, cfg.advertiseIntervalMs ?? 1000);
  const stop = () => {
    clearInterval(timer);
    for (const hoa of [...visitors.keys()]) removeVisitor(hoa, 'stopping');
    linkSock.close();
    haSock.close();
    raw.close();
    icmp.close();
    void tun.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  linkSock.bind(434, cfg.linkAddress, () => haSock.bind(434, cfg.careOfAddress, () => {
    // RFC 1256 §5.1 (RFC 5944 §2.4 reuses it): a router listens on ALL-ROUTERS; without joining
    // 224.0.0.2 on the link the kernel drops solicitations before the raw socket sees them
    linkSock.addMembership('224.0.0.2', cfg.linkAddress);
    advertise();
    log({ event: 'ready', linkAddress: cfg.linkAddress, careOfAddress: cfg.careOfAddress });
  }));
}

try {
  main();
} catch (e) {
  log({ event: 'fatal', message: (e as Error).message });
  process.exit(1);
}
