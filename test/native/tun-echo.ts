/**
 * Child process for test/native/tun.test.ts, run inside a fresh network
 * namespace: `node --import tsx test/native/tun-echo.ts <mode>`.
 * Prints exactly one JSON line with what it saw.
 *
 *   echo   hwtun0 = 10.99.0.1/24; write an ICMP echo request from 10.99.0.2,
 *          read the kernel's reply back and decode it (checksums verified)
 *   close  a burst of requests; the handler closes the device on the first
 *          reply: no packet may arrive afterwards, write must throw, and the
 *          process must exit on its own (the poll handle is released)
 *   perm   only open a TUN (run with CAP_NET_ADMIN dropped): report the error
 *   echo-vnet  echo on a device opened with {offloads: true} (IFF_VNET_HDR):
 *          the addon strips and prepends the virtio_net_hdr, packets stay plain
 */
import { randomBytes } from 'node:crypto';
import { openTun, type NativeTunDevice } from '../../app/io/native-tun.ts';
import { NetConfig } from '../../app/io/netconfig.ts';
import { bytesToHex } from '../../app/base/bytes.ts';
import { decodeIcmpEcho, encodeIcmpEcho, IcmpType } from '../../app/wire/ip/icmp.ts';
import { decodeIpv4Header, encodeIpv4, ipv4Payload, IpProto } from '../../app/wire/ip/ipv4-header.ts';

const DEV = 'hwtun0';
const LOCAL = '10.99.0.1';
const PEER = '10.99.0.2';

function print(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function echoRequest(id: number, seq: number, data: Uint8Array): Uint8Array {
  return encodeIpv4({ src: PEER, dst: LOCAL, protocol: IpProto.Icmp, id: seq }, encodeIcmpEcho({ type: IcmpType.EchoRequest, id, seq, data }));
}

/** The ICMP echo reply in `pkt`, or undefined for anything else (IPv6, other ICMP). */
function asEchoReply(pkt: Uint8Array) {
  if (pkt.length < 1 || pkt[0]! >> 4 !== 4) return undefined;
  const h = decodeIpv4Header(pkt); // throws on a bad header checksum
  if (h.protocol !== IpProto.Icmp || pkt[h.ihl] !== IcmpType.EchoReply) return undefined;
  return { h, icmp: decodeIcmpEcho(ipv4Payload(pkt, h)) }; // throws on a bad ICMP checksum
}

async function setUp(offloads = false): Promise<{ tun: NativeTunDevice; net: NetConfig }> {
  const tun = openTun(DEV, { offloads });
  const net = new NetConfig();
  await net.addAddress(tun.name, `${LOCAL}/24`);
  await net.setMtu(tun.name, 1400);
  await net.linkUp(tun.name);
  await net.linkUp('lo');
  return { tun, net };
}

async function echo(offloads = false): Promise<void> {
  const { tun, net } = await setUp(offloads);
  const id = randomBytes(2).readUInt16BE(0);
  const data = new Uint8Array(randomBytes(56));
  const reply = await new Promise<ReturnType<typeof asEchoReply>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo reply within 5 s')), 5000);
    tun.onPacket((pkt) => {
      try {
        const r = asEchoReply(pkt);
        if (r && r.icmp.id === id) {
          clearTimeout(timer);
          resolve(r);
        }
      } catch (e) {
        clearTimeout(timer);
        reject(e as Error);
      }
    });
    tun.write(echoRequest(id, 1, data));
  });
  const route = await net.getRoute(PEER);
  const addrs = await net.listAddresses(tun.name);
  const mtu = tun.mtu();
  const stats = tun.stats;
  await tun.close();
  print({
    ok: true,
    name: tun.name,
    offloads: tun.offloads,
    sent: { id, seq: 1, dataHex: bytesToHex(data) },
    reply: reply && { src: reply.h.src, dst: reply.h.dst, id: reply.icmp.id, seq: reply.icmp.seq, dataHex: bytesToHex(reply.icmp.data) },
    mtu,
    route,
    addrs,
    stats,
  });
}

async function closeMode(): Promise<void> {
  const { tun } = await setUp();
  const id = randomBytes(2).readUInt16BE(0);
  let closed = false;
  let afterClose = 0;
  let beforeClose = 0;
  const done = new Promise<void>((resolve) => {
    tun.onPacket((pkt) => {
      if (closed) {
        afterClose++;
        return;
      }
      if (!asEchoReply(pkt)) return;
      beforeClose++;
      closed = true;
      void tun.close().then(resolve);
    });
  });
  // Ten requests at once: the replies are read in one batch, closed after the first.
  for (let seq = 1; seq <= 10; seq++) tun.write(echoRequest(id, seq, new Uint8Array(8)));
  await done;
  const second = await tun.close().then(() => 'resolved');
  let writeError: { message: string; code?: string } | undefined;
  try {
    tun.write(echoRequest(id, 11, new Uint8Array(8)));
  } catch (e) {
    writeError = { message: (e as Error).message, code: (e as { code?: string }).code };
  }
  // Give the kernel's remaining replies time to arrive at a closed device.
  setTimeout(() => print({ ok: true, beforeClose, afterClose, second, writeError, rxPackets: tun.stats.rxPackets }), 300);
  // no process.exit: the test asserts that nothing keeps the event loop alive
}

function perm(): void {
  try {
    const tun = openTun(DEV);
    print({ ok: false, opened: tun.name });
    void tun.close();
  } catch (e) {
    const err = e as Error & { code?: string; syscall?: string };
    print({ ok: true, code: err.code, syscall: err.syscall, message: err.message });
  }
}

const mode = process.argv[2] ?? 'echo';
const run = mode === 'echo' ? () => echo() : mode === 'echo-vnet' ? () => echo(true) : mode === 'close' ? closeMode : mode === 'perm' ? async () => perm() : undefined;
if (!run) {
  print({ ok: false, error: `unknown mode ${mode}` });
  process.exitCode = 2;
} else {
  run().catch((e: unknown) => {
    print({ ok: false, error: e instanceof Error ? e.message : String(e) });
    process.exitCode = 1;
  });
}
