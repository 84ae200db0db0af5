/**
 * Which foreign agent the controller should hear about (RFC 5944 §2.3, §2.4):
 * the pure decision the agent-discovery driver (app/io/agent-discovery-driver.ts)
 * applies to every discovery event, and the advertisement filter for its raw
 * ICMP socket.
 */
import type { ForeignAgent } from '../mobility/inputs.ts';
import { decodeIpv4Header, ipv4Payload, IpProto } from '../wire/ip/ipv4-header.ts';
import type { AgentInfo, DiscoveryEvent } from './agent-discovery.ts';

const ICMP_AGENT_ADVERTISEMENT = 9;

/** The link's usable foreign agent changed (or the one in use rebooted). */
export interface AgentChange {
  iface: string;
  fa: ForeignAgent | null;
  rebooted: boolean;
}

/**
 * What a discovery event means for the controller: the interface's usable
 * foreign agent — one that offers a care-of address and reverse tunnelling
 * (we always ask for T) and is not busy — when it differs from the one the
 * controller knows, or the one in use restarted (RFC 5944 §2.3.1: the core
 * registers through it again). Undefined: nothing changed.
 */
export function foreignAgentChange(e: DiscoveryEvent, agents: readonly AgentInfo[], known: ForeignAgent | undefined): AgentChange | undefined {
  const usable = agents.find((a) => a.foreignAgent && !a.busy && a.reverseTunnel && a.careOfAddresses.length > 0);
  const fa: ForeignAgent | null = usable ? { iface: e.iface, addr: usable.address, coa: usable.careOfAddresses[0]! } : null;
  const rebooted = e.type === 'agent-rebooted' && fa !== null && e.agent.address === fa.addr && known?.addr === fa.addr;
  if (!rebooted && known?.addr === fa?.addr && known?.coa === fa?.coa) return undefined;
  return { iface: e.iface, fa, rebooted };
}

/** An ICMP Agent Advertisement (type 9) in a raw IPv4 packet: its ICMP bytes and IP source, or undefined. */
export function agentAdvertisement(pkt: Uint8Array): { icmp: Uint8Array; src: string } | undefined {
  try {
    const h = decodeIpv4Header(pkt);
    if (h.protocol !== IpProto.Icmp) return undefined;
    const icmp = ipv4Payload(pkt, h);
    return icmp[0] === ICMP_AGENT_ADVERTISEMENT ? { icmp, src: h.src } : undefined;
  } catch {
    return undefined;
  }
}
