/**
 * The configuration payload in IKE_AUTH (RFC 7296 §2.19, §3.15):
 *
 *   SK{ …, CP(CFG_REQUEST){INTERNAL_IP4_ADDRESS(), [INTERNAL_IP4_DNS(), INTERNAL_DNS_DOMAIN()]} }  -->
 *                <--  SK{ …, CP(CFG_REPLY){INTERNAL_IP4_ADDRESS(TIA), DNS…, DNS_DOMAIN…} }
 *
 * The DNS servers and the split-DNS domains (RFC 8598) go to the driver with
 * the TIA; the engine points the resolver at them while it is outside.
 *
 * The TIA is the tunnel inner address (RFC 5266 mode mc care-of address);
 * a reply without one fails the SA with FAILED_CP_REQUIRED.
 */
import { CfgAttr, CfgType, ExchangeType, PayloadType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { cpDnsDomains, cpIp4Values } from '../../wire/ikev2/payloads/cp.ts';
import type { CpAttribute } from '../../wire/ikev2/payloads/cp.ts';
import { first } from '../notifies.ts';
import type { InboundMessage } from '../session.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';

export class IkeConfigTask implements Task {
  readonly name = 'ike-config';
  readonly exchange = ExchangeType.IkeAuth;

  build(out: Payload[], sa: SaContext): void {
    const attributes: CpAttribute[] = [{ kind: 'ip4', type: CfgAttr.InternalIp4Address }];
    if (sa.config.requestDns) {
      attributes.push({ kind: 'ip4', type: CfgAttr.InternalIp4Dns });
      // RFC 8598 §3.1: an empty INTERNAL_DNS_DOMAIN asks for the split-DNS domains
      attributes.push({ kind: 'raw', type: CfgAttr.InternalDnsDomain, value: new Uint8Array(0) });
    }
    out.push({ type: PayloadType.CP, cfgType: CfgType.Request, attributes });
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    const cp = first(msg.payloads, PayloadType.CP);
    const tia = cp && cp.cfgType === CfgType.Reply ? cpIp4Values(cp, CfgAttr.InternalIp4Address)[0] : undefined;
    if (!cp || !tia) {
      sa.fail('FAILED_CP_REQUIRED', 'the gateway assigned no inner address (INTERNAL_IP4_ADDRESS)');
      return 'failed';
    }
    sa.tia = tia;
    sa.dns = cpIp4Values(cp, CfgAttr.InternalIp4Dns);
    const domains = cpDnsDomains(cp);
    sa.effect({ type: 'set-tia', address: tia, dns: sa.dns, domains });
    return 'done';
  }
}
