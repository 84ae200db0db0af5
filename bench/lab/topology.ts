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

export interface BenchLab {
  lab: Lab;
  gateway: StrongSwan;
}

export async function createBenchLab(): Promise<BenchLab> {
  sweepStale();
  const lab = await Lab.create({
    hosts: ['client', { name: 'gw', forward: true }, 'intranet'],
    switches: ['lan'],
    links: [
      { a: 'client', b: 'gw', aAddr: LINK_A.cidr, bAddr: '192.0.2.1/24', aIf: LINK_A.iface, bIf: 'a0' },
      { a: 'client', b: 'gw', bAddr: '198.51.100.1/24', aIf: LINK_B.iface, bIf: 'b0' },
      { a: 'gw', b: 'lan', aAddr: '10.10.0.1/24', aIf: 'lan0' },
      { a: 'intranet', b: 'lan', aAddr: `${INTRANET}/24` },
    ],
    routes: [
      { host: 'intranet', to: 'default', via: '10.10.0.1' },
      { host: 'client', to: 'default', via: LINK_A.gw },
    ],
  });
  try {
    const gateway = await startStrongSwan(lab, 'gw', {
      swanctlConf: roadWarriorResponder({ localAddr: GATEWAY, psk: PSK, localTs: REMOTE_TS, proposals: IKE, espProposals: ESP }),
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
 * come — back to back, as when a link drops and another takes over.
 */
export async function moveClient(lab: Lab, from: Access, to: Access): Promise<void> {
  await lab.addrDel('client', from.iface, from.cidr);
  await lab.addrAdd('client', to.iface, to.cidr);
  await lab.routeAdd({ host: 'client', to: 'default', via: to.gw });
}
