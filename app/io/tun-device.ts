/**
 * The engine's boundary to a TUN interface. The native implementation is
 * app/io/native-tun.ts (openTun); unit tests use test/fakes/memory-tun.ts.
 */

export interface TunStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  /** packets the engine wrote that never reached the kernel (queue full, refused) */
  txDropped: number;
}

export interface TunDevice {
  readonly name: string;
  /** Register the packet handler (one). Packets are whole IPv4/IPv6 datagrams without PI header. */
  onPacket(handler: (pkt: Uint8Array) => void): void;
  /** Never throws for a transient EAGAIN (the packet is queued or counted as dropped); throws after close. */
  write(pkt: Uint8Array): void;
  /** Idempotent. No packet is delivered after close. */
  close(): Promise<void>;
  readonly stats: TunStats;
}
