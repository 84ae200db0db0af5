/**
 * The benchmark lab: a client with two access links to one gateway, and an
 * intranet host behind it.
 *
 *   client etha 192.0.2.2   ── 192.0.2.1   a0 ┐
 *   client ethb 198.51.100.2 ── 198.51.100.1 b0 ┴ gw lan0 10.10.0.1 ── lan ── 10.10.0.5 intranet
 *
 * Link B starts without an address on the client: a move A→B takes A's
 * address away and gives the client B's (with the default route through
 * it); B→A does the reverse. The gateway is reachable on both links.
 *
 * With { nat: true } (the handover section) a third link goes through a
 * MASQUERADE router, and the gateway has a second address on a0:
 *
 *   client ethc 172.16.0.2 ── 172.16.0.1 rn (NAT) 100.64.0.2 ── 100.64.0.1 c0 gw   (+ 192.0.2.3 on a0)
 */
import { Lab, roadWarriorResponder, startStrongSwan, sweepStale, type StrongSwan } from '../../test/lab/harness/index.ts';
import { ESP, IKE, PSK } from './peers.ts';

export const GATEWAY = '192.0.2.1';
export const INTRANET = '10.10.0.5';
export const REMOTE_TS = '10.10.0.0/24';

export interface Access {
  iface: string;
  cidr: string;
  gw: string;
}
export const LINK_A: Access = { iface: 'etha', cidr: '192.0.2.2/24', gw: GATEWAY };
export const LINK_B: Access = { iface: 'ethb', cidr: '198.51.100.2/24', gw: '198.51.100.1' };
/** behind rn's NAT ({ nat: true } only) */
export const LINK_C: Access = { iface: 'ethc', cidr: '172.16.0.2/24', gw: '172.16.0.1' };
/** the gateway's second address on link A ({ nat: true } only) */
export const GATEWAY_2 = '192.0.2.3';

export interface BenchLab {
  lab: Lab;
  gateway: StrongSwan;
}

export async function createBenchLab(opts: { nat?: boolean } = {}): Promise<BenchLab> {
  sweepStale();
  const nat = opts.nat === true;
  const lab = await Lab.create({
    hosts: ['client', { name: 'gw', forward: true }, 'intranet', ...(nat ? [{ name: 'rn', forward: true }] : [])],
    switches: ['lan'],
    links: [
      { a: 'client', b: 'gw', aAddr: LINK_A.cidr, bAddr: '192.0.2.1/24', aIf: LINK_A.iface, bIf: 'a0' },
      { a: 'client', b: 'gw', bAddr: '198.51.100.1/24', aIf: LINK_B.iface, bIf: 'b0' },
      { a: 'gw', b: 'lan', aAddr: '10.10.0.1/24', aIf: 'lan0' },
      { a: 'intranet', b: 'lan', aAddr: `${INTRANET}/24` },
      ...(nat ? [
        { a: 'client', b: 'rn', bAddr: '172.16.0.1/24', aIf: LINK_C.iface, bIf: 'lan0' },
        { a: 'rn', b: 'gw', aAddr: '100.64.0.2/24', bAddr: '100.64.0.1/24', aIf: 'wan0', bIf: 'c0' },
      ] : []),
    ],
    routes: [
      { host: 'intranet', to: 'default', via: '10.10.0.1' },
      { host: 'client', to: 'default', via: LINK_A.gw },
      ...(nat ? [{ host: 'rn', to: 'default', via: '100.64.0.1' }] : []),
    ],
    ...(nat ? { nat: [{ host: 'rn', outIf: 'wan0' }] } : {}),
  });
  try {
    if (nat) {
      // the second address survives the primary's deletion only if promoted
      await lab.execOk('gw', 'sysctl', ['-qw', 'net.ipv4.conf.a0.promote_secondaries=1']);
      await lab.addrAdd('gw', 'a0', `${GATEWAY_2}/24`);
    }
    const gateway = await startStrongSwan(lab, 'gw', {
      swanctlConf: roadWarriorResponder({
        localAddr: nat ? `${GATEWAY}, ${GATEWAY_2}` : GATEWAY, psk: PSK, localTs: REMOTE_TS, proposals: IKE, espProposals: ESP,
      }),
    });
    return { lab, gateway };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/**
 * Moves the client from one access link to the other: A's address goes
 * (its routes with it), then B's address and the default route through B
 * come — back to back, as when a link drops and another takes over. The
 * route names its device, as a DHCP client's does: while the engine's
 * policy rules exist, the kernel could not choose a device for a gateway
 * inside an intranet prefix by itself (docs/ENGINE.md, rule 993).
 */
export async function moveClient(lab: Lab, from: Access, to: Access): Promise<void> {
  await lab.addrDel('client', from.iface, from.cidr);
  await lab.addrAdd('client', to.iface, to.cidr);
  await lab.routeAdd({ host: 'client', to: 'default', via: to.gw, dev: to.iface });
}
