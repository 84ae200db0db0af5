/**
 * The VPN's per-packet ESP path in native code (native-tunnel/src/dataplane.cc),
 * configured by the VPN driver, which keeps the control plane:
 *
 *   TUN ─read×64→ seal (outbound SA) ─sendmmsg→ UDP 4500        [tx thread]
 *   UDP 4500 ─recvmmsg×64→ keepalive | IKE → JS | ESP → SA by SPI
 *            → replay window, ICV, trailer, selectors → write → TUN   [rx thread]
 *
 * The driver installs and retires SAs (keys, SPIs, selectors) here, moves the
 * path on MOBIKE, and gets back what it must see: IKE datagrams, "an SA
 * carried authentic traffic" (DPD liveness, the switch to a rekeyed SA) and
 * "the outbound Seq nears its end" (rekey). While it runs, the data plane is
 * offered to the Mobile IP data path for mode mc (app/io/native-pipeline.ts:
 * the home-address TUN read, IP-in-IP and ESP in one pass). The JavaScript ESP of app/esp stays
 * the fallback (no addon, a CBC suite, a fake TUN, HOMEWARD_NATIVE_ESP=0)
 * and the reference the native code is tested against.
 */
import { ipv4ToU32 } from '../base/ipv4.ts';
import { aeadAlgOf } from '../crypto/suite.ts';
import { DEFAULT_REKEY_SEQ } from '../esp/constants.ts';
import type { ChildSaInfo, Endpoint, TsRange } from '../ikev2/types.ts';
import { loadDataplaneAddon } from '../../native-tunnel/index.ts';
import type { NativeDataplane, NativeDataplaneStats, NativeRanges } from '../../native-tunnel/index.ts';
import { nativePipeline } from './native-pipeline.ts';
import type { NattHandle } from './udp-transport.ts';

export interface NativeEspPathHooks {
  /** An IKE message (non-ESP marker stripped by nobody: the bytes as received) on the NAT-T socket. */
  onIke(bytes: Uint8Array, remote: Endpoint): void;
  /** Authentic ESP arrived on the SA with this inbound SPI (first packet, then at most every 500 ms). */
  onInbound(spiIn: number): void;
  /** The outbound SA's Seq reached the rekey mark. */
  onRekey(): void;
}

function ranges(ts: TsRange[]): NativeRanges {
  return ts.map((r) => [ipv4ToU32(r.start), ipv4ToU32(r.end)]);
}

/** Whether an ESP proposal string (profile `vpn.esp`) names AEAD transforms only, which the native path covers. */
export function nativeEspCovers(proposal: string): boolean {
  return proposal.split(/[-,]/).every((t) => !/sha|md5|xcbc|cmac|^aes\d*$|^aes\d+cbc|^3des|^blowfish|^camellia\d*$/.test(t));
}

export class NativeEspPath {
  private readonly dp: NativeDataplane;
  private handle?: NattHandle;
  private readonly inbound = new Set<number>();
  private lastStats?: NativeDataplaneStats;
  private closed = false;
  /** withdraws the offer to the Mobile IP data path */
  private withdraw?: () => void;

  private constructor(tunFd: number, handle: NattHandle, remote: Endpoint, hooks: NativeEspPathHooks, device: string | undefined) {
    const { Dataplane } = loadDataplaneAddon();
    this.dp = new Dataplane({
      tunFd,
      udpFd: handle.fd,
      remoteAddr: remote.addr,
      remotePort: remote.port,
      onDatagram: (bytes, addr, port) => hooks.onIke(bytes, { addr, port }),
      onEvent: (ev) => {
        if (ev.type === 'inbound') hooks.onInbound(ev.spi);
        else hooks.onRekey();
      },
    });
    handle.pause();
    this.handle = handle;
    if (device !== undefined) {
      const dp = this.dp;
      this.withdraw = nativePipeline.offer(device, {
        install: (t) => dp.setMip(t),
        remove: () => dp.clearMip(),
        stats: () => this.stats()?.mip,
      });
    }
  }

  /**
   * The native path for this TUN and NAT-T socket, or why not (the caller keeps
   * the JavaScript path then).
   */
  static open(tunFd: number | undefined, handle: NattHandle | undefined, remote: Endpoint, proposal: string, hooks: NativeEspPathHooks, device?: string): NativeEspPath | string {
    if (process.env.HOMEWARD_NATIVE_ESP === '0') return 'HOMEWARD_NATIVE_ESP=0';
    if (tunFd === undefined || tunFd < 0) return 'the TUN has no descriptor';
    if (!handle) return 'the NAT-T socket has no descriptor';
    if (!nativeEspCovers(proposal)) return `ESP proposal ${proposal} is not AEAD-only`;
    try {
      return new NativeEspPath(tunFd, handle, remote, hooks, device);
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** IKE and ESP moved to this socket and gateway endpoint (MOBIKE, NAT-T port switch). */
  setPath(handle: NattHandle | undefined, remote: Endpoint): void {
    if (this.closed || !handle) return;
    if (this.handle && this.handle.fd !== handle.fd) this.handle.resume();
    handle.pause();
    this.handle = handle;
    this.dp.setPath(handle.fd, remote.addr, remote.port);
  }

  /** Whether this child's suite runs here (AEAD only). */
  covers(c: ChildSaInfo): boolean {
    return aeadAlgOf(c.suite) !== undefined;
  }

  addInbound(c: ChildSaInfo): void {
    const alg = aeadAlgOf(c.suite);
    if (this.closed || !alg) return;
    this.dp.addInbound(c.spiIn, alg, c.keysIn.encr, ranges(c.localTs), ranges(c.remoteTs));
    this.inbound.add(c.spiIn);
  }

  removeInbound(spiIn: number): void {
    if (this.closed) return;
    this.dp.removeInbound(spiIn);
    this.inbound.delete(spiIn);
  }

  /** Packets from the TUN go out on this child's SA from now on; undefined: dropped (no SA). */
  setOutbound(c: ChildSaInfo | undefined): void {
    if (this.closed) return;
    const alg = c && aeadAlgOf(c.suite);
    if (!c || !alg) return this.dp.clearOutbound();
    this.dp.setOutbound(c.spiOut, alg, c.keysOut.encr, ranges(c.localTs), ranges(c.remoteTs), DEFAULT_REKEY_SEQ);
  }

  clear(): void {
    for (const spi of [...this.inbound]) this.removeInbound(spi);
    this.setOutbound(undefined);
  }

  /** ESP that reached JavaScript on another socket (the old path during a move): opened by the native SA, one replay window. */
  inject(esp: Uint8Array): void {
    if (!this.closed) this.dp.inject(esp);
  }

  stats(): NativeDataplaneStats | undefined {
    return this.closed ? this.lastStats : this.dp.stats();
  }

  /** Joins the threads and gives the socket back to Node; before the TUN and the sockets close. */
  close(): void {
    if (this.closed) return;
    this.withdraw?.();
    this.lastStats = this.dp.stats();
    this.closed = true;
    this.dp.close();
    this.handle?.resume();
    this.handle = undefined;
  }
}
