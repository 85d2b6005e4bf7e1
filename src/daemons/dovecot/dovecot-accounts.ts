/**
 * Which OS accounts a private Dovecot runs as. Dovecot never lets a mail process (imap) run as root
 * ("Mail access not allowed for root", whatever first_valid_uid says). So:
 *  - as root, mail is owned by and served as a dedicated unprivileged system account, `tramite-mail`,
 *    created (useradd --system) when missing; the master runs as root, the internal processes as the
 *    `dovecot` user and the login processes as `dovenull` (both made by the dovecot-core package;
 *    if absent, `tramite-mail` is used for them too);
 *  - as any other user, every Dovecot process and every file is that user's: no privilege change.
 * In both cases first/last_valid_uid and _gid pin mail access to exactly that one account.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { DaemonError } from '../../core/errors.js';

/** The OS account that owns and serves the mail when Dovecot is started as root. */
export const DOVECOT_MAIL_OS_USER = 'tramite-mail';

export interface DovecotAccounts {
  /** Whether the launcher runs as root (and so hands files to `mail`). */
  readonly asRoot: boolean;
  /** Owner of the mail (mail_uid/mail_gid). */
  readonly mail: { readonly name: string; readonly group: string; readonly uid: number; readonly gid: number };
  /** default_internal_user / default_internal_group / default_login_user. */
  readonly internalUser: string;
  readonly internalGroup: string;
  readonly loginUser: string;
  /** uid that runs the auth process and so reads the passwd-file. */
  readonly internalUid: number;
}

function lookupUser(name: string): { uid: number; gid: number; group: string } | undefined {
  const id = (args: string[]) => spawnSync('id', [...args, name], { encoding: 'utf8' });
  const uid = id(['-u']);
  const gid = id(['-g']);
  const group = id(['-gn']);
  if (uid.status !== 0 || gid.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), group: group.stdout.trim() };
}

/** The accounts for this process: its own user, or (as root) the mail account, created when missing. */
export function dovecotAccounts(): DovecotAccounts {
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || String(me.gid);
    return {
      asRoot: false,
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
      throw new DaemonError(
        'TRAMITE_ERR_DAEMON_START',
        `Dovecot will not serve mail as root and there is no OS user "${DOVECOT_MAIL_OS_USER}" to serve it as; ` +
          `\`useradd --system ${DOVECOT_MAIL_OS_USER}\` failed: ${(made.stderr || made.error?.message || `exit ${made.status}`).trim()}. ` +
          'Create the user, or run as an unprivileged user.',
      );
    }
  }
  const internal = lookupUser('dovecot');
  const login = lookupUser('dovenull');
  return {
    asRoot: true,
    mail: { name: DOVECOT_MAIL_OS_USER, ...mail },
    internalUser: internal ? 'dovecot' : DOVECOT_MAIL_OS_USER,
    internalGroup: internal ? internal.group : mail.group,
    loginUser: login ? 'dovenull' : DOVECOT_MAIL_OS_USER,
    internalUid: internal ? internal.uid : mail.uid,
  };
}

/** As root, the mail account must be able to walk down to `dir`: every ancestor needs o+x (or be its own). */
export function assertTraversable(dir: string, uid: number): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    if (st.uid !== uid && (st.mode & 0o001) === 0) {
      throw new DaemonError(
        'TRAMITE_ERR_DAEMON_OPTIONS',
        `${d} is not searchable by other users, so Dovecot's mail processes (user ${DOVECOT_MAIL_OS_USER}) cannot reach ${dir}; ` +
          'set TMPDIR to a folder like /tmp',
      );
    }
    if (d === dirname(d)) return;
  }
}
