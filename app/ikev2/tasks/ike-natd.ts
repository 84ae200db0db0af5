/**
 * NAT detection, composed into IKE_SA_INIT (RFC 7296 §2.23) and reusable by
 * MOBIKE's UPDATE_SA_ADDRESSES (RFC 4555 §3.5) by composition:
 *
 *   N(NAT_DETECTION_SOURCE_IP)       SHA-1(SPIi | SPIr | our IP | our port)
 *   N(NAT_DETECTION_DESTINATION_IP)  SHA-1(SPIi | SPIr | peer IP | peer port)
 *
 * No DESTINATION hash of the peer matching our address means WE are behind a
 * NAT (send keepalives); no SOURCE hash matching the address the answer came
 * from means the peer is. If the peer does NAT-D at all we move IKE and ESP
 * to UDP 4500 for IKE_AUTH (strongSwan does so for MOBIKE, RFC 4555 §3.3).
 */
import { equalBytes } from '../../base/bytes.ts';
import { ipv4ToBytes } from '../../base/ipv4.ts';
import { ExchangeType, NotifyType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import { natDetectionNotify } from '../../wire/ikev2/payloads/notify-data.ts';
import { natdHash } from '../crypto-adapter.ts';
import { notifies } from '../notifies.ts';
import type { InboundMessage } from '../session.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import type { Endpoint } from '../types.ts';

export const NATT_PORT = 4500;

function hashOf(sa: SaContext, e: Endpoint): Uint8Array {
  return natdHash(sa.session.spiI, sa.session.spiR, ipv4ToBytes(e.addr), e.port);
}

/** The two NAT-D notifies for the current path. */
export function natdPayloads(sa: SaContext): Payload[] {
  return [
    natDetectionNotify(NotifyType.NatDetectionSourceIp, hashOf(sa, sa.path.local)),
    natDetectionNotify(NotifyType.NatDetectionDestinationIp, hashOf(sa, sa.path.remote)),
  ];
}

/** Evaluates the peer's NAT-D notifies; undefined when it sent none. */
export function evaluateNatd(msg: InboundMessage, sa: SaContext, local: Endpoint, remote: Endpoint): { natLocal: boolean; natRemote: boolean } | undefined {
  const ns = notifies(msg.payloads);
  const src = ns.filter((n) => n.notifyType === NotifyType.NatDetectionSourceIp);
  const dst = ns.filter((n) => n.notifyType === NotifyType.NatDetectionDestinationIp);
  if (src.length === 0 || dst.length === 0) return undefined;
  const mine = hashOf(sa, local);
  const theirs = hashOf(sa, remote);
  return {
    natLocal: !dst.some((n) => equalBytes(n.data, mine)),
    natRemote: !src.some((n) => equalBytes(n.data, theirs)),
  };
}

export class IkeNatdTask implements Task {
  readonly name = 'ike-natd';
  readonly exchange = ExchangeType.IkeSaInit;

  build(out: Payload[], sa: SaContext): void {
    out.push(...natdPayloads(sa));
  }

  process(msg: InboundMessage, sa: SaContext): TaskResult {
    const r = evaluateNatd(msg, sa, sa.path.local, sa.path.remote);
    if (!r) return 'done';
    sa.natLocal = r.natLocal;
    sa.natRemote = r.natRemote;
    if (r.natLocal || r.natRemote) {
      sa.event({ type: 'log', level: 'info', msg: 'NAT detected', ctx_natLocal: r.natLocal, ctx_natRemote: r.natRemote });
    }
    sa.path = {
      local: { addr: sa.path.local.addr, port: sa.config.nattPort },
      remote: { addr: sa.path.remote.addr, port: NATT_PORT },
      natt: true,
    };
    return 'done';
  }
}
