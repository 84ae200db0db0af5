import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests (pure cores on a manual clock) and lab tests
// (root, network namespaces, real strongSwan). Lab files share topologies
// within a file and run in parallel across files.
export default defineConfig({
  test: {
    reporters: ['default', './test/harness/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts', 'test/native/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: true,
          maxWorkers: 2,
          // a lab case that fails is run once more before it counts: two lab files share the 2 cores with
          // strongSwan, tcpdump and several engines, and a few timing-bound cases (MOBIKE probing, DPD)
          // have failed once under that load and passed alone; a real failure fails both times
          retry: 1,
          // lab files run after the unit tests, two at a time (2 cores)
          sequence: { groupOrder: 1 },
        },
      },
      {
        // the renderer in Debian's Chromium (playwright-core) against app/io/ui-server.ts
        test: {
          name: 'ui',
          include: ['test/ui/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
          // one file at a time: the UI test and the packaging test both rebuild renderer/dist
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
