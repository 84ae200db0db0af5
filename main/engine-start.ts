/**
 * "Start the engine…" when the window finds no service: what to run, through
 * pkexec (polkit asks for an administrator's password). Pure, so the command
 * line is tested; main/index.ts spawns it.
 *
 *  - the .deb installed the unit: start the service (it runs the engine with
 *    only CAP_NET_ADMIN and CAP_NET_RAW, sandboxed; build/linux/homeward.service)
 *  - otherwise (AppImage, a development tree): run the compiled engine with
 *    Electron's own Node (ELECTRON_RUN_AS_NODE=1) on the shared profile and
 *    control socket; pkexec clears the environment, hence `env`.
 */
export const SERVICE_UNIT = '/etc/systemd/system/homeward.service';
export const SHARED_PROFILE = '/etc/homeward/profile.json';

export interface EngineStartInput {
  unitInstalled: boolean;
  /** Electron's executable (process.execPath) */
  execPath: string;
  /** dist/engine/homeward.mjs (in a package: resources/app.asar.unpacked/dist/engine/homeward.mjs) */
  bundle: string;
  socket: string;
  profile?: string;
}

export function engineStartCommand(i: EngineStartInput): { cmd: string; args: string[] } {
  if (i.unitInstalled) return { cmd: 'pkexec', args: ['systemctl', 'start', 'homeward.service'] };
  return {
    cmd: 'pkexec',
    // --max-semi-space-size=2 as in the service's unit and bin/homeward.mjs (docs/PERFORMANCE.md, *Engine memory*)
    args: ['env', 'ELECTRON_RUN_AS_NODE=1', i.execPath, '--max-semi-space-size=2', i.bundle, 'run', '--profile', i.profile ?? SHARED_PROFILE,
      '--control', i.socket, '--control-group', 'homeward'],
  };
}
