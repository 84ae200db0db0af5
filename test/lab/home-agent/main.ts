/**
 * The reference home agent (i-HA) for the lab, as a process:
 *
 *   node --import tsx test/lab/home-agent/main.ts --config <file.json>
 *
 * run inside the HA's network namespace (root). It owns:
 *   - UDP 434: Registration Requests in, Replies out, RFC 3519 tunnel data both ways;
 *   - raw sockets for protocols 4, 47 and 55: IP-in-IP, GRE and minimal encapsulation to
 *     and from co-located care-of addresses (sent on the protocol-4 socket, IP_HDRINCL);
 *   - a TUN device: the kernel routes packets for registered home addresses into it
 *     (a /32 route and a proxy-ARP entry per binding), and decapsulated packets from
 *     mobile nodes are written into it for the kernel to forward into the intranet.
 * Per packet it stays small: IP-in-IP bindings are forwarded both ways by native
 * threads (native-fast-path.ts, ha_forward.cc: TUN reads and recvmmsg in batches,
 * sendmmsg), which hand the JS forwarder whatever they are not to decide (no
 * IP-in-IP binding, "fragmentation needed" to answer, other formats). Without
 * them (HA_NATIVE=0, addon not built) the TUN and raw sockets are read in JS in
 * batches (one call per readiness event); IP-in-IP packets are built in a
 * preallocated slab of slots and a batch's leave in one sendmmsg(2) when its
 * handler returns (the other formats' raw packets likewise, from their own buffers).
 * Every event is one JSON line on stdout ({"event":"binding-added",…}, "denied" with
 * the code, "binding-removed", "ready", "stats"). SIGINT/SIGTERM remove the routes and exit.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { openTun } from '../../../app/io/native-tun.ts';
import { openRawSocket } from '../../../app/io/raw-socket.ts';
import { IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { BindingCache, type Binding } from './binding-cache.ts';
import { parseHomeAgentConfig } from './config.ts';
import { Forwarder, type RawSlots } from './forwarding.ts';
import { IpInIpFastPath, loadHaForwardAddon } from './native-fast-path.ts';
import { Registrar } from './registrar.ts';
import { MipType } from './wire.ts';

const log = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
const monotonic = () => performance.now();

function ip(args: string[], tolerateFailure = false): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if (!tolerateFailure) throw new Error(`ip ${args.join(' ')} failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim()}`, { cause: e });
  }
}

function main(): void {
  const i = process.argv.indexOf('--config');
  const path = i >= 0 ? process.argv[i + 1] : undefined;
  if (!path) throw new Error('usage: main.ts --config <file.json>');
  const cfg = parseHomeAgentConfig(JSON.parse(readFileSync(path, 'utf8')));
  const cache = new BindingCache();
  const registrar = new Registrar(cfg, cache);

  const tun = openTun(cfg.tunDevice);
  // room for the outer header: the kernel then sends "fragmentation needed" to intranet hosts itself
  ip(['link', 'set', tun.name, 'mtu', '1400', 'up']);
  const udp = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  udp.on('error', (e) => log({ event: 'udp-error', message: e.message }));
  const raw = openRawSocket(IpProto.IpInIp, { hdrincl: true });
  // RFC 2003 §5.1: "fragmentation needed" about our tunnel packets, and our own to intranet hosts
  const icmp = openRawSocket(IpProto.Icmp);
  // the raw packets of one read batch, sent together once its handler has returned (a microtask):
  // IP-in-IP built in the slots of one preallocated slab, the other formats from their own buffers
  const SLOTS = 64;
  const STRIDE = 2048; // ≥ 20 + the TUN's MTU (1400); a bigger packet gets a buffer of its own
  const slab = new Uint8Array(SLOTS * STRIDE);
  const slotLengths = new Uint32Array(SLOTS);
  let slotCount = 0;
  let outPkts: Uint8Array[] = [];
  let outDsts: string[] = [];
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    if (slotCount > 0) {
      const n = slotCount;
      slotCount = 0;
      raw.sendSlots!(slab, STRIDE, slotLengths, n);
    }
    if (outPkts.length === 0) return;
    const [pkts, dsts] = [outPkts, outDsts];
    outPkts = [];
    outDsts = [];
    if (raw.sendBatch) raw.sendBatch(pkts, dsts);
    else pkts.forEach((p, i) => raw.send(p, dsts[i]!));
  };
  const queueFlush = () => {
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(flush);
  };
  const rawSlots: RawSlots | undefined = raw.sendSlots && {
    slab,
    reserve: (length) => {
      if (length > STRIDE) return -1;
      if (slotCount === SLOTS) flush(); // a batch longer than the slab: send what is there first
      return slotCount * STRIDE;
    },
    commit: (length) => {
      slotLengths[slotCount++] = length;
      queueFlush();
    },
  };
  const forwarder = new Forwarder(cfg, cache, {
    tunWrite: (pkt) => tun.write(pkt),
    udpSend: (msg, port, addr) => udp.send(msg, port, addr),
    rawSend: (pkt, dst) => {
      outPkts.push(pkt);
      outDsts.push(dst);
      queueFlush();
    },
    icmpSend: (msg, dst) => void icmp.send(msg, dst),
    ...(rawSlots ? { rawSlots } : {}),
    tunnelMtuChanged: (coa, mtu) => {
      for (const b of cache.all()) if (b.tunnelDst === coa) fast?.sync(b, mtu);
    },
  });

  // IP-in-IP in native threads (ha_forward.cc) unless HA_NATIVE=0 or the addon is missing;
  // what they are not to decide comes to the forwarder below as if read here
  const addon = process.env.HA_NATIVE === '0' ? new Error('HA_NATIVE=0') : loadHaForwardAddon();
  let fast: IpInIpFastPath | undefined;
  if (!(addon instanceof Error) && raw.fd !== undefined) {
    fast = new IpInIpFastPath(addon, tun.fd, raw.fd, cfg.address, {
      fromIntranet: (pkt) => forwarder.handleFromIntranet(pkt),
      fromMn: (pkt) => forwarder.handleRaw(pkt),
    });
  }
  log({ event: 'fast-path', native: fast !== undefined, ...(addon instanceof Error ? { reason: addon.message } : {}) });

  const intercept = (b: Binding) => {
    fast?.sync(b, forwarder.tunnelMtu.get(b.tunnelDst));
    ip(['route', 'replace', `${b.homeAddress}/32`, 'dev', tun.name]);
    if (cfg.intranetDevice) ip(['neigh', 'replace', 'proxy', b.homeAddress, 'dev', cfg.intranetDevice]);
  };
  const release = (b: Binding) => {
    fast?.remove(b.homeAddress);
    ip(['route', 'del', `${b.homeAddress}/32`, 'dev', tun.name], true);
    if (cfg.intranetDevice) ip(['neigh', 'del', 'proxy', b.homeAddress, 'dev', cfg.intranetDevice], true);
  };

  udp.on('message', (msg, rinfo) => {
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    if (bytes[0] === MipType.TunnelData) return forwarder.handleTunnelData(bytes, rinfo);
    if (bytes[0] !== MipType.RegistrationRequest) return log({ event: 'dropped', reason: `unexpected message type ${bytes[0]}`, from: rinfo.address });
    const out = registrar.handleRequest(bytes, rinfo, monotonic(), Date.now());
    if (out.removed && out.removed.homeAddress !== out.added?.homeAddress) release(out.removed);
    // a new care-of address for a home address already bound: the interception (route into the TUN, proxy
    // ARP) is in place since its first registration and the forwarder reads the new binding from the cache,
    // so nothing is re-installed: two blocking `ip` runs here (~20 ms on a loaded machine) delayed the reply
    // of every move, and the mobile node's traffic with it. The native fast path keeps its own copy of the
    // binding (care-of address, format): that one does follow the move.
    if (out.added && out.removed?.homeAddress !== out.added.homeAddress) intercept(out.added);
    else if (out.added) fast?.sync(out.added, forwarder.tunnelMtu.get(out.added.tunnelDst));
    else if (out.removed) release(out.removed);
    if (out.reply) udp.send(out.reply, rinfo.port, rinfo.address);
    log(out.log);
  });
  tun.onPacket((pkt) => forwarder.handleFromIntranet(pkt));
  // with the fast path its threads read the TUN and the protocol-4 socket; JS still writes and sends on them
  if (fast) tun.setReading(false);
  else raw.onPacket((pkt) => forwarder.handleRaw(pkt));
  const rawGre = openRawSocket(IpProto.Gre);
  const rawMin = openRawSocket(IpProto.MinEncap);
  rawGre.onPacket((pkt) => forwarder.handleRaw(pkt));
  rawMin.onPacket((pkt) => forwarder.handleRaw(pkt));
  icmp.onPacket((pkt) => forwarder.handleIcmp(pkt));

  const expiry = setInterval(() => {
    for (const b of cache.expire(monotonic())) {
      release(b);
      log({ event: 'binding-removed', homeAddress: b.homeAddress, reason: 'lifetime expired' });
    }
  }, 250);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(expiry);
    for (const b of cache.all()) release(b);
    fast?.close(); // before the descriptors it reads are closed
    log({ event: 'stopped', signal, stats: forwarder.stats, native: fast?.stats, tun: tun.stats, raw: raw.stats });
    udp.close();
    raw.close();
    rawGre.close();
    rawMin.close();
    icmp.close();
    void tun.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGUSR1', () => log({ event: 'stats', stats: forwarder.stats, native: fast?.stats, bindings: cache.all().map((b) => ({ ...b, lastId: b.lastId.toString() })) }));

  // bound to the HA address, so that replies and tunnel data come from it (the MN checks)
  udp.bind(cfg.port, cfg.address, () => log({ event: 'ready', address: cfg.address, port: cfg.port, tun: tun.name }));
}

try {
  main();
} catch (e) {
  log({ event: 'fatal', message: (e as Error).message });
  process.exit(1);
}
