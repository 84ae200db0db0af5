/**
 * FreeRADIUS 3 (Debian's `freeradius`) as the user database behind
 * strongSwan's eap-radius, inside a lab host: its own config directory
 * (copied from /etc/freeradius/3.0 and cut down), listening on 127.0.0.1
 * of that host's namespace only, run in the foreground with debug output
 * (`freeradius -X -d <dir>`), stopped at lab teardown.
 *
 * Kept: the modules EAP-MSCHAPv2 needs (eap with mschapv2 only, mschap,
 * files) and one virtual server. The users file holds the given
 * Cleartext-Passwords; an unknown name is rejected in authorize, so the
 * gateway ends EAP right after the identity. reject_delay = 0 (the
 * default 1 s would hide how fast a client gives up).
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabProcess } from './exec.ts';
import type { Lab } from './lab.ts';

export const FREERADIUS = '/usr/sbin/freeradius';
const SOURCE = '/etc/freeradius/3.0';

export interface FreeRadiusOptions {
  /** user name → Cleartext-Password */
  users: Record<string, string>;
  /** the shared secret of the RADIUS client (the gateway on 127.0.0.1) */
  clientSecret: string;
  authPort?: number;
  /** EAP methods section lines inside eap { } (default: mschapv2 only) */
  eapMethods?: string;
  defaultEapType?: string;
}

export interface FreeRadius {
  readonly authPort: number;
  readonly dir: string;
  readonly process: LabProcess;
  logs(): string;
  stop(): Promise<void>;
}

const q = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

export async function startFreeRadius(lab: Lab, host: string, o: FreeRadiusOptions): Promise<FreeRadius> {
  const dir = lab.tempDir(`freeradius-${host}`);
  const authPort = o.authPort ?? 1812;
  cpSync(SOURCE, dir, { recursive: true, dereference: true });
  for (const sub of ['mods-enabled', 'sites-enabled']) rmSync(join(dir, sub), { recursive: true, force: true });
  mkdirSync(join(dir, 'mods-enabled'));
  mkdirSync(join(dir, 'sites-enabled'));
  mkdirSync(join(dir, 'run'));
  mkdirSync(join(dir, 'log'));
  for (const m of ['always', 'expr', 'files', 'mschap', 'pap', 'attr_filter']) cpSync(join(SOURCE, 'mods-available', m), join(dir, 'mods-enabled', m));
  writeFileSync(join(dir, 'mods-enabled', 'eap'), `eap {
	default_eap_type = ${o.defaultEapType ?? 'mschapv2'}
	timer_expire = 60
	ignore_unknown_eap_types = no
	max_sessions = 64
${o.eapMethods ?? '\tmschapv2 {\n\t}'}
}
`);
  writeFileSync(join(dir, 'sites-enabled', 'lab'), `server lab {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${authPort}
	}
	authorize {
		files
		if (!control:Cleartext-Password) {
			reject
		}
		eap {
			ok = return
		}
	}
	authenticate {
		Auth-Type EAP {
			eap
		}
		Auth-Type MS-CHAP {
			mschap
		}
	}
	post-auth {
		Post-Auth-Type REJECT {
			attr_filter.access_reject
			eap
		}
	}
}
`);
  writeFileSync(join(dir, 'clients.conf'), `client gateway {
	ipaddr = 127.0.0.1
	secret = ${q(o.clientSecret)}
	require_message_authenticator = no
}
`);
  writeFileSync(join(dir, 'mods-config', 'files', 'authorize'),
    Object.entries(o.users).map(([u, pw]) => `${q(u)} Cleartext-Password := ${q(pw)}\n`).join(''));
  let conf = readFileSync(join(dir, 'radiusd.conf'), 'utf8');
  conf = conf
    .replace(/^(\s*)user = freerad$/m, '$1# user: stays root in the lab')
    .replace(/^(\s*)group = freerad$/m, '$1# group: stays root in the lab')
    .replace(/^(\s*)reject_delay = \d+$/m, '$1reject_delay = 0')
    .replace(/^logdir = .*$/m, `logdir = ${join(dir, 'log')}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${join(dir, 'run')}`)
    .replace(/^\$INCLUDE proxy\.conf$/m, '# no proxy.conf');
  writeFileSync(join(dir, 'radiusd.conf'), conf);
  const proc = lab.spawn(host, FREERADIUS, ['-X', '-d', dir], { label: `freeradius@${host}` });
  const stop = (): Promise<void> => proc.stop(3000);
  lab.onDestroy(stop);
  try {
    await proc.waitFor(/Ready to process requests/, 15_000, 'both');
  } catch (e) {
    throw new Error(`FreeRADIUS did not start: ${(e as Error).message}\n${proc.stdout().slice(-4000)}${proc.stderr().slice(-2000)}`, { cause: e });
  }
  return { authPort, dir, process: proc, logs: () => proc.stdout() + proc.stderr(), stop };
}
