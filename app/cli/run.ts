/**
 * `homeward run --profile <file> [--json] [--ui] [--control <path> [--control-group <group>]] [--tun <name>] [--policy automatic|always-vpn] [--state-dir <dir>]`
 * `homeward run --cleanup [--tun <name>] [--state-dir <dir>] [--json]`
 *
 * Runs the whole RFC 5266 engine (app/io/engine.ts) until SIGINT/SIGTERM,
 * then deregisters, deletes the IKE SA and removes everything it set up.
 * An error nothing else caught ends the process with exit code 70 and leaves
 * the fail-closed rules in place (app/io/policy-routes.ts): nothing leaves
 * in clear until the next start or `--cleanup` (the service's ExecStopPost)
 * removes them. `--cleanup` removes every rule at our preferences, our
 * tables' routes and our TUNs, prints what it removed and exits 0.
 *
 * Events (one JSON object per line with --json; app/events.ts):
 *   {"type":"mode","mode":"c"|"f"|"mc"|"detecting"|"offline"|"blocked","trusted":…,"coa":…,"hoa":…}
 *   {"type":"handover","from":…,"to":…,"gapMs":…}
 *   {"type":"registration",…} {"type":"ike-sa",…} {"type":"child-sa",…} {"type":"log",…} {"type":"error",…}
 *   {"type":"dns","servers":[…],"domains":[…],"via":"resolved"|"resolv.conf"}
 *   {"type":"captive-portal","state":"detected"|"cleared","url":…,"iface":…}
 *   {"type":"ui","url":"http://127.0.0.1:PORT/?token=…"}   with --ui
 *   {"type":"control","path":…}                             with --control
 *   {"type":"stopped","stats":{…}}
 */
import { readFileSync } from 'node:fs';
import type { EngineEvent, Policy } from '../events.ts';
import { startControlServer, type ControlServer } from '../io/control-socket.ts';
import { diagnosticsProvider, profileFromFile } from '../io/diagnostics.ts';
import { Engine } from '../io/engine.ts';
import { fileProfile } from '../io/profile-file.ts';
import { removeAccessLeftovers } from '../io/access-services.ts';
import { NetConfig } from '../io/netconfig.ts';
import { removeLeftovers, VPN_TUNS } from '../io/policy-routes.ts';
import type { UiServer } from '../io/ui-server.ts';
import { humanLine } from './human.ts';
import { CliError, eachOption, loadProfile } from './main.ts';
import { checkProfile } from './profile-check.ts';
import { RENDERER_DIST } from './ui.ts';

export interface RunArgs {
  profile: string;
  json: boolean;
  ui: boolean;
  control?: string;
  /** group (name or number) that may use the control socket (0660 instead of 0600) */
  controlGroup?: string;
  tun: string;
  policy: Policy;
  /** where state that must outlive a crash is kept (the resolver file's original) */
  stateDir: string;
  /** remove what a killed run left (rules, tables, TUNs, the resolver file) and exit */
  cleanup: boolean;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const out: RunArgs = { profile: '', json: false, ui: false, tun: 'hwmip0', policy: 'automatic', stateDir: '/var/lib/homeward', cleanup: false };
  eachOption(argv, (a, value) => {
    if (a === '--json') out.json = true;
    else if (a === '--ui') out.ui = true;
    else if (a === '--cleanup') out.cleanup = true;
    else if (a === '--profile') out.profile = value();
    else if (a === '--control') out.control = value();
    else if (a === '--control-group') out.controlGroup = value();
    else if (a === '--tun') out.tun = value();
    else if (a === '--state-dir') out.stateDir = value();
    else if (a === '--policy') {
      const p = value();
      if (p !== 'automatic' && p !== 'always-vpn') throw new CliError(`--policy must be automatic or always-vpn, got ${p}`, 'USAGE');
      out.policy = p;
    } else throw new CliError(`run: unknown option ${a}`, 'USAGE');
  });
  if (!out.profile && !out.cleanup) throw new CliError('run needs --profile <file>', 'USAGE');
  if (out.controlGroup !== undefined && out.control === undefined) throw new CliError('--control-group needs --control <path>', 'USAGE');
  return out;
}

/** A group name or number to a gid, from the text of /etc/group; throws naming the flag. */
export function resolveGroup(group: string, etcGroup: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of etcGroup.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new CliError(`--control-group: no group named ${JSON.stringify(group)} (create it with: groupadd --system ${group})`, 'USAGE');
}


/** Exit code of a run ended by an error nothing else caught (EX_SOFTWARE); the blocking rules stay. */
export const EXIT_CRASHED = 70;

/** What `homeward run` says besides the engine's own events. */
type RunEvent =
  | { type: 'cleanup'; rules: number; tuns: string[]; resolvConfRestored: boolean }
  | { type: 'control'; path: string }
  | { type: 'stopped'; stats: Record<string, unknown> };

const EVENT_TIMES = process.env.HOMEWARD_EVENT_TIMES === '1';

export async function run(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  const emit = (o: EngineEvent | RunEvent): void => {
    // HOMEWARD_EVENT_TIMES=1: each JSON line carries `t`, the wall clock in ms (performance.timeOrigin + now: sub-ms, aligned with ping -D) (the bench's timelines)
    if (args.json) process.stdout.write(`${JSON.stringify(EVENT_TIMES ? { ...o, t: Math.round((performance.timeOrigin + performance.now()) * 10) / 10 } : o)}\n`);
    if (o.type === 'error') process.stderr.write(`homeward: ${humanLine(o)}\n`);
    else if (!args.json) process.stdout.write(`${humanLine(o)}\n`);
  };
  if (args.cleanup) {
    // by preference, table and name only: works whatever the profile (or without one)
    const removed = await removeLeftovers(new NetConfig(), [args.tun, ...VPN_TUNS]);
    // and what the access services left: the intranet IPv6 block, the rewritten resolver file
    const access = await removeAccessLeftovers(new NetConfig(), args.stateDir);
    emit({ type: 'cleanup', rules: removed.rules + access.rules, tuns: removed.tuns, resolvConfRestored: access.resolvConfRestored });
    return 0;
  }
  const profile = await loadProfile(args.profile);
  // the last resort: say what happened and exit closed — the blocking rules stay, the TUNs go with the process
  const crashed = (kind: string) => (e: unknown): void => {
    try {
      emit({ type: 'error', code: 'CRASHED', message: `${kind}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, fatal: true });
    } finally {
      process.exit(EXIT_CRASHED);
    }
  };
  process.on('uncaughtException', crashed('uncaught exception'));
  process.on('unhandledRejection', crashed('unhandled rejection'));
  const engine = new Engine({ profile, mipTun: args.tun, policy: args.policy, stateDir: args.stateDir });
  // the UI's "Export diagnostics": events from the start, the profile with its secrets scrubbed
  const diagnostics = diagnosticsProvider({ engine, profile: profileFromFile(args.profile) });
  engine.onEvent((e: EngineEvent) => emit(e));
  let ui: UiServer | undefined;
  let control: ControlServer | undefined;
  const stopping = new Promise<void>((res) => {
    process.once('SIGINT', () => res());
    process.once('SIGTERM', () => res());
  });
  try {
    await engine.start();
    if (args.ui) {
      // loaded only for --ui: its HTTP server (node:http) is otherwise dead weight in the engine's memory
      const { startUiServer } = await import('../io/ui-server.ts');
      ui = await startUiServer({
        engine, root: RENDERER_DIST, diagnostics: diagnostics.build,
        // said on the engine's own stream: what a hostile or broken client sent, and that it was dropped
        onError: (msg) => emit({ type: 'log', level: 'error', msg }),
        onRefused: (msg) => emit({ type: 'log', level: 'warn', msg }),
      });
      // through the engine's stream so the snapshot knows the URL too
      emit({ type: 'ui', url: ui.url });
    }
    if (args.control) {
      const gid = args.controlGroup === undefined ? undefined : resolveGroup(args.controlGroup, readFileSync('/etc/group', 'utf8'));
      // the desktop app shows and edits this very profile through the socket (applied at the next start)
      control = await startControlServer({ path: args.control, engine, profile: fileProfile(args.profile, checkProfile), ...(gid === undefined ? {} : { gid }) });
      emit({ type: 'control', path: control.path });
    }
  } catch (e) {
    await control?.close();
    await ui?.close();
    await engine.stop().catch(() => undefined);
    throw e;
  }
  await stopping;
  await control?.close();
  await ui?.close();
  await engine.stop();
  emit({ type: 'stopped', stats: engine.stats });
  return 0;
}
