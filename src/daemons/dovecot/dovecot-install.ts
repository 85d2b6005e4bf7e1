/**
 * Where Dovecot's programs are, and what to install when they are not there: /usr/sbin/dovecot
 * (Debian package dovecot-core) and the IMAP service binaries /usr/lib/dovecot/imap and imap-login
 * (package dovecot-imapd, which pulls in dovecot-core).
 */
import { existsSync } from 'node:fs';
import { DaemonError } from '../../core/errors.js';

const DOVECOT_BIN = '/usr/sbin/dovecot';
const IMAP_BINARIES = ['/usr/lib/dovecot/imap', '/usr/lib/dovecot/imap-login'];
/** What to run on a machine without Dovecot (what test-support/install-test-services.sh does as root). */
export const DOVECOT_INSTALL_COMMAND = 'sudo apt-get install -y --no-install-recommends dovecot-imapd';

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
  if (why) throw new DaemonError('TRAMITE_ERR_DAEMON_MISSING', why);
  return DOVECOT_BIN;
}
