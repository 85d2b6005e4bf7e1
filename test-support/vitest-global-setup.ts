/**
 * Vitest global setup: one throwaway PostgreSQL server for the whole run (test files each make their
 * own database on it with `freshDatabase`), unless TRAMITE_TEST_POSTGRES_URL names a server already.
 * Test files read the URL with `inject('postgresUrl')`.
 *
 * A machine without PostgreSQL still runs every other test: the start-up error (which names the
 * package to install) is handed to the workers as `postgresError`, and a test that needs PostgreSQL
 * (test/log/log-fixtures.ts `postgresUrl()`) fails with that message — it is never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test PostgreSQL server ('' when it could not be started; see postgresError). */
    postgresUrl: string;
    /** Why there is no server: the message a PostgreSQL test fails with. */
    postgresError: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.TRAMITE_TEST_POSTGRES_URL;
  if (given) {
    project.provide('postgresUrl', given);
    project.provide('postgresError', '');
    return undefined;
  }
  try {
    const server = await startPostgres();
    project.provide('postgresUrl', server.url);
    project.provide('postgresError', '');
    return () => server.stop();
  } catch (err) {
    project.provide('postgresUrl', '');
    project.provide('postgresError', (err as Error).message);
    return undefined;
  }
}
