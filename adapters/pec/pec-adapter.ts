/**
 * The PEC adapter: one hosted party's PEC mailbox on the bus.
 * - egress (service InvioPEC): a `pec:InvioPEC` payload is submitted by SMTP from the party's address,
 *   with a Message-ID derived from the bus message id (pec-egress.ts);
 * - ingress: the mailbox is read by IMAP every `pollMs`; the provider's receipts about messages sent
 *   from here become `pec:Ricevuta` messages (refId: the bus message sent), incoming PEC messages become
 *   `pec:MessaggioPEC`, both sent from the party to itself; provider messages whose S/MIME signature
 *   or structure is not right are moved to the quarantine folder and never acted on.
 * Ingress is idempotent through the event table (pec-store.ts, pec-event-dispatch.ts): a mailbox read
 * twice, or a crash mid-read, produces each event once.
 *
 * State is in the adapter store (`ctx.openStore('pec')`). Several node processes sharing it (the node's
 * log in PostgreSQL) run one reader of the mailbox at a time: the holder of the store lease
 * `pec-mailbox-reader`, renewed every `readerLease.renewMs`; the others stand by, take the lease over
 * when it expires (`readerLease.ttlMs` after its holder died) and go on from the cursor. Egress runs in
 * every process.
 */
import {
  AdapterError,
  BackgroundWorker,
  StoreLease,
  defineAdapter,
  type AdapterContext,
  type AdapterHealth,
  type AdapterInstance,
  type BusMessage,
} from '../sdk/index.js';
import { sendInvioPec } from './pec-egress.js';
import { dispatchPendingEvents } from './pec-event-dispatch.js';
import { PecMailboxReader } from './pec-mailbox-reader.js';
import { loadPecSettings, pecOptionsSchema, type PecOptions } from './pec-options.js';
import { PecSmtpSender } from './pec-smtp-sender.js';
import { PecStore, type ReaderFence } from './pec-store.js';

export type { PecOptions } from './pec-options.js';

export default defineAdapter<PecOptions>({
  id: 'pec',
  version: '1.0.0',
  busApi: '^1',
  description:
    'PEC (Posta Elettronica Certificata): sends by SMTP, reads receipts and incoming messages by IMAP, S/MIME-checked, idempotent',
  optionsSchema: pecOptionsSchema,
  services: ['InvioPEC'],
  setup: (ctx) => new PecAdapter(ctx),
  // What the node lists in its certificate inventory: the provider CAs, and the servers' private CA.
  certificateFiles: (options) => [
    ...options.providerCaFiles.map((file) => ({ role: 'PEC provider CA', file })),
    ...(options.tls.caFile !== undefined ? [{ role: "PEC servers' TLS CA", file: options.tls.caFile }] : []),
  ],
});

/** The lease of the one process reading the mailbox, in the adapter's store. */
export const READER_LEASE = 'pec-mailbox-reader';
/** How long a read may go on after stop before its IMAP connection is cut. */
const STOP_GRACE_MS = 2000;
/** An SMTP contact older than this is checked again when health is asked. */
const SMTP_STALE_MS = 60_000;
const SMTP_PROBE_MS = 3000;

export interface PecHealthReport {
  readonly started: boolean;
  /** End of the last read of the mailbox that succeeded. */
  readonly lastSuccessfulPoll: Date | undefined;
  readonly imap: { readonly reachable: boolean; readonly at: Date; readonly error?: string } | undefined;
  readonly smtp: { readonly reachable: boolean; readonly at: Date; readonly error?: string } | undefined;
  readonly quarantined: number;
  readonly pendingEvents: number;
  /** Pending events the bus refused at least once. */
  readonly failingEvents: number;
  /** Whether this process reads the mailbox (holds the reader lease) as of its last renewal; false: it stands by. */
  readonly readsMailbox: boolean;
}

interface Running {
  readonly store: PecStore;
  readonly sender: PecSmtpSender;
  readonly reader: PecMailboxReader;
  readonly lease: StoreLease;
  readonly fence: ReaderFence;
  readonly renewal: NodeJS.Timeout;
}

export class PecAdapter implements AdapterInstance {
  private running: Running | undefined;
  private starting: Promise<void> | undefined;
  private stopping = false;
  /** Events left over, the mailbox, then what it produced: at start, every pollMs, at once while a backlog is left. */
  private readonly poller: BackgroundWorker;
  private readonly egresses = new Set<Promise<unknown>>();
  private imap: PecHealthReport['imap'];
  private lastSuccessfulPoll: Date | undefined;
  private readsMailbox = false;
  /** Renewals in flight: waited for at stop, so that none re-takes the lease after it was released. */
  private readonly renewals = new Set<Promise<boolean>>();
  private renewalFailing = false;

  constructor(private readonly ctx: AdapterContext<PecOptions>) {
    this.poller = new BackgroundWorker({
      name: 'PEC poll',
      log: ctx.log,
      intervalMs: ctx.options.pollMs,
      pass: async ({ signal }) => {
        // A read checks `stopping` between messages; one stuck in a slow command is cut after stop's grace.
        const onAbort = () => this.running?.reader.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          return (await this.poll()) ? 'more' : 'idle';
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      },
    });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.starting ??= this.open().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async open(): Promise<void> {
    const { options, dataDir } = this.ctx;
    const settings = await loadPecSettings(options, dataDir);
    const store = await PecStore.open(this.ctx.openStore, () => this.ctx.clock.now());
    const lease = new StoreLease(store.adapterStore, READER_LEASE, options.readerLease.ttlMs, this.ctx.clock);
    const tls = { ca: settings.serverCa, rejectUnauthorized: options.tls.rejectUnauthorized };
    const sender = new PecSmtpSender(options.smtp, settings.smtpPassword, tls);
    const reader = new PecMailboxReader(
      {
        server: options.imap,
        password: settings.imapPassword,
        tls,
        quarantineFolder: options.quarantineFolder,
        maxMessageBytes: options.maxMessageBytes,
        ingest: {
          trust: settings.providerTrust,
          ...(this.ctx.revocation ? { revocation: this.ctx.revocation } : {}),
          acceptSha1: options.acceptSha1,
          receiptService: options.receiptService,
          inboundService: options.inboundService,
          outbound: (messageId) => store.outboundByMessageId(messageId),
        },
      },
      store,
      this.ctx.log,
    );
    const renewal = setInterval(() => void this.renewLease('timer'), options.readerLease.renewMs);
    renewal.unref();
    this.running = { store, sender, reader, lease, fence: (tx) => lease.heldIn(tx), renewal };
    this.stopping = false;
    this.ctx.log.info(
      {
        address: options.address,
        smtp: `${options.smtp.host}:${options.smtp.port}`,
        imap: `${options.imap.host}:${options.imap.port}`,
        pollMs: options.pollMs,
        store: store.adapterStore.location,
      },
      'PEC adapter started',
    );
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const running = this.running;
    if (!running || this.stopping) return;
    this.stopping = true;
    clearInterval(running.renewal);
    await this.poller.stop(STOP_GRACE_MS);
    await Promise.allSettled([...this.egresses, ...this.renewals]);
    running.sender.close();
    // Given up at once: a standby process need not wait for it to expire.
    await running.lease
      .release()
      .catch((err: unknown) => this.ctx.log.warn({ err: (err as Error).message }, 'PEC reader lease not released: it expires by itself'));
    this.readsMailbox = false;
    await running.store.close();
    this.running = undefined;
    this.stopping = false;
    this.ctx.log.info({}, 'PEC adapter stopped');
  }

  async egress(message: BusMessage, signal: AbortSignal): Promise<{ kind: 'accepted'; reference: string }> {
    const running = this.running;
    if (!running || this.stopping) throw AdapterError.unavailable('the PEC adapter is not started');
    const sending = sendInvioPec(
      message,
      {
        store: running.store,
        sender: running.sender,
        address: this.ctx.options.address,
        now: () => this.ctx.clock.now(),
        log: this.ctx.log,
      },
      signal,
    );
    this.egresses.add(sending);
    try {
      return await sending;
    } finally {
      this.egresses.delete(sending);
    }
  }

  async health(): Promise<AdapterHealth> {
    const r = await this.healthReport();
    if (!r.started) return { status: 'down', detail: 'not started' };
    // A standby process does not read the mailbox: its IMAP is not tried, and not its to answer for.
    const imapOk = r.imap?.reachable === true || !r.readsMailbox;
    const smtpOk = r.smtp?.reachable === true;
    const status = !imapOk && !smtpOk && r.imap !== undefined ? 'down' : imapOk && smtpOk && r.failingEvents === 0 ? 'up' : 'degraded';
    const reach = (what: PecHealthReport['imap']) =>
      what ? (what.reachable ? 'reachable' : `unreachable (${what.error ?? 'no answer'})`) : 'not tried yet';
    const detail = [
      r.readsMailbox
        ? `imap ${reach(r.imap)}, last successful poll ${r.lastSuccessfulPoll?.toISOString() ?? 'never'}`
        : 'mailbox read by another node process (this one stands by)',
      `smtp ${reach(r.smtp)}`,
      `quarantined ${r.quarantined}`,
      `pending events ${r.pendingEvents}${r.failingEvents ? ` (${r.failingEvents} refused by the bus so far)` : ''}`,
    ].join('; ');
    return { status, detail };
  }

  /** What health says, as data. Probes SMTP (login, no message) when its last contact is unknown or stale. */
  async healthReport(): Promise<PecHealthReport> {
    const running = this.running;
    if (!running)
      return {
        started: false,
        lastSuccessfulPoll: this.lastSuccessfulPoll,
        imap: this.imap,
        smtp: undefined,
        quarantined: 0,
        pendingEvents: 0,
        failingEvents: 0,
        readsMailbox: false,
      };
    const last = running.sender.lastContact;
    if (!last || this.ctx.clock.now().getTime() - last.at.getTime() > SMTP_STALE_MS) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, SMTP_PROBE_MS)));
      await Promise.race([running.sender.verify().catch(() => undefined), late]).finally(() => clearTimeout(timer));
    }
    const counts = await running.store.counts();
    const smtp = running.sender.lastContact;
    return {
      started: true,
      lastSuccessfulPoll: this.lastSuccessfulPoll,
      imap: this.imap,
      smtp: smtp ?? { reachable: false, at: this.ctx.clock.now(), error: `no answer within ${SMTP_PROBE_MS} ms` },
      quarantined: counts.quarantined,
      pendingEvents: counts.pendingEvents,
      failingEvents: counts.failingEvents,
      readsMailbox: this.readsMailbox,
    };
  }

  /**
   * Takes or renews the reader lease (at every poll and every renewMs); a process whose timer has just
   * taken it over reads at once. Never rejects: a store that cannot be reached means not holding it.
   */
  private async renewLease(by: 'poll' | 'timer'): Promise<boolean> {
    const running = this.running;
    if (!running || this.stopping) return false;
    let held: boolean;
    const acquiring = running.lease.acquire();
    this.renewals.add(acquiring);
    try {
      held = await acquiring;
      this.renewalFailing = false;
    } catch (err) {
      // Once per outage at warn level: it is tried again every renewMs.
      if (!this.renewalFailing)
        this.ctx.log.warn({ err: (err as Error).message }, 'PEC reader lease cannot be renewed: not reading the mailbox meanwhile');
      this.renewalFailing = true;
      held = false;
    } finally {
      this.renewals.delete(acquiring);
    }
    if (held !== this.readsMailbox) {
      this.ctx.log.info(
        { holder: running.lease.holder },
        held
          ? 'PEC mailbox reader: this process reads the mailbox'
          : 'PEC mailbox reader: another process reads the mailbox, this one stands by',
      );
      this.readsMailbox = held;
      if (held && by === 'timer') this.poller.wake();
    }
    return held;
  }

  /**
   * Events left from before (a crash, a bus that refused), the mailbox, then what it produced — in the
   * process that holds the reader lease only. Never rejects; resolves whether messages were left for
   * the next read.
   */
  private async poll(): Promise<boolean> {
    const running = this.running;
    if (!running || !(await this.renewLease('poll'))) return false;
    let more = false;
    const stopRequested = () => this.stopping;
    const dispatch = () => dispatchPendingEvents(running.store, running.fence, this.ctx.bus, this.ctx.party, this.ctx.log, stopRequested);
    try {
      await dispatch();
      if (stopRequested()) return false;
      try {
        const summary = await running.reader.readOnce(stopRequested, running.fence);
        more = summary.more;
        if (this.imap && !this.imap.reachable) this.ctx.log.info({}, 'IMAP server reachable again');
        this.imap = { reachable: true, at: this.ctx.clock.now() };
        this.lastSuccessfulPoll = this.imap.at;
        if (summary.read > 0) this.ctx.log.debug({ ...summary }, 'PEC mailbox read');
        if (summary.fenced) {
          this.ctx.log.warn({ read: summary.read }, 'PEC reader lease lost during a read: another process reads the mailbox now');
          this.readsMailbox = false;
          return false;
        }
      } catch (err) {
        const error = (err as Error).message;
        // Once per outage at warn level: a mailbox polled every few seconds would otherwise flood the log.
        if (this.imap?.reachable !== false) this.ctx.log.warn({ err: error }, 'PEC mailbox cannot be read: trying again at every poll');
        else this.ctx.log.debug({ err: error }, 'PEC mailbox still cannot be read');
        this.imap = { reachable: false, at: this.ctx.clock.now(), error };
      }
      if (!stopRequested()) await dispatch();
    } catch (err) {
      this.ctx.log.error({ err: (err as Error).message }, 'PEC poll failed');
    }
    return more;
  }
}
