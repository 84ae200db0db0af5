/**
 * Policy rule 993 against the real kernel (app/io/policy-routes.ts): an
 * access network inside the intranet prefix, as in the bench lab (the
 * trusted 10.10.2.0/24 inside the intranet 10.10.0.0/16).
 *
 *   client ethi 10.10.2.100/24 ── 10.10.2.1, 10.10.2.5  router
 *   client hwmip0 (TUN, 10.10.0.77): table 434, rule 1002 — as the MipDriver sets it up
 *
 * Both sides: the engine's rules no longer make the kernel refuse a default
 * route via a gateway on that network ("Nexthop has invalid gateway"), and an
 * ordinary (unbound) socket's traffic to an intranet address on that same
 * subnet still goes into the tunnel, never in clear on the link — the
 * capture on the link shows only what a socket bound to the device sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetConfig } from '../../app/io/netconfig.ts';
import { MIP_TABLE, PolicyRoutes, PREF } from '../../app/io/policy-routes.ts';
import { capture, Lab, labAvailable, runOk, skipLine, sweepStale } from './harness/index.ts';

const avail = labAvailable({ need: ['tcpdump', 'tshark'] });
if (!avail.ok) console.warn(skipLine('policy-nexthop.test.ts', avail));

const INTRANET = '10.10.0.0/16';
const HOA = '10.10.0.77';
const ON_LINK_INTRANET_HOST = '10.10.2.5';

describe.skipIf(!avail.ok)('policy rule 993: an access network inside the intranet prefix (lab)', () => {
  let lab: Lab;
  let policy: PolicyRoutes;
  const ip = (args: string[]) => lab.exec('client', 'ip', args);

  beforeAll(async () => {
    sweepStale();
    lab = await Lab.create({
      hosts: ['client', 'router'],
      links: [{ a: 'client', b: 'router', aAddr: '10.10.2.100/24', bAddr: '10.10.2.1/24', aIf: 'ethi', bIf: 'eth0' }],
    });
    await lab.addrAdd('router', 'eth0', `${ON_LINK_INTRANET_HOST}/24`);
    policy = new PolicyRoutes({ hoa: HOA, homeAgent: '10.10.0.2', intranet: [INTRANET], tuns: ['hwmip0'], net: new NetConfig({ netns: lab.ns('client') }) });
    await policy.install();
    // the MipDriver's part: the home address on its TUN, the intranet routed into it (table 434, rule 1002)
    await lab.execOk('client', 'ip', ['tuntap', 'add', 'dev', 'hwmip0', 'mode', 'tun']);
    await lab.execOk('client', 'ip', ['link', 'set', 'hwmip0', 'up']);
    await lab.execOk('client', 'ip', ['addr', 'add', `${HOA}/32`, 'dev', 'hwmip0']);
    await lab.execOk('client', 'ip', ['route', 'replace', INTRANET, 'dev', 'hwmip0', 'src', HOA, 'table', MIP_TABLE, 'scope', 'global']);
    await lab.execOk('client', 'ip', ['rule', 'add', 'to', INTRANET, 'lookup', MIP_TABLE, 'pref', String(PREF.mipRoutes)]);
    await lab.execOk('client', 'ip', ['route', 'del', 'default']).catch(() => undefined);
  }, 60_000);
  afterAll(async () => {
    try {
      await policy?.remove();
    } finally {
      await lab?.destroy();
    }
  });

  it('with the engine\'s rules the default route via 10.10.2.1 is taken; on a link that came later, only once rule 993 follows it', async () => {
    expect(policy.boundLinks).toContain('ethi');
    expect(policy.boundLinks).not.toContain('hwmip0');
    const rules = (await lab.execOk('client', 'ip', ['rule', 'show', 'pref', String(PREF.boundToLink)])).stdout.trim().split('\n');
    expect(rules).toEqual([expect.stringMatching(/oif ethi lookup main suppress_prefixlength 0/)]);
    await lab.execOk('client', 'ip', ['route', 'replace', 'default', 'via', '10.10.2.1', 'dev', 'ethi']);
    expect((await lab.execOk('client', 'ip', ['route', 'show', 'default'])).stdout).toMatch(/default via 10\.10\.2\.1 dev ethi/);
    // a second link, also inside the intranet prefix, that appears after the rules were written
    await lab.execOk('client', 'ip', ['link', 'add', 'ethn', 'type', 'veth', 'peer', 'name', 'rn0', 'netns', lab.ns('router')]);
    await lab.execOk('client', 'ip', ['link', 'set', 'ethn', 'up']);
    await lab.execOk('router', 'ip', ['link', 'set', 'rn0', 'up']);
    await lab.execOk('client', 'ip', ['addr', 'add', '10.10.3.100/24', 'dev', 'ethn']);
    await lab.execOk('router', 'ip', ['addr', 'add', '10.10.3.1/24', 'dev', 'rn0']);
    // the bug, in the kernel: the nexthop check's policy lookup (oif ethn) ends at 1002 (a TUN route of scope global) and 1004
    const refused = await ip(['route', 'replace', '10.10.200.0/24', 'via', '10.10.3.1', 'dev', 'ethn']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Nexthop has invalid gateway/);
    // the fix: rule 993 follows the links (the engine syncs at every link change)
    await policy.syncLinks();
    expect(policy.boundLinks).toEqual(['ethi', 'ethn']);
    await lab.execOk('client', 'ip', ['route', 'replace', '10.10.200.0/24', 'via', '10.10.3.1', 'dev', 'ethn']);
    // a route that names no device is still refused: the kernel chooses its device by an unbound lookup, and
    // for the intranet ours answer "through the tunnel" (docs/ENGINE.md; DHCP clients name the device)
    const noDev = await ip(['route', 'replace', '10.10.201.0/24', 'via', '10.10.3.1']);
    expect(noDev.stderr).toMatch(/Nexthop has invalid gateway/);
    // the link goes: so does its rule
    await lab.execOk('client', 'ip', ['link', 'del', 'ethn']);
    await policy.syncLinks();
    expect(policy.boundLinks).toEqual(['ethi']);
    expect((await lab.execOk('client', 'ip', ['rule', 'show', 'pref', String(PREF.boundToLink)])).stdout).not.toMatch(/ethn/);
  });

  it('an unbound socket to an intranet address on that subnet goes into the tunnel, never in clear on the link', async () => {
    await lab.execOk('client', 'ip', ['route', 'replace', 'default', 'via', '10.10.2.1', 'dev', 'ethi']);
    expect((await ip(['route', 'get', ON_LINK_INTRANET_HOST])).stdout).toMatch(/dev hwmip0 table 434/);
    expect((await ip(['route', 'get', ON_LINK_INTRANET_HOST, 'oif', 'ethi'])).stdout).toMatch(/dev ethi/);
    // bound to ethi but beyond its own subnet: never through the link's default route (suppress_prefixlength 0);
    // the lookup fails and the kernel's own fallback for a bound socket takes the destination to be on the link,
    // with or without rule 993 (ip_route_output_key_hash_rcu: "Assume, that the destination is on link")
    const far = await ip(['route', 'get', '10.10.9.9', 'oif', 'ethi']);
    expect(far.stdout).toMatch(/dev ethi/);
    expect(far.stdout).not.toMatch(/via/);
    const cap = await capture(lab, 'router', 'eth0', { filter: `host ${ON_LINK_INTRANET_HOST} and not arp` });
    // unbound: ICMP (ping, 111 bytes of payload) and UDP (a datagram socket)
    await lab.exec('client', 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '1', '-s', '111', ON_LINK_INTRANET_HOST]);
    const udp = `const s=require('dgram').createSocket('udp4');s.send(Buffer.alloc(77),9999,'${ON_LINK_INTRANET_HOST}',(e)=>{console.log(e?e.code:'sent');s.close();});`;
    const sent = await lab.exec('client', process.execPath, ['-e', udp]);
    // bound to the device (the positive control: the capture sees what does leave): 222 bytes of payload
    await lab.execOk('client', 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '1', '-s', '222', '-I', 'ethi', ON_LINK_INTRANET_HOST]);
    const pcap = await cap.stop();
    const fields = await runOk('tshark', ['-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.proto', '-e', 'ip.len']);
    const pkts = fields.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
    const fromClient = pkts.filter((p) => p[1] === ON_LINK_INTRANET_HOST);
    // the UDP datagram went into the TUN (sent) or was refused locally; either way, not on the wire
    expect(sent.stdout.trim()).toMatch(/sent|ENETUNREACH/);
    expect(fromClient.filter((p) => p[2] === '17')).toEqual([]);
    expect(fromClient.filter((p) => p[3] === String(20 + 8 + 111))).toEqual([]);
    expect(fromClient.filter((p) => p[3] === String(20 + 8 + 222)).length).toBe(2);
    expect(fromClient.every((p) => p[0] === '10.10.2.100')).toBe(true);
  });
});
