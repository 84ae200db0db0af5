import { describe, expect, it } from 'vitest';
import type { AgentInfo, DiscoveryEvent } from '../../../app/mip4/agent-discovery.ts';
import { agentAdvertisement, foreignAgentChange } from '../../../app/mip4/fa-choice.ts';
import { encodeIpv4, IpProto } from '../../../app/wire/ip/ipv4-header.ts';

const FA = '10.4.0.1';

function agent(over: Partial<AgentInfo> = {}): AgentInfo {
  return {
    iface: 'wlan1', address: FA, sequence: 300, flags: 0, registrationLifetime: 1800, careOfAddresses: ['10.3.0.5'], routers: [],
    foreignAgent: true, homeAgent: false, busy: false, registrationRequired: false, reverseTunnel: true, udpTunnelling: false,
    lastHeard: 0, expiresAt: 10_000, ...over,
  };
}
const up = (a: AgentInfo): DiscoveryEvent => ({ type: 'agent-up', iface: 'wlan1', agent: a });

describe('foreign agent choice (fa-choice.ts)', () => {
  it('a usable FA (care-of address, reverse tunnelling, not busy) is announced once; unusable ones are not', () => {
    const a = agent();
    expect(foreignAgentChange(up(a), [a], undefined)).toEqual({ iface: 'wlan1', fa: { iface: 'wlan1', addr: FA, coa: '10.3.0.5' }, rebooted: false });
    expect(foreignAgentChange(up(a), [a], { iface: 'wlan1', addr: FA, coa: '10.3.0.5' })).toBeUndefined();
    for (const bad of [agent({ busy: true }), agent({ reverseTunnel: false }), agent({ careOfAddresses: [] }), agent({ foreignAgent: false })]) {
      expect(foreignAgentChange(up(bad), [bad], undefined)).toBeUndefined();
    }
  });

  it('the FA in use gone: null; the one in use rebooted: announced again with rebooted, another FA rebooting: nothing', () => {
    const known = { iface: 'wlan1', addr: FA, coa: '10.3.0.5' };
    expect(foreignAgentChange({ type: 'agent-lost', iface: 'wlan1', address: FA, reason: 'lifetime' }, [], known)).toEqual({ iface: 'wlan1', fa: null, rebooted: false });
    const a = agent({ sequence: 2 });
    expect(foreignAgentChange({ type: 'agent-rebooted', iface: 'wlan1', agent: a }, [a], known)).toMatchObject({ rebooted: true, fa: known });
    const other = agent({ address: '10.4.0.9', sequence: 1 });
    expect(foreignAgentChange({ type: 'agent-rebooted', iface: 'wlan1', agent: other }, [a, other], known)).toBeUndefined();
  });

  it('only ICMP type 9 in a well-formed IPv4 packet is an advertisement', () => {
    const adv = encodeIpv4({ src: FA, dst: '224.0.0.1', protocol: IpProto.Icmp }, Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0));
    expect(agentAdvertisement(adv)).toMatchObject({ src: FA });
    expect(agentAdvertisement(encodeIpv4({ src: FA, dst: '224.0.0.1', protocol: IpProto.Icmp }, Uint8Array.of(10, 0, 0, 0)))).toBeUndefined();
    expect(agentAdvertisement(encodeIpv4({ src: FA, dst: '224.0.0.1', protocol: IpProto.Udp }, Uint8Array.of(9, 0, 0, 0)))).toBeUndefined();
    expect(agentAdvertisement(Uint8Array.of(0x45, 0, 0))).toBeUndefined();
  });
});
