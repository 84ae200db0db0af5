/**
 * Deleting SAs with INFORMATIONAL (RFC 7296 §1.4.1):
 *
 *   ours:    SK{ D(IKE) }  -->  <--  SK{}           (disconnect; the SA is gone either way)
 *   theirs:  SK{ D(IKE) }  <--  -->  SK{}           the gateway closes the IKE SA
 *            SK{ D(ESP, spi…) } <-- --> SK{ D(ESP, our spi…) }   Child SAs
 *            SK{} / anything else <-- --> SK{}      liveness checks, status
 */
import { ExchangeType, PayloadType, ProtocolId } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import type { InboundMessage } from '../session.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';
import { numberToSpi, removeChild, spiToNumber } from './child-create.ts';

export class IkeDeleteTask implements Task {
  readonly name = 'ike-delete';
  readonly exchange = ExchangeType.Informational;

  build(out: Payload[], _sa: SaContext): void {
    out.push({ type: PayloadType.Delete, protocol: ProtocolId.IKE, spis: [] });
  }

  process(_msg: InboundMessage, sa: SaContext): TaskResult {
    sa.deleted('deleted by us');
    return 'done';
  }
}

/** Responder half of every INFORMATIONAL the gateway starts. */
export function respondInformational(msg: InboundMessage, sa: SaContext): Payload[] {
  const out: Payload[] = [];
  for (const d of msg.payloads) {
    if (d.type !== PayloadType.Delete) continue;
    if (d.protocol === ProtocolId.IKE) {
      sa.deleted('deleted by the gateway');
      return [];
    }
    if (d.protocol !== ProtocolId.ESP) continue;
    const ours: Uint8Array[] = [];
    for (const spi of d.spis) {
      const child = sa.children.find((c) => c.spiOut === spiToNumber(spi));
      if (!child) continue;
      ours.push(numberToSpi(child.spiIn));
      removeChild(sa, child);
      sa.event({ type: 'child-sa', state: 'deleted', spiIn: child.spiIn.toString(16).padStart(8, '0'), spiOut: child.spiOut.toString(16).padStart(8, '0'), esp: child.suiteName });
    }
    if (ours.length > 0) out.push({ type: PayloadType.Delete, protocol: ProtocolId.ESP, spis: ours });
  }
  return out;
}
