/**
 * Reads the PEC mailbox over IMAP (imapflow), one connection per read: INBOX by UID above the last
 * one processed under the current UIDVALIDITY, each message fetched whole, judged by
 * `ingestMailboxMessage`, recorded with the cursor advance (PecStore.recordRead), and — when
 * quarantined — moved to the quarantine folder afterwards. A move that a crash interrupted is done
 * at the next read (`pendingMoves`). Messages are never deleted nor flagged: the mailbox stays the
 * party's legal record, and other clients (webmail) see it unchanged.
 *
 * Every write that moves the cursor commits under the caller's `fence` (the lease of the one node
 * process that reads this mailbox): a reader that lost it records nothing more and ends its read.
 */
import { ImapFlow } from 'imapflow';
import type { AdapterLogger } from '../sdk/index.js';
import { type IngestSettings, ingestMailboxMessage } from './pec-ingest.js';
import type { PecServerOptions } from './pec-options.js';
import type { PecStore, ReadOutcome, ReaderFence } from './pec-store.js';

const MAILBOX = 'INBOX';
/** Per read, so that the events of a large backlog reach the bus batch by batch, not after the whole mailbox. */
export const MAX_MESSAGES_PER_READ = 200;
const CONNECTION_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 120_000;

export interface MailboxReaderSettings {
  readonly server: PecServerOptions;
  readonly password: string;
  readonly tls: { readonly ca: readonly string[] | undefined; readonly rejectUnauthorized: boolean };
  readonly quarantineFolder: string;
  /** Messages larger than this (by RFC822.SIZE) are quarantined without being fetched. */
  readonly maxMessageBytes: number;
  readonly ingest: IngestSettings;
}

export interface ReadSummary {
  readonly uidValidity: string;
  readonly read: number;
  readonly newEvents: number;
  readonly quarantined: number;
  /** Messages left for the next read (more than MAX_MESSAGES_PER_READ were waiting). */
  readonly more: boolean;
  /** The read ended because the fence no longer held: another process reads the mailbox now. */
  readonly fenced: boolean;
}

export class PecMailboxReader {
  private client: ImapFlow | undefined;

  constructor(
    private readonly settings: MailboxReaderSettings,
    private readonly store: PecStore,
    private readonly log: AdapterLogger,
  ) {}

  /** One pass over INBOX; `stopRequested` is checked between messages. Throws when the server cannot be used. */
  async readOnce(stopRequested: () => boolean, fence: ReaderFence): Promise<ReadSummary> {
    const client = this.connectClient();
    this.client = client;
    this.quarantineFolderReady = false;
    try {
      await client.connect();
      const box = await client.mailboxOpen(MAILBOX);
      const uidValidity = box.uidValidity.toString();
      const cursor = await this.store.cursor(MAILBOX, uidValidity, fence);
      if (!cursor) return { uidValidity, read: 0, newEvents: 0, quarantined: 0, more: false, fenced: true };
      if (cursor.reset) {
        this.log.warn(
          { mailbox: MAILBOX, uidValidity, previous: cursor.previousUidValidity },
          'UIDVALIDITY changed: reading the whole mailbox again (events already recorded are not sent twice)',
        );
      }
      for (const uid of await this.store.pendingMoves(MAILBOX, uidValidity)) await this.moveToQuarantine(client, uidValidity, uid);

      const summary = { uidValidity, read: 0, newEvents: 0, quarantined: 0, more: false, fenced: false };
      if (box.exists === 0) return summary;
      // `N:*` always includes the highest UID, even below N: hence the filter.
      const listed = await client.fetchAll(`${cursor.lastUid + 1}:*`, { uid: true, size: true }, { uid: true });
      const waiting = listed.filter((m) => m.uid > cursor.lastUid).sort((a, b) => a.uid - b.uid);
      const candidates = waiting.slice(0, MAX_MESSAGES_PER_READ);
      summary.more = waiting.length > candidates.length;
      for (const { uid, size } of candidates) {
        if (stopRequested()) break;
        const outcome = await this.readMessage(client, uidValidity, uid, size ?? 0, fence);
        if (!outcome) {
          summary.fenced = true;
          summary.more = false;
          break;
        }
        summary.read += 1;
        if (outcome.newEvent) summary.newEvents += 1;
        if (outcome.quarantined) summary.quarantined += 1;
      }
      return summary;
    } finally {
      this.client = undefined;
      await client.logout().catch(() => client.close());
    }
  }

  /** Cuts a read short (stop, when the read does not end by itself in time). */
  abort(): void {
    this.client?.close();
  }

  private async readMessage(
    client: ImapFlow,
    uidValidity: string,
    uid: number,
    size: number,
    fence: ReaderFence,
  ): Promise<{ newEvent: boolean; quarantined: boolean } | undefined> {
    let messageId: string | undefined;
    let outcome: ReadOutcome;
    let notice: string | undefined;
    const max = this.settings.maxMessageBytes;
    if (size > max) {
      // Judged by the size the server states, before a byte is fetched: the message would be read whole.
      outcome = {
        kind: 'quarantined',
        code: 'TRAMITE_ERR_PEC_MALFORMED',
        reason: `${size} bytes: larger than maxMessageBytes (${max}); not fetched`,
      };
    } else {
      const fetched = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      if (!fetched || !fetched.source) {
        outcome = { kind: 'recorded', disposition: 'vanished', detail: 'expunged by another client before it could be read' };
      } else {
        ({ messageId, outcome, notice } = await ingestMailboxMessage(fetched.source, this.settings.ingest));
      }
    }
    const recorded = await this.store.recordRead({ mailbox: MAILBOX, uidValidity, uid, messageId, outcome }, fence);
    if (!recorded) return undefined;
    const { newEvent } = recorded;
    this.report(uid, messageId, outcome, newEvent, notice);
    if (outcome.kind === 'quarantined') await this.moveToQuarantine(client, uidValidity, uid);
    return { newEvent, quarantined: outcome.kind === 'quarantined' };
  }

  private report(uid: number, messageId: string | undefined, outcome: ReadOutcome, newEvent: boolean, notice: string | undefined): void {
    const facts = { uid, messageId };
    if (notice) this.log.warn({ ...facts }, notice);
    switch (outcome.kind) {
      case 'quarantined':
        this.log.warn(
          { ...facts, code: outcome.code, reason: outcome.reason, folder: this.settings.quarantineFolder },
          'PEC provider message quarantined: not acted on',
        );
        break;
      case 'event':
        if (newEvent)
          this.log.info(
            { ...facts, event: outcome.event.key, service: outcome.event.service, refId: outcome.event.refId },
            `PEC ${outcome.disposition} recorded`,
          );
        else
          this.log.info(
            { ...facts, event: outcome.event.key },
            'PEC provider message already processed (read again or delivered twice): nothing new',
          );
        break;
      case 'recorded':
        if (outcome.disposition === 'uncorrelated')
          this.log.warn({ ...facts, detail: outcome.detail }, 'PEC receipt about a message not sent from here: recorded only');
        else
          this.log.debug(
            { ...facts, disposition: outcome.disposition, detail: outcome.detail },
            'mailbox message recorded, nothing to send',
          );
        break;
    }
  }

  /** Once per connection: a folder an operator deleted meanwhile is made again. */
  private quarantineFolderReady = false;

  private async moveToQuarantine(client: ImapFlow, uidValidity: string, uid: number): Promise<void> {
    if (!this.quarantineFolderReady) {
      // CREATE of an existing folder is answered ALREADYEXISTS, which imapflow reports as created: false.
      await client.mailboxCreate(this.settings.quarantineFolder);
      this.quarantineFolderReady = true;
    }
    // false: the UID is gone (moved or expunged by another client): nothing left to move.
    await client.messageMove(String(uid), this.settings.quarantineFolder, { uid: true });
    await this.store.markMoved(MAILBOX, uidValidity, uid);
  }

  private connectClient(): ImapFlow {
    const { server, password, tls } = this.settings;
    const client = new ImapFlow({
      host: server.host,
      port: server.port,
      secure: server.secure,
      // true: STARTTLS or no login at all; undefined: STARTTLS when offered (imapflow's default).
      ...(server.secure ? {} : server.requireTLS ? { doSTARTTLS: true } : {}),
      auth: { user: server.user, pass: password },
      tls: { minVersion: 'TLSv1.2', ...(tls.ca ? { ca: [...tls.ca] } : {}), rejectUnauthorized: tls.rejectUnauthorized },
      // imapflow's own logger would print protocol lines to stdout; the adapter logs what matters itself.
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      // A server that states a small size and then sends more is cut off here.
      maxLiteralSize: this.settings.maxMessageBytes + 64 * 1024,
    });
    // An 'error' event without a listener would crash the node; the failing command rejects anyway.
    client.on('error', (err: Error) => this.log.debug({ err: err.message }, 'IMAP connection error'));
    return client;
  }
}
