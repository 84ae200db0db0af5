/**
 * What is still on the machine from one run: for tests that check teardown.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { LAB_ROOT, stateFile, workDir } from './names.ts';
import { listNamespacesSync } from './registry.ts';

export interface Leftovers {
  namespaces: string[];
  /** root-namespace interfaces whose name carries the run id */
  links: string[];
  /** processes whose command line or environment names the run's work dir */
  processes: number[];
  files: string[];
}

export function leftovers(runId: string, root = LAB_ROOT): Leftovers {
  const namespaces = listNamespacesSync().filter((ns) => ns.startsWith(`${runId}-`));
  let links: string[] = [];
  try {
    const out = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    links = out.split('\n').map((l) => l.split(':')[1]?.trim() ?? '').filter((n) => n.includes(runId));
  } catch { /* no ip: nothing to report */ }
  const marker = workDir(runId, root);
  const processes: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    for (const f of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${d}/${f}`, 'latin1').includes(marker)) {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          if (!/^\d+ \(.*\) Z /s.test(stat)) processes.push(Number(d));
          break;
        }
      } catch { /* exited meanwhile, or not ours to read */ }
    }
  }
  const files = [stateFile(runId, root), marker].filter((p) => existsSync(p));
  return { namespaces, links, processes, files };
}

export function isClean(l: Leftovers): boolean {
  return l.namespaces.length + l.links.length + l.processes.length + l.files.length === 0;
}
