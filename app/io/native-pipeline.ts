/**
 * Mode mc's native pipeline (issue 17): where the two data paths meet without
 * knowing each other.
 *
 *   VPN side  app/io/native-esp-path.ts offers the data plane of its TUN
 *             (by device name) while its native ESP path runs, and withdraws
 *             it before the threads stop.
 *   MIP side  app/io/mip-tunnel.ts, pinned to that device in mode mc, installs
 *             its tunnel there (home address, care-of address, HA, the
 *             home-address TUN's descriptor): the data plane then reads the
 *             home-address TUN itself, IP-in-IP encapsulates and ESP-seals in
 *             one pass, and hands the HA's tunnel to the home-address TUN
 *             right after the ESP open (native-tunnel/src/mip_pass.h).
 *
 * Device names are unique in the process's network namespace, so one
 * registry per process is enough. Without the addon nothing is ever offered
 * and the kernel-routed JavaScript path carries everything.
 */
import type { NativeMipStats, NativeMipTunnel } from '../../native-tunnel/index.ts';

/** What the VPN side offers for its TUN. */
export interface MipPassPort {
  /** Installs (or replaces) the tunnel; the data plane dup()s tunFd. */
  install(t: NativeMipTunnel & { tunFd: number }): void;
  remove(): void;
  /** The pass's counters (cumulative over the data plane's life); undefined when there are none. */
  stats(): NativeMipStats | undefined;
}

export class NativePipeline {
  private readonly ports = new Map<string, MipPassPort>();
  private readonly listeners = new Set<(device: string) => void>();

  /** The VPN side: the data plane of `device` takes a Mobile IP tunnel; returns the withdrawal (before the threads stop). */
  offer(device: string, port: MipPassPort): () => void {
    this.ports.set(device, port);
    this.changed(device);
    return () => {
      if (this.ports.get(device) !== port) return;
      this.ports.delete(device);
      this.changed(device);
    };
  }

  /** The MIP side: the port of the data plane that carries `device`, if one runs natively. */
  portFor(device: string): MipPassPort | undefined {
    return this.ports.get(device);
  }

  /** Called with the device whenever its offer comes or goes; returns the unsubscribe. */
  watch(listener: (device: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private changed(device: string): void {
    for (const l of [...this.listeners]) l(device);
  }
}

/** The process's pipeline. */
export const nativePipeline = new NativePipeline();
