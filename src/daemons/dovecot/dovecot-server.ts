/**
 * A private, throwaway Dovecot IMAP server: `dovecot -F -c <config>` as a child process, with
 * everything it writes (config, passwd-file, Maildirs, base_dir sockets, state_dir, log) in a fresh
 * temporary folder, listening only on 127.0.0.1 on free ports. Users and passwords come from a
 * passwd-file written there; mail is Maildir under `mailRoot/<user>/Maildir`. `deliver()` drops a raw
 * message into a Maildir the way an MDA does (tmp/ then rename into new/); `stop()` shuts the server
 * down and removes the folder, mail included. Nothing of the machine's own Dovecot (/etc/dovecot,
 * /run/dovecot, a system service on 143/993) is used but its binaries.
 *
 * Used by the tests (through test-support/dovecot-server.ts) and by `tramite pec-provider`, whose
 * simulated PEC mailboxes are this server's: it lives in src/ so the compiled CLI can start it.
 *
 * Binaries: /usr/sbin/dovecot (Debian package dovecot-core) and the IMAP service binaries
 * /usr/lib/dovecot/imap and imap-login (package dovecot-imapd, which pulls in dovecot-core).
 *
 * Users: Dovecot never lets a mail process (imap) run as root ("Mail access not allowed for root",
 * whatever first_valid_uid says). So:
 *  - as root, mail is owned by and served as a dedicated unprivileged system account, `tramite-mail`,
 *    created (useradd --system) when missing; the master runs as root, the internal processes as the
 *    `dovecot` user and the login processes as `dovenull` (both made by the dovecot-core package;
 *    if absent, `tramite-mail` is used for them too);
 *  - as any other user, every Dovecot process and every file is that user's: no privilege change.
 * In both cases first/last_valid_uid and _gid pin mail access to exactly that one account.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { hostname, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const DOVECOT_BIN = '/usr/sbin/dovecot';
const IMAP_BINARIES = ['/usr/lib/dovecot/imap', '/usr/lib/dovecot/imap-login'];
/** The OS account that owns and serves the mail when Dovecot is started as root. */
export const DOVECOT_MAIL_OS_USER = 'tramite-mail';
/** What to run on a machine without Dovecot (what test-support/install-test-services.sh does as root). */
export const DOVECOT_INSTALL_COMMAND = 'sudo apt-get install -y --no-install-recommends dovecot-imapd';

export interface DovecotUser {
  /** IMAP login name; also the folder name under mailRoot (letters, digits, `.`, `_`, `-`, `@`, `+`). */
  readonly user: string;
  readonly password: string;
}

export interface DovecotOptions {
  readonly users: ReadonlyArray<DovecotUser>;
  /**
   * Also serve IMAPS (implicit TLS) on a second port, with a self-signed certificate for `localhost`
   * and 127.0.0.1 made by the openssl CLI (`tlsCertPem`, to be trusted as the CA by the client). With
   * TLS on, Dovecot also offers STARTTLS on the plain port: a client that wants cleartext there
   * must say so (imapflow: `doSTARTTLS: false`). Default: off (`ssl = no`).
   */
  readonly tls?: boolean;
}

export interface DovecotServer {
  readonly host: '127.0.0.1';
  /** Plain IMAP (no TLS unless `tls` was asked for, then STARTTLS is offered). */
  readonly imapPort: number;
  /** Implicit-TLS IMAP, only with `tls: true`. */
  readonly imapsPort?: number;
  /** The self-signed server certificate (PEM), only with `tls: true`. */
  readonly tlsCertPem?: string;
  /** `<root>/<user>/Maildir` for each user. */
  readonly mailRoot: string;
  /** Dovecot's log (every process logs here; auth failures included). */
  readonly logFile: string;
  /** The user's Maildir (holding cur/, new/, tmp/). */
  maildirOf(user: string): string;
  /** Writes a message into the user's INBOX atomically: tmp/<unique> then rename to new/<unique>. Bytes are kept as given. */
  deliver(user: string, rawMessage: Buffer | string, folder?: 'INBOX'): Promise<void>;
  /** Shuts Dovecot down (SIGTERM, then SIGKILL after 10 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Why Dovecot cannot be started here (with the install command), or undefined when it can. */
export function dovecotMissing(): string | undefined {
  const missing = [DOVECOT_BIN, ...IMAP_BINARIES].filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  return (
    `Dovecot's IMAP server is not installed (missing ${missing.join(', ')}). ` +
    `Install it with: ${DOVECOT_INSTALL_COMMAND} (as root, test-support/install-test-services.sh does this before npm test).`
  );
}

/** The dovecot binary; throws with the exact install command when it (or its IMAP service) is missing. */
export function findDovecot(): string {
  const why = dovecotMissing();
  if (why) throw new Error(why);
  return DOVECOT_BIN;
}

interface Accounts {
  /** Owner of the mail (mail_uid/mail_gid). */
  mail: { name: string; group: string; uid: number; gid: number };
  /** default_internal_user / default_internal_group / default_login_user. */
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  /** uid that runs the auth process and so reads the passwd-file. */
  internalUid: number;
}

function lookupUser(name: string): { uid: number; gid: number; group: string } | undefined {
  const id = (args: string[]) => spawnSync('id', [...args, name], { encoding: 'utf8' });
  const uid = id(['-u']);
  const gid = id(['-g']);
  const group = id(['-gn']);
  if (uid.status !== 0 || gid.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), group: group.stdout.trim() };
}

function accounts(): Accounts {
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || String(me.gid);
    return {
      mail: { name: me.username, group, uid: me.uid, gid: me.gid },
      internalUser: me.username,
      internalGroup: group,
      loginUser: me.username,
      internalUid: me.uid,
    };
  }
  let mail = lookupUser(DOVECOT_MAIL_OS_USER);
  if (!mail) {
    const made = spawnSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', DOVECOT_MAIL_OS_USER],
      { encoding: 'utf8' },
    );
    mail = lookupUser(DOVECOT_MAIL_OS_USER);
    if (!mail) {
      throw new Error(
        `Dovecot will not serve mail as root and there is no OS user "${DOVECOT_MAIL_OS_USER}" to serve it as; ` +
          `\`useradd --system ${DOVECOT_MAIL_OS_USER}\` failed: ${(made.stderr || made.error?.message || `exit ${made.status}`).trim()}. ` +
          'Create the user, or run as an unprivileged user.',
      );
    }
  }
  const internal = lookupUser('dovecot');
  const login = lookupUser('dovenull');
  return {
    mail: { name: DOVECOT_MAIL_OS_USER, ...mail },
    internalUser: internal ? 'dovecot' : DOVECOT_MAIL_OS_USER,
    internalGroup: internal ? internal.group : mail.group,
    loginUser: login ? 'dovenull' : DOVECOT_MAIL_OS_USER,
    internalUid: internal ? internal.uid : mail.uid,
  };
}

/** As root, the mail account must be able to walk down to `dir`: every ancestor needs o+x (or be its own). */
function assertTraversable(dir: string, uid: number): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    if (st.uid !== uid && (st.mode & 0o001) === 0) {
      throw new Error(`${d} is not searchable by other users, so Dovecot's mail processes (user ${DOVECOT_MAIL_OS_USER}) cannot reach ${dir}; set TMPDIR to a folder like /tmp`);
    }
    if (d === dirname(d)) return;
  }
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

/** Resolves with the first line the server sends on `port`, or rejects (refused, closed, 1 s silence). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(data.split('\r\n')[0] ?? '');
    };
    socket.setTimeout(1000, () => done(new Error('no greeting within 1 s')));
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error(`connection closed before a greeting (got ${JSON.stringify(data)})`)));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) done();
    });
  });
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const SAFE_PATH = /^[A-Za-z0-9_./-]+$/;

function configText(p: {
  dir: string;
  passwdFile: string;
  mailRoot: string;
  logFile: string;
  imapPort: number;
  imapsPort: number;
  tls?: { cert: string; key: string };
  acc: Accounts;
}): string {
  const { mail } = p.acc;
  return `# Written by src/pec-provider/dovecot-launcher.ts for one run; nothing here is read from /etc/dovecot.
# Every path is inside ${p.dir}: no /run/dovecot, no /var/lib/dovecot, no syslog.
base_dir = ${p.dir}/run
state_dir = ${p.dir}/state
log_path = ${p.logFile}
instance_name = tramite-test-${process.pid}-${randomBytes(3).toString('hex')}

protocols = imap
listen = 127.0.0.1

# Loopback-only server: plain passwords over cleartext are fine.
ssl = ${p.tls ? 'yes' : 'no'}
${p.tls ? `ssl_cert = <${p.tls.cert}\nssl_key = <${p.tls.key}\nssl_min_protocol = TLSv1.2\n` : ''}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes

# Who runs what (see the header of dovecot-launcher.ts): one unprivileged account owns and serves all mail.
default_internal_user = ${p.acc.internalUser}
default_internal_group = ${p.acc.internalGroup}
default_login_user = ${p.acc.loginUser}
mail_uid = ${mail.uid}
mail_gid = ${mail.gid}
first_valid_uid = ${mail.uid}
last_valid_uid = ${mail.uid}
first_valid_gid = ${mail.gid}
last_valid_gid = ${mail.gid}

mail_location = maildir:${p.mailRoot}/%u/Maildir
mail_home = ${p.mailRoot}/%u

passdb {
  driver = passwd-file
  args = username_format=%u ${p.passwdFile}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${p.passwdFile}
}

service imap-login {
  # chroot needs root and a root-owned base_dir; pointless for a private loopback server.
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${p.imapPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    # 0: not listening (the default would be 993).
    port = ${p.imapsPort}
    ssl = yes
  }
}
service anvil {
  chroot =
  # No authentication penalty: after a failed login Dovecot would delay every later login from the
  # same IP (every client comes from 127.0.0.1) by 2, 4, 8 then 15 s. mode = 0: the auth process finds
  # no penalty socket and does not track (Dovecot's documented way to turn it off).
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

export async function startDovecot(opts: DovecotOptions): Promise<DovecotServer> {
  const bin = findDovecot();
  const users = opts.users.map((u) => ({ ...u }));
  if (users.length === 0) throw new Error('startDovecot: give at least one user');
  const names = new Set<string>();
  for (const { user, password } of users) {
    if (!USER_NAME.test(user)) throw new Error(`startDovecot: user name ${JSON.stringify(user)} must match ${USER_NAME}`);
    if (names.has(user)) throw new Error(`startDovecot: user ${user} given twice`);
    names.add(user);
    if (typeof password !== 'string' || password.length === 0) throw new Error(`startDovecot: user ${user} needs a password`);
  }

  const acc = accounts();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'tramite-dovecot-'));
  let child: ChildProcess | undefined;
  let stopped = false;
  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  // If the process dies without stop() (a crashed run), do not leave a Dovecot behind.
  const onExit = () => {
    if (stopped) return;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    removeDir();
  };
  process.once('exit', onExit);

  try {
    if (!SAFE_PATH.test(dir)) throw new Error(`the temporary folder ${dir} has characters the Dovecot config would need quoted; set TMPDIR to a plain path like /tmp`);
    // Other accounts (dovecot, dovenull, the mail account) need to reach the sockets and the mail in here.
    chmodSync(dir, 0o755);
    if (asRoot) assertTraversable(dir, acc.mail.uid);

    const own = (path: string, uid = acc.mail.uid, gid = acc.mail.gid) => {
      if (asRoot) chownSync(path, uid, gid);
    };
    const mailRoot = join(dir, 'mail');
    mkdirSync(mailRoot, { mode: 0o755 });
    own(mailRoot);
    for (const { user } of users) {
      const home = join(mailRoot, user);
      mkdirSync(home, { mode: 0o700 });
      own(home);
      const maildir = join(home, 'Maildir');
      mkdirSync(maildir, { mode: 0o700 });
      own(maildir);
      for (const sub of ['cur', 'new', 'tmp']) {
        mkdirSync(join(maildir, sub), { mode: 0o700 });
        own(join(maildir, sub));
      }
    }
    mkdirSync(join(dir, 'state'), { mode: 0o755 });

    // passwd-file: user:password:uid:gid:(gecos):home:(shell):extra. uid/gid come from mail_uid/mail_gid.
    // {PLAIN.b64} lets a password hold any character, ':' included.
    const passwdFile = join(dir, 'passwd');
    writeFileSync(
      passwdFile,
      users.map(({ user, password }) => `${user}:{PLAIN.b64}${Buffer.from(password, 'utf8').toString('base64')}::::::\n`).join(''),
      { mode: 0o600 },
    );
    // Read by the auth process, which runs as the internal user.
    own(passwdFile, acc.internalUid, acc.mail.gid);

    let tls: { cert: string; key: string; pem: string } | undefined;
    if (opts.tls) {
      const cert = join(dir, 'tls-cert.pem');
      const key = join(dir, 'tls-key.pem');
      await run(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '7', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
        { cwd: dir, timeout: 30_000 },
      );
      tls = { cert, key, pem: readFileSync(cert, 'utf8') };
    }

    const logFile = join(dir, 'dovecot.log');
    const configFile = join(dir, 'dovecot.conf');
    // Environment for the master: no systemd socket-activation variables (Dovecot would take them as its listeners).
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
    delete env.LISTEN_PID;
    delete env.LISTEN_FDS;
    delete env.LISTEN_FDNAMES;

    let imapPort = 0;
    let imapsPort = 0;
    for (let attempt = 1; ; attempt++) {
      imapPort = await freePort();
      if (tls) {
        do imapsPort = await freePort();
        while (imapsPort === imapPort);
      }
      writeFileSync(configFile, configText({ dir, passwdFile, mailRoot, logFile, imapPort, imapsPort, tls, acc }), { mode: 0o644 });
      rmSync(logFile, { force: true }); // the log tail in an error is then this attempt's
      const outcome = await launch(bin, configFile, dir, env, imapPort, logFile);
      if (outcome.ok) {
        child = outcome.child;
        break;
      }
      // Another process took a port between the probe and the bind: try other ones.
      if (outcome.addressInUse && attempt < 5) continue;
      throw new Error(outcome.message);
    }

    const running = child;
    const exited = new Promise<void>((resolve) => {
      if (running.exitCode !== null || running.signalCode !== null) resolve();
      else running.once('exit', () => resolve());
    });
    let deliveries = 0;
    const host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');
    const maildirOf = (user: string): string => {
      if (!names.has(user)) throw new Error(`no such Dovecot test user: ${user} (have ${[...names].join(', ')})`);
      return join(mailRoot, user, 'Maildir');
    };

    return {
      host: '127.0.0.1',
      imapPort,
      ...(tls ? { imapsPort, tlsCertPem: tls.pem } : {}),
      mailRoot,
      logFile,
      maildirOf,
      async deliver(user, rawMessage, folder = 'INBOX') {
        if (folder !== 'INBOX') throw new Error(`deliver: only INBOX is supported, not ${String(folder)}`);
        const maildir = maildirOf(user);
        const bytes = typeof rawMessage === 'string' ? Buffer.from(rawMessage, 'utf8') : rawMessage;
        // Maildir unique name: <seconds>.M<microseconds>P<pid>Q<count>R<random>.<host>,S=<size>
        // (S= is the file size, which Dovecot then need not stat).
        const wall = Date.now();
        const usec = (wall % 1000) * 1000;
        const name = `${Math.floor(wall / 1000)}.M${usec}P${process.pid}Q${++deliveries}R${randomBytes(8).toString('hex')}.${host},S=${bytes.length}`;
        const tmpFile = join(maildir, 'tmp', name);
        const handle = await open(tmpFile, 'wx', 0o600);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
          if (asRoot) await handle.chown(acc.mail.uid, acc.mail.gid);
        } finally {
          await handle.close();
        }
        await rename(tmpFile, join(maildir, 'new', name));
      },
      async stop() {
        if (stopped) return;
        try {
          if (running.exitCode === null && running.signalCode === null) {
            running.kill('SIGTERM');
            const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]);
            if (!gone) {
              running.kill('SIGKILL');
              await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
            }
          }
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

type LaunchOutcome = { ok: true; child: ChildProcess } | { ok: false; addressInUse: boolean; message: string };

/** Starts `dovecot -F` and waits until the IMAP port greets with `* OK`, or the master exits, or 20 s pass. */
async function launch(bin: string, configFile: string, dir: string, env: NodeJS.ProcessEnv, port: number, logFile: string): Promise<LaunchOutcome> {
  const child = spawn(bin, ['-F', '-c', configFile], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exit = `spawn error: ${err.message}`;
      resolve();
    });
  });
  const explain = (what: string) => {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const tail = [output.trim(), log.trim().split('\n').slice(-20).join('\n')].filter(Boolean).join('\n--- dovecot.log ---\n');
    return {
      addressInUse: /Address already in use/.test(output) || /Address already in use/.test(log),
      message: `${what} (dovecot -F -c ${configFile})${tail ? `:\n${tail}` : ''}`,
    };
  };

  const deadline = Date.now() + 20_000;
  let lastError = '';
  while (Date.now() < deadline) {
    if (exit) return { ok: false, ...explain(`Dovecot exited during start-up with ${exit}`) };
    try {
      const line = await greeting(port);
      if (line.startsWith('* OK')) return { ok: true, child };
      lastError = `unexpected greeting ${JSON.stringify(line)}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
  }
  child.kill('SIGKILL');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
  return { ok: false, ...explain(`Dovecot did not greet on 127.0.0.1:${port} within 20 s (last: ${lastError})`), addressInUse: false };
}
