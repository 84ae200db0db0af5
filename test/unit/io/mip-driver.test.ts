/**
 * The Mobile IP drivers (app/io/mip-registration.ts, mip-tunnel.ts behind the
 * MipDriver facade) over the in-memory platform, against the lab's reference
 * home agent's pure parts (test/lab/home-agent: Registrar, BindingCache,
 * Forwarder) running on a MemoryHost. No root, no sleeps: the MemoryClock.
 *
 *   MN eth0 (visit-a 192.0.2.7) ─┐
 *   MN eth1 (visit-b 198.51.100.7)┴─ R (router) ─ home 10.1.0.0/24 ─ HA 10.1.0.1
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../app/base/ipv4.ts';
import { parseProfile, type Profile } from '../../../app/config/profile.ts';
import type { MipEvent } from '../../../app/events.ts';
import { MipDriver } from '../../../app/io/mip-driver.ts';
import { nativePipeline, type MipPassPort } from '../../../app/io/native-pipeline.ts';
import type { Platform } from '../../../app/io/platform.ts';
import { createRegistrationCore } from '../../../app/mip4/registration.ts';
import { decodeIpv4Header, encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { encodeUdp } from '../../../app/wire/ip/udp.ts';
import { MemoryClock, MemoryNet, memoryPlatform, type MemoryHost, type MemoryPlatform } from '../../fakes/memory-platform.ts';
import { BindingCache } from '../../lab/home-agent/binding-cache.ts';
import type { HomeAgentConfig } from '../../lab/home-agent/config.ts';
import { Forwarder } from '../../lab/home-agent/forwarding.ts';
import { Registrar } from '../../lab/home-agent/registrar.ts';
import { MipType } from '../../lab/home-agent/wire.ts';

const HOA = '10.1.0.50';
const HA = '10.1.0.1';
const HOST = '10.1.0.9';
const KEY = 'hex:00112233445566778899aabbccddeeff';
const SPI = 256;
const WALL0 = Date.UTC(2026, 11, 3, 12, 0, 0);

/** A Platform over `host` with the device facts the data path reads (ifindex, MTU). */
function withLinks(p: MemoryPlatform, host: MemoryHost): Platform {
  return {
    ...p,
    linkInfo: (dev) => {
      const i = host.config.interfaces.get(dev);
      return i ? { ifindex: i.ifindex, mtu: i.mtu } : {};
    },
  };
}

/**
 * The reference HA on a MemoryHost: registrations on UDP 434, reverse-tunnelled packets to `intranet`.
 * `echo`: an intranet host answers every UDP packet (its payload back, through the HA's tunnel).
 * `crash()`: the HA process dies (nothing answered, bindings gone); `restart()`: a fresh one, empty binding cache.
 */
function homeAgent(host: MemoryHost, mip: { udpTunnelling?: boolean; echo?: boolean; replayProtection?: 'timestamp' | 'nonce' } = {}) {
  const plat = memoryPlatform(host);
  const cfg: HomeAgentConfig = {
    address: HA, port: 434, homeNetwork: parsePrefix('10.1.0.0/24'), tunDevice: 'ha0',
    mobileNodes: [{ homeAddress: HOA, spi: SPI, key: Uint8Array.from(Buffer.from(KEY.slice(4), 'hex')) }],
    trustedPrefixes: [], acceptUntrusted: true, maxLifetime: 600, replayToleranceSeconds: 7, replayProtection: mip.replayProtection ?? 'timestamp',
    encapsulations: ['gre', 'minimal'], clockOffsetSeconds: 0, udpTunnelling: mip.udpTunnelling ?? true, keepaliveSeconds: 0, reverseTunnelling: true,
  };
  const intranet: Uint8Array[] = [];
  const udp = plat.openDatagram({ address: HA, port: 434 });
  const raw = plat.openRaw(IpProto.IpInIp, { hdrincl: true });
  const log: Array<Record<string, unknown>> = [];
  let nonce = 1;
  const fresh = () => {
    const cache = new BindingCache();
    const registrar = new Registrar(cfg, cache, () => nonce++);
    const forwarder: Forwarder = new Forwarder(cfg, cache, {
      tunWrite: (pkt) => {
        intranet.push(pkt);
        if (mip.echo) {
          const h = decodeIpv4Header(pkt);
          forwarder.handleFromIntranet(udpPacket(h.dst, h.src, text(pkt)));
        }
      },
      udpSend: (msg, port, address) => udp.send(msg, { address, port }),
      rawSend: (pkt, dst) => void raw.send(pkt, dst),
      icmpSend: () => undefined,
    });
    return { cache, registrar, forwarder };
  };
  let state: ReturnType<typeof fresh> | undefined = fresh();
  udp.onMessage((bytes, from) => {
    if (!state) return;
    if (bytes[0] === MipType.TunnelData) return state.forwarder.handleTunnelData(bytes, from);
    const out = state.registrar.handleRequest(bytes, from, plat.clock.now(), plat.clock.wallNow());
    log.push(out.log);
    if (out.reply) udp.send(out.reply, from);
  });
  raw.onPacket((pkt) => state?.forwarder.handleRaw(pkt));
  return {
    get cache() {
      return state?.cache ?? new BindingCache();
    },
    get forwarder() {
      if (!state) throw new Error('the home agent is down');
      return state.forwarder;
    },
    intranet, log,
    crash: () => { state = undefined; },
    restart: () => { state = fresh(); },
  };
}

function world(mip: Parameters<typeof homeAgent>[1] = {}) {
  const net = new MemoryNet(new MemoryClock({ wallStart: WALL0 }));
  const mn = net.host('MN');
  mn.addInterface('eth0', { link: 'visit-a', address: '192.0.2.7/24', gateway: '192.0.2.1' });
  const r = net.host('R', { forwarding: true });
  r.addInterface('eth0', { link: 'visit-a', address: '192.0.2.1/24' });
  r.addInterface('eth1', { link: 'visit-b', address: '198.51.100.1/24' });
  r.addInterface('eth2', { link: 'home', address: '10.1.0.254/24' });
  const haHost = net.host('HA');
  haHost.addInterface('eth0', { link: 'home', address: `${HA}/24`, gateway: '10.1.0.254' });
  const ha = homeAgent(haHost, mip);
  const mnPlat = memoryPlatform(mn);
  return { net, mn, mnPlat, platform: withLinks(mnPlat, mn), ha };
}

function profile(udpTunnel: 'auto' | 'off' | 'force' = 'auto'): Profile {
  return parseProfile({ homeAddress: HOA, homeAgent: HA, mnHaAuth: { spi: SPI, key: KEY }, mip: { encapsulation: 'ipip', udpTunnel, lifetimeSeconds: 300 } });
}

function udpPacket(src: string, dst: string, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  return encodeIpv4({ src, dst, protocol: IpProto.Udp }, encodeUdp({ srcPort: 5000, dstPort: 7, payload }, { src, dst }));
}

function text(pkt: Uint8Array): string {
  return new TextDecoder().decode(pkt.subarray(decodeIpv4Header(pkt).ihl + 8));
}

/** stop(): the deregistration's answer arrives, or its 2 s wait runs out on the MemoryClock */
async function stopped(w: ReturnType<typeof world>, d: MipDriver): Promise<void> {
  const stopping = d.stop();
  await w.net.settle();
  w.net.clock.advance(2000);
  await w.net.settle();
  await stopping;
}

/** A UDP service on the home address (port 7): what the TUN delivers reaches it, and nothing answers "port unreachable". */
function homeService(w: ReturnType<typeof world>): string[] {
  const got: string[] = [];
  w.mnPlat.openDatagram({ address: HOA, port: 7 }).onMessage((m) => got.push(new TextDecoder().decode(m)));
  return got;
}

function driver(w: ReturnType<typeof world>, p = profile(), coa?: string) {
  const events: MipEvent[] = [];
  const d = new MipDriver({
    core: (prof, o) => createRegistrationCore(prof, o, (n) => w.platform.random(n)),
    profile: p, routes: ['10.1.0.0/24'], tunName: 'hwmip0', platform: w.platform, ...(coa ? { coa } : {}),
    onEvent: (e) => events.push(e),
  });
  return { d, events, registrations: () => events.filter((e) => e.type === 'registration') };
}

describe('MipDriver: binding liveness and refreshBinding (issue 18)', () => {
  /** A 20 ms "ping" from the home address for `ms`: one UDP packet per tick, the echo host answers through the HA. */
  async function flow(w: ReturnType<typeof world>, ms: number, send = true): Promise<void> {
    const tun = w.mnPlat.tuns.get('hwmip0')!;
    for (let t = 0; t < ms; t += 20) {
      if (send) tun.inject(udpPacket(HOA, HOST, `ping ${w.net.clock.now()}`));
      await w.net.run(20);
    }
  }
  const liveness = (events: MipEvent[]) => events.filter((e) => e.type === 'liveness');

  async function bound(mip: Parameters<typeof world>[0] = {}) {
    const w = world({ echo: true, ...mip });
    const r = driver(w, profile('off'));
    await r.d.start();
    await r.d.followCareOf();
    await w.net.settle();
    expect(r.registrations()).toEqual([expect.objectContaining({ state: 'accepted', coa: '192.0.2.7' })]);
    homeService(w);
    return { w, ...r };
  }

  it('outbound flowing, inbound stops (the HA restarted, bindings gone): a refresh at once; the HA back with a new binding brings traffic back', async () => {
    const { w, d, events } = await bound();
    await flow(w, 1000);
    const in0 = d.stats.tunnelledIn;
    expect(in0).toBeGreaterThan(40);
    expect(liveness(events)).toEqual([]);
    const requests0 = w.ha.log.length;

    w.ha.crash();
    const crashedAt = w.net.clock.now();
    await flow(w, 1300);
    const suspect = liveness(events)[0];
    expect(suspect).toMatchObject({ type: 'liveness', what: 'binding', state: 'suspect', reason: 'one-sided', action: 'refresh', coa: '192.0.2.7' });
    expect((suspect as { silentMs: number }).silentMs).toBeGreaterThanOrEqual(1000);
    expect(d.stats.tunnelledIn).toBe(in0);

    // the HA comes back with an empty binding cache; the refresh's short retransmissions reach it
    await flow(w, 700);
    w.ha.restart();
    const backAt = w.net.clock.now();
    expect(w.ha.cache.get(HOA)).toBeUndefined();
    let firstReply: number | undefined;
    for (let t = 0; t < 2000 && firstReply === undefined; t += 20) {
      await flow(w, 20);
      if (d.stats.tunnelledIn > in0) firstReply = w.net.clock.now();
    }
    expect(firstReply).toBeDefined();
    // the refresh retransmits at most 1 s apart: the first reply within about a second of the HA's return
    expect(firstReply! - backAt).toBeLessThanOrEqual(1100);
    expect(w.ha.cache.get(HOA)).toMatchObject({ careOfAddress: '192.0.2.7' });
    expect(w.ha.log.slice(requests0).filter((l) => l.event === 'binding-added')).toHaveLength(1);
    await flow(w, 500);
    // the story: suspect → registration accepted → refresh accepted → inbound resumed
    const story = events.slice(events.indexOf(suspect!)).filter((e) => e.type === 'liveness' || e.type === 'registration').map((e) => e.type === 'liveness' ? `liveness:${e.state}:${e.result ?? e.action ?? ''}` : `registration:${e.state}`);
    expect(story).toEqual(['liveness:suspect:refresh', 'registration:accepted', 'liveness:ok:accepted', 'liveness:ok:inbound-resumed']);
    const resumed = liveness(events).at(-1) as { silentMs: number };
    expect(resumed.silentMs).toBeGreaterThanOrEqual(firstReply! - crashedAt - 300);
    await stopped(w, d);
  });

  it('no refresh when we send nothing, however long the silence', async () => {
    const { w, d, events } = await bound();
    await flow(w, 500);
    w.ha.crash();
    await flow(w, 10_000, false);
    expect(liveness(events)).toEqual([]);
    expect(w.ha.log.length).toBe(1);
    expect(d.stats.tunnelledIn).toBeGreaterThan(0);
    w.ha.restart();
    await stopped(w, d);
  });

  it("refreshBinding('resume') re-registers at once (fresh identification, same CoA) without tearing the tunnel down", async () => {
    const { w, d, events } = await bound();
    await flow(w, 200);
    const before = w.ha.cache.get(HOA)!;
    const n = events.length;
    w.net.clock.advance(3000);
    d.refreshBinding('resume');
    await w.net.settle();
    expect(events.slice(n)).toEqual([
      { type: 'liveness', what: 'binding', state: 'suspect', reason: 'resume', action: 'refresh', coa: '192.0.2.7' },
      expect.objectContaining({ type: 'registration', state: 'accepted', coa: '192.0.2.7' }),
      expect.objectContaining({ type: 'liveness', what: 'binding', state: 'ok', reason: 'resume', action: 'refresh', result: 'accepted', ms: 0 }),
    ]);
    const after = w.ha.cache.get(HOA)!;
    expect(after.lastId > before.lastId).toBe(true);
    expect(after).toMatchObject({ careOfAddress: '192.0.2.7', mode: 'ipip' });
    // the data path never went away: traffic flows on at once
    const in0 = d.stats.tunnelledIn;
    await flow(w, 100);
    expect(d.stats.tunnelledIn).toBeGreaterThan(in0);
    expect(d.stats.droppedNoBinding).toBe(0);
    await stopped(w, d);
  });

  it('refreshBinding before any registration does nothing', async () => {
    const w = world();
    const { d, events } = driver(w);
    await d.start();
    d.refreshBinding('resume');
    await w.net.settle();
    expect(events).toEqual([]);
    expect(w.ha.log).toEqual([]);
    await stopped(w, d);
  });

  it('a restarted HA using nonces answers the refresh with 133: resynchronised and registered again at once', async () => {
    const { w, d, events } = await bound({ replayProtection: 'nonce' });
    await flow(w, 200);
    w.ha.restart();
    const n = events.length;
    const t0 = w.net.clock.now();
    await flow(w, 1500);
    const story = events.slice(n).map((e) => (e.type === 'registration' ? `registration:${e.state}` : e.type === 'liveness' ? `liveness:${e.state}:${e.result ?? e.action ?? ''}` : e.type));
    expect(story.slice(0, 5)).toEqual(['liveness:suspect:refresh', 'registration-resync', 'registration:accepted', 'liveness:ok:accepted', 'liveness:ok:inbound-resumed']);
    // the 133 and the second request were one round trip apart: no retransmission timer in between
    const accepted = events.slice(n).find((e) => e.type === 'liveness' && e.result === 'accepted') as { ms: number };
    expect(accepted.ms).toBe(0);
    expect(w.ha.log.slice(-2).map((l) => l.event)).toEqual(['denied', 'binding-added']);
    expect(w.net.clock.now() - t0).toBeLessThan(3000);
    await stopped(w, d);
  });

  it('mip.livenessMs: 0 turns it off; a bad value names the field', async () => {
    expect(() => parseProfile({ homeAddress: HOA, homeAgent: HA, mip: { livenessMs: 50 } })).toThrow(/mip\.livenessMs/);
    expect(() => parseProfile({ homeAddress: HOA, homeAgent: HA, mip: { livenessMs: 'fast' } })).toThrow(/mip\.livenessMs/);
    expect(parseProfile({ homeAddress: HOA, homeAgent: HA }).mip.livenessMs).toBe(1000);
    const w = world({ echo: true });
    const p = parseProfile({ homeAddress: HOA, homeAgent: HA, mnHaAuth: { spi: SPI, key: KEY }, mip: { udpTunnel: 'off', livenessMs: 0 } });
    const { d, events } = driver(w, p);
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    homeService(w);
    w.ha.crash();
    await flow(w, 5000);
    expect(liveness(events)).toEqual([]);
    await stopped(w, d);
  });
});

describe('MipDriver over the in-memory platform, against the reference home agent', () => {
  it('registers with MN-HA authentication, reverse-tunnels TUN traffic to the HA and delivers its tunnelled reply', async () => {
    const w = world();
    const { d, events, registrations } = driver(w);
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    expect(events[0]).toEqual({ type: 'care-of', coa: '192.0.2.7', moved: false });
    expect(registrations()).toEqual([expect.objectContaining({ state: 'accepted', coa: '192.0.2.7', udpTunnel: false, encapsulation: 'ip-in-ip' })]);
    expect(w.ha.cache.get(HOA)).toMatchObject({ careOfAddress: '192.0.2.7', mode: 'ipip', reverseTunnel: true });
    // the set-up the driver made through the platform: address, MTU, the HA on main, the prefix into the TUN
    expect(w.mn.config.deviceOf(HOA)).toBe('hwmip0');
    expect(w.mn.config.interfaces.get('hwmip0')).toMatchObject({ mtu: 1400, up: true });
    expect(w.mn.config.rules).toEqual(expect.arrayContaining([
      expect.objectContaining({ to: { addr: HA, len: 32 }, table: 'main', pref: 1000 }),
      expect.objectContaining({ to: { addr: HA, len: 32 }, action: 'unreachable', pref: 1001 }),
      expect.objectContaining({ to: { addr: '10.1.0.0', len: 24 }, table: '434', pref: 1002 }),
    ]));

    const tun = w.mnPlat.tuns.get('hwmip0')!;
    const service = homeService(w);
    tun.inject(udpPacket(HOA, HOST, 'hello intranet'));
    await w.net.settle();
    expect(w.ha.forwarder.stats.fromMn).toBe(1);
    expect(w.ha.intranet.map(text)).toEqual(['hello intranet']);
    expect(decodeIpv4Header(w.ha.intranet[0]!)).toMatchObject({ src: HOA, dst: HOST });

    w.ha.forwarder.handleFromIntranet(udpPacket(HOST, HOA, 'hello mobile node'));
    await w.net.settle();
    expect(w.ha.forwarder.stats.toMn).toBe(1);
    expect(tun.written.map(text)).toEqual(['hello mobile node']);
    expect(service).toEqual(['hello mobile node']);
    expect(d.stats).toMatchObject({ tunnelledOut: 1, tunnelledIn: 1, droppedNoBinding: 0, droppedWrongPath: 0 });

    await stopped(w, d);
    expect(registrations().at(-1)).toMatchObject({ state: 'deregistered' });
    expect(w.ha.cache.get(HOA)).toBeUndefined();
    expect(w.mn.config.interfaces.has('hwmip0')).toBe(false);
    expect(w.mn.config.rules.filter((r) => r.pref === 1000 || r.pref === 1001 || r.pref === 1002)).toEqual([]);
  });

  it('a profile without the MN-HA key: the driver can be built (the engine builds it at once), start() names the field', async () => {
    const w = world();
    const { d } = driver(w, parseProfile({ homeAddress: HOA, homeAgent: HA }));
    expect(d.coreStats).toBeUndefined();
    await expect(d.start()).rejects.toThrow(/mnHaAuth/);
    expect(w.mnPlat.tuns.size).toBe(0);
  });

  it('nothing leaves the TUN before the binding is accepted (fail closed, counted)', async () => {
    const w = world();
    const { d } = driver(w);
    await d.start();
    w.mnPlat.tuns.get('hwmip0')!.inject(udpPacket(HOA, HOST, 'too early'));
    await w.net.settle();
    expect(d.stats.droppedNoBinding).toBe(1);
    expect(w.ha.intranet).toEqual([]);
    await stopped(w, d);
  });

  it('a move to a new care-of address re-registers from it; traffic follows the new binding', async () => {
    const w = world();
    const { d, events, registrations } = driver(w);
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    // the MN leaves visit-a for visit-b
    w.mn.detach('eth0');
    w.mn.config.delAddressNow('eth0', '192.0.2.7/24');
    w.mn.config.delRouteNow({ dst: 'default', via: '192.0.2.1', dev: 'eth0' });
    w.mn.addInterface('eth1', { link: 'visit-b', address: '198.51.100.7/24', gateway: '198.51.100.1' });
    w.net.clock.advance(1000);
    await w.net.settle();
    expect(events).toContainEqual({ type: 'care-of', coa: '198.51.100.7', moved: true });
    expect(registrations().at(-1)).toMatchObject({ state: 'accepted', coa: '198.51.100.7' });
    expect(w.ha.cache.get(HOA)).toMatchObject({ careOfAddress: '198.51.100.7' });

    const tun = w.mnPlat.tuns.get('hwmip0')!;
    const service = homeService(w);
    tun.inject(udpPacket(HOA, HOST, 'from visit-b'));
    w.ha.forwarder.handleFromIntranet(udpPacket(HOST, HOA, 'to visit-b'));
    await w.net.settle();
    expect(w.ha.intranet.map(text)).toEqual(['from visit-b']);
    expect(tun.written.map(text)).toEqual(['to visit-b']);
    expect(service).toEqual(['to visit-b']);
    // already on this address: the next checks change nothing
    const n = registrations().length;
    w.net.clock.advance(3000);
    await w.net.settle();
    expect(registrations().length).toBe(n);
    await stopped(w, d);
    expect(w.ha.cache.get(HOA)).toBeUndefined();
  });

  it('refuses IP-in-IP "from the HA" that arrives on another device than the binding\'s', async () => {
    const w = world();
    const { d } = driver(w);
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    // an attacker on visit-b sends to the MN's address there, spoofing the HA as outer source
    w.mn.addInterface('eth1', { link: 'visit-b', address: '198.51.100.7/24' });
    const attacker = w.net.host('X');
    attacker.addInterface('eth0', { link: 'visit-b', address: '198.51.100.66/24' });
    attacker.config.addRouteNow({ dst: '192.0.2.7/32', via: '198.51.100.7', dev: 'eth0' });
    const inner = udpPacket(HOST, HOA, 'injected');
    attacker.output(encodeIpv4({ src: HA, dst: '192.0.2.7', protocol: IpProto.IpInIp }, inner), undefined);
    attacker.output(encodeIpv4({ src: HA, dst: '198.51.100.7', protocol: IpProto.IpInIp }, inner), undefined);
    await w.net.settle();
    expect(w.mnPlat.tuns.get('hwmip0')!.written).toEqual([]);
    // to the CoA but on eth1 (wrong device), and to eth1's address (not the CoA)
    expect(d.stats.droppedWrongPath).toBe(2);
    expect(d.stats.tunnelledIn).toBe(0);
    await stopped(w, d);
  });

  it('RFC 3519: with UDP tunnelling forced, user data and the reply travel as tunnel data on the registration socket', async () => {
    const w = world();
    const { d, registrations } = driver(w, profile('force'));
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    expect(registrations()).toEqual([expect.objectContaining({ state: 'accepted', udpTunnel: true })]);
    expect(w.ha.cache.get(HOA)).toMatchObject({ mode: 'udp', tunnelDst: '192.0.2.7' });
    const tun = w.mnPlat.tuns.get('hwmip0')!;
    const service = homeService(w);
    tun.inject(udpPacket(HOA, HOST, 'over udp'));
    w.ha.forwarder.handleFromIntranet(udpPacket(HOST, HOA, 'back over udp'));
    await w.net.settle();
    expect(w.ha.intranet.map(text)).toEqual(['over udp']);
    expect(tun.written.map(text)).toEqual(['back over udp']);
    expect(service).toEqual(['back over udp']);
    await stopped(w, d);
  });

  it("the engine's shape: registers from the source it is given, sends only through the data path it is pinned to", async () => {
    const w = world();
    const { d, registrations } = driver(w);
    await d.start();
    d.register({ coa: '192.0.2.7', source: '192.0.2.7' });
    await w.net.settle();
    expect(registrations()).toEqual([expect.objectContaining({ state: 'accepted', coa: '192.0.2.7' })]);
    const tun = w.mnPlat.tuns.get('hwmip0')!;
    homeService(w);
    // no data path yet: the binding is there but nothing may leave (counted, not sent)
    tun.inject(udpPacket(HOA, HOST, 'unpinned'));
    await w.net.settle();
    expect(w.ha.intranet).toEqual([]);
    expect(d.stats.droppedNoBinding).toBe(1);
    d.setDataPath({ device: 'eth0' });
    d.sendOut(udpPacket(HOA, HOST, 'released by the gate'));
    await w.net.settle();
    expect(w.ha.intranet.map(text)).toEqual(['released by the gate']);
    d.deregister();
    await w.net.settle();
    expect(registrations().at(-1)).toMatchObject({ state: 'deregistered' });
    expect(w.ha.cache.get(HOA)).toBeUndefined();
    tun.inject(udpPacket(HOA, HOST, 'after deregistration'));
    await w.net.settle();
    expect(w.ha.intranet).toHaveLength(1);
    await stopped(w, d);
  });

  it('a care-of address the HA accepted already (the detection request\'s reply) carries data at once, before our own request is answered', async () => {
    const w = world();
    const { d, registrations } = driver(w);
    await d.start();
    homeService(w);
    // no answer yet to the driver's own request: the data path already uses the accepted binding
    d.register({ coa: '192.0.2.7', source: '192.0.2.7', accepted: { udpTunnel: false, format: 'ip-in-ip' } });
    d.setDataPath({ device: 'eth0' });
    d.sendOut(udpPacket(HOA, HOST, 'right after the probe'));
    expect(registrations()).toEqual([]);
    expect(d.stats.droppedNoBinding).toBe(0);
    await w.net.settle();
    expect(w.ha.intranet.map(text)).toEqual(['right after the probe']);
    expect(registrations()).toEqual([expect.objectContaining({ state: 'accepted', coa: '192.0.2.7' })]);
    await stopped(w, d);
  });

  it('homeward mip --coa with an address that is not ours: registers from the host\'s source, the HA sees a NAT and tunnels over UDP', async () => {
    const w = world();
    const { d, events, registrations } = driver(w, profile(), '203.0.113.50');
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    expect(events[0]).toEqual({ type: 'care-of', coa: '203.0.113.50', moved: false });
    expect(registrations()).toEqual([expect.objectContaining({ state: 'accepted', coa: '203.0.113.50', udpTunnel: true })]);
    expect(w.ha.cache.get(HOA)).toMatchObject({ careOfAddress: '203.0.113.50', mode: 'udp', tunnelDst: '192.0.2.7' });
    const tun = w.mnPlat.tuns.get('hwmip0')!;
    const service = homeService(w);
    tun.inject(udpPacket(HOA, HOST, 'via the registration socket'));
    w.ha.forwarder.handleFromIntranet(udpPacket(HOST, HOA, 'back'));
    await w.net.settle();
    expect(w.ha.intranet.map(text)).toEqual(['via the registration socket']);
    // tunnel data comes back to 192.0.2.7, the address the registration left from
    expect(service).toEqual(['back']);
    expect(d.stats).toMatchObject({ tunnelledIn: 1, droppedWrongPath: 0 });
    await stopped(w, d);
  });

  it('stop without an answer from the HA gives up after its timeout on the platform clock', async () => {
    const w = world();
    const { d } = driver(w);
    await d.start();
    await d.followCareOf();
    await w.net.settle();
    w.mn.detach('eth0'); // the deregistration is lost
    let done = false;
    const stopping = d.stop(2000).then(() => { done = true; });
    await w.net.settle();
    expect(done).toBe(false);
    w.net.clock.advance(2000);
    await w.net.settle();
    await stopping;
    expect(done).toBe(true);
    expect(w.ha.cache.get(HOA)).toBeDefined();
  });
});

describe('MipDriver: mode mc in the VPN data plane (app/io/native-pipeline.ts)', () => {
  /** A data plane offered for `device` that records what the tunnel asks of it. */
  function fakePort(device: string) {
    const calls: string[] = [];
    const installed: Array<Record<string, unknown>> = [];
    const counts = { installed: false, tunIn: 0, out: 0, in: 0, tooBigIcmp: 0, drops: { malformed: 0, 'too-big': 0, 'wrong-destination': 0, 'tun-write': 0 } };
    const port: MipPassPort = {
      install: (t) => {
        calls.push('install');
        installed.push({ ...t });
        counts.installed = true;
      },
      remove: () => {
        calls.push('remove');
        counts.installed = false;
      },
      stats: () => ({ ...counts, drops: { ...counts.drops } }),
    };
    const withdraw = nativePipeline.offer(device, port);
    return { calls, installed, counts, withdraw };
  }

  /** The home-address TUN given a descriptor and a reading switch, as the native TUN has. */
  function handOverTun(w: ReturnType<typeof world>) {
    const reading: boolean[] = [];
    Object.assign(w.mnPlat.tuns.get('hwmip0')!, { fd: 42, setReading: (on: boolean) => reading.push(on) });
    return reading;
  }

  it('installs the tunnel where its data path runs natively, follows the gate and the offer, and counts both paths', async () => {
    const w = world();
    const port = fakePort('eth0');
    try {
      const gated = { open: false };
      const events: MipEvent[] = [];
      const d = new MipDriver({
        core: (prof, o) => createRegistrationCore(prof, o, (n) => w.platform.random(n)),
        profile: profile('off'), routes: ['10.1.0.0/24'], tunName: 'hwmip0', platform: w.platform,
        gate: () => gated.open, onEvent: (e) => events.push(e),
      });
      await d.start();
      const reading = handOverTun(w);
      await d.followCareOf();
      await w.net.settle();
      expect(events.some((e) => e.type === 'registration' && e.state === 'accepted')).toBe(true);
      // the gate is closed (the engine holds or drops): nothing bypasses it
      expect(port.calls).toEqual([]);
      d.setTrafficOpen(true);
      expect(port.calls).toEqual(['install']);
      expect(port.installed[0]).toEqual({ tunFd: 42, hoa: HOA, coa: '192.0.2.7', ha: HA, mtu: 1500 });
      expect(reading).toEqual([false]);
      const dataPath = () => events.filter((e) => e.type === 'mip-data-path');
      expect(dataPath()).toEqual([{ type: 'mip-data-path', native: true, device: 'eth0' }]);
      // the pass's counters show in the driver's and the TUN's
      port.counts.out = 5;
      port.counts.in = 3;
      port.counts.tunIn = 6;
      port.counts.drops.malformed = 1;
      expect(d.stats).toMatchObject({ tunnelledOut: 5, tunnelledIn: 3, droppedMalformed: 1 });
      expect(d.tunStats).toMatchObject({ rxPackets: 6, txPackets: 3 });
      // a handover holds the gate: JavaScript reads the TUN again, the counts stay
      d.setTrafficOpen(false);
      expect(port.calls).toEqual(['install', 'remove']);
      expect(reading).toEqual([false, true]);
      expect(dataPath().at(-1)).toEqual({ type: 'mip-data-path', native: false });
      port.counts.out = 100; // the data plane's counters go on for others; ours were folded at removal
      expect(d.stats.tunnelledOut).toBe(5);
      d.setTrafficOpen(true);
      expect(port.calls).toEqual(['install', 'remove', 'install']);
      port.counts.out = 102;
      expect(d.stats.tunnelledOut).toBe(7);
      // the VPN's native path stops: back to JavaScript at once
      port.withdraw();
      expect(port.calls).toEqual(['install', 'remove', 'install', 'remove']);
      expect(reading).toEqual([false, true, false, true]);
      expect(dataPath().map((e) => e.type === 'mip-data-path' && e.native)).toEqual([true, false, true, false]);
      expect(d.stats.tunnelledOut).toBe(7);
      await stopped(w, d);
    } finally {
      port.withdraw();
    }
  });

  it('stays in JavaScript for RFC 3519 UDP tunnelling, a TUN without a descriptor, and HOMEWARD_NATIVE_MIP=0', async () => {
    for (const c of ['udp', 'no-fd', 'env'] as const) {
      const w = world();
      const port = fakePort('eth0');
      const saved = process.env.HOMEWARD_NATIVE_MIP;
      if (c === 'env') process.env.HOMEWARD_NATIVE_MIP = '0';
      try {
        const { d, registrations } = driver(w, profile(c === 'udp' ? 'force' : 'off'));
        await d.start();
        if (c !== 'no-fd') handOverTun(w);
        await d.followCareOf();
        await w.net.settle();
        expect(registrations()).toEqual([expect.objectContaining({ state: 'accepted', udpTunnel: c === 'udp' })]);
        expect(port.calls).toEqual([]);
        // and the JavaScript path carries the traffic
        w.mnPlat.tuns.get('hwmip0')!.inject(udpPacket(HOA, HOST, `js ${c}`));
        await w.net.settle();
        expect(w.ha.intranet.map(text)).toEqual([`js ${c}`]);
        await stopped(w, d);
      } finally {
        port.withdraw();
        if (saved === undefined) delete process.env.HOMEWARD_NATIVE_MIP;
        else process.env.HOMEWARD_NATIVE_MIP = saved;
      }
    }
  });
});
