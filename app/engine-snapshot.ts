/**
 * The engine's state as a UI sees it: one plain, JSON-safe object folded from
 * the event stream (app/events.ts) by a pure reducer.
 *
 *   engine ──EngineEvent──► applyEvent(snapshot, event, nowMs) ──► snapshot
 *                                   ▲ used by main/, app/io/ui-server.ts,
 *                                     app/io/control-socket.ts and the tests
 *
 * Times in the snapshot are wall-clock milliseconds (`nowMs` is supplied by
 * the caller, never read here) because the snapshot crosses processes: the
 * renderer compares them with its own clock to count lifetimes down and SA
 * ages up. The reducer never mutates its input; histories are bounded.
 */
import type {
  ChildSaEvent, CountersEvent, EngineCommand, EngineEvent, HandoverEvent, IkeSaEvent, LivenessEvent, LivenessReason, LogEvent, Mode, Policy, RegistrationEvent,
} from './events.ts';

// Implementation
export const MAX_HANDOVERS = 50;
export const MAX_LOG_LINES = 300;

export interface RegistrationInfo {
  state: RegistrationEvent['state'];
  coa: string;
  /** granted lifetime in seconds (0 when deregistered) */
  lifetime: number | null;
  /** wall-clock ms when the binding expires, null when unknown or not accepted */
  expiresAt: number | null;
  at: number;
  udpTunnel: boolean;
  tnc: boolean;
  via: string | null;
  code: number | null;
  codeName: string | null;
}

export interface IkeSaInfo {
  state: IkeSaEvent['state'];
  gateway: string;
  local: string | null;
  spiI: string | null;
  spiR: string | null;
  ike: string | null;
  esp: string | null;
  /** wall-clock ms of the last establish or rekey, null until established */
  establishedAt: number | null;
  natLocal: boolean;
  natRemote: boolean;
  lastMobike: { from: string; to: string; ms: number; at: number } | null;
}

export interface ChildSaInfo {
  spiIn: string;
  spiOut: string;
  esp: string;
  localTs: string[];
  remoteTs: string[];
  installedAt: number;
}

export interface CountersInfo {
  tunIn: number;
  tunOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: Record<string, number>;
  at: number | null;
}

export interface HandoverRecord {
  from: Mode;
  to: Mode;
  gapMs: number;
  at: number;
  /** care-of address in the settled mode before and after, when the mode events told us */
  fromCoa: string | null;
  toCoa: string | null;
  /** what started the move: the reason of the `detecting` mode event ("link change", …) */
  trigger: string | null;
  /** how the new network's trust was decided, once the settled mode event is in */
  trust: TrustDecision | null;
}

/**
 * How trust was decided for a settled mode: the home agent's authenticated
 * reply carried TNC (inside), it did not (outside), or the Always VPN
 * policy chose the VPN without asking.
 */
export type TrustDecision = 'home-agent-tnc' | 'no-tnc' | 'always-vpn';

export function trustDecision(mode: Mode, policy: Policy): TrustDecision | null {
  if (mode === 'c' || mode === 'f') return 'home-agent-tnc';
  if (mode === 'mc') return policy === 'always-vpn' ? 'always-vpn' : 'no-tnc';
  return null;
}

const SETTLED: readonly Mode[] = ['c', 'f', 'mc'];

export interface LogRecord {
  level: LogEvent['level'];
  msg: string;
  ctx?: Record<string, string | number | boolean>;
  at: number;
}

export interface EngineSnapshot {
  mode: Mode;
  trusted: boolean;
  policy: Policy;
  /** the user's intent (connect/disconnect), as the engine last reported it */
  connected: boolean;
  reason: string | null;
  /** wall-clock ms of the last mode change */
  modeSince: number | null;
  hoa: string | null;
  coa: string | null;
  /** the care-of address before the last change (handover records use it) */
  prevCoa: string | null;
  tia: string | null;
  gateway: string | null;
  homeAgent: string | null;
  registration: RegistrationInfo | null;
  ikeSa: IkeSaInfo | null;
  childSas: ChildSaInfo[];
  liveness: { state: LivenessEvent['state']; silentMs: number | null; at: number; reason?: LivenessReason } | null;
  counters: CountersInfo;
  handovers: HandoverRecord[];
  /** the last settled mode (c/f/mc) and its care-of address, and the one before (handover records use them) */
  settled: { mode: Mode; coa: string | null } | null;
  prevSettled: { mode: Mode; coa: string | null } | null;
  /** reason of the last `detecting` mode event: the trigger of the move in progress */
  pendingTrigger: string | null;
  log: LogRecord[];
  lastError: { code: string; message: string; field: string | null; fatal: boolean; at: number } | null;
  uiUrl: string | null;
  /** the intranet resolver in force, null while the network's own is used */
  dns: { servers: string[]; domains: string[]; via: 'resolved' | 'resolv.conf' } | null;
  /** a captive portal holds the access link: its login page */
  captivePortal: { url: string; iface: string | null; at: number } | null;
  updatedAt: number | null;
}

export function emptySnapshot(): EngineSnapshot {
  return {
    mode: 'offline', trusted: false, policy: 'automatic', connected: false, reason: null, modeSince: null,
    hoa: null, coa: null, prevCoa: null, tia: null, gateway: null, homeAgent: null,
    registration: null, ikeSa: null, childSas: [], liveness: null,
    counters: { tunIn: 0, tunOut: 0, bytesIn: 0, bytesOut: 0, dropped: {}, at: null },
    handovers: [], settled: null, prevSettled: null, pendingTrigger: null, log: [], lastError: null, uiUrl: null, dns: null, captivePortal: null, updatedAt: null,
  };
}

function keepLast<T>(list: T[], item: T, max: number): T[] {
  const next = list.length >= max ? list.slice(list.length - max + 1) : list.slice();
  next.push(item);
  return next;
}

function applyRegistration(s: EngineSnapshot, e: RegistrationEvent, now: number): EngineSnapshot {
  const lifetime = e.lifetime ?? null;
  const registration: RegistrationInfo = {
    state: e.state, coa: e.coa ?? s.registration?.coa ?? '', lifetime, at: now,
    expiresAt: e.state === 'accepted' && lifetime !== null ? now + lifetime * 1000 : null,
    udpTunnel: e.udpTunnel ?? false, tnc: e.tnc ?? false, via: e.via ?? null,
    code: e.code ?? null, codeName: e.codeName ?? null,
  };
  return { ...s, registration, homeAgent: e.homeAgent ?? s.homeAgent };
}

function applyIkeSa(s: EngineSnapshot, e: IkeSaEvent, now: number): EngineSnapshot {
  const prev = s.ikeSa;
  const up = e.state === 'established' || e.state === 'rekeyed';
  const ikeSa: IkeSaInfo = {
    state: e.state,
    gateway: e.gateway,
    local: e.local ?? prev?.local ?? null,
    spiI: e.spiI ?? prev?.spiI ?? null,
    spiR: e.spiR ?? prev?.spiR ?? null,
    ike: e.ike ?? prev?.ike ?? null,
    esp: e.esp ?? prev?.esp ?? null,
    establishedAt: up ? now : e.state === 'connecting' ? null : prev?.establishedAt ?? null,
    natLocal: e.natLocal ?? prev?.natLocal ?? false,
    natRemote: e.natRemote ?? prev?.natRemote ?? false,
    lastMobike: prev?.lastMobike ?? null,
  };
  const gone = e.state === 'deleted' || e.state === 'failed';
  return {
    ...s, ikeSa, gateway: e.gateway,
    tia: gone ? null : e.tia ?? s.tia,
    childSas: gone ? [] : s.childSas,
  };
}

function applyChildSa(s: EngineSnapshot, e: ChildSaEvent, now: number): EngineSnapshot {
  const others = s.childSas.filter((c) => c.spiIn !== e.spiIn && c.spiOut !== e.spiOut);
  if (e.state === 'deleted') return { ...s, childSas: others };
  const info: ChildSaInfo = { spiIn: e.spiIn, spiOut: e.spiOut, esp: e.esp, localTs: [...e.localTs], remoteTs: [...e.remoteTs], installedAt: now };
  return { ...s, childSas: [...others, info] };
}

function applyCounters(s: EngineSnapshot, e: CountersEvent, now: number): EngineSnapshot {
  return { ...s, counters: { tunIn: e.tunIn, tunOut: e.tunOut, bytesIn: e.bytesIn, bytesOut: e.bytesOut, dropped: { ...e.dropped }, at: now } };
}

/** A settled mode event: remember it, and complete the handover that the engine reported just before it. */
function applySettled(s: EngineSnapshot, mode: Mode, coa: string | null, policy: Policy): EngineSnapshot {
  const same = s.settled !== null && s.settled.mode === mode && s.settled.coa === coa;
  const next: EngineSnapshot = same ? s : { ...s, prevSettled: s.settled, settled: { mode, coa } };
  const last = next.handovers[next.handovers.length - 1];
  if (last && last.to === mode && last.trust === null) {
    const handovers = next.handovers.slice(0, -1);
    handovers.push({ ...last, toCoa: coa, trust: trustDecision(mode, policy) });
    return { ...next, handovers };
  }
  return next;
}

function applyHandover(s: EngineSnapshot, e: HandoverEvent, now: number): EngineSnapshot {
  // the real engine reports the handover just before the settled mode event; a recording may have it just after
  const after = s.mode === e.to && s.settled !== null && s.settled.mode === e.to;
  const rec: HandoverRecord = after
    ? { from: e.from, to: e.to, gapMs: e.gapMs, at: now, fromCoa: s.prevSettled?.coa ?? null, toCoa: s.settled!.coa, trigger: s.pendingTrigger, trust: trustDecision(e.to, s.policy) }
    : { from: e.from, to: e.to, gapMs: e.gapMs, at: now, fromCoa: s.settled?.coa ?? null, toCoa: null, trigger: s.pendingTrigger, trust: null };
  return { ...s, handovers: keepLast(s.handovers, rec, MAX_HANDOVERS) };
}

/** Folds one event into the snapshot. Pure: returns a new object, the input is untouched. */
export function applyEvent(snapshot: EngineSnapshot, event: EngineEvent, nowMs: number): EngineSnapshot {
  const s: EngineSnapshot = { ...snapshot, updatedAt: nowMs };
  // the snapshot's liveness is the VPN gateway's; the binding's story (issue 18) is in the event stream
  if (event.type === 'liveness' && 'what' in event && event.what === 'binding') return s;
  switch (event.type) {
    case 'mode': {
      const next: EngineSnapshot = {
        ...s, mode: event.mode, trusted: event.trusted, hoa: event.hoa, coa: event.coa,
        prevCoa: event.coa !== snapshot.coa && snapshot.coa !== null ? snapshot.coa : snapshot.prevCoa,
        reason: event.reason ?? null, policy: event.policy ?? s.policy,
        connected: event.connected ?? (event.mode !== 'offline' || s.connected),
        modeSince: event.mode === snapshot.mode ? snapshot.modeSince ?? nowMs : nowMs,
        pendingTrigger: event.mode === 'detecting' ? event.reason ?? s.pendingTrigger : s.pendingTrigger,
      };
      return SETTLED.includes(event.mode) ? applySettled(next, event.mode, event.coa, next.policy) : next;
    }
    case 'handover': return applyHandover(s, event, nowMs);
    case 'ike-sa': return applyIkeSa(s, event, nowMs);
    case 'child-sa': return applyChildSa(s, event, nowMs);
    case 'mobike-update': {
      if (!s.ikeSa) return s;
      const lastMobike = { from: event.from, to: event.to, ms: event.ms, at: nowMs };
      // the IKE layer reports natLocal/natRemote (app/ikev2/tasks/ike-mobike.ts); `nat` is the older name
      const natLocal = event.natLocal ?? event.nat ?? s.ikeSa.natLocal;
      const natRemote = event.natRemote ?? s.ikeSa.natRemote;
      return { ...s, ikeSa: { ...s.ikeSa, local: event.to, lastMobike, natLocal, natRemote } };
    }
    case 'liveness':
      return { ...s, liveness: { state: event.state, silentMs: event.silentMs ?? null, at: nowMs, ...(event.reason ? { reason: event.reason } : {}) } };
    case 'registration': return applyRegistration(s, event, nowMs);
    case 'counters': return applyCounters(s, event, nowMs);
    case 'log': {
      const rec: LogRecord = { level: event.level, msg: event.msg, at: nowMs, ...(event.ctx ? { ctx: { ...event.ctx } } : {}) };
      return { ...s, log: keepLast(s.log, rec, MAX_LOG_LINES) };
    }
    case 'ui': return { ...s, uiUrl: event.url };
    case 'dns':
      return { ...s, dns: event.servers.length > 0 ? { servers: [...event.servers], domains: [...event.domains], via: event.via } : null };
    case 'captive-portal':
      return { ...s, captivePortal: event.state === 'detected' && event.url ? { url: event.url, iface: event.iface ?? null, at: nowMs } : null };
    case 'error':
      return { ...s, lastError: { code: event.code, message: event.message, field: event.field ?? null, fatal: event.fatal ?? false, at: nowMs } };
    default:
      // an event type this reducer does not know (a newer engine, a driver's own): the snapshot stays as it was
      return s;
  }
}

/** Readable names of the engine's drop counters (CountersEvent.dropped), for the UI and the diagnostics archive. */
const COUNTER_NAMES: Record<string, string> = {
  blocked: 'dropped while blocked (fail closed)',
  overflow: 'dropped: hold queue full while detecting',
  stale: 'dropped: held too long while detecting',
  held: 'held while the network was checked',
  noBinding: 'dropped: no Mobile IP binding yet',
  malformed: 'dropped: malformed tunnelled packets',
  wrongSource: 'dropped: tunnelled from an unexpected source',
  tunWrite: 'dropped: the TUN device was full',
  'esp-auth': 'ESP packets failing authentication',
  replay: 'replayed ESP packets',
  'invalid-spi': 'ESP packets for an unknown SA',
};

export function counterLabel(key: string): string {
  return COUNTER_NAMES[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').toLowerCase();
}

/**
 * What a UI needs from an engine, wherever it runs: in-process, behind the
 * control socket (app/io/control-socket.ts) or a test's scripted fake.
 */
export interface EngineSource {
  snapshot(): EngineSnapshot;
  /** Calls `cb` for every event after the subscription; returns the unsubscribe function. */
  onEvent(cb: (event: EngineEvent) => void): () => void;
  command(command: EngineCommand): Promise<void>;
}

/** Folds a list of timed events, oldest first, from a starting snapshot. */
export function replayEvents(events: readonly { event: EngineEvent; at: number }[], from: EngineSnapshot = emptySnapshot()): EngineSnapshot {
  return events.reduce((s, { event, at }) => applyEvent(s, event, at), from);
}
