/**
 * The VPN driver end to end without root: VpnDriver on an in-memory host
 * (test/fakes: MemoryNet, memoryPlatform), the test responder of
 * test/harness/ike-pair.ts as the gateway (MiniGateway, with ESP), a router
 * between two access links. Time is the MemoryClock's; nothing sleeps.
 *
 *   MN wlan0 10.1.0.2 ─ U1 ─ R ─ core ─ GW 192.0.2.10
 *   MN eth1  10.2.0.2 ─ U2 ─┘           (the MOBIKE move)
 */
import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../../app/config/profile.ts';
import type { IkeEvent } from '../../../app/ikev2/types.ts';
import { bytesToHex } from '../../../app/base/bytes.ts';
import type { PreparedInit } from '../../../app/ikev2/crypto-adapter.ts';
import { InitPreparer, PREPARE_DELAY_MS } from '../../../app/io/ike-prepare.ts';
import { VpnDriver } from '../../../app/io/vpn-driver.ts';
import { DhId } from '../../../app/wire/ikev2/constants.ts';
import type { VpnDriverOptions, VpnResult } from '../../../app/io/vpn-driver.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { decodeUdp, encodeUdp } from '../../../app/wire/ip/udp.ts';
import { memoryPlatform, type MemoryNet } from '../../fakes/memory-platform.ts';
import type { MemoryHost, MemoryPlatform } from '../../fakes/memory-platform.ts';
import { MiniResponder } from '../../harness/ike-pair.ts';
import { MiniGateway } from '../../harness/mini-gateway.ts';
import { VPN_WORLD_GW, vpnWorld } from '../../fakes/vpn-world.ts';

const GW = VPN_WORLD_GW;
const TIA = '10.10.100.1';
const SERVER = '10.10.0.5';

function profile(over: Record<string, unknown> = {}) {
  return parseProfile({
    homeAddress: '10.10.0.77', homeAgent: '10.10.0.2', nai: 'alice@corp.example',
    mnHaAuth: { spi: 1000, key: 'hex:00112233445566778899aabbccddeeff' },
    vpn: { gateway: GW, localId: 'mn@example', remoteId: 'gw.example', auth: { psk: 'pair-psk' }, remoteTs: ['10.10.0.0/16'], reconnect: false, ...over },
  });
}

interface Rig {
  net: MemoryNet;
  mn: MemoryHost;
  platform: MemoryPlatform;
  gateway: MiniGateway;
  driver: VpnDriver;
  events: IkeEvent[];
  ready: Parameters<NonNullable<VpnDriverOptions['onReady']>>[0][];
  result: Promise<VpnResult>;
}

async function rig(opts: Partial<VpnDriverOptions> = {}): Promise<Rig> {
  const { net, mn, gw } = vpnWorld();
  const gateway = new MiniGateway(await memoryPlatform(gw).openUdpTransport(GW), new MiniResponder({ mobike: true, tia: TIA }));
  const platform = memoryPlatform(mn);
  const events: IkeEvent[] = [];
  const ready: Rig['ready'] = [];
  const driver = new VpnDriver({ profile: profile(), emit: (e) => events.push(e), onReady: (i) => ready.push(i), tunName: 'hw0', platform, ...opts });
  const result = driver.start();
  return { net, mn, platform, gateway, driver, events, ready, result };
}

/** Lets packets and promise chains run (advancing the clock by `stepMs` between rounds) until `cond` holds. */
async function until(r: Rig, cond: () => boolean, what: string, stepMs = 10, rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await r.net.settle();
    if (cond()) return;
    r.net.clock.advance(stepMs);
  }
  throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(r.events.map((e) => e.type === 'log' ? e.msg : e.type === 'error' ? `error:${e.code}` : `${e.type}:${'state' in e ? e.state : ''}`))}`);
}

function udpTo(src: string, dst: string, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return encodeIpv4({ src, dst, protocol: IpProto.Udp, ttl: 64 }, encodeUdp({ srcPort: sport, dstPort: dport, payload }, { src, dst }));
}

function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

async function up(r: Rig): Promise<void> {
  await until(r, () => r.ready.length > 0, 'the tunnel to be ready');
}

describe('VpnDriver over the in-memory platform', () => {
  it('sets up the IKE SA and the Child SA, then configures the TUN with the TIA and routes the traffic selectors through it', async () => {
    const r = await rig();
    await up(r);
    const established = r.events.find((e) => e.type === 'ike-sa' && e.state === 'established');
    expect(established).toMatchObject({ gateway: GW, local: '10.1.0.2', tia: TIA });
    expect(r.events.find((e) => e.type === 'child-sa')).toMatchObject({ state: 'installed', remoteTs: ['10.10.0.0-10.10.255.255'] });
    expect(r.ready[0]).toMatchObject({ tia: TIA, local: '10.1.0.2', dev: 'hw0', dns: { servers: ['10.10.0.53'] } });
    expect(r.mn.config.listAddressesNow('hw0').map((a) => a.address)).toEqual([TIA]);
    expect(r.mn.config.getRouteNow(SERVER)).toMatchObject({ dev: 'hw0', prefsrc: TIA });
    expect(r.mn.config.interfaces.get('hw0')?.mtu).toBe(1420);
    expect(r.gateway.sources.every((s) => s.startsWith('10.1.0.2:'))).toBe(true);
    await stop(r);
  });

  it('a packet routed into the TUN leaves as ESP in UDP to the gateway, and the ESP reply comes back out of the TUN to the socket', async () => {
    const r = await rig();
    await up(r);
    const sock = r.platform.openDatagram({ address: TIA });
    await sock.bound;
    const got: string[] = [];
    sock.onMessage((m, from) => got.push(`${text(m)} from ${from.address}:${from.port}`));
    sock.send(new TextEncoder().encode('hello'), { address: SERVER, port: 7 });
    await until(r, () => r.gateway.received.length > 0, 'ESP at the gateway');
    const inner = r.gateway.received[0]!;
    const h = decodeIpv4Header(inner);
    expect([h.src, h.dst, h.protocol]).toEqual([TIA, SERVER, IpProto.Udp]);
    const u = decodeUdp(inner.subarray(h.ihl));
    expect([text(u.payload), u.dstPort]).toEqual(['hello', 7]);
    expect(r.gateway.espPeer).toMatchObject({ addr: '10.1.0.2' });
    expect(r.driver.counters).toMatchObject({ tunIn: 1, espOut: 1 });

    r.gateway.sendInner(udpTo(SERVER, TIA, 7, u.srcPort, new TextEncoder().encode('world')));
    await until(r, () => got.length > 0, 'the reply at the socket');
    expect(got).toEqual([`world from ${SERVER}:7`]);
    expect(r.driver.counters).toMatchObject({ espIn: 1, tunOut: 1 });
    expect(r.gateway.dropped).toEqual([]);
    await stop(r);
  });

  it('ESP the SA cannot open is counted and dropped, never written to the TUN', async () => {
    const r = await rig();
    await up(r);
    r.gateway.transport.send({ bytes: Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 9, 9, 9, 9), local: { addr: GW, port: r.gateway.transport.nattPort }, remote: { addr: '10.1.0.2', port: 4500 } });
    r.gateway.transport.send({ bytes: Uint8Array.of(1, 2), local: { addr: GW, port: r.gateway.transport.nattPort }, remote: { addr: '10.1.0.2', port: 4500 } });
    await until(r, () => (r.driver.counters.dropped['esp-short'] ?? 0) > 0, 'the drops');
    expect(r.driver.counters.dropped).toMatchObject({ 'esp-unknown-spi': 1, 'esp-short': 1 });
    expect(r.driver.counters.tunOut).toBe(0);
    await stop(r);
  });

  it('MOBIKE: after a move to another access link the same IKE SA carries the traffic from the new address', async () => {
    const r = await rig();
    await up(r);
    // the MN gains eth1 on U2 and loses wlan0
    r.mn.addInterface('eth1', { link: 'U2', address: '10.2.0.2/24', gateway: '10.2.0.1', metric: 10 });
    r.mn.detach('wlan0');
    r.mn.config.delAddressNow('wlan0', '10.1.0.2/24');
    r.mn.config.linkDownNow('wlan0');
    const movedAt = r.net.clock.now();
    await r.driver.roam(undefined, movedAt);
    await until(r, () => r.events.some((e) => e.type === 'mobike-update'), 'the MOBIKE update');
    expect(r.events.find((e) => e.type === 'mobike-update')).toMatchObject({ from: '10.1.0.2', to: '10.2.0.2' });
    expect(r.events.filter((e) => e.type === 'ike-sa' && e.state === 'established')).toHaveLength(1);
    expect(r.gateway.responder.updates).toEqual([{ addr: '10.2.0.2', port: 4500 }]);

    const sock = r.platform.openDatagram({ address: TIA });
    await sock.bound;
    sock.send(new TextEncoder().encode('after the move'), { address: SERVER, port: 7 });
    await until(r, () => r.gateway.received.length > 0, 'ESP from the new address');
    expect(r.gateway.espPeer).toMatchObject({ addr: '10.2.0.2' });
    expect(text(decodeUdp(r.gateway.received[0]!.subarray(20)).payload)).toBe('after the move');
    await stop(r);
  });

  it('vpn up\'s own link watch: the first kernel notification starts the MOBIKE move, without a quiet window on the clock', async () => {
    const r = await rig({ monitor: true });
    await up(r);
    await until(r, () => r.platform.opened.watchers.length > 0, 'the link watch');
    const at = r.net.clock.now();
    r.mn.addInterface('eth1', { link: 'U2', address: '10.2.0.2/24', gateway: '10.2.0.1', metric: 10 });
    r.mn.detach('wlan0');
    r.mn.config.delAddressNow('wlan0', '10.1.0.2/24');
    r.mn.config.linkDownNow('wlan0');
    // packets and promise chains only: the clock stays where the change happened
    for (let i = 0; i < 50 && !r.events.some((e) => e.type === 'mobike-update'); i++) await r.net.settle();
    expect(r.net.clock.now()).toBe(at);
    expect(r.gateway.responder.updates).toEqual([{ addr: '10.2.0.2', port: 4500 }]);
    expect(r.events.find((e) => e.type === 'mobike-update')).toMatchObject({ from: '10.1.0.2', to: '10.2.0.2' });
    await stop(r);
  });

  it('a key pair and nonce prepared while idle: the next IKE SA takes them (once), and the next pair is made after its CHILD_SA is installed', async () => {
    const { net, mn, gw } = vpnWorld();
    const gateway = new MiniGateway(await memoryPlatform(gw).openUdpTransport(GW), new MiniResponder({ mobike: true, tia: TIA }));
    const platform = memoryPlatform(mn);
    const preparer = new InitPreparer(platform.clock, (n) => platform.random(n));
    preparer.soon(DhId.Curve25519);
    expect(preparer.prepared).toBe(false);
    net.clock.advance(PREPARE_DELAY_MS);
    expect(preparer.prepared).toBe(true);
    const taken: PreparedInit[] = [];
    const take = preparer.take.bind(preparer);
    preparer.take = (g) => {
      const x = take(g);
      if (x) taken.push(x);
      return x;
    };
    const events: IkeEvent[] = [];
    const ready: Rig['ready'] = [];
    const driver = new VpnDriver({ profile: profile(), emit: (e) => events.push(e), onReady: (i) => ready.push(i), tunName: 'hw0', platform, preparer });
    const r: Rig = { net, mn, platform, gateway, driver, events, ready, result: driver.start() };
    await up(r);
    // the gateway saw the prepared nonce, and the SA came up on the prepared key pair
    expect(taken).toHaveLength(1);
    expect(bytesToHex(gateway.responder.ni!)).toBe(bytesToHex(taken[0]!.ni));
    expect(preparer.take(DhId.Ecp256)).toBeUndefined();
    // installed: a fresh pair a little later, never the one used
    net.clock.advance(PREPARE_DELAY_MS);
    await net.settle();
    const next = take(DhId.Curve25519);
    expect(next).toBeDefined();
    expect(bytesToHex(next!.ni)).not.toBe(bytesToHex(taken[0]!.ni));
    expect(bytesToHex(next!.dh.publicKey)).not.toBe(bytesToHex(taken[0]!.dh.publicKey));
    expect(take(DhId.Curve25519)).toBeUndefined();
    await stop(r);
  });

  it('MOBIKE to a known address: UPDATE_SA_ADDRESSES leaves before the route and address reads, which run after it', async () => {
    const r = await rig();
    await up(r);
    r.mn.addInterface('eth1', { link: 'U2', address: '10.2.0.2/24', gateway: '10.2.0.1', metric: 10 });
    r.mn.detach('wlan0');
    r.mn.config.delAddressNow('wlan0', '10.1.0.2/24');
    r.mn.config.linkDownNow('wlan0');
    // the kernel reads hang until released: the update must not wait for them
    const reads: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((res) => {
      release = res;
    });
    const net = r.platform.net;
    const getRoute = net.getRoute.bind(net);
    const listAddresses = net.listAddresses.bind(net);
    net.getRoute = async (dst) => (reads.push('route'), await gate, getRoute(dst));
    net.listAddresses = async () => (reads.push('addresses'), await gate, listAddresses());
    let roamed = false;
    const roam = r.driver.roam('10.2.0.2', r.net.clock.now()).then(() => {
      roamed = true;
    });
    await until(r, () => r.events.some((e) => e.type === 'mobike-update'), 'the MOBIKE answer while the reads hang');
    expect(r.gateway.responder.updates).toEqual([{ addr: '10.2.0.2', port: 4500 }]);
    expect(r.events.find((e) => e.type === 'mobike-update')).toMatchObject({ from: '10.1.0.2', to: '10.2.0.2' });
    // the housekeeping started beside the update and is still waiting: the move is not done until it is
    expect(reads.sort()).toEqual(['addresses', 'route']);
    expect(roamed).toBe(false);
    release();
    await until(r, () => roamed, 'the housekeeping');
    await roam;
    await stop(r);
  });

  it('reconnect: a gateway gone silent is declared dead (DPD on the platform clock); after its restart a new IKE SA comes up on the same TUN', async () => {
    const r = await rig({ profile: profile({ reconnect: true, dpdSeconds: 5, retransmitBaseMs: 100, retransmitTries: 1 }) });
    await up(r);
    r.gateway.responder.opts.silent = true;
    await until(r, () => r.events.some((e) => e.type === 'log' && e.msg.startsWith('reconnecting')), 'the reconnect decision', 1000, 100);
    const dead = r.events.find((e) => e.type === 'error');
    expect(dead).toMatchObject({ code: 'DEAD_PEER', fatal: false });
    r.gateway.restart(new MiniResponder({ mobike: true, tia: TIA }));
    await until(r, () => r.events.filter((e) => e.type === 'ike-sa' && e.state === 'established').length === 2, 'the second IKE SA', 500, 100);
    expect(r.platform.tuns.size).toBe(1);
    expect(r.mn.config.getRouteNow(SERVER)).toMatchObject({ dev: 'hw0', prefsrc: TIA });
    // the new Child SA carries the traffic (the old SA's keys are gone at the restarted gateway)
    const sock = r.platform.openDatagram({ address: TIA });
    await sock.bound;
    sock.send(new TextEncoder().encode('again'), { address: SERVER, port: 7 });
    await until(r, () => r.gateway.received.length > 0, 'ESP on the new Child SA');
    expect(r.gateway.dropped).toEqual([]);
    await stop(r);
  });

  it('stop sends DELETE, removes the TIA, the routes and the TUN, and ends with a clean result', async () => {
    const r = await rig();
    await up(r);
    const result = await stop(r);
    expect(result).toEqual({});
    expect(r.events.some((e) => e.type === 'ike-sa' && e.state === 'deleted')).toBe(true);
    expect(r.mn.config.interfaces.has('hw0')).toBe(false);
    expect(r.mn.config.getRouteNow(SERVER).dev).toBe('wlan0');
  });
});

async function stop(r: Rig): Promise<VpnResult> {
  let result: VpnResult | undefined;
  void r.driver.stop().then((x) => {
    result = x;
  });
  await until(r, () => result !== undefined, 'the stop');
  expect(await r.result).toEqual(result);
  return result!;
}
