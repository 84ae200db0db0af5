#!/usr/bin/env node
/**
 * npm run fuzz [-- --seed N] [--runs N] [--core-runs N] [file filter…]
 *
 * The fuzz properties of test/unit/fuzz at full size: 1,000,000 inputs per
 * decoder and 100,000 per core handler unless told otherwise, with a random
 * seed that is printed first; `--seed N` replays a run exactly. Everything
 * else is passed to vitest (a file filter such as `cores`, or `-t <name>`).
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const args = process.argv.slice(2);
const rest = [];
const vitestFlags = [];
const opts = { seed: String(randomInt(0, 2 ** 31)), runs: '1000000', 'core-runs': '100000' };
for (let i = 0; i < args.length; i++) {
  const m = /^--(seed|runs|core-runs)(?:=(.*))?$/.exec(args[i]);
  if (!m) {
    // vitest's own flags pass through (with the value of -t / --testNamePattern); other words are file filters
    if (args[i] === '-t' || args[i] === '--testNamePattern') vitestFlags.push(args[i], args[++i] ?? '');
    else if (args[i].startsWith('-')) vitestFlags.push(args[i]);
    else rest.push(args[i]);
    continue;
  }
  const value = m[2] ?? args[++i];
  if (value === undefined || !/^\d+$/.test(value)) {
    console.error(`--${m[1]} needs a non-negative integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  opts[m[1]] = value;
}
console.log(`fuzz: seed ${opts.seed}, ${opts.runs} runs per decoder, ${opts['core-runs']} per core handler (replay: npm run fuzz -- --seed ${opts.seed})`);
const filters = rest.length > 0 ? rest.map((f) => (f.startsWith('test/') ? f : `test/unit/fuzz/${f}`)) : ['test/unit/fuzz'];
const r = spawnSync('npx', ['vitest', 'run', '--project', 'unit', ...filters, ...vitestFlags], {
  stdio: 'inherit',
  env: { ...process.env, HOMEWARD_FUZZ_SEED: opts.seed, HOMEWARD_FUZZ_RUNS: opts.runs, HOMEWARD_FUZZ_CORE_RUNS: opts['core-runs'] },
});
console.log(`fuzz: seed ${opts.seed} ${r.status === 0 ? 'passed' : 'FAILED'}`);
process.exit(r.status ?? 1);
