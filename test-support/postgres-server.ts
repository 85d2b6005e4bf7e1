/**
 * A private, throwaway PostgreSQL cluster for tests: `initdb` into a fresh temporary folder, `pg_ctl
 * start` listening only on 127.0.0.1 (on a free port, its Unix socket inside that folder), trust
 * authentication, a database `tramite_test`. `stop()` shuts it down (`pg_ctl stop -m fast`) and
 * removes the folder. Nothing of the machine's own PostgreSQL (if any) is used but its binaries.
 *
 * The binaries are looked up in /usr/lib/postgresql/<version>/bin (Debian/Ubuntu package
 * `postgresql`; the newest version wins), then on PATH. PostgreSQL refuses to run as root: as root,
 * initdb and pg_ctl run as the `postgres` OS user (`runuser -u postgres --`), created if missing.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The OS user that owns and runs the cluster when the tests run as root. */
const PG_OS_USER = 'postgres';
/** The database superuser initdb creates (same name whoever runs the tests). */
const PG_SUPERUSER = 'postgres';
export const TEST_DATABASE = 'tramite_test';

export interface PostgresServer {
  /** e.g. `postgresql://postgres@127.0.0.1:54012/tramite_test` */
  readonly url: string;
  stop(): Promise<void>;
}

const MISSING =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin nor on PATH. ' +
  'Install the Debian package `postgresql` (apt-get install -y postgresql), or point TRAMITE_TEST_POSTGRES_URL ' +
  'at an existing server whose user may create databases.';

/** The folder holding initdb and pg_ctl: the newest /usr/lib/postgresql/<v>/bin, else PATH. */
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
  throw new Error(MISSING);
}

function hasServerBinaries(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'postgres'));
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
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_OS_USER], { encoding: 'utf8' });
  const again = lookup();
  if (!again) {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no OS user "${PG_OS_USER}" to run it as; ` +
        `\`useradd --system ${PG_OS_USER}\` failed: ${(made.stderr || made.error?.message || `exit ${made.status}`).trim()}. ` +
        'Create the user (the Debian package `postgresql` does), or run the tests as an unprivileged user.',
    );
  }
  return again;
}

/** A TCP port on 127.0.0.1 that nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresOsUser() : undefined;

  const dir = mkdtempSync(join(tmpdir(), 'tramite-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');

  /** Runs a PostgreSQL program, as the `postgres` user when we are root; cwd is the temp folder (readable by that user). */
  const pgRun = async (program: string, args: string[]) => {
    const [cmd, argv] = owner ? ['runuser', ['-u', PG_OS_USER, '--', join(bin, program), ...args]] : [join(bin, program), args];
    try {
      return await run(cmd, argv, { cwd: dir, env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, timeout: 60_000 });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`${program} ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}${existsSync(logFile) ? ` (server log: ${logFile})` : ''}`, { cause: err });
    }
  };

  let started = false;
  let stopped = false;
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // If the process dies without stop() (a crashed run), do not leave a postmaster behind.
  const onExit = () => {
    if (stopped) return;
    if (started) {
      const argv = ['-D', dataDir, '-m', 'immediate', '-w', 'stop'];
      if (owner) spawnSync('runuser', ['-u', PG_OS_USER, '--', join(bin, 'pg_ctl'), ...argv], { cwd: dir, stdio: 'ignore' });
      else spawnSync(join(bin, 'pg_ctl'), argv, { cwd: dir, stdio: 'ignore' });
    }
    removeDir();
  };
  process.once('exit', onExit);

  try {
    // --no-sync and fsync=off: a throwaway cluster needs no durability, and this is most of the start-up time.
    await pgRun('initdb', ['-D', dataDir, '--auth=trust', `--username=${PG_SUPERUSER}`, '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = `-h 127.0.0.1 -p ${port} -k '${dir}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
      try {
        await pgRun('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', opts, '-w', '-t', '60', 'start']);
        started = true;
        break;
      } catch (err) {
        // Another process may have taken the port between the probe and the start: try another one.
        if (attempt >= 3) throw err;
      }
    }
    const base = `postgresql://${PG_SUPERUSER}@127.0.0.1:${port}`;
    await adminQuery(`${base}/postgres`, `CREATE DATABASE ${TEST_DATABASE}`);
    const url = `${base}/${TEST_DATABASE}`;
    return {
      url,
      async stop() {
        if (stopped) return;
        try {
          await pgRun('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
        } finally {
          stopped = true;
          process.removeListener('exit', onExit);
          removeDir();
        }
      },
    };
  } catch (err) {
    onExit();
    stopped = true;
    process.removeListener('exit', onExit);
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
