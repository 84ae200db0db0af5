/**
 * The CLI's help texts: one global summary and one page per subcommand
 * (`homeward <command> --help`). Plain strings, no imports, so `--help`
 * loads nothing else: scripts/build-engine.mjs builds this file as an entry
 * of its own (dist/engine/help.mjs), which bin/homeward.mjs runs for
 * quickAnswer()'s arguments without loading or freshness-checking the rest
 * of the engine.
 */

export const VERSION = '0.1.0';

export const USAGE = `homeward — RFC 5266 mobile node (Mobile IPv4 + IKEv2/MOBIKE)

Usage:
  homeward profile check <file> [--json]     validate a profile; names the bad field
  homeward vpn up --profile <file> [--json] [--keylog <file>]
  homeward mip register --profile <file> [--json]
  homeward run --profile <file> [--json] [--ui] [--control <path> [--control-group <group>]] [--tun <name>] [--policy automatic|always-vpn] [--state-dir <dir>]
  homeward run --cleanup [--tun <name>] [--state-dir <dir>]   remove the rules, TUNs and resolver changes a killed run left (fail-closed until then)
  homeward ui --control <path> [--port <n>] [--profile <file>] [--json]   serve the UI for a running engine
  homeward demo move <T1|U1|U2|T2> [--socket <path>]  move the demo's laptop (npm run demo -- --manual)
  homeward --help | --version
  homeward <command> --help                  that command's options

Profile fields are documented in docs/PROFILE.md.`;

/** Each subcommand's own page, keyed by its words ("profile check", "run", …). */
export const COMMAND_HELP: Record<string, string> = {
  'profile check': `Usage: homeward profile check <file> [--json]

Validates a profile without touching the network: every field's type and
range, the IKE and ESP proposal strings, the certificate, key and CA files
it names (they must exist and hold PEM of the right kind) and the format of
secrets ("hex:…" for hex; a "0x…" value is refused rather than taken as text).
The first problem is printed with the dotted name of the field, e.g.
  profile field "vpn.ike": …

Options:
  --json    one {"type":"profile",…} or {"type":"error",…,"field":…} line on stdout

Exit status: 0 valid, 1 invalid, 64 usage error.`,

  'vpn up': `Usage: homeward vpn up --profile <file> [--json] [--keylog <file>]

Brings up the IKEv2 VPN of the profile's "vpn" section on its own (no Mobile
IP): user-space ESP, NAT-T, DPD, rekeys and MOBIKE across address changes.
Runs until Ctrl-C / SIGTERM, then sends DELETE and removes what it set up.

Options:
  --profile <file>  the profile (required)
  --json            one JSON event per line on stdout (ike-sa, child-sa, mobike-update, error, stopped)
  --keylog <file>   write IKE and ESP keys for Wireshark (testing only: the file holds secrets)

Needs CAP_NET_ADMIN and CAP_NET_RAW (root, or setcap). Exit status: 0 after a
clean stop, 1 when the SA failed, 64 for usage errors.`,

  'mip register': `Usage: homeward mip register --profile <file> [--json] [--coa <addr>] [--route <prefix>]… [--tun <name>]

Registers the profile's home address with its home agent from the current
network (mode c, co-located care-of address) and carries the home address's
traffic through the tunnel until Ctrl-C / SIGTERM, then deregisters.

Options:
  --profile <file>  the profile (required)
  --json            one JSON event per line on stdout
  --coa <addr>      the care-of address to use (default: the address of the default route)
  --route <prefix>  a prefix to route through the tunnel (repeatable; default: vpn.remoteTs)
  --tun <name>      the TUN device's name (default hwmip0)

Needs CAP_NET_ADMIN and CAP_NET_RAW (root, or setcap).`,

  run: `Usage: homeward run --profile <file> [options]

Runs the whole RFC 5266 engine: on every network change a Registration
Request straight to the home agent and the VPN at once; inside (mode c or f)
when the home agent proves the network trusted, Mobile IP through the VPN
(mode mc) otherwise. Runs until Ctrl-C / SIGTERM, then deregisters, deletes
the IKE SA and removes everything it set up.

Options:
  --profile <file>          the profile (required)
  --json                    one JSON event per line on stdout (mode, handover, ike-sa, …)
  --ui                      serve the desktop UI on 127.0.0.1 and print its URL (with a token)
  --control <path>          open a control socket for the desktop app / \`homeward ui\`
  --control-group <group>   let this group use the control socket (mode 0660)
  --tun <name>              the Mobile IP TUN device's name (default hwmip0)
  --policy automatic|always-vpn   start with this policy (default automatic)
  --state-dir <dir>         where state that must outlive a crash is kept (default /var/lib/homeward)
  --cleanup                 remove what a killed run left — its blocking rules (which keep
                            everything home-address-sourced or intranet-bound from leaving in
                            clear until then), routes, TUNs, the intranet IPv6 block and the
                            rewritten /etc/resolv.conf — and exit; needs no profile

Needs CAP_NET_ADMIN and CAP_NET_RAW (root, or setcap).`,

  ui: `Usage: homeward ui --control <path> [--port <n>] [--profile <file>] [--json]

Serves the desktop UI to a browser for an engine that is already running
(the homeward service, or the demo's engine), through its control socket.
Prints the URL (127.0.0.1, with a token) and runs until Ctrl-C or until the
engine goes away.

Options:
  --control <path>  the engine's control socket (required; the service's is /run/homeward/control.sock)
  --port <n>        listen on this port (default: any free port)
  --profile <file>  the engine's profile, put in the diagnostics archive with its secrets removed
  --json            print {"type":"ui","url":…} instead of text`,

  'demo move': `Usage: homeward demo move <T1|U1|U2|T2> [--socket <path>] [--json]

Moves the demo's laptop (\`npm run demo -- --manual\`) to another network:
T1 office, T2 branch with a foreign agent (trusted); U1 hotel Wi-Fi, U2 phone
hotspot behind a NAT (untrusted). Prints the mode the engine settled in and
the handover gap.

Options:
  --socket <path>   the demo's socket (default /run/homeward-demo/demo.sock)
  --json            print {"type":"demo-move",…}`,
};

/** The command words at the start of argv that name a help page, or null. */
export function commandOf(argv: readonly string[]): string | null {
  const two = argv.slice(0, 2).join(' ');
  if (COMMAND_HELP[two] !== undefined) return two;
  const one = argv[0] ?? '';
  return COMMAND_HELP[one] !== undefined ? one : null;
}

/**
 * What the CLI prints for the arguments that need no command at all — help
 * (`--help`/`-h` anywhere, or no arguments) and `--version` first — or null
 * for every other command line. app/cli/main.ts answers these through this
 * function too, so the quick path and the full CLI cannot drift apart.
 */
export function quickAnswer(argv: readonly string[]): string | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    const command = commandOf(argv);
    return command ? COMMAND_HELP[command]! : USAGE;
  }
  if (argv.length === 0) return USAGE;
  if (argv[0] === '--version') return `homeward ${VERSION}`;
  return null;
}
