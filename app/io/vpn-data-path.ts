/**
 * The VPN's ESP data path (ESP always in UDP: strongSwan's kernel-libipsec
 * always encapsulates):
 *
 *   outbound  TUN → the table's outbound SA → UDP 4500 on the current path
 *   inbound   UDP 4500 ESP → SA by SPI → decapsulate → TUN
 *
 * in JavaScript (app/esp) or, when the TUN has a descriptor and the NAT-T
 * socket too (the Linux platform, not the in-memory twins), in native code
 * (app/io/native-esp-path.ts), which this keeps in step with the SA table.
 */
import { EspSaTable } from '../esp/sa-table.ts';
import type { ChildSaInfo, Endpoint, Transmit } from '../ikev2/types.ts';
import { NativeEspPath } from './native-esp-path.ts';
import type { RxGuard } from './rx-guard.ts';
import type { TunDevice } from './tun-device.ts';
import type { NattHandle } from './udp-transport.ts';

export interface VpnDataPathHooks {
  send(t: Transmit): void;
  /** the path IKE and ESP use now (undefined before the first) */
  path(): { local: Endpoint; remote: Endpoint } | undefined;
  /** authentic ESP arrived (DPD liveness) */
  onInboundTraffic(): void;
  /** the outbound SA's sequence numbers near their end: a fresh Child SA (RFC 4303 §3.3.3) */
  rekey(): void;
  /** an IKE datagram the native path read on the NAT-T socket */
  onIke(bytes: Uint8Array, from: Endpoint): void;
  log(level: 'info' | 'warn', msg: string): void;
}

export interface VpnCounters {
  tunIn: number;
  tunOut: number;
  espIn: number;
  espOut: number;
  dropped: Record<string, number>;
}

export class VpnDataPath {
  readonly counters: VpnCounters = { tunIn: 0, tunOut: 0, espIn: 0, espOut: 0, dropped: {} };
  /** the native ESP path of the TUN (undefined: the JavaScript path carries the packets) */
  private native?: NativeEspPath;
  private tun?: TunDevice;
  readonly table = new EspSaTable((child) => this.native?.setOutbound(child));

  constructor(private readonly hooks: VpnDataPathHooks) {}

  /**
   * The TUN is open: packets go through the native path if the addon, the TUN,
   * the NAT-T socket and the suite allow it, else through `guard` into JavaScript.
   * Returns the native path's undo (it must close before the TUN and the sockets), if any.
   */
  attach(tun: TunDevice, natt: NattHandle | undefined, remote: Endpoint, proposal: string, guard: RxGuard): (() => void) | undefined {
    this.tun = tun;
    const fd = 'fd' in tun && typeof tun.fd === 'number' ? tun.fd : undefined;
    const native = NativeEspPath.open(fd, natt, remote, proposal, {
      onIke: (bytes, from) => this.hooks.onIke(bytes, from),
      onInbound: (spi) => {
        this.table.trafficOn(spi);
        this.hooks.onInboundTraffic();
      },
      onRekey: () => {
        if (this.table.claimRekey()) this.hooks.rekey();
      },
    }, tun.name);
    if (typeof native === 'string') {
      this.hooks.log('info', `ESP data path: JavaScript (${native})`);
      tun.onPacket((pkt) => guard.run(() => this.onTunPacket(pkt)));
      return undefined;
    }
    this.native = native;
    for (const c of this.table.children()) native.addInbound(c);
    native.setOutbound(this.table.outboundChild());
    const buffers = native.stats();
    this.hooks.log('info', `ESP data path: native (batched TUN and UDP, OpenSSL per-SA contexts${buffers ? `; socket buffers ${buffers.udpRcvbuf >> 10} KiB in, ${buffers.udpSndbuf >> 10} KiB out` : ''})`);
    return () => {
      native.close();
      const s = native.stats();
      if (s) {
        if (s.vnetHdr) {
          const alone = Object.entries(s.notCoalesced).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
          this.hooks.log('info', `ESP data path: TUN offloads ${s.offloads ? 'on' : 'off'}: ${s.tunGsoIn} TSO reads cut into ${s.tunSegments} segments, ` +
            `${s.tunCsum} checksums completed, ${s.tunSuperPackets} of ${s.tunOut} packets written in ${s.tunSuperOut} coalesced writes (alone: ${alone})`);
        }
        this.counters.tunIn += s.tunIn;
        this.counters.tunOut += s.tunOut;
        this.counters.espIn += s.espIn;
        this.counters.espOut += s.espOut;
      }
      this.native = undefined;
    };
  }

  /** Counters of the native ESP path while it runs (undefined on the JavaScript path). */
  nativeStats(): ReturnType<NativeEspPath['stats']> {
    return this.native?.stats();
  }

  /** IKE and ESP moved (MOBIKE, the NAT-T port switch). */
  setPath(natt: NattHandle | undefined, remote: Endpoint): void {
    this.native?.setPath(natt, remote);
  }

  install(c: ChildSaInfo, delayOutbound: boolean): void {
    if (this.native && !this.native.covers(c)) this.hooks.log('warn', `ESP suite ${c.suiteName} is not carried by the native data path`);
    this.native?.addInbound(c);
    this.table.install(c, delayOutbound);
  }

  remove(spiIn: number): void {
    this.table.remove(spiIn);
    this.native?.removeInbound(spiIn);
  }

  clear(): void {
    this.native?.clear();
    this.table.clear();
  }

  // outbound
  onTunPacket(pkt: Uint8Array): void {
    this.counters.tunIn++;
    const sa = this.table.outbound;
    const path = this.hooks.path();
    if (!sa || !path || (pkt[0]! >> 4) !== 4) return this.count('no-sa');
    const r = sa.encapsulate(pkt);
    if (!r.ok) return this.count(`esp-${r.reason}`);
    if (r.rekey && this.table.claimRekey()) this.hooks.rekey();
    this.counters.espOut++;
    this.hooks.send({ bytes: r.packet, local: path.local, remote: path.remote });
  }

  // inbound: the UDP payload of an ESP datagram on 4500 (app/esp/udp-encap.ts classified it)
  onEsp(b: Uint8Array): void {
    if (this.native) return this.native.inject(b); // one replay window per SA: the native one
    if (b.length < 8) return this.count('esp-short');
    const spi = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const sa = this.table.inbound(spi);
    if (!sa) return this.count('esp-unknown-spi');
    const r = sa.decapsulate(b);
    if (!r.ok) return this.count(`esp-${r.reason}`);
    this.counters.espIn++;
    this.table.trafficOn(spi);
    this.hooks.onInboundTraffic();
    if (r.nextHeader !== 4) return this.count('esp-not-ipv4');
    this.tun?.write(r.inner);
    this.counters.tunOut++;
  }

  count(reason: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
  }
}
