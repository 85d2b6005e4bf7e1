/**
 * The mail of a private Dovecot: one Maildir per user under `root/<user>/Maildir`, and delivery into
 * it the way an MDA does (tmp/ then rename into new/), so Dovecot sees only whole messages.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DaemonError } from '../../core/errors.js';
import type { DovecotAccounts } from './dovecot-accounts.js';

export class DovecotMaildirs {
  private deliveries = 0;
  private readonly names: ReadonlySet<string>;
  /** This host's name as a Maildir file name may hold it ('/' and ':' escaped as Dovecot does). */
  private readonly host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');

  /** Makes root/<user>/Maildir/{cur,new,tmp} for each user, owned (as root) by the mail account. */
  constructor(
    readonly root: string,
    users: readonly string[],
    private readonly acc: DovecotAccounts,
  ) {
    this.names = new Set(users);
    mkdirSync(root, { mode: 0o755 });
    this.own(root);
    for (const user of users) {
      const home = join(root, user);
      const maildir = join(home, 'Maildir');
      for (const dir of [home, maildir, ...['cur', 'new', 'tmp'].map((sub) => join(maildir, sub))]) {
        mkdirSync(dir, { mode: 0o700 });
        this.own(dir);
      }
    }
  }

  private own(path: string): void {
    if (this.acc.asRoot) chownSync(path, this.acc.mail.uid, this.acc.mail.gid);
  }

  /** The user's Maildir (holding cur/, new/, tmp/). */
  maildirOf(user: string): string {
    if (!this.names.has(user))
      throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', `no such Dovecot test user: ${user} (have ${[...this.names].join(', ')})`);
    return join(this.root, user, 'Maildir');
  }

  /** Writes a message into the user's INBOX atomically: tmp/<unique> then rename to new/<unique>. Bytes are kept as given. */
  async deliver(user: string, rawMessage: Buffer | string, folder: 'INBOX' = 'INBOX'): Promise<void> {
    if (folder !== 'INBOX') throw new DaemonError('TRAMITE_ERR_DAEMON_OPTIONS', `deliver: only INBOX is supported, not ${String(folder)}`);
    const maildir = this.maildirOf(user);
    const bytes = typeof rawMessage === 'string' ? Buffer.from(rawMessage, 'utf8') : rawMessage;
    // Maildir unique name: <seconds>.M<microseconds>P<pid>Q<count>R<random>.<host>,S=<size>
    // (S= is the file size, which Dovecot then need not stat).
    const wall = Date.now();
    const usec = (wall % 1000) * 1000;
    const name = `${Math.floor(wall / 1000)}.M${usec}P${process.pid}Q${++this.deliveries}R${randomBytes(8).toString('hex')}.${this.host},S=${bytes.length}`;
    const tmpFile = join(maildir, 'tmp', name);
    const handle = await open(tmpFile, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
      if (this.acc.asRoot) await handle.chown(this.acc.mail.uid, this.acc.mail.gid);
    } finally {
      await handle.close();
    }
    await rename(tmpFile, join(maildir, 'new', name));
  }
}
