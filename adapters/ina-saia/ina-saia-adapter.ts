import { randomUUID } from 'node:crypto';
import {
  AdapterError,
  defineAdapter,
  type AdapterHttpServer,
  type AdapterContext,
  type AdapterHealth,
  type AdapterInstance,
  type EgressOutcome,
} from '../sdk/index.js';
import { InaDispatcher } from './ina-dispatcher.js';
import { InaEventQueue, type EventRecord } from './ina-event-queue.js';
import { InaOutcomeNotifier } from './ina-outcome-notifier.js';
import { inaSaiaHttpApi, type InaSaiaApiBackend } from './ina-saia-http-api.js';
import { inaSaiaOptionsSchema, type InaSaiaOptions } from './ina-saia-options.js';
import { parseRegistryEvent } from './registry-event.js';

export type { InaSaiaOptions } from './ina-saia-options.js';

/**
 * INA-SAIA for a Comune: its registry software posts registry events (iscrizione, cancellazione,
 * mutazione, rettifica); each is checked at the edge, queued, sealed and sent as one INA-SAIA
 * Comunicazione on the INA party's sincrono service, and INA's esito (accepted, or rejected with
 * errors) is kept for the registry software and POSTed to the back office. A person's events reach INA
 * in the order they were posted. It serves no service of its own: it only sends.
 */
export default defineAdapter<InaSaiaOptions>({
  id: 'ina-saia',
  version: '1.0.0',
  busApi: '^1',
  description:
    "INA-SAIA registry events of a Comune towards INA: edge-validated, sealed, ordered per person, with INA's esito returned to the Comune",
  optionsSchema: inaSaiaOptionsSchema,
  services: [],
  setup: (ctx) => new InaSaiaAdapter(ctx),
});

export class InaSaiaAdapter implements AdapterInstance, InaSaiaApiBackend {
  private queue: InaEventQueue | undefined;
  private dispatcher: InaDispatcher | undefined;
  private notifier: InaOutcomeNotifier | undefined;
  private api: AdapterHttpServer | undefined;

  constructor(private readonly ctx: AdapterContext<InaSaiaOptions>) {}

  async start(): Promise<void> {
    if (this.queue) return;
    const { ctx } = this;
    const queue = await InaEventQueue.open(ctx.openStore, ctx.clock);
    const backOffice = ctx.options.backOffice;
    const notifier = backOffice ? new InaOutcomeNotifier(queue, backOffice.url, ctx.log, ctx.options.retry.delayMs) : undefined;
    const dispatcher = new InaDispatcher({
      queue,
      bus: ctx.bus,
      sealer: ctx.identity,
      options: ctx.options,
      log: ctx.log,
      clock: ctx.clock,
      onSettled: () => notifier?.notify(),
    });
    try {
      const listen = ctx.options.listen;
      if (listen) {
        const api = inaSaiaHttpApi(this, ctx.log, listen.apiTokens ?? []);
        await api.listen(listen.host, listen.port);
        this.api = api;
        ctx.log.info({ url: api.address }, 'ina-saia: registry API listening');
      }
    } catch (err) {
      await queue.close();
      throw err;
    }
    this.queue = queue;
    this.dispatcher = dispatcher;
    this.notifier = notifier;
    const pending = await queue.resumePending();
    if (pending > 0) ctx.log.info({ pending }, 'ina-saia: resuming queued events');
    dispatcher.start();
    notifier?.start();
  }

  async stop(): Promise<void> {
    const { queue, dispatcher, notifier, api } = this;
    this.queue = this.dispatcher = this.notifier = this.api = undefined;
    await api?.close();
    await dispatcher?.stop();
    await notifier?.stop();
    await queue?.close();
  }

  async health(): Promise<AdapterHealth> {
    if (!this.queue) return { status: 'down', detail: 'not started' };
    const pending = await this.queue.countPending();
    return { status: 'up', detail: [this.api?.address, `${pending} event(s) pending`].filter((x) => x !== undefined).join(' ') };
  }

  /** Where the registry API listens, once started (for tests and the demo). */
  get apiAddress(): string | undefined {
    return this.api?.address;
  }

  /** Validates and queues a registry event (the API's POST; also for in-process callers). */
  async submit(body: unknown): Promise<{ record: EventRecord; created: boolean }> {
    const queue = this.started();
    const event = parseRegistryEvent(body, { today: this.ctx.clock.now(), comune: this.ctx.options.comune.codice });
    const result = await queue.enqueue(`ev-${randomUUID()}`, event);
    if (result.created) {
      // Ids and kinds only: the log is no place for people's data.
      this.ctx.log.info({ id: result.record.id, kind: result.record.kind }, 'ina-saia: event queued');
      this.dispatcher?.wake();
    }
    return result;
  }

  get(id: string): Promise<EventRecord | undefined> {
    return this.started().get(id);
  }

  byPerson(codiceFiscale: string): Promise<EventRecord[]> {
    return this.started().byPerson(codiceFiscale);
  }

  /** The Comune side serves no service: whatever the configuration routes here is refused for good. */
  async egress(): Promise<EgressOutcome> {
    throw AdapterError.refused(
      'TRAMITE_ERR_ADAPTER_REFUSED',
      'the ina-saia adapter only sends: it serves no service (route INA services to the ina-simulator or a back office)',
    );
  }

  private started(): InaEventQueue {
    if (!this.queue) throw AdapterError.unavailable('the ina-saia adapter is not started');
    return this.queue;
  }
}
