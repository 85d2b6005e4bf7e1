/**
 * A private, throwaway PostgreSQL cluster for tests: `initdb` into a fresh temporary folder, then the
 * `postgres` server itself as a child process (through the child-daemon helper) listening only on
 * 127.0.0.1 (on a free port, its Unix socket inside that folder), trust authentication, a database
 * `tramite_test`. `stop()` asks for a fast shutdown (SIGINT, what `pg_ctl stop -m fast` sends) and
 * removes the folder. Nothing of the machine's own PostgreSQL (if any) is used but its binaries.
 *
 * The binaries are looked up in /usr/lib/postgresql/<version>/bin (Debian/Ubuntu package
 * `postgresql`; the newest version wins), then on PATH. PostgreSQL refuses to run as root: as root,
 * initdb and postgres run as the `postgres` OS user (spawned with its uid and gid), created if missing.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { DaemonError } from '../src/core/errors.js';
import { startChildDaemon } from '../src/daemons/child-daemon.js';
import { createPrivateTempDir } from '../src/daemons/private-temp-dir.js';

const run = promisify(execFile);

/** The OS user that owns and runs the cluster when the tests run as root. */
const PG_OS_USER = 'postgres';
/** The database superuser initdb creates (same name whoever runs the tests). */
const PG_SUPERUSER = 'postgres';
export const TEST_DATABASE = 'tramite_test';

export interface PostgresServer {
  /** e.g. `postgresql://postgres@127.0.0.1:54012/tramite_test` */
  readonly url: string;
  /** Fast shutdown (as `pg_ctl restart -m fast`), then the same cluster again on the same port: a fault test's restart. */
  restart(): Promise<void>;
  /** The postmaster's pid (its backends are its children): what a benchmark reads CPU time of. */
  pid(): number;
  stop(): Promise<void>;
}

const MISSING =
  'PostgreSQL server binaries (initdb, postgres) were not found under /usr/lib/postgresql/*/bin nor on PATH. ' +
  'Install the Debian package `postgresql` (apt-get install -y postgresql), or point TRAMITE_TEST_POSTGRES_URL ' +
  'at an existing server whose user may create databases.';

/** The folder holding initdb and postgres: the newest /usr/lib/postgresql/<v>/bin, else PATH. */
export function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (hasServerBinaries(bin)) return bin;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && hasServerBinaries(dir)) return dir;
  }
  throw new DaemonError('TRAMITE_ERR_DAEMON_MISSING', MISSING);
}

function hasServerBinaries(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/** uid/gid of the `postgres` OS user, created (as a system user) if it does not exist. */
function postgresOsUser(): { uid: number; gid: number } {
  const lookup = () => {
    const uid = spawnSync('id', ['-u', PG_OS_USER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', PG_OS_USER], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : undefined;
  };
  const found = lookup();
  if (found) return found;
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_OS_USER], {
    encoding: 'utf8',
  });
  const again = lookup();
  if (!again) {
    throw new DaemonError(
      'TRAMITE_ERR_DAEMON_START',
      `PostgreSQL refuses to run as root and there is no OS user "${PG_OS_USER}" to run it as; ` +
        `\`useradd --system ${PG_OS_USER}\` failed: ${(made.stderr || made.error?.message || `exit ${made.status}`).trim()}. ` +
        'Create the user (the Debian package `postgresql` does), or run the tests as an unprivileged user.',
    );
  }
  return again;
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const owner = process.getuid?.() === 0 ? postgresOsUser() : undefined;
  const tempDir = createPrivateTempDir('pg');
  const dir = tempDir.path;
  const dataDir = join(dir, 'data');
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    // --no-sync: a throwaway cluster needs no durability, and this is most of the start-up time.
    const initdb = [
      '-D',
      dataDir,
      '--auth=trust',
      `--username=${PG_SUPERUSER}`,
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ];
    try {
      await run(join(bin, 'initdb'), initdb, { cwd: dir, env, timeout: 60_000, ...(owner ?? {}) });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new DaemonError(
        'TRAMITE_ERR_DAEMON_START',
        `initdb ${initdb.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`,
        { cause: err },
      );
    }
    // The folder outlives one server process, so that restart() finds the cluster again; stop() removes it.
    const launch = (port?: number) =>
      startChildDaemon({
        name: 'postgres',
        ports: port === undefined ? 1 : 0,
        attempts: port === undefined ? 3 : 1,
        command: ({ ports: [chosen = 0] }) => ({
          command: join(bin, 'postgres'),
          // fsync=off and friends: nothing here needs to survive a crash of the machine.
          args: [
            ...['-D', dataDir, '-h', '127.0.0.1', '-p', String(port ?? chosen), '-k', dir],
            ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100'],
          ],
          cwd: dir,
          env,
          ...(owner ?? {}),
          ready: { kind: 'line', match: /database system is ready to accept connections/ },
        }),
        startTimeoutMs: 60_000,
        // Fast shutdown (open sessions are ended), as pg_ctl stop -m fast; immediate from the exit hook, which cannot wait.
        stopSignal: 'SIGINT',
        exitSignal: 'SIGQUIT',
        stopGraceMs: 60_000,
      });
    let server = await launch();
    const port = server.ports[0]!;
    const stop = async () => {
      await server.stop();
      tempDir.remove();
    };
    const base = `postgresql://${PG_SUPERUSER}@127.0.0.1:${port}`;
    try {
      await adminQuery(`${base}/postgres`, `CREATE DATABASE ${TEST_DATABASE}`);
    } catch (err) {
      await stop();
      throw err;
    }
    const restart = async () => {
      await server.stop();
      server = await launch(port);
    };
    return { url: `${base}/${TEST_DATABASE}`, restart, pid: () => server.pid, stop };
  } catch (err) {
    tempDir.remove();
    throw err;
  }
}

/** Runs `sql` (or `work`) on a connection of its own to `url`. */
async function adminQuery(url: string, sql: string | ((client: pg.Client) => Promise<void>)): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (typeof sql === 'string') await client.query(sql);
    else await sql(client);
  } finally {
    await client.end();
  }
}

/** `url` with its database name replaced by `name`. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Creates a new, uniquely named database on the server of `url` and returns its URL, so that test
 * files running in parallel on one server never see each other's tables.
 */
export async function freshDatabase(url: string): Promise<string> {
  const name = `tramite_t_${process.pid}_${randomBytes(5).toString('hex')}`;
  await adminQuery(url, `CREATE DATABASE ${name}`);
  const dbUrl = withDatabase(url, name);
  adminUrlOf.set(dbUrl, url);
  return dbUrl;
}

/** Where each fresh database was created from: the connection `dropDatabase` drops it through. */
const adminUrlOf = new Map<string, string>();

/** Drops a database made by `freshDatabase` (closing any connection still open to it). */
export async function dropDatabase(dbUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
  if (!/^tramite_t_\d+_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a database made by freshDatabase`);
  await adminQuery(adminUrlOf.get(dbUrl) ?? withDatabase(dbUrl, 'postgres'), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  adminUrlOf.delete(dbUrl);
}

/**
 * Creates a new, uniquely named schema in the database of `dbUrl` and returns a URL whose connections
 * use it (search_path), so tests inside one file each get empty tables without the cost of a
 * CREATE DATABASE (a tenth of a second or more) per test.
 */
export async function freshSchema(dbUrl: string): Promise<string> {
  const name = `s_${randomBytes(6).toString('hex')}`;
  await adminQuery(dbUrl, `CREATE SCHEMA ${name}`);
  const u = new URL(dbUrl);
  u.searchParams.set('options', `-c search_path=${name}`);
  return u.toString();
}

/** Drops a schema made by `freshSchema`, with everything in it. */
export async function dropSchema(schemaUrl: string): Promise<void> {
  const u = new URL(schemaUrl);
  const name = /^-c search_path=(s_[0-9a-f]+)$/.exec(u.searchParams.get('options') ?? '')?.[1];
  if (!name) throw new Error(`refusing to drop the schema of ${schemaUrl}: not a URL made by freshSchema`);
  u.searchParams.delete('options');
  await adminQuery(u.toString(), `DROP SCHEMA IF EXISTS ${name} CASCADE`);
}
