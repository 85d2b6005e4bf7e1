import {
  AdapterError,
  defineAdapter,
  type AdapterContext,
  type AdapterHealth,
  type AdapterInstance,
  type BusMessage,
  type EgressOutcome,
} from '../sdk/index.js';
import { INA_ERRORS, InaIndex, decide, type Decision } from './ina-index.js';
import {
  buildEsitoXml,
  peekIdComunicazione,
  readComunicazioneXml,
  validateInaSchema,
  type ComunicazioneIna,
  type InaErrore,
} from './ina-mapping.js';
import { checkComunicazioneSeal } from './ina-seal.js';
import { registryEventProblems } from './registry-event.js';

export interface InaSimulatorOptions {
  /** Whether a Comunicazione must carry a valid seal by a certificate the node trusts (default true). */
  readonly verifySeal: boolean;
}

const optionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    verifySeal: {
      type: 'boolean',
      default: true,
      description: "Refuse communications without a valid seal by a certificate the node trusts (the Comune's).",
    },
  },
} as const;

/**
 * INA's side, for tests and the demo: hosted on the INA party's node, it serves the sincrono
 * ComunicazioneINA service. Each Comunicazione is checked (schema, the Comune's seal, content),
 * applied to a tiny index of people (iscrizione of a registered codice fiscale, or anything else for
 * an unknown one, is rejected; mutazioni update it) and answered with an Esito as the reply. A
 * repeated communication gets the esito it got the first time.
 */
export default defineAdapter<InaSimulatorOptions>({
  id: 'ina-simulator',
  version: '1.0.0',
  busApi: '^1',
  description: 'INA simulator: validates INA-SAIA communications, keeps a tiny index of residents and answers each with an esito',
  optionsSchema,
  services: ['ComunicazioneINA'],
  setup: (ctx) => new InaSimulatorAdapter(ctx),
});

type Checked =
  | { readonly ok: true; readonly comunicazione: ComunicazioneIna }
  | { readonly ok: false; readonly errori: readonly [InaErrore, ...InaErrore[]] };

export class InaSimulatorAdapter implements AdapterInstance {
  private index: InaIndex | undefined;

  constructor(private readonly ctx: AdapterContext<InaSimulatorOptions>) {}

  async start(): Promise<void> {
    if (this.index) return;
    this.index = await InaIndex.open(this.ctx.openStore);
  }

  async stop(): Promise<void> {
    const index = this.index;
    this.index = undefined;
    await index?.close();
  }

  async health(): Promise<AdapterHealth> {
    return this.index ? { status: 'up' } : { status: 'down', detail: 'not started' };
  }

  /** The index, for tests and the demo to look at (undefined before start). */
  get inaIndex(): InaIndex | undefined {
    return this.index;
  }

  async egress(message: BusMessage, _signal?: AbortSignal): Promise<EgressOutcome> {
    if (!this.index) throw AdapterError.unavailable('the INA simulator is not started');
    if (message.profile !== 'sincrono')
      throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `${message.service} is a sincrono service: the esito is the reply`);
    const idComunicazione = peekIdComunicazione(message.payload);
    // Without an id there is nothing an esito could refer to: the message itself is refused.
    if (idComunicazione === undefined)
      throw AdapterError.refused(
        'TRAMITE_ERR_ADAPTER_REFUSED',
        'not an INA-SAIA Comunicazione (urn:tramite:ina-saia:1) with an IdComunicazione',
      );
    try {
      const earlier = await this.index.answered(message.from, idComunicazione);
      if (earlier !== undefined) return { kind: 'reply', payload: earlier };
      const now = this.ctx.clock.now();
      const checked = await this.check(message.payload, now);
      if (!this.index) throw AdapterError.unavailable('the INA simulator stopped');
      const decision = (current: Parameters<typeof decide>[2]): Decision =>
        checked.ok
          ? decide(checked.comunicazione.codiceComune, checked.comunicazione.evento, current)
          : { accepted: false, errori: checked.errori };
      const esito = await this.index.apply(
        {
          mittente: message.from,
          idComunicazione,
          ...(checked.ok ? { codiceFiscale: checked.comunicazione.evento.soggetto.codiceFiscale } : {}),
        },
        decision,
        (d, n) =>
          buildEsitoXml(
            d.accepted
              ? {
                  stato: 'ACCETTATA',
                  idComunicazione,
                  dataOraEsito: now.toISOString(),
                  idOperazioneIna: `INA-${String(n).padStart(9, '0')}`,
                }
              : { stato: 'RESPINTA', idComunicazione, dataOraEsito: now.toISOString(), errori: d.errori },
          ),
        now,
      );
      this.ctx.log.info({ from: message.from, id: message.id, idComunicazione }, 'ina-simulator: esito given');
      return { kind: 'reply', payload: esito };
    } catch (err) {
      if (err instanceof AdapterError) throw err;
      throw AdapterError.unavailable(`the INA index cannot be used: ${(err as Error).message}`, err);
    }
  }

  /** Schema, then the Comune's seal, then the content rules the Comune's edge applies too. */
  private async check(xml: string, now: Date): Promise<Checked> {
    const refuse = (errori: InaErrore[]): Checked => ({ ok: false, errori: errori as [InaErrore, ...InaErrore[]] });
    const schema = await validateInaSchema(xml);
    if (!schema.valid) return refuse(schema.errors.slice(0, 10).map((e) => ({ codice: INA_ERRORS.schema, descrizione: e })));
    if (this.ctx.options.verifySeal) {
      const seal = checkComunicazioneSeal(xml, this.ctx.trust, now);
      if (!seal.valid) return refuse([{ codice: INA_ERRORS.seal, descrizione: seal.reason }]);
    }
    let comunicazione: ComunicazioneIna;
    try {
      comunicazione = readComunicazioneXml(xml);
    } catch (err) {
      return refuse([{ codice: INA_ERRORS.schema, descrizione: (err as Error).message }]);
    }
    const problems = registryEventProblems(comunicazione.evento, { today: now, comune: comunicazione.codiceComune });
    if (problems.length > 0)
      return refuse(problems.map((p) => ({ codice: INA_ERRORS.content, descrizione: p.message, ...(p.field ? { campo: p.field } : {}) })));
    return { ok: true, comunicazione };
  }
}
