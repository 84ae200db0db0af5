/**
 * Turns kernel address/link/route changes into typed link events.
 *
 * `ip -o monitor link address route` streams notifications. By default the
 * first notification of a burst reads the kernel's view at once (`addr show`
 * and `route show` written to one `ip -j -4 -batch -` process kept open:
 * IpStateReader) and chooses the primary link — a handover starts
 * on the first notification of the change that matters (the default route
 * or the address in use going away or appearing), not after a quiet window;
 * notifications that arrive during that read cause exactly one more read
 * after it, so the last state of a burst is never missed. With `quietMs` /
 * `maxDelayMs` above 0 a burst is debounced instead (app/net/link-select.ts).
 * A handler is called only when the link or its default route really
 * changed (or, with `everyBurst`, after every read).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { Debouncer, routesOfDevice, sameLink, selectPrimaryLink, type IpAddrInfo, type IpRouteInfo } from '../net/link-select.ts';
import type { RouteSpec } from '../net/iproute.ts';
import type { Link } from '../mobility/inputs.ts';
import { execText, spawnSession, spawnTool, type ToolSession, type ToolStream } from './exec.ts';
import { RxGuard } from './rx-guard.ts';

export interface NetMonitorOptions {
  /** interfaces never to treat as an access link (our TUN) */
  exclude?: string[];
  /** debounce a burst: wait this long after its last notification (default 0: read at the first) */
  quietMs?: number;
  /** …but never longer than this after its first (default 0) */
  maxDelayMs?: number;
  /** safety net: re-read the kernel's view this often even without notifications (0: never) */
  pollMs?: number;
  /**
   * Call the handler after every settled burst of notifications, not only
   * when the primary link changed (the VPN driver re-checks its route to the
   * gateway and its address list each time).
   */
  everyBurst?: boolean;
}

/** True once the process holds a socket (ip monitor subscribes to its netlink groups when it opens it). */
function hasSocket(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export async function readPrimaryLink(exclude: ReadonlySet<string>): Promise<Link | null> {
  return (await readPrimaryPath(exclude)).link;
}

/** How long a read through the kept `ip -batch` may take before it is given up for two plain runs. */
const SESSION_READ_MS = 1000;

/**
 * The kernel's IPv4 addresses and routes, read through ONE `ip -j -4 -force
 * -batch -` process kept open for the monitor's life: a read is two lines
 * written to its stdin and two JSON lines back (well under a millisecond),
 * where starting `ip` twice costs tens of milliseconds on a loaded machine —
 * time every handover would wait before it starts. Should the process die,
 * fall out of step or stall, the read falls back to two plain runs and a
 * fresh process is started for the next one.
 */
export class IpStateReader {
  private session?: ToolSession;
  private buf = '';
  private lines: string[] = [];
  private wake?: () => void;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** `ip -j -4 addr show` and `ip -j -4 route show`, one read after the other. */
  read(): Promise<{ addrs: string; routes: string }> {
    const r = this.queue.then(() => this.readOnce());
    this.queue = r.catch(() => undefined);
    return r;
  }

  close(): void {
    this.closed = true;
    this.drop();
  }

  private open(): ToolSession | undefined {
    if (this.closed) return undefined;
    if (this.session) return this.session;
    const s = spawnSession('ip', ['-j', '-4', '-force', '-batch', '-']);
    this.session = s;
    this.buf = '';
    s.onData((chunk) => {
      if (this.session !== s) return;
      this.buf += chunk.toString('utf8');
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l.trim() !== ''));
      this.wake?.();
    });
    s.onExit(() => {
      if (this.session === s) this.drop();
    });
    return s;
  }

  private drop(): void {
    const s = this.session;
    this.session = undefined;
    this.lines = [];
    s?.kill();
    this.wake?.();
  }

  private async readOnce(): Promise<{ addrs: string; routes: string }> {
    const s = this.open();
    if (s) {
      this.lines = [];
      if (s.write('addr show\nroute show\n') && (await this.waitLines(s, 2))) {
        const [addrs = '[]', routes = '[]'] = this.lines.splice(0, 2);
        return { addrs, routes };
      }
      // dead, out of step or stalled: this read the slow way, a fresh process for the next
      if (this.session === s) this.drop();
    }
    const [addrs, routes] = await Promise.all([execText('ip', ['-j', '-4', 'addr', 'show']), execText('ip', ['-j', '-4', 'route', 'show'])]);
    return { addrs, routes };
  }

  private waitLines(s: ToolSession, n: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), SESSION_READ_MS);
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(this.session === s && this.lines.length >= n);
      };
      this.wake = () => {
        if (this.session !== s || this.lines.length >= n) finish();
      };
      this.wake();
    });
  }
}

/**
 * The primary link and its default route's gateway ('' without one). Read at
 * the first notification, a link can show up before its default route (the
 * interface came up with its address, the route follows a moment later):
 * the gateway tells the two reads apart, so the handler hears of the route too.
 */
async function readPrimaryPath(exclude: ReadonlySet<string>, reader?: IpStateReader): Promise<{ link: Link | null; gateway: string; routes: RouteSpec[] }> {
  const [a, r] = reader
    ? await reader.read().then((x) => [x.addrs, x.routes])
    : await Promise.all([execText('ip', ['-j', '-4', 'addr', 'show']), execText('ip', ['-j', '-4', 'route', 'show'])]);
  const routes = JSON.parse(r || '[]') as IpRouteInfo[];
  const link = selectPrimaryLink(JSON.parse(a || '[]') as IpAddrInfo[], routes, exclude);
  const def = link ? routes.find((x) => x.dst === 'default' && x.dev === link.iface) : undefined;
  return { link, gateway: def ? def.gateway ?? 'direct' : '', routes: link ? routesOfDevice(routes, link.iface) : [] };
}

export class NetMonitor {
  private proc: ToolStream | null = null;
  private timer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private readonly pollMs: number;
  private readonly everyBurst: boolean;
  private current: Link | null = null;
  /** the current link's default gateway as last reported ('' none) */
  private gateway = '';
  private readonly debouncer: Debouncer;
  private readonly exclude: Set<string>;
  private readonly reader = new IpStateReader();
  private reading = false;
  private again = false;
  private closed = false;

  constructor(private readonly onLink: (link: Link | null, eventAtMs: number, routes?: readonly RouteSpec[]) => void, opts: NetMonitorOptions = {}) {
    this.debouncer = new Debouncer(opts.quietMs ?? 0, opts.maxDelayMs ?? 0);
    this.exclude = new Set(opts.exclude ?? []);
    this.pollMs = opts.pollMs ?? 5000;
    this.everyBurst = opts.everyBurst === true;
  }

  get link(): Link | null {
    return this.current;
  }

  excludeInterface(name: string): void {
    this.exclude.add(name);
  }

  /**
   * Starts watching and reports the initial link. The initial state is read
   * only after `ip monitor` holds its netlink socket, so a change is either
   * in that read or notified — never lost in between.
   */
  async start(): Promise<Link | null> {
    const proc = spawnTool('ip', ['-o', 'monitor', 'link', 'address', 'route']);
    this.proc = proc;
    proc.onData(() => this.rxGuard.run(() => this.notify()));
    for (let i = 0; i < 200 && proc.pid !== undefined && proc.exitCode === null && !hasSocket(proc.pid); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = await readPrimaryPath(this.exclude, this.reader);
    this.current = first.link;
    this.gateway = first.gateway;
    if (this.pollMs > 0) {
      this.poll = setInterval(() => void this.read(performance.now()), this.pollMs);
      this.poll.unref();
    }
    return this.current;
  }

  /** a failure handling one notification is counted and dropped; the next one (or the poll) reads again */
  readonly rxGuard = new RxGuard('a link notification', () => undefined);

  private notify(): void {
    const now = performance.now();
    if (this.closed) return;
    // no debounce: read now; a read already running reads once more when it is done
    if (this.debouncer.quietMs === 0 && this.debouncer.maxDelayMs === 0) return void this.read(now);
    this.arm(this.debouncer.event(now), now);
  }

  /** Wakes fire() at `at` (performance.now() ms); never earlier than 1 ms from now. */
  private arm(at: number, now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(at - now)));
  }

  private fire(): void {
    this.timer = null;
    if (this.closed) return;
    const now = performance.now();
    const r = this.debouncer.poll(now);
    if (!r) return;
    if (!r.settled) return this.arm(r.wakeAt, now);
    void this.read(r.firstAt);
  }

  private async read(started: number): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      const { link, gateway, routes } = await readPrimaryPath(this.exclude, this.reader);
      // the same link with another default route (typically: its route arrived after it) is a change too
      if (!this.closed && (this.everyBurst || !sameLink(link, this.current) || gateway !== this.gateway)) {
        this.current = link;
        this.gateway = gateway;
        this.onLink(link, started, routes);
      }
    } catch {
      // iproute2 failed to answer (interface vanished mid-read): the next notification reads again
    } finally {
      this.reading = false;
      if (this.again) {
        this.again = false;
        void this.read(started);
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    this.proc?.kill();
    this.proc = null;
    this.reader.close();
  }
}
