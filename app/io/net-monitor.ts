/**
 * Turns kernel address/link/route changes into typed link events.
 *
 * `ip -o monitor link address route` streams notifications; each burst is
 * debounced (app/net/link-select.ts: ≤ 30 ms after the last notification,
 * never more than 100 ms after the first), then the kernel's view is read
 * once (`ip -j -4 addr`, `ip -j -4 route`) and the primary link chosen. A
 * handler is called only when the link really changed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { Debouncer, sameLink, selectPrimaryLink, type IpAddrInfo, type IpRouteInfo } from '../net/link-select.ts';
import type { Link } from '../mobility/inputs.ts';

const run = promisify(execFile);

export interface NetMonitorOptions {
  /** interfaces never to treat as an access link (our TUN) */
  exclude?: string[];
  quietMs?: number;
  maxDelayMs?: number;
}

export async function readPrimaryLink(exclude: ReadonlySet<string>): Promise<Link | null> {
  const [a, r] = await Promise.all([run('ip', ['-j', '-4', 'addr', 'show']), run('ip', ['-j', '-4', 'route', 'show'])]);
  return selectPrimaryLink(JSON.parse(a.stdout || '[]') as IpAddrInfo[], JSON.parse(r.stdout || '[]') as IpRouteInfo[], exclude);
}

export class NetMonitor {
  private proc: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private current: Link | null = null;
  private readonly debouncer: Debouncer;
  private readonly exclude: Set<string>;
  private reading = false;
  private again = false;
  private closed = false;
  /** monotonic ms of the first notification of the burst being settled */
  private burstStart: number | null = null;

  constructor(private readonly onLink: (link: Link | null, eventAtMs: number) => void, opts: NetMonitorOptions = {}) {
    this.debouncer = new Debouncer(opts.quietMs ?? 30, opts.maxDelayMs ?? 100);
    this.exclude = new Set(opts.exclude ?? []);
  }

  get link(): Link | null {
    return this.current;
  }

  excludeInterface(name: string): void {
    this.exclude.add(name);
  }

  /** Starts watching and reports the initial link. */
  async start(): Promise<Link | null> {
    this.proc = spawn('ip', ['-o', 'monitor', 'link', 'address', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc.stdout!.on('data', () => this.notify());
    this.proc.on('error', () => undefined);
    this.current = await readPrimaryLink(this.exclude);
    return this.current;
  }

  private notify(): void {
    const now = performance.now();
    if (this.burstStart === null) this.burstStart = now;
    const due = this.debouncer.event(now);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - now));
  }

  private fire(): void {
    this.timer = null;
    if (!this.debouncer.settle(performance.now()) || this.closed) return;
    const started = this.burstStart ?? performance.now();
    this.burstStart = null;
    void this.read(started);
  }

  private async read(started: number): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      const link = await readPrimaryLink(this.exclude);
      if (!this.closed && !sameLink(link, this.current)) {
        this.current = link;
        this.onLink(link, started);
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
    this.proc?.kill();
    this.proc = null;
  }
}
