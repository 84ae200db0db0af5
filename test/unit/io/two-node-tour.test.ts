/**
 * Issue 15's two-node test: our Engine on the in-memory platform against the
 * in-memory gateway and home agent built from the lab's reference code
 * (test/fakes/tour-net.ts: engine-lab.ts's T1/U1 topology), the tour
 * T1 → U1 → T1 of test/lab/engine-tour.test.ts on a manual clock:
 *
 *   T1: mode c — registered straight with the HA (TNC), a UDP echo and a ping
 *       from the home address reach the intranet host through the IP-in-IP
 *       tunnel and come back;
 *   U1: mode mc — the HA out of reach in clear, an IKE SA with the gateway
 *       (TIA as care-of address), the same traffic through IP-in-IP inside ESP;
 *   T1: mode c again — the HA's binding back on the link's address.
 *
 * Real packets end to end: the intranet host sees the home address as the
 * source, the gateway counts ESP both ways in mc, the HA's log shows each
 * binding; nothing from the home address crosses U1 in clear.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProfile } from '../../../app/config/profile.ts';
import type { EngineEvent } from '../../../app/events.ts';
import { Engine } from '../../../app/io/engine.ts';
import { IcmpType } from '../../../app/wire/ip/icmp.ts';
import { IpProto } from '../../../app/wire/ip/ipv4-header.ts';
import { icmpEchoPacket, ipHeader, parseIcmpEcho, parseUdpPacket } from '../../fakes/ip-packet.ts';
import { createTourNet, stopOnTour, TOUR, tourProfileJson, type TourNet } from '../../fakes/tour-net.ts';

const SETTLED = new Set(['c', 'f', 'mc']);

interface Run {
  t: TourNet;
  engine: Engine;
  events: EngineEvent[];
  dir: string;
}

let run: Run | undefined;

afterEach(async () => {
  const r = run;
  run = undefined;
  if (!r) return;
  await stopOnTour(r.t, r.engine);
  rmSync(r.dir, { recursive: true, force: true });
});

function describeEvents(events: EngineEvent[]): string {
  return events.filter((e) => e.type === 'mode' || e.type === 'handover' || e.type === 'registration' || e.type === 'error' || e.type === 'ike-sa')
    .map((e) => JSON.stringify(e)).join('\n');
}

/** Lets the engine's chains run and moves the manual clock from deadline to deadline until `pred` holds. */
async function until(r: Run, pred: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  if (!(await r.t.net.runUntil(pred, limitMs))) {
    const drops = [...r.t.net.hosts.values()].map((h) => `${h.name}: ${h.dropLog.slice(-8).join(' | ')}`).join('\n');
    throw new Error(`no ${what} within ${limitMs} ms of the manual clock:\n${describeEvents(r.events)}\n${drops}\n${JSON.stringify(r.engine.stats)}\n${r.t.haNode.log.map((l) => JSON.stringify(l)).join('\n')}\n${r.t.net.traceLog.slice(-40).join('\n')}`);
  }
}

/**
 * Settled in `mode`, and the MIP driver's own registration for that care-of
 * address accepted: in c the detection probe's acceptance settles the mode and
 * the driver's client registers right after it (until its reply, one HA delay
 * later, the driver has no binding and drops what the gate lets through).
 */
function ready(r: Run, from: number, mode: string): boolean {
  const evs = r.events.slice(from);
  const k = evs.findLastIndex((e) => e.type === 'mode');
  const m = evs[k];
  if (m?.type !== 'mode' || m.mode !== mode) return false;
  const accepted = (e: EngineEvent): boolean => e.type === 'registration' && e.state === 'accepted' && e.coa === m.coa;
  return mode === 'mc' ? evs.slice(0, k).some(accepted) : evs.slice(k + 1).some(accepted);
}

/** A UDP echo and a ping from the home address to the intranet host, as an application on the MN would send them. */
async function roundTrip(r: Run, tag: number): Promise<{ udp: string; ping: string }> {
  const { t } = r;
  const sock = t.platform.openDatagram({ address: TOUR.HOA });
  const answers: string[] = [];
  sock.onMessage((bytes, from) => answers.push(`${from.address}:${from.port} ${new TextDecoder().decode(bytes)}`));
  const icmp = t.platform.openRaw(IpProto.Icmp, { hdrincl: true });
  const pongs: string[] = [];
  icmp.onPacket((pkt) => {
    const e = parseIcmpEcho(pkt);
    if (e?.type === IcmpType.EchoReply && e.id === 0x4857) pongs.push(`${e.src} > ${e.dst} seq ${e.seq}`);
  });
  try {
    sock.send(new TextEncoder().encode(`hello ${tag}`), { address: TOUR.INTRA, port: TOUR.UDP_ECHO_PORT });
    icmp.send(icmpEchoPacket(TOUR.HOA, TOUR.INTRA, { type: IcmpType.EchoRequest, id: 0x4857, seq: tag, data: new Uint8Array(56).fill(tag) }), TOUR.INTRA);
    await until(r, () => answers.length > 0 && pongs.length > 0, `echo answers (${tag})`, 5000);
    return { udp: answers[0]!, ping: pongs[0]! };
  } finally {
    sock.close();
    icmp.close();
  }
}

/** The engine for a profile like the lab's (detection settings over it), on the MN of a fresh tour net. */
function startRun(detection: Record<string, unknown> = {}): Run {
  const t = createTourNet();
  const dir = mkdtempSync(join(tmpdir(), 'hw-two-node-'));
  const json = tourProfileJson();
  const profile = parseProfile({ ...json, detection: { ...(json.detection as object), ...detection } });
  const engine = new Engine({ profile, platform: t.platform, stateDir: dir, resolvConf: join(dir, 'resolv.conf') });
  const r: Run = { t, engine, events: [], dir };
  run = r;
  engine.onEvent((e) => r.events.push(e));
  return r;
}

describe('two-node tour: the engine against the in-memory gateway and home agent (T1 → U1 → T1)', () => {
  it('modes c, mc, c with real packets end to end, on the manual clock', async () => {
    const r = startRun();
    const { t, engine } = r;
    t.net.tracing = true;
    const capU1 = t.net.link('U1');
    capU1.capture = true;

    // T1: mode c
    await engine.start();
    await until(r, () => ready(r, 0, 'c'), 'mode c on T1');
    expect(r.events.find((e) => e.type === 'mode' && e.mode === 'c')).toMatchObject({ trusted: true, coa: TOUR.T1_ADDR, hoa: TOUR.HOA });
    expect(t.haNode.log.filter((l) => l.event === 'binding-added').at(-1)).toMatchObject({ coa: TOUR.T1_ADDR, tnc: true, tunnel: 'ipip' });
    const espBefore = t.gwNode.stats.espIn;
    const c1 = await roundTrip(r, 1);
    expect(c1).toEqual({ udp: `${TOUR.INTRA}:${TOUR.UDP_ECHO_PORT} hello 1`, ping: `${TOUR.INTRA} > ${TOUR.HOA} seq 1` });
    expect(t.echoed.at(-1)!.from).toBe(TOUR.HOA);
    const fromMn1 = t.haNode.forwarder.stats.fromMn;
    expect(fromMn1).toBeGreaterThanOrEqual(2);
    // in c the home address's traffic does not touch the VPN
    expect(t.gwNode.stats.espIn).toBe(espBefore);

    // U1: mode mc through the gateway
    let n0 = r.events.length;
    t.toU1();
    await until(r, () => ready(r, n0, 'mc'), 'mode mc on U1');
    const mc = r.events.slice(n0).find((e) => e.type === 'mode' && e.mode === 'mc');
    expect(mc).toMatchObject({ trusted: false, coa: '10.10.100.1' });
    // RFC 5266 §3.4 read the default way: the home address's traffic flows through the VPN before the HA's window ends
    const h = r.events.slice(n0).filter((e) => e.type === 'handover');
    expect(h).toEqual([expect.objectContaining({ from: 'c', to: 'mc', trust: 'deciding', trigger: 'link' })]);
    expect(h[0]!.type === 'handover' && h[0]!.gapMs).toBeLessThan(3000);
    // the VPN came up inside T1 already (detection.keepVpnInside, through the HA as the router): the move to U1 is MOBIKE
    expect(t.gwNode.log).toEqual([`established 10.10.100.1 for ${TOUR.T1_ADDR}`, `moved 10.10.100.1 to ${TOUR.U1_ADDR}:4500`]);
    expect(r.events.slice(n0).some((e) => e.type === 'mobike-update' && e.to === TOUR.U1_ADDR)).toBe(true);
    expect(t.haNode.log.filter((l) => l.event === 'binding-added').at(-1)).toMatchObject({ coa: '10.10.100.1', tnc: false });
    const esp0 = { ...t.gwNode.stats };
    const m = await roundTrip(r, 2);
    expect(m).toEqual({ udp: `${TOUR.INTRA}:${TOUR.UDP_ECHO_PORT} hello 2`, ping: `${TOUR.INTRA} > ${TOUR.HOA} seq 2` });
    expect(t.echoed.at(-1)!.from).toBe(TOUR.HOA);
    // both packets went through ESP each way, inside the IP-in-IP tunnel to the HA
    expect(t.gwNode.stats.espIn - esp0.espIn).toBeGreaterThanOrEqual(2);
    expect(t.gwNode.stats.espOut - esp0.espOut).toBeGreaterThanOrEqual(2);
    expect(t.haNode.forwarder.stats.fromMn - fromMn1).toBeGreaterThanOrEqual(2);

    // back to T1: mode c
    n0 = r.events.length;
    t.toT1();
    await until(r, () => ready(r, n0, 'c'), 'mode c back on T1');
    // one handover for the move: the HA's answer on T1 (one link each way) comes before the MOBIKE update's
    // (through the HA to the gateway: two each way), so traffic flows again straight in c
    expect(r.events.slice(n0).filter((e) => e.type === 'handover')).toEqual([expect.objectContaining({ from: 'mc', to: 'c', trust: 'trusted', trigger: 'link' })]);
    expect(t.gwNode.log.at(-1)).toBe(`moved 10.10.100.1 to ${TOUR.T1_ADDR}:4500`);
    expect(t.haNode.binding(TOUR.HOA)).toMatchObject({ careOfAddress: TOUR.T1_ADDR, trusted: true });
    const espBack = t.gwNode.stats.espIn;
    const c2 = await roundTrip(r, 3);
    expect(c2).toEqual({ udp: `${TOUR.INTRA}:${TOUR.UDP_ECHO_PORT} hello 3`, ping: `${TOUR.INTRA} > ${TOUR.HOA} seq 3` });
    expect(t.gwNode.stats.espIn).toBe(espBack);

    // the settled modes of the whole run, and nothing of the home address in clear on U1
    expect(r.events.filter((e) => e.type === 'mode' && SETTLED.has(e.mode)).map((e) => (e as { mode: string }).mode).filter((x, i, a) => x !== a[i - 1])).toEqual(['c', 'mc', 'c']);
    expect(r.events.filter((e) => e.type === 'error'), describeEvents(r.events)).toEqual([]);
    expect(capU1.frames.length).toBeGreaterThan(4);
    for (const f of capU1.frames) {
      const h = ipHeader(f.pkt)!;
      expect([h.src, h.dst]).not.toContain(TOUR.HOA);
    }
  });
  it('with detection.holdUntilDecided nothing flows on U1 before the detection window (1 s × 3) has passed', async () => {
    const r = startRun({ holdUntilDecided: true });
    const { t } = r;
    await r.engine.start();
    await until(r, () => ready(r, 0, 'c'), 'mode c on T1');
    const n0 = r.events.length;
    const movedAt = t.clock.now();
    t.toU1();
    await until(r, () => ready(r, n0, 'mc'), 'mode mc on U1');
    const h = r.events.slice(n0).filter((e) => e.type === 'handover');
    expect(h).toEqual([expect.objectContaining({ from: 'c', to: 'mc', trust: 'untrusted', trigger: 'link' })]);
    expect(h[0]!.type === 'handover' && h[0]!.gapMs).toBeGreaterThanOrEqual(3000);
    expect(t.clock.now() - movedAt).toBeGreaterThanOrEqual(3000);
    // the direct requests from U1 never reached the HA: its last binding is still T1's until the one through the VPN
    expect(t.haNode.log.filter((l) => l.from === TOUR.U1_ADDR)).toEqual([]);
    const m = await roundTrip(r, 4);
    expect(m.udp).toBe(`${TOUR.INTRA}:${TOUR.UDP_ECHO_PORT} hello 4`);
  });

  it('rule 993 follows the links: one per interface of the node at start, a new one at the next link change, none after a stop', async () => {
    const r = startRun();
    const { t } = r;
    const rules993 = () => t.mn.config.showRules().filter((l) => l.startsWith('993:')).sort();
    await r.engine.start();
    await until(r, () => ready(r, 0, 'c'), 'mode c on T1');
    expect(rules993()).toEqual([
      '993: from all oif eth1 lookup main suppress_prefixlength 0',
      '993: from all oif wlan0 lookup main suppress_prefixlength 0',
    ]);
    // a device plugged in (no address yet), then a move: the engine's rules follow
    t.mn.addInterface('usb0', { up: false });
    const n0 = r.events.length;
    t.toU1();
    await until(r, () => ready(r, n0, 'mc'), 'mode mc on U1');
    expect(rules993()).toContain('993: from all oif usb0 lookup main suppress_prefixlength 0');
    expect(rules993().some((l) => /hwmip0|hwvpn|oif lo /.test(l))).toBe(false);
    // a clean stop removes them with the rest
    const stopping = r.engine.stop();
    for (let i = 0; i < 50; i++) {
      await t.net.settle();
      t.clock.advance(100);
    }
    await stopping;
    expect(rules993()).toEqual([]);
  });

  it('a MOBIKE update lost on the fresh link is sent again 200 ms later (not after the profile\'s 1 s base), and the move completes', async () => {
    const r = startRun();
    const { t } = r;
    await r.engine.start();
    await until(r, () => ready(r, 0, 'c'), 'mode c on T1');
    // the warm IKE SA inside (detection.keepVpnInside) is up: the move is a MOBIKE update
    await until(r, () => r.events.some((e) => e.type === 'ike-sa' && e.state === 'established'), 'the warm IKE SA on T1');
    // U1 drops the first IKE message the MN sends there (the UPDATE_SA_ADDRESSES of the warm SA) and notes each one's time
    const ikeSent: number[] = [];
    const untrusted = t.net.link('U1').filter;
    t.net.link('U1').filter = (pkt, from) => {
      const u = from.host === 'mn' ? parseUdpPacket(pkt) : undefined;
      // IKE on 4500 carries the non-ESP marker (four zero bytes); ESP starts with a non-zero SPI
      const ike = u !== undefined && u.dst === TOUR.GW && (u.dstPort === 500 || (u.dstPort === 4500 && u.payload.length > 4 && u.payload.subarray(0, 4).every((b) => b === 0)));
      if (ike) {
        ikeSent.push(t.clock.now());
        if (ikeSent.length === 1) return null;
      }
      return untrusted?.(pkt, from);
    };
    const n0 = r.events.length;
    t.toU1();
    await until(r, () => ready(r, n0, 'mc'), 'mode mc on U1');
    expect(t.gwNode.log.at(-1)).toBe(`moved 10.10.100.1 to ${TOUR.U1_ADDR}:4500`);
    expect(ikeSent.length).toBeGreaterThanOrEqual(2);
    expect(ikeSent[1]! - ikeSent[0]!).toBe(200);
    const h = r.events.slice(n0).filter((e) => e.type === 'handover');
    expect(h).toEqual([expect.objectContaining({ from: 'c', to: 'mc' })]);
  });

  it('with detection.holdUntilDecided what an application sends from the home address during the window goes nowhere until the decision, then flows', async () => {
    const r = startRun({ holdUntilDecided: true });
    const { t } = r;
    await r.engine.start();
    await until(r, () => ready(r, 0, 'c'), 'mode c on T1');
    const n0 = r.events.length;
    const movedAt = t.clock.now();
    t.toU1();
    await t.net.settle();
    const echoed0 = t.echoed.length;
    const espIn0 = t.gwNode.stats.espIn;
    const fromMn0 = t.haNode.forwarder.stats.fromMn;
    const sock = t.platform.openDatagram({ address: TOUR.HOA });
    const answers: string[] = [];
    sock.onMessage((bytes) => answers.push(new TextDecoder().decode(bytes)));
    try {
      sock.send(new TextEncoder().encode('held 5'), { address: TOUR.INTRA, port: TOUR.UDP_ECHO_PORT });
      // the detection window (1 s × 3) but its last 100 ms, deadline by deadline
      const end = movedAt + 2900;
      while (t.clock.now() < end) {
        await t.net.settle();
        const next = t.clock.nextDeadline() ?? end;
        t.clock.advance(Math.max(1, Math.min(next, end) - t.clock.now()));
      }
      await t.net.settle();
      // undecided: no mode, no handover, nothing of the home address at the intranet host, the HA or the gateway's ESP
      expect(r.events.slice(n0).filter((e) => e.type === 'handover' || (e.type === 'mode' && SETTLED.has(e.mode)))).toEqual([]);
      expect(t.echoed.length).toBe(echoed0);
      expect(t.haNode.forwarder.stats.fromMn).toBe(fromMn0);
      expect(t.gwNode.stats.espIn).toBe(espIn0);
      expect(answers).toEqual([]);
      // decided (not inside): the held datagram goes through the VPN and its echo comes back
      await until(r, () => ready(r, n0, 'mc') && answers.length > 0, 'mode mc and the held datagram\'s echo');
      expect(answers).toEqual(['held 5']);
      expect(t.echoed.at(-1)!.from).toBe(TOUR.HOA);
      expect(t.gwNode.stats.espIn).toBeGreaterThan(espIn0);
    } finally {
      sock.close();
    }
  });
});
