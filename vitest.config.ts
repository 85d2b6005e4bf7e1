import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests whose one assertion is a latency bound the issue asks for (issue 12: a normal exchange within a
 * second while hostile envelopes are refused). They run after every other file, with nothing beside
 * them, so that the bound measures the node and not the CI neighbours' load.
 */
const ALONE = ['test/integration/hostile-envelopes.test.ts'];

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
          exclude: [...configDefaults.exclude, 'test/scratch/**', 'dist/**', ...ALONE],
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
