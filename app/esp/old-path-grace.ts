/**
 * MOBIKE's old path (RFC 4555 §3.5): the sockets of a local address we left
 * stay open for a grace period, so ESP and IKE still in flight towards it are
 * accepted; then they close — unless the path came back to that address.
 * Pure: time is a parameter; the driver arms one timer at nextDeadline().
 */
import type { Instant } from '../base/clock.ts';

/** ms the sockets of an address we left stay open. */
export const OLD_PATH_GRACE_MS = 5000;

export class OldPathGrace {
  /** address → when its sockets close */
  private readonly closing = new Map<string, Instant>();

  constructor(private readonly graceMs = OLD_PATH_GRACE_MS) {}

  /**
   * `open`: the addresses we have sockets on; `keep`: the ones still ours.
   * An address no longer ours starts its grace (once: a later update does not
   * extend it); one that is ours again stops it.
   */
  update(open: Iterable<string>, keep: ReadonlySet<string>, now: Instant): void {
    for (const a of open) {
      if (keep.has(a)) this.closing.delete(a);
      else if (!this.closing.has(a)) this.closing.set(a, now + this.graceMs);
    }
  }

  /** The earliest end of a grace period (undefined: nothing retiring). */
  nextDeadline(): Instant | undefined {
    let next: Instant | undefined;
    for (const t of this.closing.values()) if (next === undefined || t < next) next = t;
    return next;
  }

  /**
   * The addresses whose grace ended by `now`, to close — except `inUse` (the
   * path is on it again): forgotten either way.
   */
  due(now: Instant, inUse?: string): string[] {
    const out: string[] = [];
    for (const [a, t] of this.closing) {
      if (t > now) continue;
      this.closing.delete(a);
      if (a !== inUse) out.push(a);
    }
    return out;
  }

  retiring(): string[] {
    return [...this.closing.keys()];
  }

  clear(): void {
    this.closing.clear();
  }
}
