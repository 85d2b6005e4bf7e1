/**
 * A SIATEL simulator: the Agenzia delle Entrate's side, as an adapter on the node hosting the Agenzia's
 * party (SPC/AgenziaEntrate), serving the sincrono service InterrogazioneSIATEL. For tests and the demo.
 *
 * Each sincrono message is validated against the XSD, read, counted against SIATEL's limits for its
 * operator, and answered from a small deterministic registry (siatel-simulated-registry.ts). An operator
 * over the limits gets ErroreInterrogazione OPERATORE_BLOCCATO — the client's own quota exists so that
 * this never happens, and the counters (`counters`, and `health`) let a test or the demo show it did
 * not. A request that is not a valid SIATEL document gets RICHIESTA_NON_VALIDA and is not counted (it
 * names no operator one could trust).
 */
import {
  AdapterError,
  defineAdapter,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterHealth,
  type AdapterInstance,
  type BusMessage,
  type EgressOutcome,
} from '../sdk/index.js';
import { SiatelAlarms, type OperatorCounters } from './siatel-alarms.js';
import { clockAnchorSchema, fastClock } from './siatel-clock.js';
import { SIATEL_LIMITS, type SiatelLimits } from './siatel-quota.js';
import {
  SiatelXmlError,
  readSiatelRequest,
  validateSiatelSchema,
  writeSiatelAnswer,
  type SiatelAnswer,
  type SiatelRequest,
} from './siatel-mapping.js';
import { SimulatedRegistry } from './siatel-simulated-registry.js';

export interface SiatelSimulatorOptions {
  /** The simulated population (default: 1,000 generated people after the named ones, seed 1). */
  readonly registry?: { readonly generatedPeople?: number; readonly seed?: number };
  /** Validate every request against the XSD (default true; a warm validator, well under a millisecond a document). */
  readonly validateSchema?: boolean;
  /** Demo only: count the limits on a clock this many times faster (the same factor as the client's). */
  readonly clockFactor?: number;
  /** Demo and tests: where the fast clock starts (an ISO instant, the client adapter's). Only with clockFactor. */
  readonly clockAnchor?: string;
  /**
   * Tests only: SIATEL's limits, lowered (never above 60 a minute, 500 codes a day) so that a client
   * configured with the same limits presses against them under a light load.
   */
  readonly limits?: Partial<Pick<SiatelLimits, 'queriesPerMinute' | 'codesPerDay'>>;
}

export const siatelSimulatorOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    registry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The simulated population: the named people of siatel-simulated-registry.ts, then generated ones.',
      properties: {
        generatedPeople: { type: 'integer', minimum: 0, maximum: 100_000, default: 1000, description: 'How many people to generate.' },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 1, description: 'Seed of the generator.' },
      },
    },
    validateSchema: {
      type: 'boolean',
      default: true,
      description: 'Validate each request against schemas/siatel/siatel-interrogazione.xsd.',
    },
    clockFactor: {
      type: 'number',
      minimum: 1,
      maximum: 100_000,
      description: "Demo only: run the limits' clock this many times faster; use the client adapter's factor.",
    },
    clockAnchor: clockAnchorSchema("Use the client adapter's anchor."),
    limits: {
      type: 'object',
      additionalProperties: false,
      description:
        "Tests only: SIATEL's limits lowered (never above its 60 queries a minute and 500 codici fiscali a day), to match a client configured as low.",
      properties: {
        queriesPerMinute: { type: 'integer', minimum: 1, maximum: SIATEL_LIMITS.queriesPerMinute },
        codesPerDay: { type: 'integer', minimum: 1, maximum: SIATEL_LIMITS.codesPerDay },
      },
    },
  },
  // An anchor without a factor would be silently ignored.
  dependencies: { clockAnchor: ['clockFactor'] },
} as const;

const MAX_DESCRIPTION = 500;

/** What tests inject: the clock the limits are counted by (default: the node's clock, or the fast one). */
export interface SiatelSimulatorDeps {
  readonly now?: () => Date;
}

export function siatelSimulatorAdapter(deps: SiatelSimulatorDeps = {}): AdapterDefinition<SiatelSimulatorOptions> {
  return defineAdapter<SiatelSimulatorOptions>({
    id: 'siatel-simulator',
    version: '1.0.0',
    busApi: '^1',
    description:
      "SIATEL simulator (Agenzia delle Entrate side): answers InterrogazioneSIATEL queries from a deterministic registry and blocks operators over SIATEL's limits",
    optionsSchema: siatelSimulatorOptionsSchema,
    services: ['InterrogazioneSIATEL'],
    setup: (ctx) => new SiatelSimulator(ctx, deps),
  });
}

export default siatelSimulatorAdapter();

export class SiatelSimulator implements AdapterInstance {
  readonly registry: SimulatedRegistry;
  private readonly alarms: SiatelAlarms;
  private readonly now: () => Date;
  private started = false;

  constructor(
    private readonly ctx: AdapterContext<SiatelSimulatorOptions>,
    deps: SiatelSimulatorDeps,
  ) {
    const o = ctx.options;
    this.registry = new SimulatedRegistry({ generatedPeople: o.registry?.generatedPeople ?? 1000, seed: o.registry?.seed ?? 1 });
    this.now =
      deps.now ?? fastClock(o.clockFactor ?? 1, () => ctx.clock.now(), o.clockAnchor !== undefined ? new Date(o.clockAnchor) : undefined);
    this.alarms = new SiatelAlarms(
      {
        queriesPerMinute: o.limits?.queriesPerMinute ?? SIATEL_LIMITS.queriesPerMinute,
        codesPerDay: o.limits?.codesPerDay ?? SIATEL_LIMITS.codesPerDay,
      },
      this.now,
    );
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
  }

  async health(): Promise<AdapterHealth> {
    if (!this.started) return { status: 'down', detail: 'not started' };
    const counters = this.alarms.operators().map((op) => this.alarms.counters(op));
    const blocks = counters.reduce((n, c) => n + c.blocchi.length, 0);
    const perOperator = counters.map(
      (c) =>
        `${c.operatore} interrogazioni=${c.interrogazioni} max_minuto=${c.massimoInUnMinuto} max_giorno=${Math.max(0, ...Object.values(c.codiciPerGiorno))} blocchi=${c.blocchi.length}`,
    );
    return { status: 'up', detail: [`persone=${this.registry.size} blocchi=${blocks}`, ...perOperator].join('; ') };
  }

  /** What the simulator counted for an operator (what SIATEL's alarms would see). */
  counters(operatore: string): OperatorCounters {
    return this.alarms.counters(operatore);
  }

  operators(): string[] {
    return this.alarms.operators();
  }

  async egress(message: BusMessage, signal: AbortSignal): Promise<EgressOutcome> {
    if (!this.started) throw AdapterError.unavailable('the SIATEL simulator is not started');
    if (message.profile !== 'sincrono')
      throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `SIATEL queries are sincrono; ${message.id} is ${message.profile}`);
    return { kind: 'reply', payload: writeSiatelAnswer(await this.answer(message, signal)) };
  }

  private async answer(message: BusMessage, signal: AbortSignal): Promise<SiatelAnswer> {
    if (this.ctx.options.validateSchema ?? true) {
      const validation = await validateSiatelSchema(message.payload);
      if (!validation.valid) return invalidRequest(validation.errors.join('; '));
    }
    // The node stopped waiting (its hand-over timeout): no answer is due, and the query is not counted.
    if (signal.aborted) throw AdapterError.unavailable(`the node gave up on ${message.id} before it was answered`);
    let request: SiatelRequest;
    try {
      request = readSiatelRequest(message.payload);
    } catch (err) {
      if (err instanceof SiatelXmlError) return invalidRequest(err.message);
      throw err;
    }
    const block = this.alarms.record(request.operatore, 1);
    if (block) {
      this.ctx.log.warn(
        { id: message.id, operatore: request.operatore, until: block.until.toISOString() },
        `SIATEL simulator: operator blocked, ${block.reason}`,
      );
      return {
        errore: {
          codice: 'OPERATORE_BLOCCATO',
          descrizione: clip(`Operatore bloccato: ${block.reason}`),
          operatore: request.operatore,
          bloccatoFinoA: block.until.toISOString(),
        },
      };
    }
    // The real date, not the (possibly fast) limits clock: it only settles the century of birth years.
    return this.registry.answer(request, this.ctx.clock.now());
  }
}

function invalidRequest(why: string): SiatelAnswer {
  return { errore: { codice: 'RICHIESTA_NON_VALIDA', descrizione: clip(`Richiesta non valida: ${why}`) } };
}

function clip(text: string): string {
  return [...text].length <= MAX_DESCRIPTION ? text : `${[...text].slice(0, MAX_DESCRIPTION - 1).join('')}…`;
}
