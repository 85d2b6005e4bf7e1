/**
 * The dovecot.conf of a private, throwaway Dovecot: every path inside its own folder (no /etc/dovecot,
 * /run/dovecot, /var/lib/dovecot, no syslog), listening on 127.0.0.1 only, users from a passwd-file.
 */
import { randomBytes } from 'node:crypto';
import { DaemonError } from '../../core/errors.js';
import type { DovecotAccounts } from './dovecot-accounts.js';

/** Characters a path may have to go into the config unquoted. */
const SAFE_PATH = /^[A-Za-z0-9_./-]+$/;

/** Refuses a folder the config could not name without quoting. */
export function assertConfigSafePath(dir: string): void {
  if (!SAFE_PATH.test(dir)) {
    throw new DaemonError(
      'TRAMITE_ERR_DAEMON_OPTIONS',
      `the temporary folder ${dir} has characters the Dovecot config would need quoted; set TMPDIR to a plain path like /tmp`,
    );
  }
}

/** The config for one start attempt, naming the ports chosen for it (imapsPort 0: no IMAPS listener). */
export function dovecotConfig(p: {
  dir: string;
  passwdFile: string;
  mailRoot: string;
  logFile: string;
  imapPort: number;
  imapsPort: number;
  tls?: { cert: string; key: string };
  acc: DovecotAccounts;
}): string {
  const { mail } = p.acc;
  return `# Written by src/daemons/dovecot/dovecot-config.ts for one run; nothing here is read from /etc/dovecot.
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

# Who runs what (see the header of dovecot-accounts.ts): one unprivileged account owns and serves all mail.
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
