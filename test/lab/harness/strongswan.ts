/**
 * strongSwan (charon 5.9) as a real IKEv2 peer inside a lab host.
 *
 * Recipe from docs/LAB.md: one charon per namespace, in its own mount
 * namespace with a private tmpfs on /run (charon's pid file lives there), ESP
 * in user space through kernel-libipsec (no XFRM in this kernel). The vici
 * socket sits in the daemon's own directory under the run's work dir, so
 * swanctl reaches it with --uri from the root mount namespace.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './exec.ts';
import type { LabProcess } from './exec.ts';
import type { Lab } from './lab.ts';
import { parseListSas, type IkeSaInfo } from './vici-pretty.ts';

export const CHARON = '/usr/lib/ipsec/charon';
export const SWANCTL = 'swanctl';

export const DEFAULT_PLUGINS = [
  'random', 'nonce', 'openssl', 'pem', 'pkcs1', 'x509', 'curve25519', 'aes', 'sha1', 'sha2', 'hmac', 'gcm',
  'chapoly', 'kdf', 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici', 'attr', 'eap-identity',
  'eap-mschapv2', 'updown',
];

export interface StrongSwanConfOptions {
  /** unix socket path for vici */
  viciSocket: string;
  plugins?: string[];
  /** charon.cookie_threshold: half-open SAs before COOKIEs are demanded (0 = always) */
  cookieThreshold?: number;
  /** filelog levels, e.g. { default: 1, ike: 4, chd: 4 } (4 prints derived keys) */
  logLevels?: Record<string, number>;
  /** extra lines placed inside charon { } */
  charonExtra?: string;
}

/** strongswan.conf for one lab charon (one setting per line: strongSwan's parser wants that). */
export function strongswanConf(o: StrongSwanConfOptions): string {
  const levels = { default: 1, ike: 2, ...o.logLevels };
  const lines = [
    'charon {',
    `  load = ${(o.plugins ?? DEFAULT_PLUGINS).join(' ')}`,
    '  install_virtual_ip = yes',
    ...(o.cookieThreshold !== undefined ? [`  cookie_threshold = ${o.cookieThreshold}`] : []),
    '  filelog {',
    '    stderr {',
    '      time_format = %H:%M:%S',
    '      ike_name = yes',
    ...Object.entries(levels).map(([k, v]) => `      ${k} = ${v}`),
    '    }',
    '  }',
    '  plugins {',
    '    vici {',
    `      socket = unix://${o.viciSocket}`,
    '    }',
    '  }',
    ...(o.charonExtra ? o.charonExtra.split('\n').map((l) => `  ${l}`) : []),
    '}',
    '',
  ];
  return lines.join('\n');
}

export interface StrongSwanOptions {
  swanctlConf: string;
  /** more files beside swanctl.conf, by relative path (x509/gw.pem, private/gw.key, ...) */
  extraFiles?: Record<string, string | Uint8Array>;
  /** a complete strongswan.conf; {{VICI}} is replaced by the socket path */
  strongswanConf?: string;
  conf?: Omit<StrongSwanConfOptions, 'viciSocket'>;
  startTimeoutMs?: number;
}

export interface StrongSwan {
  readonly host: string;
  readonly pid: number;
  readonly dir: string;
  readonly viciUri: string;
  readonly process: LabProcess;
  /** runs swanctl against this daemon; throws on non-zero exit; returns stdout */
  swanctl(args: readonly string[]): Promise<string>;
  listSas(): Promise<IkeSaInfo[]>;
  /** charon's log (stderr), the last MiB */
  logs(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

const START_SCRIPT = `mount -t tmpfs tmpfs /run && exec ${CHARON}`;

export async function startStrongSwan(lab: Lab, host: string, opts: StrongSwanOptions): Promise<StrongSwan> {
  const dir = lab.tempDir(`charon-${host}`);
  const vici = join(dir, 'charon.vici');
  const viciUri = `unix://${vici}`;
  const confPath = join(dir, 'strongswan.conf');
  writeFileSync(confPath, opts.strongswanConf !== undefined
    ? opts.strongswanConf.replaceAll('{{VICI}}', vici)
    : strongswanConf({ ...opts.conf, viciSocket: vici }));
  const swanctlPath = join(dir, 'swanctl.conf');
  writeFileSync(swanctlPath, opts.swanctlConf);
  // the directories swanctl --load-all reads (absent ones only add noise to its output)
  for (const sub of ['x509', 'x509ca', 'x509ocsp', 'x509aa', 'x509ac', 'x509crl', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  for (const [rel, content] of Object.entries(opts.extraFiles ?? {})) {
    if (rel.startsWith('/') || rel.split('/').includes('..')) throw new Error(`extraFiles: ${rel} must stay inside the config dir`);
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  const env = { STRONGSWAN_CONF: confPath };
  const proc = lab.spawnRaw(
    ['netns', 'exec', lab.ns(host), 'unshare', '-m', '--propagation', 'private', 'sh', '-c', START_SCRIPT],
    `charon@${host}`, env);

  const swanctl = async (args: readonly string[]): Promise<string> => {
    const r = await run(SWANCTL, [...args, '--uri', viciUri], { env: { ...process.env, ...env }, timeoutMs: 20_000 });
    if (r.code !== 0) {
      const out = `${r.stdout}${r.stderr}`;
      // the lines that say what went wrong first, then the whole output
      const why = out.split('\n').filter((l) => /fail|error|invalid|unknown|expected/i.test(l)).join('\n');
      throw new Error(`swanctl ${args.join(' ')} (charon@${host}) exit ${r.code}: ${why}\n--- full output ---\n${out}`);
    }
    return r.stdout;
  };
  const stop = (): Promise<void> => proc.stop(3000);
  lab.onDestroy(stop);

  await waitForVici(proc, swanctl, opts.startTimeoutMs ?? 10_000);
  const loaded = await swanctl(['--load-all', '--file', swanctlPath]);
  if (/fail|error/i.test(loaded)) throw new Error(`swanctl --load-all (charon@${host}): ${loaded}`);

  return {
    host, pid: proc.pid, dir, viciUri, process: proc, swanctl, stop,
    listSas: async () => parseListSas(await swanctl(['--list-sas', '--pretty'])),
    logs: () => proc.stderr(),
    waitForLog: (pattern, timeoutMs = 10_000) => proc.waitFor(pattern, timeoutMs, 'stderr'),
  };
}

async function waitForVici(proc: LabProcess, swanctl: (a: readonly string[]) => Promise<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!proc.running) {
      const info = await proc.exited;
      throw new Error(`charon exited during start-up (code ${info.code}, signal ${info.signal}); its log ` +
        `(stderr, empty if your strongswan.conf has no filelog.stderr): ${proc.stderr().slice(-3000)}`);
    }
    try {
      await swanctl(['--stats']);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`charon's vici socket did not answer within ${timeoutMs} ms (${last}): ${proc.stderr().slice(-3000)}`);
}

/**
 * The road-warrior responder of LAB.md (address pool), parameterised.
 * localAddr may list several addresses ("192.0.2.1, 203.0.113.1"); ikeOptions
 * and childOptions are extra swanctl lines ("mobike = yes", "rekey_time = 10s").
 * Authentication: `psk`, or `cert` (the gateway's certificate file in
 * x509/, clients authenticated by certificate, any identity unless remoteId),
 * or `cert` with `eap` (clients sign in with EAP-MSCHAPv2 against eap.users).
 */
export function roadWarriorResponder(o: {
  localAddr: string;
  ikeOptions?: string[];
  childOptions?: string[];
  psk?: string;
  cert?: string;
  /** with cert: the client signs in with EAP-MSCHAPv2 (EAP user name → password) */
  eap?: { users: Record<string, string> };
  localId?: string;
  remoteId?: string;
  pool?: string;
  localTs?: string;
  proposals?: string;
  espProposals?: string;
}): string {
  if ((o.psk === undefined) === (o.cert === undefined)) throw new Error('roadWarriorResponder: give exactly one of psk and cert');
  const localId = o.localId ?? 'gw.example';
  const local = o.cert !== undefined
    ? `      auth = pubkey\n      certs = ${o.cert}\n      id = ${localId}\n`
    : `      auth = psk\n      id = ${localId}\n`;
  if (o.eap !== undefined && o.cert === undefined) throw new Error('roadWarriorResponder: eap needs the gateway cert');
  const remote = o.eap !== undefined
    ? `      auth = eap-mschapv2\n      id = ${o.remoteId ?? '%any'}\n      eap_id = %any\n`
    : o.cert !== undefined
    ? `      auth = pubkey\n      id = ${o.remoteId ?? '%any'}\n`
    : `      auth = psk\n      id = ${o.remoteId ?? 'mn@example'}\n`;
  const q = (v: string): string => `"${v.replace(/["\\]/g, '\\$&')}"`;
  const eapSecrets = o.eap === undefined ? '' : `secrets {
${Object.entries(o.eap.users).map(([u, pw], i) => `  eap-${i} {\n    id = ${u}\n    secret = ${q(pw)}\n  }\n`).join('')}}
`;
  const secrets = o.psk === undefined ? eapSecrets : `secrets {
  ike-1 {
    id-1 = ${o.remoteId ?? 'mn@example'}
    id-2 = ${localId}
    secret = "${o.psk.replace(/["\\]/g, '\\$&')}"
  }
}
`;
  return `connections {
  rw {
    version = 2
    local_addrs = ${o.localAddr}
    pools = tia
    proposals = ${o.proposals ?? 'aes256gcm16-prfsha256-x25519, chacha20poly1305-prfsha256-x25519'}
${(o.ikeOptions ?? []).map((l) => `    ${l}\n`).join('')}    local {
${local}    }
    remote {
${remote}    }
    children {
      net {
        local_ts = ${o.localTs ?? '10.10.0.0/24'}
        esp_proposals = ${o.espProposals ?? 'aes256gcm16, chacha20poly1305'}
${(o.childOptions ?? []).map((l) => `        ${l}\n`).join('')}      }
    }
  }
}
pools {
  tia {
    addrs = ${o.pool ?? '10.10.100.0/24'}
  }
}
${secrets}`;
}
