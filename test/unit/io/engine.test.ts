/**
 * The engine over the in-memory platform (test/fakes): no root, no
 * namespaces, time on the MemoryClock. The home agent is the lab's reference
 * Registrar (test/lab/home-agent/registrar.ts) on a MemoryDatagram at port
 * 434; a foreign agent is a host sending Agent Advertisements on a raw ICMP
 * socket. The Mobile IP driver is a recording stand-in (the engine's
 * `mipDriver` option): what the engine hands it is checked, the
 * registration itself is the engine's detection probe on the network.
 *
 *   MN eth0 10.2.0.100/24 ── T1 ── HA 10.2.0.1/24 (+ 10.1.0.1, the i-HA; trusted prefix 10.2.0.0/24)
 *   MN eth1 10.3.0.100/24 ── U1 ── R 10.3.0.1/24 (an untrusted network: no route to the i-HA)
 */
import { describe, expect, it } from 'vitest';
import { parseProfile, type Profile } from '../../../app/config/profile.ts';
import type { EngineEvent } from '../../../app/events.ts';
import type { DnsBackend, DnsSettings } from '../../../app/io/dns.ts';
import { Engine, type MipOptions, type MipPort } from '../../../app/io/engine.ts';
import type { DataPath, MipDriverStats } from '../../../app/io/mip-driver.ts';
import { AdvFlag } from '../../../app/wire/mip4/constants.ts';
import { encodeAgentAdvertisement } from '../../../app/wire/mip4/agent-advertisement.ts';
import { IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { BindingCache } from '../../lab/home-agent/binding-cache.ts';
import { parseHomeAgentConfig } from '../../lab/home-agent/config.ts';
import { Registrar } from '../../lab/home-agent/registrar.ts';
import { ALL_HOSTS, MemoryClock, MemoryNet, memoryPlatform, type MemoryHost, type MemoryPlatform } from '../../fakes/memory-platform.ts';

const KEY = '00112233445566778899aabbccddeeff';
const HOA = '10.1.0.50';
const HA = '10.1.0.1';

function profile(): Profile {
  return parseProfile({
    homeAddress: HOA, homeAgent: HA, mnHaAuth: { spi: 300, key: `hex:${KEY}` },
    mip: { udpTunnel: 'off' },
    detection: { timeoutMs: 1000, retransmits: 2 },
  });
}

/** What the engine asks of the Mobile IP driver, recorded. */
class RecordingMip implements MipPort {
  readonly registered: Array<{ coa: string; source: string; via?: string }> = [];
  readonly paths: Array<DataPath | undefined> = [];
  readonly stats: MipDriverStats = {
    tunnelledOut: 0, tunnelledIn: 0, droppedNoBinding: 0, tooBig: 0, droppedMalformed: 0, droppedWrongSource: 0, droppedWrongFormat: 0, droppedWrongPath: 0, keepalivesSent: 0,
  };
  started = false;
  stopped = false;
  constructor(readonly opts: MipOptions) {}
  get tunStats(): undefined {
    return undefined;
  }
  get coreStats(): unknown {
    return undefined;
  }
  start(): Promise<void> {
    this.started = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
  register(loc: { coa: string; source: string; via?: string }): void {
    this.registered.push(loc);
  }
  deregister(): void {}
  readonly refreshed: string[] = [];
  refreshBinding(reason: string): void {
    this.refreshed.push(reason);
  }
  setDataPath(path: DataPath | undefined): void {
    this.paths.push(path);
  }
  sendOut(): void {}
}

class RecordingDns implements DnsBackend {
  readonly via = 'resolv.conf' as const;
  readonly applied: DnsSettings[] = [];
  apply(s: DnsSettings): Promise<void> {
    this.applied.push(s);
    return Promise.resolve();
  }
  restore(): Promise<void> {
    return Promise.resolve();
  }
}

interface Rig {
  net: MemoryNet;
  mn: MemoryHost;
  p: MemoryPlatform;
  engine: Engine;
  mip: RecordingMip;
  events: EngineEvent[];
  /** what the home agent received: the request's source and the reply it sent (if any) */
  haLog: Array<{ from: string; replied: boolean }>;
}

function rig(): Rig {
  const net = new MemoryNet(new MemoryClock({ wallStart: 1_790_000_000_000 }));
  const mn = net.host('MN');
  mn.addInterface('eth0', { link: 'T1', address: '10.2.0.100/24', gateway: '10.2.0.1' });
  const ha = net.host('HA');
  ha.addInterface('eth0', { link: 'T1', address: ['10.2.0.1/24', `${HA}/32`] });
  const registrar = new Registrar(parseHomeAgentConfig({
    address: HA, homeNetwork: '10.1.0.0/24', trustedPrefixes: ['10.2.0.0/24'],
    mobileNodes: [{ homeAddress: HOA, spi: 300, key: `hex:${KEY}` }],
  }), new BindingCache());
  const haLog: Rig['haLog'] = [];
  const haSock = memoryPlatform(ha).openDatagram({ address: HA, port: 434 });
  haSock.onMessage((bytes, from) => {
    const out = registrar.handleRequest(bytes, from, net.clock.now(), net.clock.wallNow());
    haLog.push({ from: from.address, replied: out.reply !== undefined });
    if (out.reply) haSock.send(out.reply, from);
  });
  const r = net.host('R', { forwarding: true });
  r.addInterface('eth0', { link: 'U1', address: '10.3.0.1/24' });
  const p = memoryPlatform(mn);
  let mip: RecordingMip | undefined;
  const engine = new Engine({
    profile: profile(), platform: p, dnsBackend: new RecordingDns(),
    mipDriver: (o) => (mip = new RecordingMip(o)),
  });
  const events: EngineEvent[] = [];
  engine.onEvent((e) => events.push(e));
  return { net, mn, p, engine, mip: mip!, events, haLog };
}

const modes = (events: EngineEvent[]): string[] => events.flatMap((e) => (e.type === 'mode' ? [e.mode] : []));

describe('Engine over the in-memory platform', () => {
  it('start → detecting with a direct request to the i-HA; its accepted reply with TNC → mode c; a new link → detecting again', async () => {
    const { net, mn, p, engine, mip, events, haLog } = rig();
    await engine.start();
    expect(mip.started).toBe(true);
    // the fail-closed rules are in place before anything is sent: the home address leaves only through a tunnel
    expect(p.net.rules.some((r) => r.pref === 1003 && r.from?.addr === HOA && r.action === 'unreachable')).toBe(true);
    // offline until the link is known and the user's connect is in; then detecting
    expect(modes(events).at(-1)).toBe('detecting');
    await net.settle();
    // the detection request went from the link's address to the i-HA's port 434 on its own socket
    const probe = p.opened.datagrams.find((d) => d.sent.length > 0);
    expect(probe?.local().address).toBe('10.2.0.100');
    expect(probe?.sent[0]?.to).toEqual({ address: HA, port: 434 });
    expect(haLog).toEqual([{ from: '10.2.0.100', replied: true }]);
    const reg = events.find((e) => e.type === 'registration');
    expect(reg).toMatchObject({ type: 'registration', state: 'accepted', tnc: true, coa: '10.2.0.100', homeAgent: HA });
    expect(modes(events).slice(-2)).toEqual(['detecting', 'c']);
    expect(events.find((e) => e.type === 'mode' && e.mode === 'c')).toMatchObject({ trusted: true, coa: '10.2.0.100', hoa: HOA, connected: true });
    // the binding is handed to the Mobile IP driver, and its packets pinned to the link
    // the HA accepted the detection request's CoA: the driver takes it over, its data path using it at once
    expect(mip.registered).toEqual([{ coa: '10.2.0.100', source: '10.2.0.100', accepted: { udpTunnel: false, format: 'ip-in-ip' } }]);
    expect(mip.paths.at(-1)).toEqual({ device: 'eth0' });
    expect(engine.snapshot().mode).toBe('c');

    // move to an untrusted network: the old link goes down, a new one comes up
    const before = events.length;
    mn.addInterface('eth1', { link: 'U1', address: '10.3.0.100/24', gateway: '10.3.0.1', metric: 100 });
    await p.net.linkDown('eth0');
    await net.settle();
    expect(modes(events.slice(before))[0]).toBe('detecting');
    // a new detection request leaves from the new link's address (R has no route to the i-HA: no answer)
    const second = p.opened.datagrams.filter((d) => d.local().address === '10.3.0.100');
    expect(second.length).toBe(1);
    expect(second[0]!.sent[0]?.to).toEqual({ address: HA, port: 434 });
    expect(haLog).toHaveLength(1);
    await engine.stop();
    expect(mip.stopped).toBe(true);
    // a clean stop removes the blocking rules
    expect(p.net.rules.some((r) => r.pref === 1003)).toBe(false);
  });

  it('detection times out on the clock: the probe retransmits at the profile timing, and without a VPN the node is offline', async () => {
    const { net, mn, p, engine, events, haLog } = rig();
    // no i-HA answers on U1: the MN is only there
    mn.addInterface('eth1', { link: 'U1', address: '10.3.0.100/24', gateway: '10.3.0.1', metric: 100 });
    await p.net.linkDown('eth0');
    net.flush();
    await engine.start();
    await net.settle();
    const probe = p.opened.datagrams.find((d) => d.local().address === '10.3.0.100');
    expect(probe?.sent).toHaveLength(1);
    net.clock.advance(1000);
    await net.settle();
    expect(probe?.sent).toHaveLength(2);
    expect(haLog).toHaveLength(0);
    for (let i = 0; i < 10 && modes(events).at(-1) === 'detecting'; i++) {
      net.clock.advance(1000);
      await net.settle();
    }
    expect(modes(events)).toContain('offline');
    await engine.stop();
  });

  it('agent discovery: an Agent Advertisement on the access link becomes the controller\'s foreign agent', async () => {
    const { net, engine, events } = rig();
    const fa = net.host('FA');
    fa.addInterface('eth0', { link: 'T1', address: '10.2.0.2/24' });
    await engine.start();
    await net.settle();
    const adv = encodeAgentAdvertisement({
      code: 0, lifetime: 1800, routers: [{ address: '10.2.0.2', preference: 0 }], others: [],
      mobility: { sequence: 1, registrationLifetime: 600, flags: AdvFlag.ForeignAgent | AdvFlag.ReverseTunnel, careOfAddresses: ['10.2.0.2'] },
    });
    memoryPlatform(fa).openRaw(IpProto.Icmp, { device: 'eth0' }).send(adv, ALL_HOSTS);
    await net.settle();
    expect(events).toContainEqual({ type: 'log', level: 'info', msg: 'foreign agent 10.2.0.2 on eth0 offers 10.2.0.2' });
    const logs = events.length;
    // a truncated packet claiming to be an advertisement changes nothing and is never fatal
    memoryPlatform(fa).openRaw(IpProto.Icmp, { device: 'eth0' }).send(new Uint8Array([9, 0, 0, 0, 1]), ALL_HOSTS);
    await net.settle();
    expect(events.slice(logs).filter((e) => e.type === 'log' && e.msg.startsWith('foreign agent'))).toEqual([]);
    expect(events.slice(logs).filter((e) => e.type === 'error')).toEqual([]);
    expect(engine.stats.agentRxErrors).toBe(0);
    // the agent goes quiet: after its advertised lifetime it is lost, and the controller told so
    net.clock.advance(1801_000);
    await net.settle();
    expect(events).toContainEqual({ type: 'log', level: 'info', msg: 'no foreign agent on eth0' });
    await engine.stop();
  });

  it("the MIP driver's binding liveness events reach the event stream as they are; the snapshot's liveness stays the gateway's", async () => {
    const { net, engine, mip, events } = rig();
    await engine.start();
    await net.settle();
    mip.opts.onEvent({ type: 'liveness', what: 'binding', state: 'suspect', reason: 'one-sided', silentMs: 1010, action: 'refresh', coa: '10.2.0.100' });
    await net.settle();
    expect(events).toContainEqual({ type: 'liveness', what: 'binding', state: 'suspect', reason: 'one-sided', silentMs: 1010, action: 'refresh', coa: '10.2.0.100' });
    expect(engine.snapshot().liveness).toBeNull();
    await engine.stop();
  });
});
