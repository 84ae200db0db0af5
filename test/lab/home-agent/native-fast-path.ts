/**
 * The reference HA's native IP-in-IP fast path (native-tunnel/src/ha_forward.cc,
 * addon ha_forward.node), typed, and how the HA feeds it its binding cache.
 *
 * The fast path reads the HA's TUN and its protocol-4 raw socket on two threads
 * and forwards RFC 2003 IP-in-IP both ways for the bindings installed here
 * (IP-in-IP ones only); what it is not to decide comes back to the JS
 * Forwarder unchanged (`onToJs`). Missing addon or HA_NATIVE=0: no fast path,
 * the JS forwarder does everything.
 */
import { createRequire } from 'node:module';
import { ipv4ToU32 } from '../../../app/base/ipv4.ts';
import type { Binding } from './binding-cache.ts';

export const HA_FORWARD_ADDON = '../../../native-tunnel/build/Release/ha_forward.node';

export interface HaForwardStats {
  toMn: number;
  fromMn: number;
  malformed: number;
  wrongEndpoint: number;
  /** packets handed to the JS forwarder, per direction */
  toJsFromIntranet: number;
  toJsFromMn: number;
  /** refused by the kernel (no buffer, no route) */
  sendDropped: number;
  tunWriteDropped: number;
  /** the hand-off queue to JS was full */
  handoffDropped: number;
  /** TUN reads or recvmmsg that failed other than "nothing to read" (each followed by a 10 ms pause) */
  readErrors: number;
}

export type ClassifyVerdict = 'forward' | 'to-js' | 'malformed' | 'wrong-endpoint';
export interface ClassifyResult {
  verdict: ClassifyVerdict;
  /** forward: the outer packet (classifyToMn) or the inner packet for the TUN (classifyFromMn) */
  packet?: Uint8Array;
}

interface NativeHaForward {
  set(hoa: number, coa: number, mtu: number): void;
  remove(hoa: number): void;
  stats(): HaForwardStats;
  close(): void;
}

export interface HaForwardAddon {
  HaForward: new (tunFd: number, rawFd: number, ha: number, onToJs: (direction: 0 | 1, pkts: Uint8Array[]) => void) => NativeHaForward;
  /** test entry points: the threads' pure decisions (ha_ipip.h); bindings as (hoa, coa, mtu) triples */
  classifyToMn(pkt: Uint8Array, ha: number, bindings: Uint32Array): ClassifyResult;
  classifyFromMn(pkt: Uint8Array, bindings: Uint32Array): ClassifyResult;
}

/** The addon, or an Error saying why it cannot be loaded. */
export function loadHaForwardAddon(): HaForwardAddon | Error {
  try {
    return createRequire(import.meta.url)(HA_FORWARD_ADDON) as HaForwardAddon;
  } catch (e) {
    return new Error(`ha_forward.node is not built (${(e as Error).message}); run \`npm run build:native\``, { cause: e });
  }
}

export interface FastPathHandlers {
  /** a packet from the intranet the fast path does not forward (Forwarder.handleFromIntranet) */
  fromIntranet(pkt: Uint8Array): void;
  /** a packet from the protocol-4 socket the fast path does not decide (Forwarder.handleRaw) */
  fromMn(pkt: Uint8Array): void;
}

/** The running fast path: the binding table it forwards by, kept in step with the binding cache. */
export class IpInIpFastPath {
  private readonly native: NativeHaForward;
  private readonly installed = new Set<number>();

  constructor(addon: HaForwardAddon, tunFd: number, rawFd: number, haAddress: string, handlers: FastPathHandlers) {
    this.native = new addon.HaForward(tunFd, rawFd, ipv4ToU32(haAddress), (direction, pkts) => {
      const handle = direction === 0 ? handlers.fromIntranet : handlers.fromMn;
      for (const p of pkts) handle(p);
    });
  }

  /**
   * The binding of `b.homeAddress` is now `b` (a registration, or a new tunnel MTU
   * towards its care-of address, `mtu`): installed when it is IP-in-IP, removed otherwise.
   */
  sync(b: Binding, mtu: number | undefined): void {
    const hoa = ipv4ToU32(b.homeAddress);
    if (b.mode === 'ipip') {
      this.native.set(hoa, ipv4ToU32(b.tunnelDst), mtu ?? 0);
      this.installed.add(hoa);
    } else this.remove(b.homeAddress);
  }

  /** The binding is gone (deregistration, expiry, replaced under another home address). */
  remove(homeAddress: string): void {
    const hoa = ipv4ToU32(homeAddress);
    if (this.installed.delete(hoa)) this.native.remove(hoa);
  }

  get stats(): HaForwardStats {
    return this.native.stats();
  }

  close(): void {
    this.native.close();
  }
}
