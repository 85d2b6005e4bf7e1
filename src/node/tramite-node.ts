import { readFileSync } from 'node:fs';
import { keepNodeFilesPrivate } from './private-files.js';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { Deadline, settlesWithin } from '../core/deadline.js';
import { TramiteError } from '../core/errors.js';
import type { NodeConfig } from '../config/config-types.js';
import type { XmlLimits } from '../../envelopes/xml/hardened-xml.js';
import { MessageLog } from '../log/message-log.js';
import { openLogStore } from '../log/open-log-store.js';
import { requestTimestamp } from '../crypto/rfc3161/index.js';
import { FirstAttempt, SAFETY_NET_DELAY_MS } from '../queue/first-attempt.js';
import { WorkQueue, type QueueName, type WorkItem, type WorkQueueOptions } from '../queue/work-queue.js';
import { openRedis, type NodeRedis } from '../queue/redis-connection.js';
import { nodeHealth, type NodeHealth } from './node-health.js';
import type { RevocationChecker } from '../crypto/revocation/revocation-checker.js';
import { revocationCheckerFor } from '../crypto/revocation/revocation-settings.js';
import { Reception } from './reception/reception.js';
import { NotifyingStore, StatusNotifier, type NotifyItem } from './notification/status-notifier.js';
import type { MessageIds } from './registry/message-ids.js';
import { messageIdsFor } from './registry/message-ids-for.js';
import { Submission } from './submission/submission.js';
import { DeliverySchedule } from './delivery/delivery-schedule.js';
import { DeliveryWorker } from './delivery/delivery-worker.js';
import { RestGateway } from './rest-gateway/rest-gateway.js';
import { readiness, type Readiness } from './readiness.js';
import { PeerClient } from './peer-client/peer-client.js';
import { nodeStoreOpener } from './node-store-opener.js';
import { InProcessHandOverClaims, SharedHandOverClaims, type HandOverClaims } from './dispatch/hand-over-claims.js';
import { DispatchWorker } from './dispatch/dispatch-worker.js';
import type { DispatchItem } from './dispatch/dispatch-item.js';
import { BackOfficeHttp } from './back-office-http/back-office-http.js';
import { LogAuditor } from './audit/log-auditor.js';
import { Registry } from './registry/registry.js';
import { LiveRegistry, type ReloadOutcome, type RegistryVersion } from './registry/live-registry.js';
import { loadConfig } from '../config/load-config.js';
import { ConfigError } from '../core/errors.js';
import type { StaffMember } from '../core/staff-member.js';
import { AdapterHost } from './dispatch/adapter-host.js';
import type { AdapterCatalog } from '../../adapters/sdk/adapter.js';
import { busClientFor } from './dispatch/adapter-bus-client.js';
import { VerificationPool } from './reception/verification-pool.js';
import { configForWorker } from './reception/verification-protocol.js';
import type { CertificateInventory } from './certificates/certificate-inventory.js';
import { loadCertificateInventory } from './certificates/load-certificate-inventory.js';
import { ExpiryWarnings } from './certificates/expiry-warnings.js';
import { tsaCertificateOfToken } from '../crypto/rfc3161/tsa-certificate-of-token.js';
import { NodeMetrics } from './metrics/node-metrics.js';
import { MeasuringStore, type MessageLabels } from './metrics/measuring-store.js';
import type { AlarmBoard } from './alarms/alarm.js';
import { NodeAlarms } from './alarms/node-alarms.js';
import { PeerOutcomes } from './alarms/peer-outcomes.js';

/**
 * How long after logging a message another process sharing the log may still be signing its riscontro:
 * that takes well under a second once logged (a sincrono's inline call, which may take longer, is never
 * signed again); past this, a RECEIVED message without its reply was left by a process that died.
 */
const OTHERS_MAY_BE_RECEIVING_MS = 30_000;

export interface NodeOptions {
  readonly clock?: Clock;
  /** Also write the node's log lines to stdout (the `tramite start` default). */
  readonly logToStdout?: boolean;
  /** Log level, default `info`. */
  readonly logLevel?: string;
  /** Adapters the configuration may name by id: the composition root passes adapters/builtin.ts's table. */
  readonly builtinAdapters?: AdapterCatalog;
  /** How a registry reload reads the configuration again; default loadConfig(config.configPath). */
  readonly loadConfig?: () => NodeConfig;
}

/**
 * The composition root: one node = registry + message log + id allocator + the message's path —
 * reception → dispatch for inbound messages, submission → delivery (through the peer client) for
 * outbound ones — sharing one clock and one logger. HTTP is a thin shell over it (src/http), so tests can drive it
 * either way.
 */
export class TramiteNode {
  /** The back-office API's use cases: submit, answer, poll, resend. */
  readonly outbound: Submission;
  /** The envelope endpoint's pipeline: an inbound message's stages up to its reply. */
  readonly inbound: Reception;
  readonly delivery: DeliveryWorker;
  readonly dispatch: DispatchWorker;
  private readonly peers: PeerClient;
  /** The REST gateway (/rest/out, /rest/in); undefined when no REST API is configured. */
  readonly restGateway: RestGateway | undefined;
  private readonly backOffice = new BackOfficeHttp();
  readonly limits: XmlLimits;
  private publicUrl: string;

  private readonly deliveryQueue: WorkQueue<WorkItem>;
  /** First delivery attempts, made as soon as a message is logged (the deliver queue is their safety net). */
  private readonly immediate: FirstAttempt<WorkItem>;
  /** First hand-overs to back offices, made as soon as the riscontro is logged (the dispatch queue is their safety net). */
  private readonly immediateDispatch: FirstAttempt<DispatchItem>;
  private readonly dispatchQueue: WorkQueue<DispatchItem>;
  private readonly notifyQueue: WorkQueue<NotifyItem>;
  private stopping = false;
  private readonly expiryWarnings: ExpiryWarnings;
  /** Raised, acknowledged and cleared alarms (docs/operators.md, "Alarms"), kept in the log store. */
  readonly alarms: AlarmBoard;
  private readonly nodeAlarms: NodeAlarms;

  private constructor(
    readonly config: NodeConfig,
    /** The registry, reloadable (SIGHUP, POST /api/v1/registry/reload): `registry` is its current version. */
    readonly live: LiveRegistry,
    readonly store: MessageLog,
    private readonly ids: MessageIds,
    private readonly redis: NodeRedis,
    readonly log: Logger,
    readonly logFile: string,
    private readonly clock: Clock,
    readonly adapters: AdapterHost,
    private readonly verifier: VerificationPool,
    /** Every certificate the node uses or trusts, with days to expiry: `tramite certs`, /health, metrics. */
    readonly certificates: CertificateInventory,
    /** Revocation of inbound signers, replies' signers, the TSA's and adapters' signers; undefined when every policy is off. */
    readonly revocation: RevocationChecker | undefined,
    /** GET /metrics: this node's registry, fed by the hooks below. */
    readonly metrics: NodeMetrics,
    /** Who hands which message to its back office now: one attempt at a time per message, across processes. */
    private readonly claims: HandOverClaims,
  ) {
    this.expiryWarnings = new ExpiryWarnings({ inventory: certificates, log, clock });
    this.limits = xmlLimitsOf(config);
    this.publicUrl = config.node.publicUrl ?? '';
    const registry = live;
    const notifier = new StatusNotifier({
      registry,
      log,
      retry: config.queue.retry,
      timeoutMs: 10_000,
      http: this.backOffice,
      queue: { enqueue: (item) => this.notifyQueue.enqueue(item) },
      failures: metrics.failures,
    });
    const labels: MessageLabels = {
      peerOf: (party) => {
        const current = registry.current();
        return current.hostedParty(party) ? 'local' : (current.peerFor(party)?.name ?? 'unknown');
      },
      dispatchTarget: (party, service) => {
        const adapter = adapters.serving(party, service);
        return adapter ? `adapter:${adapter.id}` : 'back_office';
      },
    };
    const peerOutcomes = new PeerOutcomes(() => clock.now().getTime());
    const common = {
      registry,
      store: new NotifyingStore(new MeasuringStore(store, metrics.delivery, labels, peerOutcomes), notifier),
      ids,
      clock,
      log,
      limits: this.limits,
      verifier,
      ...(this.revocation ? { revocation: this.revocation } : {}),
      clockSkewSeconds: config.node.clockSkewSeconds,
      timestampMaxAgeSeconds: config.node.timestampMaxAgeSeconds,
    };
    // A reply is an envelope: no larger than the envelopes this node accepts.
    // As many connections to a peer as deliveries may run at once: an attempt never waits for a socket.
    this.peers = new PeerClient({
      timeoutMs: 30_000,
      maxAnswerBytes: this.limits.maxBytes,
      connectionsPerPeer: config.queue.concurrency,
      peers: config.peers,
      self: { url: () => this.envelopeUrl, ...(config.node.listen.tls ? { tls: config.node.listen.tls.material } : {}) },
    });
    // REST APIs (docs/rest-apis.md): the gateway, its jti filter in the log store, its exchanges in the log.
    this.restGateway =
      config.restServices.length > 0
        ? new RestGateway({
            config,
            registry,
            peers: this.peers,
            exchanges: metrics.rest.measuring(store),
            replay: { accept: (namespace, jti, until) => store.store.acceptToken(namespace, jti, until, clock.now()) },
            clock,
            log,
            revocation,
          })
        : undefined;
    const selfUrl = (): string => this.envelopeUrl;
    // A hand-over is bounded by backOfficeTimeoutMs (10 s), as the first attempt must be.
    this.immediateDispatch = new FirstAttempt<DispatchItem>({
      log,
      queue: {
        enqueue: (item, delayMs) => this.dispatchQueue.enqueue(item, delayMs),
        reschedule: (item, delayMs) => this.dispatchQueue.reschedule(item, delayMs),
        remove: (key) => this.dispatchQueue.remove(key),
      },
      attempt: (item, n) => this.dispatch.attempt(item, n),
    });
    this.immediate = new FirstAttempt<WorkItem>({
      log,
      queue: {
        enqueue: (item, delayMs) => this.deliveryQueue.enqueue(item, delayMs),
        reschedule: (item, delayMs) => this.deliveryQueue.reschedule(item, delayMs),
        remove: (key) => this.deliveryQueue.remove(key),
      },
      attempt: (item, n, signal) => this.delivery.attempt(item, n, signal),
    });
    // First attempts outside the queue only where this process alone works the log (SQLite): with a log
    // shared by several processes (PostgreSQL) a job in another process could run beside an attempt that
    // outlives its bound, and only the queue's per-job lock keeps a delivery single there.
    const firstAttempts = store.store.kind === 'sqlite';
    this.firstAttempts = firstAttempts;
    const schedule = new DeliverySchedule({
      registry,
      log,
      retry: config.queue.retry,
      deliveries: { enqueue: (data) => this.deliveryQueue.enqueue(data) },
      ...(firstAttempts ? { immediate: this.immediate } : {}),
    });
    this.dispatch = new DispatchWorker({
      ...common,
      backOfficeTimeoutMs: 10_000,
      adapters,
      backOffice: this.backOffice,
      retry: config.queue.retry,
      dispatches: { enqueue: (item) => this.dispatchQueue.enqueue(item) },
      claims,
      ...(firstAttempts ? { immediate: this.immediateDispatch } : {}),
    });
    this.inbound = new Reception({
      ...common,
      porta: config.node.pdd,
      dispatch: this.dispatch,
      ...(store.store.kind === 'postgres' ? { othersMayBeReceivingForMs: OTHERS_MAY_BE_RECEIVING_MS } : {}),
    });
    this.outbound = new Submission({ ...common, selfUrl, schedule });
    this.delivery = new DeliveryWorker({ ...common, selfUrl, schedule, peers: this.peers });
    const queue = <T extends WorkItem>(name: QueueName, handler: Pick<WorkQueueOptions<T>, 'attempt' | 'exhausted'>): WorkQueue<T> =>
      new WorkQueue<T>({
        name,
        connection: redis.connection,
        prefix: `tramite:${config.node.pdd}`,
        concurrency: config.queue.concurrency,
        ...handler,
        available: () => redis.isUp(),
        // An outage is logged once, when it starts (below); not by each of the queues' connections as they retry.
        onError: (err) => {
          if (redis.isUp()) log.error({ code: 'TRAMITE_ERR_QUEUE_UNAVAILABLE', queue: name, err: err.message }, 'queue error');
        },
      });
    this.deliveryQueue = queue<WorkItem>('deliver', {
      // Never beside this process's first attempt of the same message: after it, the log says what is left.
      attempt: async (d, n) => {
        await this.immediate.settled(d.key);
        return this.delivery.attempt(d, n);
      },
      exhausted: (d, n, e) => this.delivery.exhausted(d, n, e),
    });
    this.dispatchQueue = queue<DispatchItem>('dispatch', {
      attempt: async (d, n) => {
        await this.immediateDispatch.settled(d.key);
        return this.dispatch.attempt(d, n);
      },
      exhausted: (d, n, e) => this.dispatch.exhausted(d, n, e),
    });
    this.notifyQueue = queue<NotifyItem>('notify', {
      attempt: (d, n) => notifier.attempt(d, n),
      exhausted: (d, n, e) => notifier.exhausted(d, n, e),
    });
    this.nodeAlarms = new NodeAlarms({
      config,
      messageLog: store,
      certificates,
      deliverQueue: { depth: (t) => this.deliveryQueue.depth(t) },
      peerOutcomes,
      metrics: metrics.alarms,
      clock,
      log,
    });
    this.alarms = this.nodeAlarms.board;
    const now = (): number => clock.now().getTime();
    metrics.attach({
      messages: { messageCounts: () => store.store.messageCounts(), peerOf: labels.peerOf, now },
      queues: {
        queues: [
          { name: 'deliver', depth: (t) => this.deliveryQueue.depth(t) },
          { name: 'dispatch', depth: (t) => this.dispatchQueue.depth(t) },
          { name: 'notify', depth: (t) => this.notifyQueue.depth(t) },
        ],
        now,
      },
      checkpoints: { head: () => store.store.head(), latestCheckpoint: () => store.store.latestCheckpoint(), now },
      certificates: { list: (at) => certificates.list(at), now: () => clock.now() },
      adapters,
      alarms: this.alarms,
    });
  }

  static async open(config: NodeConfig, opts: NodeOptions = {}): Promise<TramiteNode> {
    const clock = opts.clock ?? systemClock;
    keepNodeFilesPrivate(config.node.dataDir);
    const logFile = join(config.node.dataDir, 'tramite.log');
    const streams: pino.StreamEntry[] = [{ stream: pino.destination({ dest: logFile, sync: true, mkdir: true }) }];
    if (opts.logToStdout) streams.push({ stream: process.stdout });
    const log = pino({ level: opts.logLevel ?? 'info', base: { node: config.node.name } }, pino.multistream(streams));
    const registry = new Registry(config);
    // Adapters are loaded (and their options checked) before anything is opened: a bad one stops the
    // start here. Their bus client reaches the node once it exists.
    let self: TramiteNode | undefined;
    const notYet = (): never => {
      throw new TramiteError('TRAMITE_ERR_LIFECYCLE', 'the node is still starting');
    };
    const revocation = revocationCheckerFor(config.trust.revocation, { log, now: () => clock.now() });
    const adapters = await AdapterHost.load(config, {
      log,
      trust: registry.auditTrust(),
      ...(revocation ? { revocation } : {}),
      clock,
      ...(opts.builtinAdapters ? { catalog: opts.builtinAdapters } : {}),
      bus: (party) =>
        busClientFor(
          party,
          () => self?.outbound ?? notYet(),
          () => self?.store ?? notYet(),
        ),
    });
    const certificates = await loadCertificateInventory(config, opts.builtinAdapters ?? {});
    const signerParty = (config.log.signer && registry.hostedParty(config.log.signer)) || config.parties[0]!;
    const configFile = config.configPath;
    const reloadConfig =
      opts.loadConfig ??
      ((): NodeConfig => {
        if (configFile === undefined)
          throw new ConfigError(
            'TRAMITE_ERR_CONFIG_UNREADABLE',
            'the node was started from a configuration object, not a file: there is nothing to reload',
          );
        return loadConfig(configFile);
      });
    const tsa = config.log.tsa;
    const metrics = new NodeMetrics({ node: config.node.name });
    const logStore = await openLogStore(config.log);
    const messageLog = new MessageLog({
      store: logStore,
      node: config.node.pdd,
      clock,
      logger: log,
      observer: metrics.log,
      ...(config.log.retentionDays !== undefined ? { retentionDays: config.log.retentionDays } : {}),
      checkpoints: {
        signer: signerParty.identity,
        everyRecords: config.log.checkpointEveryRecords,
        everySeconds: config.log.checkpointEverySeconds,
        ...(tsa
          ? {
              timestamp: async (statement: Uint8Array) => {
                const token = await requestTimestamp(tsa.url, statement, { timeoutMs: tsa.timeoutMs }).catch((err: unknown) => {
                  metrics.failures.tsaFailed();
                  throw err;
                });
                // The TSA's certificate is known once a token carries it: the inventory watches it too,
                // and a TSA certificate close to expiry is told now, not at the next daily check.
                const tsaCertificate = tsaCertificateOfToken(token);
                if (tsaCertificate) {
                  certificates.observe({ role: 'TSA certificate', source: tsa.url }, tsaCertificate);
                  self?.expiryWarnings.check();
                }
                return token;
              },
            }
          : {}),
      },
    });
    messageLog.start();
    let live: LiveRegistry;
    try {
      live = await LiveRegistry.open(config, {
        load: reloadConfig,
        versionLog: { recordOperatorAction: (a) => messageLog.recordOperatorAction(a), recordsOf: (id) => messageLog.store.recordsOf(id) },
        applied: (next) => self?.followRegistry(next),
        log,
        clock,
      });
    } catch (err) {
      await messageLog.close();
      throw err;
    }
    const ids = messageIdsFor(logStore, config.node.dataDir, config.node.pdd, clock);
    let claims: HandOverClaims;
    try {
      // Several processes may work a PostgreSQL log: their claims are in its database; a SQLite log has one process.
      claims = logStore.kind === 'postgres' ? await SharedHandOverClaims.open(nodeStoreOpener(config)) : new InProcessHandOverClaims();
    } catch (err) {
      ids.release();
      await messageLog.close();
      throw err;
    }
    // The verification workers start while Redis does.
    const verifierStarting = startVerificationPool(config, log, live.current().version);
    verifierStarting.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    let redis: NodeRedis;
    let verifier: VerificationPool;
    try {
      try {
        redis = await openRedis({
          ...(config.queue.redisUrl ? { url: config.queue.redisUrl } : {}),
          dataDir: config.node.dataDir,
          log,
          // Installing software is a development convenience: a production node says what to install.
          installRedis: config.node.development || config.node.installPackages,
        });
      } catch (err) {
        await verifierStarting.then(
          (pool) => pool.close(),
          () => undefined,
        );
        throw err;
      }
      try {
        verifier = await verifierStarting;
      } catch (err) {
        await redis.close(Deadline.in(config.node.shutdown.timeoutSeconds * 1000));
        throw err;
      }
    } catch (err) {
      ids.release();
      await claims.close();
      await messageLog.close();
      throw err;
    }
    log.info({ redis: redis.where }, 'delivery queue connected');
    if (logStore.kind === 'postgres' && !config.queue.redisUrl)
      // Processes on one host share the data dir's Redis; on several hosts each would have its own queues.
      log.warn(
        { dataDir: config.node.dataDir },
        "log.store is postgres but queue.redisUrl is not set: this process's queues are in the data dir's own Redis, shared only by processes on this host with this data dir — set queue.redisUrl to one Redis for every host",
      );
    const node = new TramiteNode(
      config,
      live,
      messageLog,
      ids,
      redis,
      log,
      logFile,
      clock,
      adapters,
      verifier,
      certificates,
      revocation,
      metrics,
      claims,
    );
    self = node;
    node.expiryWarnings.start();
    node.restGateway?.pdnd?.start();
    try {
      await adapters.start();
    } catch (err) {
      await node.stop();
      throw err;
    }
    await node.reconcile();
    // A Redis back from an outage may have lost what it had not yet written (its append-only file is
    // fsynced every second) and refused the work accepted meanwhile: the log says what to schedule.
    redis.onDown((reason) =>
      log.error(
        { code: 'TRAMITE_ERR_QUEUE_UNAVAILABLE', redis: redis.where, reason },
        "the delivery queue's Redis is down; messages are still accepted into the log, and scheduled when it answers again",
      ),
    );
    redis.onRecovered(() => {
      if (node.stopping) return;
      log.info({ redis: redis.where }, 'the delivery queue answers again; reconciling the log with the queues');
      void node.reconcile({ periodic: true });
    });
    node.reconcileTimer = setInterval(() => void node.reconcile({ periodic: true }), config.queue.reconcileEverySeconds * 1000);
    node.reconcileTimer.unref();
    node.nodeAlarms.start();
    return node;
  }

  /** The registry's current version: what a request that starts now runs under. */
  get registry(): Registry {
    return this.live.current();
  }

  /** The running registry version (number, digest, when, by whom). */
  get registryVersion(): RegistryVersion {
    return this.live.version;
  }

  /**
   * Reads the configuration file again and applies it without a restart (SIGHUP, POST
   * /api/v1/registry/reload); refused with every problem, the running registry kept, when it is
   * invalid or changes what needs a restart (docs/operators.md, "Reloading the registry").
   */
  reloadRegistry(by: StaffMember): Promise<ReloadOutcome> {
    return this.live.reload(by);
  }

  /** What follows a reloaded registry besides the stages: the verification workers, the peers' TLS, the adapters' services. */
  private followRegistry(next: Registry): void {
    this.verifier.reload(next.version, configForWorker(next.config));
    this.peers.setPeers(next.config.peers);
    this.adapters.rebind(next.config);
  }

  private get tsaTrust(): string[] {
    const caFile = this.config.log.tsa?.caFile;
    return caFile ? [readFileSync(caFile, 'utf8')] : [];
  }

  /**
   * Read-only access for auditors, re-verifying with every anchor the node trusts. Each verification's
   * outcome reaches the alarm board (log-verification-failed), named after `verifiedBy`.
   */
  auditor(verifiedBy = 'auditor API'): LogAuditor {
    return new LogAuditor(this.store.store, this.config.node.pdd, this.registry.auditTrust(), this.tsaTrust, this.revocation, (report) =>
      this.nodeAlarms
        .verified({
          ok: report.ok,
          issues: report.issues.length,
          ...(report.firstBad ? { firstBadSeq: report.firstBad.seq, firstReason: report.firstBad.reason } : {}),
          by: verifiedBy,
        })
        .catch((err: unknown) =>
          this.log.error({ err: (err as Error).message }, "a log verification's outcome could not reach the alarm board"),
        ),
    );
  }

  private reconcileTimer: NodeJS.Timeout | undefined;
  /** Whether first attempts are made outside the queue (SQLite log: one process), which periodic reconciliation must not race. */
  private readonly firstAttempts: boolean;

  /**
   * Compares the log with the queues: every accepted-but-undelivered and received-but-undispatched
   * message is scheduled (again). Job ids make this idempotent, so it runs at start-up and then
   * periodically — a Redis that lost jobs (restarted without its file, failed over) loses no message.
   *
   * Messages changed lately are left out, being someone's work still: on a SQLite log, in periodic runs,
   * those within the first attempts' safety-net delay (they have their first attempt or its job; start-up
   * takes all, no attempt of this process runs yet); on a log shared by several processes, inbound
   * messages within the time another process may still be receiving one — its riscontro not yet kept, a
   * sincrono request's back office still answering inline, where a job queued now would hand it over
   * beside it. Outbound ones are not held back there: a delivery made twice is answered by the peer's
   * duplicate filter, and one whose job was never queued (its process killed) goes at the next run.
   */
  async reconcile({ periodic = false }: { readonly periodic?: boolean } = {}): Promise<void> {
    // Nothing can be scheduled now; it runs again as soon as Redis answers.
    if (!this.redis.isUp()) return;
    const ownFirstAttempts = this.firstAttempts && periodic ? SAFETY_NET_DELAY_MS : 0;
    try {
      await this.delivery.reconcile({ unchangedForMs: ownFirstAttempts });
      await this.dispatch.reconcile({ unchangedForMs: this.firstAttempts ? ownFirstAttempts : OTHERS_MAY_BE_RECEIVING_MS });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'reconciliation of the log with the queues failed; it will run again');
    }
  }

  /** Where peers (and the node itself, for local parties) post envelopes. */
  get envelopeUrl(): string {
    return this.publicUrl;
  }

  /** Set once the HTTP server knows its address, unless the configuration fixed publicUrl. */
  bindAddress(baseUrl: string): void {
    if (!this.config.node.publicUrl) this.publicUrl = `${baseUrl}/tramite/envelope`;
  }

  /** Every dependency's state, for GET /health/ready. */
  async readiness(): Promise<Readiness> {
    const [health, adapters] = await Promise.all([this.health(), this.adapters.health()]);
    return readiness(health, this.stopping, adapters, { configured: this.config.log.tsa !== undefined, status: this.store.tsaStatus() });
  }

  /** What the node can do now, for GET /health. */
  health(): Promise<NodeHealth> {
    return nodeHealth({
      redis: this.redis,
      store: this.store,
      stopping: this.stopping,
      certificates: this.certificates,
      now: this.clock.now(),
      ...(this.revocation ? { revocation: this.revocation } : {}),
    });
  }

  /**
   * The first step of a stop (SIGTERM): from now on GET /health/ready (and /health) answer 503, so a load
   * balancer takes this process out, while it still serves what it is sent; liveness is unchanged.
   */
  beginStopping(): void {
    if (!this.stopping) this.log.info('stopping: readiness now answers 503');
    this.stopping = true;
  }

  /**
   * Stops in reverse order of start — the queues (letting attempts in flight finish), the adapters,
   * the log (after a last checkpoint), Redis — within `deadline` (node.shutdown.timeoutSeconds by
   * default) whatever state Redis is in: a step that runs out of time is cut short, what was cut is
   * handed back to the queue (and logged), and the log makes good what it did not finish.
   */
  async stop(deadline: Deadline = Deadline.in(this.config.node.shutdown.timeoutSeconds * 1000)): Promise<void> {
    this.beginStopping();
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.expiryWarnings.stop();
    // Before the log closes: a round in flight writes to it; notifications in flight get their bound.
    if (!(await settlesWithin(this.nodeAlarms.stop(), deadline.capped(2000)))) this.log.warn('alarm notifications did not finish in time');
    // Kept back for the log and the node's own Redis, which flushes its append-only file on the way out.
    const queues = deadline.earlier(Math.min(3000, deadline.remainingMs() / 4));
    // Hand-overs in flight finish before the adapters that take them stop; deliveries meanwhile.
    // First attempts end before the deliver queue closes: they move their jobs when they end.
    const [dispatch, deliver] = await Promise.all([
      this.immediateDispatch.stop(queues).then(async (firstAttempts) => ({ firstAttempts, jobs: await this.dispatchQueue.close(queues) })),
      this.immediate.stop(queues).then(async (firstAttempts) => ({ firstAttempts, jobs: await this.deliveryQueue.close(queues) })),
    ]);
    if (!(await settlesWithin(this.adapters.stop(), queues.remainingMs()))) this.log.warn('adapters did not stop in time');
    // Last of the queues: the attempts above report their changes of state through it.
    const notify = await this.notifyQueue.close(queues);
    // No attempt is in flight any more: the connections to peers and back offices can go.
    if (
      !(await settlesWithin(Promise.all([this.peers.close(), this.backOffice.close(), this.restGateway?.close()]), deadline.capped(1000)))
    )
      this.log.warn('HTTP connections did not close in time');
    if (!(await settlesWithin(this.claims.close(), deadline.capped(1000)))) this.log.warn('the hand-over claims did not close in time');
    // The tail of the chain is sealed before the store closes: an auditor sees the log as this process left it.
    const lastCheckpoint = await this.lastCheckpoint(deadline.capped(2000));
    if (!(await settlesWithin(this.store.close(), deadline.capped(2000)))) this.log.warn('the message log did not close in time');
    await this.redis.close(deadline);
    if (!(await settlesWithin(this.verifier.close(), deadline.capped(2000))))
      this.log.warn('the verification workers did not stop in time');
    this.ids.release();
    const handedBack = {
      deliverFirstAttempts: deliver.firstAttempts,
      deliverJobs: deliver.jobs,
      dispatchFirstAttempts: dispatch.firstAttempts,
      dispatchJobs: dispatch.jobs,
      notifyJobs: notify,
    };
    const cut = Object.values(handedBack).reduce((a, b) => a + b, 0);
    this.log.info(
      { handedBack, lastCheckpoint },
      cut === 0
        ? 'node stopped: nothing in flight was cut short'
        : `node stopped: ${cut} attempt(s) cut short and handed back to the queue (taken up again by any process; the log has every message)`,
    );
    this.log.flush();
  }

  /** The seq of the checkpoint that seals the head (made now if the head moved), `null` for an empty log, or `'failed'` (logged). */
  private async lastCheckpoint(withinMs: number): Promise<number | null | 'failed'> {
    let outcome: number | null | 'failed' = 'failed';
    const made = this.store.checkpointNow().then(
      (cp) => (outcome = cp ? cp.seq : null),
      (err: unknown) => this.log.error({ err: (err as Error).message }, 'the last checkpoint failed'),
    );
    if (!(await settlesWithin(made, withinMs))) this.log.warn('the last checkpoint did not finish in time');
    return outcome;
  }
}

/** The configured limits (node.limits), as the hardened parser takes them. */
export function xmlLimitsOf(config: NodeConfig): XmlLimits {
  const { maxEnvelopeBytes, ...shape } = config.node.limits;
  return { maxBytes: maxEnvelopeBytes, ...shape };
}

/** The worker threads that parse and verify envelopes, configured by node.verification and node.limits. */
function startVerificationPool(config: NodeConfig, log: Logger, registryVersion: number): Promise<VerificationPool> {
  return VerificationPool.start({
    ...(config.node.verification.workers !== undefined ? { workers: config.node.verification.workers } : {}),
    queue: config.node.verification.queue,
    setup: {
      config: configForWorker(config),
      registryVersion,
      limits: xmlLimitsOf(config),
      maxAgeSeconds: config.node.timestampMaxAgeSeconds,
      skewSeconds: config.node.clockSkewSeconds,
    },
    log,
  });
}
