/**
 * The CLI's output without --json: one sentence per event for people, the
 * same events as the JSON stream (app/events.ts). Anything not known here is
 * printed as key=value pairs, so nothing is ever hidden.
 */

type Obj = Record<string, unknown>;

const MODES: Record<string, string> = {
  c: 'inside the enterprise network (co-located care-of address)',
  f: 'inside the enterprise network (via a foreign agent)',
  mc: 'outside: Mobile IP through the VPN',
  detecting: 'checking this network…',
  offline: 'offline (nothing sent in clear)',
  blocked: 'blocked: the home agent refused the registration',
};

const s = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

function keyValues(o: Obj): string {
  return Object.entries(o).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : s(v)}`).join(' ');
}

/** Rounds a duration for reading: "840 ms", "1.84 s". */
export function humanMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** The Mobile IP binding's liveness (issue 18; the IKE SA's liveness events name a gateway instead). */
function bindingLiveness(o: Obj): string {
  const why = s(o.reason);
  if (o.state === 'suspect') {
    const silent = o.silentMs !== undefined ? `: nothing back for ${humanMs(Number(o.silentMs))}` : '';
    return `binding suspect (${why}${silent}): registering again at once${o.coa ? ` via care-of ${s(o.coa)}` : ''}`;
  }
  if (o.result === 'inbound-resumed') return `binding: traffic back after ${humanMs(Number(o.silentMs))} of silence`;
  const took = o.ms !== undefined ? ` after ${humanMs(Number(o.ms))}` : '';
  return o.state === 'ok' ? `binding refreshed (${why})${took}` : `binding refresh (${why}) failed: ${s(o.result)}${took}`;
}

export function humanLine(event: object): string {
  const o: Obj = Object.fromEntries(Object.entries(event));
  if (o.type === 'liveness' && o.what === 'binding') return bindingLiveness(o);
  switch (o.type) {
    case 'mode': {
      const coa = o.coa ? `, care-of ${s(o.coa)}` : '';
      return `mode ${s(o.mode)}: ${MODES[s(o.mode)] ?? s(o.mode)}${coa}${o.reason ? ` (${s(o.reason)})` : ''}`;
    }
    case 'handover': return `moved ${s(o.from)} → ${s(o.to)}: traffic held ${humanMs(Number(o.gapMs))}`;
    case 'ike-sa': return `IKE SA ${s(o.state)} with ${s(o.gateway)}${o.ike ? ` (${s(o.ike)})` : ''}${o.tia ? `, inner address ${s(o.tia)}` : ''}`;
    case 'child-sa': return `child SA ${s(o.state)}: ${s(o.spiIn)}/${s(o.spiOut)} ${s(o.esp)}`;
    case 'mobike-update': return `MOBIKE: ${s(o.from)} → ${s(o.to)} in ${humanMs(Number(o.ms))}${o.nat ? ' (behind NAT)' : ''}`;
    case 'registration': return `registration ${s(o.state)} via care-of ${s(o.coa)}${o.lifetime !== undefined ? `, lifetime ${s(o.lifetime)} s` : ''}${o.tnc ? ', trusted network' : ''}${o.codeName ? ` (${s(o.codeName)})` : ''}`;
    case 'liveness': return liveness(o);
    case 'resume': return `resumed after ${humanMs(Number(o.sleptMs))} (${s(o.kind)}): detecting again, the IKE SA and the binding are checked`;
    case 'log': return `${s(o.level)}: ${s(o.msg)}${o.ctx ? ` ${keyValues(o.ctx as Obj)}` : ''}`;
    case 'ui': return `UI: ${s(o.url)}`;
    case 'control': return `control socket: ${s(o.path)}`;
    case 'error': return `error ${s(o.code)}: ${s(o.message)}${o.field ? ` (profile field ${s(o.field)})` : ''}`;
    case 'counters': return `traffic: ${s(o.tunIn)} packets in, ${s(o.tunOut)} out`;
    default: {
      const { type, ...rest } = o;
      return `${type === undefined ? '' : `${s(type)}: `}${keyValues(rest)}`;
    }
  }
}

function liveness(o: Obj): string {
  const why = o.reason !== undefined ? ` (${s(o.reason)})` : '';
  const after = o.ms !== undefined ? ` after ${humanMs(Number(o.ms))}` : '';
  switch (o.state) {
    case 'ok': return `gateway ${s(o.gateway)} answers${o.reason !== undefined ? '' : ' again'}${why}${after}`;
    case 'suspect': return `gateway ${s(o.gateway)} suspect${why}: ${s(o.action ?? 'check')}`;
    case 'replaced': return `gateway ${s(o.gateway)}: a new IKE SA was up first${why}${after}`;
    default: return `gateway ${s(o.gateway)} silent${o.silentMs !== undefined ? ` for ${humanMs(Number(o.silentMs))}` : ''}${why}${after}`;
  }
}
