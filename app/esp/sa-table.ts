/**
 * The ESP SAs of one VPN (the driver's data path, app/io/vpn-data-path.ts):
 * which inbound SA opens a packet (by SPI), which outbound SA seals the next
 * one, and the overlap of a rekey (RFC 7296 §2.8):
 *
 *   install(new)                 → outbound = new (we started the rekey)
 *   install(new, delayOutbound)  → outbound stays old until the peer shows it
 *                                  has the new one: traffic on new (trafficOn)
 *                                  or a Child SA removed (remove)
 *   remove(old)                  → inbound and outbound of old gone; outbound
 *                                  falls back to the newest left
 *
 * Both SAs of a rekey open inbound packets until the old one is removed.
 * Pure: no clock, no I/O; `onOutbound` hears every switch of the outbound SA
 * (the native data path mirrors it).
 */
import type { ChildSaInfo } from '../ikev2/types.ts';
import { InboundEspSa, OutboundEspSa } from './esp-sa.ts';

export class EspSaTable {
  private readonly inBySpi = new Map<number, InboundEspSa>();
  private readonly outBySpiIn = new Map<number, OutboundEspSa>();
  private readonly childBySpiIn = new Map<number, ChildSaInfo>();
  private readonly childOfOut = new WeakMap<OutboundEspSa, ChildSaInfo>();
  private readonly rekeyAsked = new WeakSet<OutboundEspSa>();
  /** the new outbound SA of a rekey we answered, used once the peer shows it has it */
  private pending?: { spiIn: number; out: OutboundEspSa };
  private current?: OutboundEspSa;

  constructor(private readonly onOutbound: (child: ChildSaInfo | undefined) => void = () => undefined) {}

  /** The SA the next outbound packet is sealed with (undefined: none, drop). */
  get outbound(): OutboundEspSa | undefined {
    return this.current;
  }

  /** The Child SA of the outbound SA. */
  outboundChild(): ChildSaInfo | undefined {
    return this.current && this.childOfOut.get(this.current);
  }

  /** The Child SAs installed, oldest first. */
  children(): ChildSaInfo[] {
    return [...this.childBySpiIn.values()];
  }

  inbound(spi: number): InboundEspSa | undefined {
    return this.inBySpi.get(spi);
  }

  /** Whether the outbound switch of a rekey waits for the peer. */
  get switchPending(): boolean {
    return this.pending !== undefined;
  }

  install(c: ChildSaInfo, delayOutbound = false): void {
    this.inBySpi.set(c.spiIn, new InboundEspSa({ spi: c.spiIn, suite: c.suite, keys: c.keysIn, selectors: { local: c.localTs, remote: c.remoteTs } }));
    const out = new OutboundEspSa({ spi: c.spiOut, suite: c.suite, keys: c.keysOut });
    this.childOfOut.set(out, c);
    this.childBySpiIn.set(c.spiIn, c);
    this.outBySpiIn.set(c.spiIn, out);
    if (delayOutbound && this.current) this.pending = { spiIn: c.spiIn, out };
    else {
      this.pending = undefined;
      this.setOutbound(out);
    }
  }

  /** The Child SA with this inbound SPI is gone (a pending switch happens first: the peer deleted something, so it has the new SA). */
  remove(spiIn: number): void {
    if (this.pending) this.switchToPending();
    const out = this.outBySpiIn.get(spiIn);
    this.childBySpiIn.delete(spiIn);
    this.inBySpi.delete(spiIn);
    this.outBySpiIn.delete(spiIn);
    if (out && this.current === out) this.setOutbound([...this.outBySpiIn.values()].at(-1));
  }

  /** Authentic traffic arrived on the inbound SA with this SPI: if it is the pending one, the peer has it. */
  trafficOn(spiIn: number): void {
    if (this.pending?.spiIn === spiIn) this.switchToPending();
  }

  /** Once per outbound SA: true the first time its sequence numbers near their end (the caller asks for a rekey). */
  claimRekey(): boolean {
    const sa = this.current;
    if (!sa || this.rekeyAsked.has(sa)) return false;
    this.rekeyAsked.add(sa);
    return true;
  }

  clear(): void {
    this.inBySpi.clear();
    this.outBySpiIn.clear();
    this.childBySpiIn.clear();
    this.pending = undefined;
    this.setOutbound(undefined);
  }

  private switchToPending(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p && this.outBySpiIn.get(p.spiIn) === p.out) this.setOutbound(p.out);
  }

  private setOutbound(sa: OutboundEspSa | undefined): void {
    this.current = sa;
    this.onOutbound(sa && this.childOfOut.get(sa));
  }
}
