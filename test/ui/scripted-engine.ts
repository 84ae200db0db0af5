/**
 * A fake engine for UI tests: an EngineSource whose events come from a script
 * instead of the mobility controller. It folds them with the same reducer the
 * real engine's hosts use, and records the commands it was sent.
 *
 * Swapping it for the real engine is one line in a test: pass the runner's
 * EngineSource (or attach with connectControlSocket) instead of `new ScriptedEngine()`.
 */
import { applyEvent, emptySnapshot, type EngineSnapshot, type EngineSource } from '../../app/engine-snapshot.ts';
import type { EngineCommand, EngineEvent } from '../../app/events.ts';

export class ScriptedEngine implements EngineSource {
  private snap: EngineSnapshot = emptySnapshot();
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  readonly commands: EngineCommand[] = [];
  readonly history: { at: number; event: EngineEvent }[] = [];
  failNextCommand: string | null = null;

  constructor(private readonly now: () => number = () => 0) {}

  snapshot(): EngineSnapshot {
    return this.snap;
  }

  onEvent(cb: (e: EngineEvent) => void): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  async command(c: EngineCommand): Promise<void> {
    this.commands.push(c);
    if (this.failNextCommand) {
      const msg = this.failNextCommand;
      this.failNextCommand = null;
      throw new Error(msg);
    }
  }

  emit(event: EngineEvent): void {
    const at = this.now();
    this.snap = applyEvent(this.snap, event, at);
    this.history.push({ at, event });
    for (const l of this.listeners) l(event);
  }
}

const HOA = '10.10.0.50';
const HA = '10.10.0.1';
const GW = '198.51.100.1';

/** Events for one realistic roam: inside (c) → outside (mc) → inside (c), in order, grouped by step. */
export function roamingScript(): { label: string; events: EngineEvent[] }[] {
  const ctx = { component: 'mobility' };
  return [
    { label: 'start inside', events: [
      { type: 'log', level: 'info', msg: 'link up on wlan0, address 10.10.1.23', ctx },
      { type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa: HOA, policy: 'automatic', connected: true, reason: 'link up' },
      { type: 'registration', state: 'accepted', coa: '10.10.1.23', lifetime: 600, tnc: true, homeAgent: HA },
      { type: 'mode', mode: 'c', trusted: true, coa: '10.10.1.23', hoa: HOA, policy: 'automatic', connected: true, reason: 'i-HA answered with TNC' },
      { type: 'handover', from: 'detecting', to: 'c', gapMs: 212 },
      { type: 'counters', tunIn: 1200, tunOut: 980, bytesIn: 1_536_000, bytesOut: 402_000, dropped: { held: 3 } },
    ] },
    { label: 'leave to untrusted Wi-Fi', events: [
      { type: 'log', level: 'info', msg: 'link change: wlan0 now 192.0.2.77 (café Wi-Fi)', ctx },
      { type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa: HOA, policy: 'automatic', connected: true, reason: 'link change' },
      { type: 'ike-sa', state: 'connecting', gateway: GW, local: '192.0.2.77' },
      { type: 'log', level: 'warn', msg: 'i-HA 10.10.0.1 did not answer within 3000 ms; not inside', ctx },
      { type: 'ike-sa', state: 'established', gateway: GW, local: '192.0.2.77', tia: '10.200.0.9', ike: 'aes256gcm16-prfsha256-x25519', esp: 'aes256gcm16', spiI: '8a3f00c2d14e9b71', spiR: '5c0e77aa01f29d38', natLocal: true, natRemote: false },
      { type: 'child-sa', state: 'installed', spiIn: 'c1a2b3c4', spiOut: 'd5e6f708', esp: 'aes256gcm16', localTs: ['10.200.0.9/32'], remoteTs: ['10.10.0.0/16'] },
      { type: 'registration', state: 'accepted', coa: '10.200.0.9', lifetime: 600, udpTunnel: false, homeAgent: HA },
      { type: 'mode', mode: 'mc', trusted: false, coa: '10.200.0.9', hoa: HOA, policy: 'automatic', connected: true, reason: 'home agent accepted through the VPN' },
      { type: 'handover', from: 'c', to: 'mc', gapMs: 1840 },
      { type: 'counters', tunIn: 2210, tunOut: 1904, bytesIn: 2_811_000, bytesOut: 733_500, dropped: { held: 11, 'esp-auth': 0, replay: 1 } },
    ] },
    { label: 'move between untrusted networks (MOBIKE)', events: [
      { type: 'mobike-update', from: '192.0.2.77', to: '203.0.113.40', ms: 96, natLocal: true, natRemote: false },
      { type: 'liveness', state: 'ok', gateway: GW, silentMs: 0 },
      { type: 'log', level: 'debug', msg: 'UPDATE_SA_ADDRESSES answered in 96 ms', ctx: { component: 'ikev2' } },
    ] },
    { label: 'back inside', events: [
      { type: 'mode', mode: 'detecting', trusted: false, coa: null, hoa: HOA, policy: 'automatic', connected: true, reason: 'link change' },
      { type: 'registration', state: 'accepted', coa: '10.10.2.41', lifetime: 600, tnc: true, homeAgent: HA },
      { type: 'mode', mode: 'c', trusted: true, coa: '10.10.2.41', hoa: HOA, policy: 'automatic', connected: true, reason: 'i-HA answered with TNC' },
      { type: 'handover', from: 'mc', to: 'c', gapMs: 305 },
      { type: 'ike-sa', state: 'deleted', gateway: GW },
      { type: 'counters', tunIn: 2750, tunOut: 2388, bytesIn: 3_402_112, bytesOut: 911_204, dropped: { held: 14, replay: 1, 'invalid-spi': 2 } },
      { type: 'log', level: 'info', msg: 'inside again; IKE SA deleted', ctx },
    ] },
  ];
}
