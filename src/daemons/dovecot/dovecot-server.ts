/**
 * A private, throwaway Dovecot IMAP server: `dovecot -F -c <config>` as a child process, with
 * everything it writes (config, passwd-file, Maildirs, base_dir sockets, state_dir, log) in a fresh
 * temporary folder, listening only on 127.0.0.1 on free ports. Users and passwords come from a
 * passwd-file written there; mail is Maildir under `mailRoot/<user>/Maildir`. `deliver()` drops a raw
 * message into a Maildir the way an MDA does; `stop()` shuts the server down and removes the folder,
 * mail included. Nothing of the machine's own Dovecot (/etc/dovecot, /run/dovecot, a system service
 * on 143/993) is used but its binaries (dovecot-install.ts); which OS accounts run it: dovecot-accounts.ts.
 *
 * Used by the tests (through test-support/dovecot-server.ts), the demo and `tramite pec-provider`, whose
 * simulated PEC mailboxes are this server's: it lives in src/ so the compiled CLI can start it.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DaemonError } from '../../core/errors.js';
import { startChildDaemon } from '../child-daemon.js';
import { createPrivateTempDir } from '../private-temp-dir.js';
import { assertTraversable, dovecotAccounts } from './dovecot-accounts.js';
import { assertConfigSafePath, dovecotConfig } from './dovecot-config.js';
import { findDovecot } from './dovecot-install.js';
import { DovecotMaildirs } from './dovecot-maildir.js';
import { makeDovecotTls } from './dovecot-tls.js';
import { checkDovecotUsers, writePasswdFile, type DovecotUser } from './dovecot-users.js';

export { DOVECOT_MAIL_OS_USER } from './dovecot-accounts.js';
export { DOVECOT_INSTALL_COMMAND, dovecotMissing, findDovecot } from './dovecot-install.js';
export type { DovecotUser } from './dovecot-users.js';

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

export async function startDovecot(opts: DovecotOptions): Promise<DovecotServer> {
  const bin = findDovecot();
  const users = opts.users.map((u) => ({ ...u }));
  checkDovecotUsers(users);

  const acc = dovecotAccounts();
  const tempDir = createPrivateTempDir('dovecot');
  const dir = tempDir.path;
  try {
    assertConfigSafePath(dir);
    // Other accounts (dovecot, dovenull, the mail account) need to reach the sockets and the mail in here.
    chmodSync(dir, 0o755);
    if (acc.asRoot) assertTraversable(dir, acc.mail.uid);

    const mail = new DovecotMaildirs(
      join(dir, 'mail'),
      users.map((u) => u.user),
      acc,
    );
    mkdirSync(join(dir, 'state'), { mode: 0o755 });
    const passwdFile = join(dir, 'passwd');
    writePasswdFile(passwdFile, users, acc);
    const tls = opts.tls ? await makeDovecotTls(dir) : undefined;

    const logFile = join(dir, 'dovecot.log');
    const configFile = join(dir, 'dovecot.conf');
    // Environment for the master: no systemd socket-activation variables (Dovecot would take them as its listeners).
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
    delete env.LISTEN_PID;
    delete env.LISTEN_FDS;
    delete env.LISTEN_FDNAMES;

    const daemon = await startChildDaemon({
      name: 'Dovecot',
      tempDir,
      ports: tls ? 2 : 1,
      command: ({ ports: [imapPort = 0, imapsPort = 0] }) => {
        writeFileSync(configFile, dovecotConfig({ dir, passwdFile, mailRoot: mail.root, logFile, imapPort, imapsPort, tls, acc }), {
          mode: 0o644,
        });
        rmSync(logFile, { force: true }); // the log tail in an error is then this attempt's
        return {
          command: bin,
          args: ['-F', '-c', configFile],
          cwd: dir,
          env,
          logFile,
          ready: {
            kind: 'probe',
            what: `IMAP greeting on 127.0.0.1:${imapPort}`,
            probe: async () => {
              const line = await greeting(imapPort);
              if (!line.startsWith('* OK'))
                throw new DaemonError('TRAMITE_ERR_DAEMON_START', `unexpected greeting ${JSON.stringify(line)}`);
              return true;
            },
          },
        };
      },
    });
    const [imapPort = 0, imapsPort = 0] = daemon.ports;
    return {
      host: '127.0.0.1',
      imapPort,
      ...(tls ? { imapsPort, tlsCertPem: tls.pem } : {}),
      mailRoot: mail.root,
      logFile,
      maildirOf: (user) => mail.maildirOf(user),
      deliver: (user, rawMessage, folder) => mail.deliver(user, rawMessage, folder),
      stop: () => daemon.stop(),
    };
  } catch (err) {
    tempDir.remove();
    throw err;
  }
}

/** Resolves with the first line the server sends on `port`, or rejects (refused, closed, 1 s silence). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (problem?: string) => {
      socket.destroy();
      if (problem) reject(new DaemonError('TRAMITE_ERR_DAEMON_START', problem));
      else resolve(data.split('\r\n')[0] ?? '');
    };
    socket.setTimeout(1000, () => done('no greeting within 1 s'));
    socket.on('error', (err) => done(err.message));
    socket.on('close', () => done(`connection closed before a greeting (got ${JSON.stringify(data)})`));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) done();
    });
  });
}
