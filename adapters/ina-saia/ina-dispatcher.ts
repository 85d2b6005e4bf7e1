/**
 * Sends the queued events to INA, one bus message per attempt, keeping each person's order: a person's
 * next event goes only once the one before has an outcome (INA accepted or rejected it, or it FAILED
 * for good). A transport failure is retried later, with the event still at the head of its person's
 * line, so nothing overtakes it; other people's events go on meanwhile, up to `maxParallel` at once.
 *
 * Several node processes sharing the adapter's store each run a dispatcher on the one queue: an event
 * is sent only by the dispatcher that claimed it as its person's head (InaEventQueue.claim), so a
 * person's events are never sent two at once nor out of order, whichever process takes them. A claim
 * lasts the attempt's longest wait and a margin; a process that dies leaves it to run out.
 *
 * INA answers a repeated IdComunicazione with the esito it gave the first time, so sending an event
 * again after a crash or a lost answer cannot apply it twice.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TramiteError } from '../../src/core/errors.js';
import { BackgroundWorker, type AdapterLogger, type BusClient, type MessageState, type PassOutcome } from '../sdk/index.js';
import type { EventRecord, InaEventQueue } from './ina-event-queue.js';
import { buildComunicazioneXml, readEsitoXml, validateInaSchema, type EsitoIna } from './ina-mapping.js';
import { sealComunicazione, type InaSealer } from './ina-seal.js';
import type { InaSaiaOptions } from './ina-saia-options.js';

/**
 * Bus failures that say nothing about the content: the INA node could not be reached, or not in time.
 * Any other FAILED (no route, the envelope or the message refused) would fail again the same way.
 */
const TRANSPORT_FAILURES: ReadonlySet<string> = new Set([
  'TRAMITE_ERR_PEER_UNREACHABLE',
  'TRAMITE_ERR_RETRIES_EXHAUSTED',
  'TRAMITE_ERR_EXPIRED',
  'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
  'TRAMITE_ERR_QUEUE_UNAVAILABLE',
  'TRAMITE_ERR_LOG_UNAVAILABLE',
]);

/** How long a claim outlasts the attempt's wait on the bus (sealing, asking the bus about an earlier message). */
const CLAIM_MARGIN_MS = 60_000;

export interface DispatcherDeps {
  readonly queue: InaEventQueue;
  readonly bus: BusClient;
  readonly sealer: InaSealer;
  readonly options: Pick<InaSaiaOptions, 'comune' | 'ina' | 'timeoutMs' | 'retry' | 'maxParallel'>;
  readonly log: AdapterLogger;
  readonly clock: { now(): Date };
  /** Called once an event has its final state (ACCEPTED, REJECTED or FAILED). */
  readonly onSettled: (record: EventRecord) => void;
}

export class InaDispatcher {
  /** This dispatcher's name on its claims: host, pid and a random part (a restarted process is another). */
  private readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** Codici fiscali with an event being handled right now by this dispatcher. */
  private readonly busy = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private running = false;
  /** Looks for work: when woken, and when the earliest retry that is waiting comes due. */
  private readonly pumper: BackgroundWorker;

  constructor(private readonly deps: DispatcherDeps) {
    this.pumper = new BackgroundWorker({ name: 'ina-saia: dispatching events', log: deps.log, pass: async () => this.pump() });
  }

  start(): void {
    this.running = true;
    this.pumper.start();
  }

  /**
   * Stops taking events; what is in flight is left to finish (or not): it records nothing once stopped,
   * and resumes from the queue at the next start, or in another process at once (the claims are released).
   */
  async stop(graceMs = 1000): Promise<void> {
    this.running = false;
    await this.pumper.stop(graceMs);
    if (this.tasks.size > 0) {
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.tasks]), new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)))]);
      clearTimeout(grace);
    }
    await this.deps.queue.releaseClaims(this.holder).catch((err: unknown) => {
      this.deps.log.warn({ err: (err as Error).message }, 'ina-saia: claims not released; they run out by themselves');
    });
  }

  /** Something changed (an event queued, one settled): look for work. */
  wake(): void {
    this.pumper.wake();
  }

  /** Starts what is due (up to maxParallel, one per person); asks to run again when the earliest retry is due. */
  private async pump(): Promise<PassOutcome> {
    if (!this.running) return 'idle';
    const { queue, options, log } = this.deps;
    try {
      for (const candidate of await queue.dueHeads(this.busy, options.maxParallel - this.busy.size, this.holder)) {
        if (!this.running) return 'idle';
        const person = candidate.event.soggetto.codiceFiscale;
        if (this.busy.has(person)) continue;
        this.busy.add(person);
        let record: EventRecord | undefined;
        try {
          record = await queue.claim(candidate, this.holder, this.deps.clock.now().getTime() + options.timeoutMs + CLAIM_MARGIN_MS);
        } finally {
          if (!record) this.busy.delete(person);
        }
        // Another process sends it, or has moved the person's line on: nothing to do here.
        if (!record) continue;
        const claimed = record;
        const task = this.handle(claimed)
          .catch(async (err: unknown) => {
            // A bug or a closed database: the event stays pending and is tried again.
            log.error({ id: claimed.id, err: (err as Error).message }, 'ina-saia: handling an event failed');
            if (this.running)
              await this.tryRetryLater(claimed, { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE', message: (err as Error).message });
          })
          .finally(() => {
            this.busy.delete(person);
            this.tasks.delete(task);
            this.wake();
          });
        this.tasks.add(task);
      }
      const next = await queue.nextDueAt(this.holder);
      return next === undefined ? 'idle' : { retryInMs: Math.max(0, Date.parse(next) - this.deps.clock.now().getTime()) };
    } catch (err) {
      log.error({ err: (err as Error).message }, 'ina-saia: reading the queue failed');
      return 'idle';
    }
  }

  private async handle(record: EventRecord): Promise<void> {
    const { bus, queue, options } = this.deps;
    // An earlier attempt whose message may still be on its way (the wait timed out, or we restarted):
    // ask the bus before sending anything new.
    if (record.messageId !== undefined) {
      const state = await bus.state(record.messageId, 'out');
      if (!this.running) return;
      if (state) return this.settle(record, state);
    }
    let xml: string;
    try {
      xml = record.comunicazioneXml ?? (await this.sealedComunicazione(record));
    } catch (err) {
      // Sealing or the schema refused what the edge accepted: trying again would fail the same way.
      if (!this.running) return;
      this.deps.log.error({ id: record.id, kind: record.kind, err: (err as Error).message }, 'ina-saia: cannot build the Comunicazione');
      return this.finish(
        await queue.recordFailure(record.id, {
          code: err instanceof TramiteError ? err.code : 'TRAMITE_ERR_ADAPTER_REFUSED',
          message: (err as Error).message,
        }),
      );
    }
    const attempt = await queue.startAttempt(record.id, xml);
    let state: MessageState;
    try {
      state = await bus.sendAndWait(
        {
          to: options.ina.party,
          service: options.ina.service,
          ...(options.ina.action ? { action: options.ina.action } : {}),
          payload: xml,
        },
        { timeoutMs: options.timeoutMs },
      );
    } catch (err) {
      if (!this.running) return;
      // The bus refusing the message outright (no route, not allowed) is as final as a FAILED state;
      // anything else thrown (the node busy or stopping) is worth another attempt.
      const error = { code: err instanceof TramiteError ? err.code : 'TRAMITE_ERR_ADAPTER_UNAVAILABLE', message: (err as Error).message };
      if (err instanceof TramiteError && !TRANSPORT_FAILURES.has(err.code)) return this.finish(await queue.recordFailure(record.id, error));
      return this.tryRetryLater(attempt, error);
    }
    if (!this.running) return;
    await queue.recordMessage(record.id, state.id);
    return this.settle({ ...attempt, messageId: state.id }, state);
  }

  /** Built and sealed at the first attempt, then stored: retries carry the very same document. */
  private async sealedComunicazione(record: EventRecord): Promise<string> {
    const { options, sealer, clock } = this.deps;
    const now = clock.now();
    const xml = await sealComunicazione(
      buildComunicazioneXml({
        idComunicazione: record.id,
        codiceComune: options.comune.codice,
        dataOraComunicazione: now.toISOString(),
        evento: record.event,
      }),
      sealer,
      now,
    );
    const valid = await validateInaSchema(xml);
    // The event passed the edge checks, so this is a bug in the mapping: say so rather than send it.
    if (!valid.valid)
      throw new TramiteError(
        'TRAMITE_ERR_BAD_REQUEST',
        `the Comunicazione for ${record.id} does not match the schema: ${valid.errors.join('; ')}`,
      );
    return xml;
  }

  private async settle(record: EventRecord, state: MessageState): Promise<void> {
    const { queue, log } = this.deps;
    if (state.status === 'DELIVERED') {
      const esito = await this.readEsito(record, state.reply);
      if (!this.running) return;
      if ('error' in esito) return this.finish(await queue.recordFailure(record.id, esito.error));
      log.info(
        {
          id: record.id,
          kind: record.kind,
          messageId: state.id,
          stato: esito.stato,
          ...(esito.stato === 'RESPINTA' ? { errori: esito.errori.map((e) => e.codice) } : { idOperazioneIna: esito.idOperazioneIna }),
        },
        'ina-saia: esito from INA',
      );
      return this.finish(await queue.recordEsito(record.id, esito));
    }
    if (state.status === 'FAILED') {
      const error = state.error ?? { code: 'TRAMITE_ERR_PEER_UNREACHABLE', message: 'the bus gave no reason' };
      if (TRANSPORT_FAILURES.has(error.code)) return this.tryRetryLater(record, error);
      log.warn({ id: record.id, kind: record.kind, messageId: state.id, code: error.code }, 'ina-saia: event failed for good');
      return this.finish(await queue.recordFailure(record.id, error));
    }
    // Still on its way when the wait ended: look at the same message again later.
    return this.tryRetryLater(record, undefined, true);
  }

  private async readEsito(
    record: EventRecord,
    reply: string | undefined,
  ): Promise<EsitoIna | { error: { code: string; message: string } }> {
    const invalid = (message: string) => ({ error: { code: 'TRAMITE_ERR_RECEIPT_INVALID', message } });
    if (reply === undefined) return invalid(`INA gave no esito: is ${this.deps.options.ina.service} a sincrono service?`);
    try {
      const valid = await validateInaSchema(reply);
      if (!valid.valid) return invalid(`the esito does not match the schema: ${valid.errors.join('; ')}`);
      const esito = readEsitoXml(reply);
      if (esito.idComunicazione !== record.id) return invalid(`the esito is for ${esito.idComunicazione}, not ${record.id}`);
      return esito;
    } catch (err) {
      return invalid(`the esito cannot be read: ${(err as Error).message}`);
    }
  }

  private finish(record: EventRecord): void {
    this.deps.onSettled(record);
  }

  private async tryRetryLater(
    record: EventRecord,
    error: { code: string; message: string } | undefined,
    keepMessage = false,
  ): Promise<void> {
    const { queue, options, log, clock } = this.deps;
    const attempts = Math.max(1, record.attempts);
    const delay = Math.min(options.retry.delayMs * 2 ** Math.min(attempts - 1, 30), options.retry.maxDelayMs);
    try {
      await queue.retryLater(record.id, new Date(clock.now().getTime() + delay), error, keepMessage);
    } catch (err) {
      log.error({ id: record.id, err: (err as Error).message }, 'ina-saia: cannot record the retry');
      return;
    }
    if (error)
      log.warn(
        { id: record.id, kind: record.kind, attempts: record.attempts, code: error.code, retryInMs: delay },
        'ina-saia: attempt failed, will retry',
      );
  }
}
