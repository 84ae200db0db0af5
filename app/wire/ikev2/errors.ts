/**
 * Decode failures of IKEv2 messages. Every failure is a DecodeError; this
 * subclass also names the notify type the protocol core should answer with
 * (RFC 7296 §2.21.1: INVALID_SYNTAX for malformed messages,
 * INVALID_MAJOR_VERSION, UNSUPPORTED_CRITICAL_PAYLOAD with the payload type
 * as one byte of notification data).
 */
import { DecodeError } from '../../base/bytes.ts';
import { NotifyType } from './constants.ts';

export class IkeDecodeError extends DecodeError {
  constructor(
    message: string,
    readonly notify: NotifyType,
    readonly notifyData: Uint8Array = new Uint8Array(0),
    offset?: number,
  ) {
    super(message, offset);
    this.name = 'IkeDecodeError';
  }
}

/** A malformed structure (the core answers INVALID_SYNTAX, if it answers at all). */
export function syntaxError(message: string, offset?: number): IkeDecodeError {
  return new IkeDecodeError(message, NotifyType.InvalidSyntax, undefined, offset);
}

/** Any DecodeError as an IkeDecodeError; plain ones become INVALID_SYNTAX. */
export function asIkeDecodeError(e: DecodeError): IkeDecodeError {
  if (e instanceof IkeDecodeError) return e;
  const err = new IkeDecodeError(e.message, NotifyType.InvalidSyntax);
  err.stack = e.stack;
  return err;
}
