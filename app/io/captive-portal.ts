/**
 * Captive-portal check (issue 19): one plain-HTTP GET of the profile's probe
 * URL, sent from the access link's own address (so it never enters a tunnel
 * and never carries the home address). 204 = the way is open; a redirect or
 * any page instead = a portal, whose login page is the redirect's target (or
 * the probe URL itself when the portal answers with its page directly).
 */

export type ProbeResult =
  | { kind: 'open' }
  | { kind: 'portal'; url: string }
  | { kind: 'unreachable'; reason: string };

/** Pure: what an HTTP answer to the probe means. */
export function classifyProbe(probeUrl: string, status: number, location: string | undefined): ProbeResult {
  if (status === 204) return { kind: 'open' };
  if (status >= 300 && status < 400 && location) {
    try {
      return { kind: 'portal', url: new URL(location, probeUrl).toString() };
    } catch {
      return { kind: 'portal', url: probeUrl };
    }
  }
  return { kind: 'portal', url: probeUrl };
}

/** One probe from `localAddress`; never throws. */
export function probeCaptivePortal(probeUrl: string, localAddress: string, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    try {
      // node:http on the first probe only (an engine that never probes never loads it)
      const req = process.getBuiltinModule('node:http').request(probeUrl, { method: 'GET', localAddress, timeout: timeoutMs, headers: { 'user-agent': 'Homeward captive-portal check', connection: 'close' } }, (res) => {
        res.resume(); // the body is not needed: a page instead of 204 is the portal's
        const loc = res.headers.location;
        finish(classifyProbe(probeUrl, res.statusCode ?? 0, typeof loc === 'string' ? loc : undefined));
      });
      req.on('timeout', () => {
        req.destroy();
        finish({ kind: 'unreachable', reason: 'timeout' });
      });
      req.on('error', (e) => finish({ kind: 'unreachable', reason: e.message }));
      req.end();
    } catch (e) {
      finish({ kind: 'unreachable', reason: (e as Error).message });
    }
  });
}

export interface PortalWatchOptions {
  probeUrl: string;
  /** a link whose VPN has not come up this long after the change is probed */
  afterMs: number;
  /** while a portal is up, probe this often */
  pollMs?: number;
  emit(ev: { state: 'detected'; url: string; iface: string } | { state: 'cleared'; iface: string }): void;
  /** the portal let us through: try the VPN again now */
  onCleared(): void;
  probe?: typeof probeCaptivePortal;
}

/**
 * Watches one access link at a time: probes once when its VPN is late, and,
 * when a portal answers, polls until the probe gets its 204 again.
 */
export class CaptivePortalWatch {
  private link?: { iface: string; addr: string };
  private timer?: NodeJS.Timeout;
  private generation = 0;
  private portal = false;
  private readonly probe: typeof probeCaptivePortal;

  constructor(private readonly o: PortalWatchOptions) {
    this.probe = o.probe ?? probeCaptivePortal;
  }

  /** A new access link (or none): forget the old one's portal. */
  linkChanged(link: { iface: string; addr: string } | null): void {
    this.cancel();
    this.link = link ?? undefined;
    if (link) this.schedule(this.o.afterMs);
  }

  /** The VPN answered (or the link proved trusted): no probe needed on this link. */
  settled(): void {
    const wasPortal = this.portal;
    this.cancel();
    if (wasPortal && this.link) this.o.emit({ state: 'cleared', iface: this.link.iface });
  }

  stop(): void {
    this.cancel();
    this.link = undefined;
  }

  private cancel(): void {
    this.generation++;
    this.portal = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    const gen = this.generation;
    this.timer = setTimeout(() => void this.check(gen), ms);
    this.timer.unref();
  }

  private async check(gen: number): Promise<void> {
    const link = this.link;
    if (!link || gen !== this.generation) return;
    const r = await this.probe(this.o.probeUrl, link.addr);
    if (gen !== this.generation) return; // the link moved on meanwhile
    if (r.kind === 'portal') {
      if (!this.portal) this.o.emit({ state: 'detected', url: r.url, iface: link.iface });
      this.portal = true;
      this.schedule(this.o.pollMs ?? 1000);
    } else if (r.kind === 'open' && this.portal) {
      this.portal = false;
      this.o.emit({ state: 'cleared', iface: link.iface });
      this.o.onCleared();
    } else if (this.portal) {
      this.schedule(this.o.pollMs ?? 1000); // a portal that stops answering for a moment is still there
    }
    // open without a portal: the gateway is just slow or down (the VPN's own retries go on);
    // unreachable: nothing answers HTTP either, no portal to report
  }
}
