/** The IMAP users of a private Dovecot: their names checked, their passwords in a passwd-file. */
import { chownSync, writeFileSync } from 'node:fs';
import { DaemonError } from '../../core/errors.js';
import type { DovecotAccounts } from './dovecot-accounts.js';

export interface DovecotUser {
  /** IMAP login name; also the folder name under mailRoot (letters, digits, `.`, `_`, `-`, `@`, `+`). */
  readonly user: string;
  readonly password: string;
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/** Refuses an empty list, a name unfit for a folder or a config line, a name given twice, an empty password. */
export function checkDovecotUsers(users: ReadonlyArray<DovecotUser>): void {
  if (users.length === 0) throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', 'startDovecot: give at least one user');
  const names = new Set<string>();
  for (const { user, password } of users) {
    if (!USER_NAME.test(user))
      throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', `startDovecot: user name ${JSON.stringify(user)} must match ${USER_NAME}`);
    if (names.has(user)) throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', `startDovecot: user ${user} given twice`);
    names.add(user);
    if (typeof password !== 'string' || password.length === 0) {
      throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', `startDovecot: user ${user} needs a password`);
    }
  }
}

/**
 * Writes the passwd-file Dovecot's passdb and userdb read: user:password:uid:gid:(gecos):home:(shell):extra,
 * uid/gid left to mail_uid/mail_gid. {PLAIN.b64} lets a password hold any character, ':' included.
 */
export function writePasswdFile(path: string, users: ReadonlyArray<DovecotUser>, acc: DovecotAccounts): void {
  const line = ({ user, password }: DovecotUser) => `${user}:{PLAIN.b64}${Buffer.from(password, 'utf8').toString('base64')}::::::\n`;
  writeFileSync(path, users.map(line).join(''), { mode: 0o600 });
  // Read by the auth process, which runs as the internal user.
  if (acc.asRoot) chownSync(path, acc.internalUid, acc.mail.gid);
}
