/**
 * Names of one lab run (pure: no I/O).
 *
 * Every resource a run creates outside its own namespaces carries the run id,
 * so that two labs (two vitest workers, or a crashed earlier run) never
 * collide and a sweeper can tell ours from anyone else's:
 *
 *   run id        hw + 4 hex                      hw3fa9
 *   namespace     <run id>-<host>                 hw3fa9-client
 *   state file    /tmp/homeward-lab/<run id>.json (owner pid, namespaces, pids)
 *   work dir      /tmp/homeward-lab/<run id>/     (configs, pcaps)
 *
 * Interfaces live only inside the run's namespaces (veth pairs are created
 * directly in them), so their names are free (eth0, eth1, ... by default)
 * and never appear in the root namespace.
 */

export const RUN_PREFIX = 'hw';
export const LAB_ROOT = '/tmp/homeward-lab';
/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME = 15;

const RUN_ID_RE = /^hw[0-9a-f]{4}$/;
const HOST_RE = /^[a-z][a-z0-9]{0,15}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** A fresh run id from 2 random bytes (the caller checks it is unused). */
export function makeRunId(random: Uint8Array): string {
  if (random.length < 2) throw new Error('makeRunId needs 2 random bytes');
  const hex = Array.from(random.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join('');
  return RUN_PREFIX + hex;
}

export function isRunId(id: string): boolean {
  return RUN_ID_RE.test(id);
}

export function checkHostName(host: string): void {
  if (!HOST_RE.test(host)) {
    throw new Error(`lab host name ${JSON.stringify(host)}: use 1-16 of [a-z0-9], starting with a letter`);
  }
}

export function checkIfName(name: string): void {
  if (!IFNAME_RE.test(name)) {
    throw new Error(`interface name ${JSON.stringify(name)}: 1-${MAX_IFNAME} of [A-Za-z0-9_.-]`);
  }
}

export function nsName(runId: string, host: string): string {
  return `${runId}-${host}`;
}

/** The run id a namespace belongs to, or undefined if it is not one of ours. */
export function runIdOfNamespace(ns: string): string | undefined {
  const m = /^(hw[0-9a-f]{4})-[a-z][a-z0-9]{0,15}$/.exec(ns);
  return m?.[1];
}

export function stateFile(runId: string, root = LAB_ROOT): string {
  return `${root}/${runId}.json`;
}

export function workDir(runId: string, root = LAB_ROOT): string {
  return `${root}/${runId}`;
}

/**
 * Picks interface names for each end of each link: the caller's if given,
 * else eth0, eth1, ... numbered per host in link order.
 */
export function assignIfNames(
  links: ReadonlyArray<{ a: string; b: string; aIf?: string; bIf?: string }>,
): Array<{ aIf: string; bIf: string }> {
  const used = new Map<string, Set<string>>();
  const take = (host: string, wanted: string | undefined): string => {
    const set = used.get(host) ?? new Set<string>();
    used.set(host, set);
    let name = wanted;
    if (name === undefined) {
      for (let i = 0; name === undefined || set.has(name); i++) name = `eth${i}`;
    }
    checkIfName(name);
    if (set.has(name)) throw new Error(`host ${host}: interface ${name} used twice`);
    set.add(name);
    return name;
  };
  // explicit names first, so that defaults never steal them
  for (const l of links) {
    if (l.aIf !== undefined) take(l.a, l.aIf);
    if (l.bIf !== undefined) take(l.b, l.bIf);
  }
  return links.map((l) => ({
    aIf: l.aIf ?? take(l.a, undefined),
    bIf: l.bIf ?? take(l.b, undefined),
  }));
}
