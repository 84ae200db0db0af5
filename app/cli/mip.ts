/**
 * `homeward mip register --profile <file> [--json] [--coa <addr>] [--route <prefix>]… [--tun <name>]`
 *
 * Registers the profile's home address with its home agent over the current
 * network (mode `c`, co-located care-of address), keeps the binding alive and
 * carries the home address's traffic through the tunnel until SIGINT/SIGTERM,
 * then deregisters and removes everything it set up.
 *
 * Events (one JSON object per line with --json):
 *   {"type":"registration","state":"accepted","coa":…,"lifetime":…,"tnc":true|false}
 *   {"type":"care-of","coa":…,"moved":true|false}
 *   {"type":"error","code":"<REPLY_CODE_NAME>","replyCode":131,…}   a denial, named after the code
 *   {"type":"stopped","stats":{…}}
 */
import { isIPv4, parsePrefix } from '../base/ipv4.ts';
import type { MipEvent } from '../events.ts';
import { MipDriver, type CoreFactory } from '../io/mip-driver.ts';
import { replyCodeName } from '../wire/mip4/constants.ts';
import { humanLine } from './human.ts';
import { CliError, loadProfile } from './main.ts';

export interface MipArgs {
  profile: string;
  json: boolean;
  coa?: string;
  routes: string[];
  tun: string;
}

export function parseMipArgs(argv: string[]): MipArgs {
  const out: MipArgs = { profile: '', json: false, routes: [], tun: 'hwmip0' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new CliError(`${a} needs a value`, 'USAGE');
      return v;
    };
    if (a === '--json') out.json = true;
    else if (a === '--profile') out.profile = value();
    else if (a === '--coa') {
      out.coa = value();
      if (!isIPv4(out.coa)) throw new CliError(`--coa must be an IPv4 address, got ${out.coa}`, 'USAGE');
    } else if (a === '--route') {
      const r = value();
      try {
        parsePrefix(r);
      } catch {
        throw new CliError(`--route must be an IPv4 prefix like 10.1.0.0/24, got ${r}`, 'USAGE');
      }
      out.routes.push(r);
    } else if (a === '--tun') out.tun = value();
    else throw new CliError(`mip register: unknown option ${a}`, 'USAGE');
  }
  if (!out.profile) throw new CliError('mip register needs --profile <file>', 'USAGE');
  return out;
}

/** Upper-snake name of a reply code's description, e.g. "mobile node failed authentication" → MOBILE_NODE_FAILED_AUTHENTICATION. */
export function errorCodeName(codeName: string | undefined, code: number): string {
  if (!codeName) return `REPLY_CODE_${code}`;
  return codeName.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').toUpperCase();
}

/**
 * The registration client (app/mip4/registration.ts), loaded when the command
 * runs. A static specifier, so the compiled engine (scripts/build-engine.mjs)
 * carries it too.
 */
async function loadCore(): Promise<CoreFactory> {
  const mod = await import('../mip4/registration.ts');
  return mod.createRegistrationCore as CoreFactory;
}

export async function mipRegister(argv: string[], core?: CoreFactory): Promise<number> {
  const args = parseMipArgs(argv);
  const profile = await loadProfile(args.profile);
  const routes = args.routes.length > 0 ? args.routes : (profile.vpn?.remoteTs ?? []).map((p) => `${p.addr}/${p.len}`);
  const emit = (e: MipEvent | Record<string, unknown>): void => {
    const o: Record<string, unknown> = { ...e };
    if (args.json) process.stdout.write(`${JSON.stringify(o)}\n`);
    if (o.type === 'error') process.stderr.write(`homeward: ${humanLine(o)}\n`);
    else if (!args.json) process.stdout.write(`${humanLine(o)}\n`);
  };
  const driver = new MipDriver({
    core: core ?? (await loadCore()),
    profile, routes, tunName: args.tun, ...(args.coa ? { coa: args.coa } : {}),
    onEvent: (e) => {
      if (e.type === 'registration' && e.state === 'denied') {
        const code = Number(e.code);
        emit({ type: 'error', code: errorCodeName(e.codeName, code), replyCode: code, message: `registration denied: ${String(e.codeName ?? code)} (${code})` });
      }
      if (e.type === 'registration' && e.state === 'unverified-denial') {
        const code = Number(e.code);
        const name = replyCodeName(code);
        emit({
          type: 'error', code: errorCodeName(name, code), replyCode: code, authenticated: false,
          message: `the home agent answered ${name} (${code}) in a reply that does not authenticate with our key: ` +
            (code === 131 ? 'check mnHaAuth.key and mnHaAuth.spi' : 'it was not believed') + '; still retrying',
        });
        return;
      }
      emit(e);
    },
  });
  try {
    await driver.start();
    await driver.followCareOf();
  } catch (e) {
    await driver.stop(0).catch(() => undefined);
    throw e;
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await driver.stop();
  emit({ type: 'stopped', stats: driver.stats, core: driver.coreStats });
  return 0;
}
