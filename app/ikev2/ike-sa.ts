/**
 * The IKE SA, sans-I/O (STYLE.md §2 strongSwan tasks, §4 quinn):
 *
 *   handleCommand(c, now)     connect | disconnect | dpd-now | rekey-child | rekey-ike
 *                             | roam | addresses (MOBIKE, tasks/ike-mobike.ts)
 *   handleDatagram(d, now)    a UDP payload from port 500/4500 (ESP is the driver's)
 *   handleTimeout(now)        retransmission, liveness (DPD), NAT keepalive
 *   handleInboundTraffic(now) ESP arrived: the peer is alive
 *   pollTransmit() · pollEffect() · nextTimeout()
 *
 * Lifecycle:
 *
 *   idle --connect--> connecting --IKE_AUTH ok--> established --disconnect--> deleting
 *                         |                          |   ^ rekeys (CREATE_CHILD_SA)   |
 *                         +--error/timeout--+        +--D(IKE), DPD fail--+           |
 *                                           v                             v           v
 *                                         closed <------------------------+-----------+
 *
 * Exchanges are tasks (task.ts) run by the task manager in task-manager.ts:
 * Message-ID window 1, retransmission with back-off, cached responses.
 * Every message is integrity-checked before any task looks at it; the
 * rest is counted in `stats.dropped` and dropped.
 */
import { bytesToHex } from '../base/bytes.ts';
import type { Instant } from '../base/clock.ts';
import type { PreparedInit, Random } from './crypto-adapter.ts';
import { newSession } from './session.ts';
import type { Session } from './session.ts';
import type { InitExchange, Path, SaContext, Task } from './task.ts';
import { TaskManager } from './task-manager.ts';
import { ChildCreateTask } from './tasks/child-create.ts';
import { ChildDeleteTask } from './tasks/child-rekey.ts';
import { IkeAuthTask } from './tasks/ike-auth.ts';
import { IkeEapAuthTask } from './tasks/ike-eap.ts';
import { IkeConfigTask } from './tasks/ike-config.ts';
import { IkeDeleteTask } from './tasks/ike-delete.ts';
import { IkeDpdTask } from './tasks/ike-dpd.ts';
import { IkeInitTask, NONCE_BYTES } from './tasks/ike-init.ts';
import { IkeMobikeTask, clonePath, mobikePath, newMobikeState } from './tasks/ike-mobike.ts';
import type { MobikeState } from './tasks/ike-mobike.ts';
import { IkeNatdTask } from './tasks/ike-natd.ts';
import { IkeRekeyDeleteTask, IkeRekeyTask } from './tasks/ike-rekey.ts';
import type { ChildSaInfo, Command, Datagram, Effect, IkeEvent, IkeSaConfig, IkeStats, Transmit } from './types.ts';

export type IkeSaState = 'idle' | 'connecting' | 'established' | 'deleting' | 'closed';

export class IkeSa implements SaContext {
  state: IkeSaState = 'idle';
  session: Session;
  /** The session an IKE rekey replaced, kept for its DELETE (ours to send, or the gateway's to answer). */
  oldSession?: Session;
  /** The new IKE SA that lost a simultaneous rekey (RFC 7296 §2.8.2), kept for its DELETE. */
  redundantSession?: Session;
  peerIkeRekey?: { next: Session; base: Session; nonces: Uint8Array[] };
  path: Path;
  init: InitExchange;
  children: ChildSaInfo[] = [];
  peerRekeys = new Map<number, { child: ChildSaInfo; nonces: Uint8Array[] }>();
  replacedChildren = new WeakSet<ChildSaInfo>();
  natLocal = false;
  natRemote = false;
  peerMobike = false;
  mobike: MobikeState;
  tia?: string;
  dns: string[] = [];
  now: Instant = 0;
  readonly stats: IkeStats = { rxMessages: 0, txMessages: 0, retransmits: 0, dropped: {} };
  failure?: { code: string; message: string };
  private readonly transmits: Transmit[] = [];
  private readonly effects: Effect[] = [];
  private readonly manager: TaskManager;
  private pendingDelete?: string;

  /**
   * `prepared`: a key pair and nonce made beforehand (crypto-adapter's
   * prepareInit), taken over by this SA — the caller must not hand it to
   * another. A key pair of a group other than the first proposed is unused.
   */
  constructor(readonly config: IkeSaConfig, readonly random: Random, prepared?: PreparedInit) {
    this.session = newSession(this.newIkeSpi(), new Uint8Array(8), true);
    this.path = {
      local: { addr: config.localAddr, port: config.ikePort },
      remote: { addr: config.gateway, port: config.remotePort },
      natt: false,
    };
    this.init = prepared && prepared.ni.length === NONCE_BYTES ? { ni: prepared.ni, dh: prepared.dh } : { ni: random(NONCE_BYTES) };
    this.mobike = newMobikeState(this.path, config.additionalAddrs);
    this.manager = new TaskManager(this);
  }

  // ---- inputs ----

  handleCommand(cmd: Command, now: Instant): void {
    this.now = now;
    switch (cmd.type) {
      case 'connect': return this.connect();
      case 'disconnect': return this.disconnect();
      case 'dpd-now': return this.queueIfEstablished([new IkeDpdTask()]);
      case 'rekey-child': return this.handleRekeyTimer();
      case 'rekey-ike': return this.handleIkeRekeyTimer();
      case 'roam': return this.handleRoam(cmd.localAddr, cmd.addresses, cmd.eventAt ?? now);
      case 'addresses': return this.handleAddresses(cmd.addresses);
      case 'eap-tls-output': return this.manager.resumeWaiting((t) => (t instanceof IkeEapAuthTask ? t.engineResult(cmd, this) : 'failed'));
    }
  }

  /** Our address changed (RFC 4555 §3.5): same gateway address, new local one. */
  private handleRoam(localAddr: string, addresses: string[] | undefined, eventAt: Instant): void {
    // without a list (the driver sends the update before it reads one) the last one stays, less the new address
    this.mobike.localAddrs = (addresses ?? this.mobike.localAddrs).filter((a) => a !== localAddr);
    if (localAddr === this.path.local.addr) return this.handleAddresses(addresses ?? [localAddr, ...this.mobike.localAddrs]);
    this.roam(mobikePath(this, localAddr, this.path.remote.addr), eventAt);
  }

  /** Our usable addresses changed: announce the new list (RFC 4555 §3.6). */
  private handleAddresses(addresses: string[]): void {
    this.mobike.localAddrs = addresses.filter((a) => a !== this.path.local.addr);
    const key = [...this.mobike.localAddrs].sort().join(',');
    if (!this.config.mobike || !this.peerMobike || key === this.mobike.announced) return;
    if (this.manager.hasQueued('ike-mobike')) return; // the update carries the list
    this.queueIfEstablished([new IkeMobikeTask('addresses')]);
  }

  /** Rekeys the newest Child SA: CREATE_CHILD_SA with N(REKEY_SA), then DELETE of the old one. */
  handleRekeyTimer(): void {
    const old = this.children.at(-1);
    if (!old) return;
    if (this.state !== 'established') return;
    const create = new ChildCreateTask(this.config.esp, old);
    this.event({ type: 'log', level: 'info', msg: 'rekeying the Child SA', ctx_spiIn: old.spiIn.toString(16).padStart(8, '0') });
    this.queueIfEstablished([create], [new ChildDeleteTask(old, create)]);
  }

  /** Rekeys the IKE SA: CREATE_CHILD_SA{ SA(IKE), Ni, KEi }, then D(IKE) on the SA it retires. */
  handleIkeRekeyTimer(): void {
    if (this.state !== 'established' || this.manager.hasQueued('ike-rekey')) return;
    const rekey = new IkeRekeyTask();
    this.event({ type: 'log', level: 'info', msg: 'rekeying the IKE SA' });
    this.queueIfEstablished([rekey], [new IkeRekeyDeleteTask(rekey)]);
  }

  handleDatagram(d: Datagram, now: Instant): void {
    this.now = now;
    if (this.state === 'closed' || this.state === 'idle') return this.drop('not-connected');
    this.manager.handleDatagram(d);
    this.finishPendingDelete();
  }

  handleTimeout(now: Instant): void {
    this.now = now;
    this.manager.handleTimeout();
    this.finishPendingDelete();
  }

  handleInboundTraffic(now: Instant): void {
    this.now = now;
    this.manager.sawPeer();
  }

  // ---- outputs ----

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollEffect(): Effect | undefined {
    return this.effects.shift();
  }

  nextTimeout(): Instant | undefined {
    return this.state === 'closed' ? undefined : this.manager.nextTimeout();
  }

  // ---- SaContext (used by tasks and the task manager) ----

  effect(e: Effect): void {
    this.effects.push(e);
  }

  event(e: IkeEvent): void {
    this.effects.push({ type: 'event', event: e });
  }

  transmit(t: Transmit): void {
    this.stats.txMessages++;
    this.transmits.push(t);
  }

  drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  fail(code: string, message: string): void {
    if (this.state === 'closed') return;
    this.failure = { code, message };
    this.event({ type: 'ike-sa', state: 'failed', gateway: this.config.gateway, code });
    this.event({ type: 'error', code, message, fatal: true });
    this.close({ code, message });
  }

  deleted(reason: string): void {
    this.pendingDelete = reason;
  }

  replaceSession(next: Session): void {
    this.oldSession = this.session;
    this.session = next;
  }

  retireSession(s: Session): void {
    if (this.oldSession === s) this.oldSession = undefined;
    if (this.redundantSession === s) this.redundantSession = undefined;
    if (this.peerIkeRekey?.base === s) this.peerIkeRekey = undefined;
    this.manager.sessionGone(s);
  }

  ikeRekeyInFlight(): boolean {
    return this.manager.inFlight('ike-rekey');
  }

  roam(path: Path, eventAt: Instant): void {
    if (this.state !== 'established') return;
    if (!this.config.mobike || !this.peerMobike) {
      this.event({ type: 'log', level: 'warn', msg: `address change to ${path.local.addr} ignored: MOBIKE was not negotiated with ${this.config.gateway}` });
      return;
    }
    const m = this.mobike;
    m.generation++;
    m.eventAt = eventAt;
    this.path = clonePath(path);
    // RFC 4555 §3.5 steps 1-4: IPsec SAs move now, outstanding requests follow to the new path
    this.pathChanged();
    this.manager.pathMoved();
    this.manager.queueFirst('ike-mobike', [new IkeMobikeTask('update', m.generation)]);
    this.manager.initiate();
  }

  pathChanged(): void {
    this.effect({ type: 'path', local: { ...this.path.local }, remote: { ...this.path.remote }, encap: true, natLocal: this.natLocal, natRemote: this.natRemote });
    this.manager.natChanged();
  }

  /** IKE_AUTH completed: the tunnel is usable. */
  established(): void {
    this.state = 'established';
    this.effect({ type: 'path', local: this.path.local, remote: this.path.remote, encap: true, natLocal: this.natLocal, natRemote: this.natRemote });
    const child = this.children[0];
    this.event({
      type: 'ike-sa', state: 'established', gateway: this.config.gateway, local: this.path.local.addr,
      ...(this.tia ? { tia: this.tia } : {}), ike: this.session.suite?.name, ...(child ? { esp: child.suiteName } : {}),
      spiI: bytesToHex(this.session.spiI), spiR: bytesToHex(this.session.spiR), natLocal: this.natLocal, natRemote: this.natRemote,
    });
  }

  /** Ends everything: Child SAs removed, the driver told why. */
  close(error?: { code: string; message: string }): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const c of this.children) this.effect({ type: 'remove-child-sa', spiIn: c.spiIn, spiOut: c.spiOut });
    this.children = [];
    this.manager.stop();
    if (!error) this.event({ type: 'ike-sa', state: 'deleted', gateway: this.config.gateway, reason: this.pendingDelete ?? 'closed' });
    this.effect(error ? { type: 'closed', error } : { type: 'closed' });
  }

  // ---- internals ----

  private connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.event({ type: 'ike-sa', state: 'connecting', gateway: this.config.gateway, local: this.config.localAddr });
    this.manager.queue([new IkeInitTask(this.config.ike), new IkeNatdTask()]);
    const auth = this.config.eap ? new IkeEapAuthTask() : new IkeAuthTask();
    this.manager.queue([auth, new IkeMobikeTask('auth'), new IkeConfigTask(), new ChildCreateTask(this.config.esp)]);
    this.manager.initiate();
  }

  private disconnect(): void {
    if (this.state === 'established') {
      this.state = 'deleting';
      this.manager.clearQueue();
      this.manager.queue([new IkeDeleteTask()]);
      this.manager.initiate();
    } else if (this.state !== 'closed' && this.state !== 'deleting') {
      this.pendingDelete = 'cancelled before it was established';
      this.finishPendingDelete();
    }
  }

  private queueIfEstablished(...groups: Task[][]): void {
    if (this.state !== 'established') return;
    for (const g of groups) this.manager.queue(g);
    this.manager.initiate();
  }

  private finishPendingDelete(): void {
    if (this.pendingDelete !== undefined && this.state !== 'closed') this.close();
  }

  private newIkeSpi(): Uint8Array {
    for (;;) {
      const spi = this.random(8);
      if (spi.some((b) => b !== 0)) return spi;
    }
  }
}
