/**
 * The native TUN addon (src/tun.cc, target `homeward_tun`), typed.
 *
 * Low level: app/io/native-tun.ts wraps it into the engine's TunDevice.
 * Only app/io may import this module (an ESLint rule keeps the cores out).
 */
import { createRequire } from 'node:module';

export interface NativeTunStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  /** packets waiting for the descriptor to become writable */
  txQueued: number;
  /** GSO packets read that could not be segmented (IFF_VNET_HDR only) */
  rxDropped: number;
}

/** Thrown by the addon for a failed system call. */
export interface NativeTunError extends Error {
  /** errno name, e.g. 'EPERM'; 'ERR_TUN_CLOSED' for a write after close */
  code: string;
  errno?: number;
  syscall?: string;
}

export interface NativeTun {
  /** The kernel's name for the device (a pattern such as "hw%d" resolved). */
  readonly name: string;
  readonly closed: boolean;
  /** The descriptor (-1 once closed), for the native data plane. */
  readonly fd: number;
  /** Opened with IFF_VNET_HDR ({offloads: true}); start()/write() still carry plain packets. */
  readonly offloads: boolean;
  /** Start reading: one call per readiness event with up to 64 packets. */
  start(onPackets: (batch: Uint8Array[]) => void, onError?: (err: NativeTunError) => void): void;
  /** false: stop reading (the native data plane reads fd instead); true: read again. Writes are not affected. */
  setReading(on: boolean): void;
  /** 1 written, 0 queued until writable, negative errno when dropped (-EAGAIN: queue full). */
  write(pkt: Uint8Array): number;
  mtu(): number;
  stats(): NativeTunStats;
  /** Idempotent; no callback runs afterwards. */
  close(): void;
}

export type NativeTunCtor = new (name: string, opts?: { offloads?: boolean }) => NativeTun;

export const ADDON_PATH = './build/Release/homeward_tun.node';

let cached: NativeTunCtor | undefined;

/** Loads the addon once; a clear error when it has not been built. */
export function loadTunAddon(): NativeTunCtor {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let mod: { Tun?: NativeTunCtor };
  try {
    mod = require(ADDON_PATH) as { Tun?: NativeTunCtor };
  } catch (e) {
    throw new Error(
      `the TUN addon native-tunnel/build/Release/homeward_tun.node is not built (${(e as Error).message}); ` +
        'run npm ci, or `npm run build:native` (node-gyp rebuild --directory native-tunnel)',
      { cause: e },
    );
  }
  if (typeof mod.Tun !== 'function') throw new Error('the TUN addon does not export Tun; rebuild it with `npm run build:native`');
  cached = mod.Tun;
  return cached;
}

/** The raw-socket addon (src/raw_socket.cc, target `raw_socket`), wrapped by app/io/raw-socket.ts. */
export const RAW_ADDON_PATH = './build/Release/raw_socket.node';

export function loadRawSocketAddon(): unknown {
  const require = createRequire(import.meta.url);
  try {
    return require(RAW_ADDON_PATH);
  } catch (e) {
    throw new Error(
      `the raw-socket addon native-tunnel/build/Release/raw_socket.node is not built (${(e as Error).message}); ` +
        'run npm ci, or `npm run build:native` (node-gyp rebuild --directory native-tunnel)',
      { cause: e },
    );
  }
}

/** The ESP data-plane addon (src/dataplane.cc + src/esp_core.h, target `homeward_dataplane`). */
export const DATAPLANE_ADDON_PATH = './build/Release/homeward_dataplane.node';

/** IPv4 ranges of a traffic selector as [start, end] 32-bit numbers. */
export type NativeRanges = [number, number][];

export type NativeAeadAlg = 'aes128gcm16' | 'aes192gcm16' | 'aes256gcm16' | 'chacha20poly1305';

export type NativeEspDrop = 'short' | 'spi' | 'replay' | 'icv' | 'length' | 'padding' | 'next-header' | 'dummy' | 'selector';

export interface NativeEspSaOptions {
  dir: 'in' | 'out';
  spi: number;
  alg: NativeAeadAlg;
  /** key ‖ salt(4) */
  keymat: Uint8Array;
  firstSeq?: number;
  replayWindow?: number;
  localTs?: NativeRanges;
  remoteTs?: NativeRanges;
}

/** One direction of an ESP SA in native code (tests, bench). The IV is the 64-bit Seq, as in app/esp/esp-sa.ts. */
export interface NativeEspSa {
  /** The ESP packet (SPI onwards), or why it was refused. */
  seal(inner: Uint8Array, nextHeader?: number): Uint8Array | 'seq-exhausted' | 'too-long';
  /** Writes the ESP packet to out; its length, 0 when refused or out is too small. */
  sealInto(inner: Uint8Array, out: Uint8Array): number;
  /** Opens pkt IN PLACE: the inner packet is pkt[offset, offset + length). */
  open(pkt: Uint8Array): { offset: number; length: number; seq: number } | NativeEspDrop;
  stats(): { packets: number; refused: number; drops: Record<NativeEspDrop, number> };
}

export interface NativeDataplaneStats {
  tunIn: number; espOut: number; espOutBytes: number; txNoSa: number; txSelector: number; txRefused: number; txSendErrors: number;
  udpIn: number; espIn: number; espInBytes: number; tunOut: number; tunWriteErrors: number; keepalives: number; ikeIn: number;
  unknownSpi: number; espShort: number; rxBatches: number; txBatches: number; nextSeq: number;
  /** sendmmsg entries that carried a UDP GSO run; gso false once the kernel refused it */
  gsoSends: number; gso: boolean;
  /** the TUN has IFF_VNET_HDR; offloads: TSO and checksum offload are on while the data plane owns it */
  vnetHdr: boolean; offloads: boolean;
  /** TSO super-packets read, the segments cut from them, checksums completed (NEEDS_CSUM), super-packets that could not be cut */
  tunGsoIn: number; tunSegments: number; tunCsum: number; tunGsoErrors: number;
  /** coalesced super-packets written to the TUN and the packets they carried */
  tunSuperOut: number; tunSuperPackets: number;
  /** the ESP socket's receive and send buffers as the kernel granted them (bytes; 7 MiB asked, SO_*BUFFORCE as root) */
  udpRcvbuf: number; udpSndbuf: number;
  /** packets written alone because they could not start or join a run, by reason */
  notCoalesced: Record<NativeNotCoalesced, number>;
  drops: Record<NativeEspDrop, number>;
  mip: NativeMipStats;
}

/** Why an opened packet was written to the TUN alone (native-tunnel/src/tun_offload.h). */
export type NativeNotCoalesced = 'not-tcpv4' | 'ip-options' | 'fragment' | 'tcp-flags' | 'no-payload' | 'bad-checksum' | 'bad-length';

/** The virtio_net_hdr before each packet of an IFF_VNET_HDR TUN (linux/virtio_net.h). */
export interface NativeVnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** Why a GSO super-packet could not be segmented. */
export type NativeSegmentError = 'gso-not-tcpv4' | 'gso-bad-header' | 'gso-bad-length' | 'gso-bad-size' | 'gso-too-many';

/** Why the native Mobile IP pass dropped a packet (native-tunnel/src/mip_pass.h). */
export type NativeMipDrop = 'malformed' | 'too-big' | 'wrong-destination' | 'tun-write';

export interface NativeMipStats {
  installed: boolean;
  /** packets read from the home-address TUN */
  tunIn: number;
  /** encapsulated (IP-in-IP) and handed to the ESP seal */
  out: number;
  /** decapsulated and written to the home-address TUN */
  in: number;
  /** "fragmentation needed" answers written back to the home-address TUN */
  tooBigIcmp: number;
  drops: Record<NativeMipDrop, number>;
}

/** Mode mc's Mobile IP tunnel on the data plane: IP-in-IP from the care-of address to the HA (addresses dotted). */
export interface NativeMipTunnel {
  hoa: string;
  coa: string;
  ha: string;
  /** the VPN TUN's MTU: a DF packet that does not fit with the outer header is answered with "fragmentation needed" */
  mtu?: number;
}

export type NativeDataplaneEvent = { type: 'inbound'; spi: number } | { type: 'rekey'; spi: number };

export interface NativeDataplaneOptions {
  tunFd: number;
  udpFd: number;
  remoteAddr?: string;
  remotePort?: number;
  /** IKE (non-ESP marker) received on udpFd, on the JS thread. */
  onDatagram(bytes: Uint8Array, addr: string, port: number): void;
  onEvent(ev: NativeDataplaneEvent): void;
}

/** The per-packet ESP path of one VPN TUN on two worker threads (see src/dataplane.cc). */
export interface NativeDataplane {
  setPath(udpFd: number, remoteAddr: string, remotePort: number): void;
  setOutbound(spi: number, alg: NativeAeadAlg, keymat: Uint8Array, localTs: NativeRanges, remoteTs: NativeRanges, rekeySeq?: number): void;
  clearOutbound(): void;
  addInbound(spi: number, alg: NativeAeadAlg, keymat: Uint8Array, localTs: NativeRanges, remoteTs: NativeRanges): void;
  removeInbound(spi: number): void;
  /** Mode mc in the same pass: the tx thread reads tunFd (the home-address TUN) too; the HA's tunnel goes there after the ESP open. Replaces any. */
  setMip(t: NativeMipTunnel & { tunFd: number }): void;
  /** Removes it: the threads let go of the descriptor (their own dup) at their next batch. */
  clearMip(): void;
  /** ESP that arrived on a socket JS still reads (the old path of a move). */
  inject(esp: Uint8Array): void;
  stats(): NativeDataplaneStats;
  /** Joins the threads; idempotent. Must run before the TUN or the socket is closed. */
  close(): void;
}

export interface DataplaneAddon {
  EspSa: new (o: NativeEspSaOptions) => NativeEspSa;
  Dataplane: new (o: NativeDataplaneOptions) => NativeDataplane;
  /** The pass's encapsulation as the tx thread runs it (tests): the outer packet, or the drop (and the ICMP answer of a DF packet too big). */
  mipEncapsulate(inner: Uint8Array, t: NativeMipTunnel & { id?: number }): { packet: Uint8Array } | { drop: NativeMipDrop; icmp?: Uint8Array };
  /** The pass's decapsulation as the rx thread runs it (tests): where the inner packet is, 'not-ours' (to the VPN TUN), or the drop. */
  mipDecapsulate(outer: Uint8Array, t: NativeMipTunnel): { offset: number; length: number } | 'not-ours' | NativeMipDrop;
  /** OpenSSL version string of the process (Node's own). */
  openssl: string;
  /** tun_offload.h as the tx thread runs it (tests): a TSO super-packet cut into its segments, or why not. */
  offloadSegment(hdr: Partial<NativeVnetHdr>, pkt: Uint8Array): Uint8Array[] | NativeSegmentError;
  /** tun_offload.h as the rx thread runs it (tests): the writes (header and bytes) the packets give, in order. */
  offloadCoalesce(pkts: Uint8Array[]): { out: { hdr: NativeVnetHdr; bytes: Uint8Array; count: number }[]; notCoalesced: Record<NativeNotCoalesced, number> };
  /** Completes a NEEDS_CSUM packet's checksum IN PLACE; false if the offsets lie outside it. */
  offloadCompleteCsum(pkt: Uint8Array, csumStart: number, csumOffset: number): boolean;
}

let dataplane: DataplaneAddon | undefined;

/** Loads the data-plane addon once; a clear error when it has not been built. */
export function loadDataplaneAddon(): DataplaneAddon {
  if (dataplane) return dataplane;
  const require = createRequire(import.meta.url);
  try {
    const mod = require(DATAPLANE_ADDON_PATH) as DataplaneAddon & { unavailable?: string };
    if (mod.unavailable) throw new Error(mod.unavailable);
    dataplane = mod;
  } catch (e) {
    throw new Error(
      `the data-plane addon native-tunnel/build/Release/homeward_dataplane.node is not built or not usable here (${(e as Error).message}); ` +
        'run npm ci, or `npm run build:native` (node-gyp rebuild --directory native-tunnel)',
      { cause: e },
    );
  }
  return dataplane;
}
