import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/scratch/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers and child processes; two workers suit a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // One throwaway PostgreSQL server for the run (or TRAMITE_TEST_POSTGRES_URL); see the file.
    globalSetup: ['test-support/vitest-global-setup.ts'],
  },
});
