/**
 * Liveness check (RFC 7296 §1.4, §2.4): an empty INFORMATIONAL request.
 *
 *   SK{}  -->
 *         <--  SK{}
 *
 * Any authenticated answer proves the peer alive. When the retransmissions
 * run out the task manager reports `liveness: failed` and closes the SA with
 * DEAD_PEER. The peer's own empty INFORMATIONALs are answered by
 * respondInformational (ike-delete.ts).
 */
import { ExchangeType } from '../../wire/ikev2/constants.ts';
import type { Payload } from '../../wire/ikev2/payload.ts';
import type { InboundMessage } from '../session.ts';
import type { SaContext, Task, TaskResult } from '../task.ts';

export class IkeDpdTask implements Task {
  readonly name = 'ike-dpd';
  readonly exchange = ExchangeType.Informational;

  build(_out: Payload[], _sa: SaContext): void {
    // empty on purpose
  }

  process(_msg: InboundMessage, sa: SaContext): TaskResult {
    sa.event({ type: 'liveness', state: 'ok', gateway: sa.config.gateway });
    return 'done';
  }
}
