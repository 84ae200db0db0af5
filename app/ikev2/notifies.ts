/**
 * Notify helpers shared by the tasks: the RFC name of a notify type
 * (events and errors are named after it: NO_PROPOSAL_CHOSEN,
 * AUTHENTICATION_FAILED …) and lookups in a payload list.
 */
import { NOTIFY_STATUS_MIN, NotifyType, PayloadType } from '../wire/ikev2/constants.ts';
import type { Payload } from '../wire/ikev2/payload.ts';
import type { NotifyPayload } from '../wire/ikev2/payloads/notify.ts';

/** "NoProposalChosen" → "NO_PROPOSAL_CHOSEN"; unknown numbers → "NOTIFY_<n>". */
export function notifyName(type: number): string {
  const name = NotifyType[type];
  if (name === undefined) return `NOTIFY_${type}`;
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function notifies(payloads: readonly Payload[]): NotifyPayload[] {
  return payloads.filter((p): p is NotifyPayload => p.type === PayloadType.Notify);
}

export function findNotify(payloads: readonly Payload[], type: NotifyType): NotifyPayload | undefined {
  return notifies(payloads).find((n) => n.notifyType === type);
}

/** The first error notify (type < 16384), if any. */
export function errorNotify(payloads: readonly Payload[]): NotifyPayload | undefined {
  return notifies(payloads).find((n) => n.notifyType < NOTIFY_STATUS_MIN);
}

/** The payload variant whose `type` field admits T (IDi/IDr and TSi/TSr share one interface). */
export type PayloadOf<T extends Payload['type'], P = Payload> = P extends { type: infer U } ? (T extends U ? P : never) : never;

export function first<T extends Payload['type']>(payloads: readonly Payload[], type: T): PayloadOf<T> | undefined {
  return payloads.find((p) => p.type === type) as PayloadOf<T> | undefined;
}
