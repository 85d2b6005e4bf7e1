/**
 * The registry (anagrafe) events a Comune's registry software sends: iscrizione (by birth or
 * immigration), cancellazione (by death or emigration), mutazione (address, family, personal data)
 * and rettifica. A discriminated union on `tipo` (and `motivo`), validated at the edge into typed
 * values: shape by ajv (registry-event-schema.ts), then what needs several fields or the clock.
 *
 * The model is the project's own; ina-mapping.ts turns it into INA-SAIA XML and anpr-mapping.ts into
 * ANPR's operation families, so the same events serve both.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { TramiteError } from '../../src/core/errors.js';
import { checkCodiceFiscale, romeDay } from '../sdk/index.js';
import { EVENT_KIND_SCHEMA, REGISTRY_EVENT_SCHEMAS, type RELAZIONI_PARENTELA, type STATI_CIVILI } from './registry-event-schema.js';

export type Sesso = 'M' | 'F';
export type RelazioneParentela = (typeof RELAZIONI_PARENTELA)[number];
export type StatoCivile = (typeof STATI_CIVILI)[number];

/** The person an event is about. Only the codice fiscale identifies; the other data are checked against it. */
export interface Soggetto {
  /** Upper case, 16 characters (omocodic letters kept). */
  readonly codiceFiscale: string;
  readonly cognome: string;
  readonly nome: string;
  readonly sesso?: Sesso;
  /** YYYY-MM-DD */
  readonly dataNascita?: string;
  /** Belfiore code of the Comune, or of the foreign state (Z…). */
  readonly luogoNascita?: string;
}

/** An iscrizione creates the person: everything is known. */
export interface SoggettoCompleto extends Soggetto {
  readonly sesso: Sesso;
  readonly dataNascita: string;
  readonly luogoNascita: string;
}

/** Where a person comes from or goes to: a Comune or a foreign state (Belfiore codes). */
export type Luogo = { readonly comune: string } | { readonly statoEstero: string };

/** A residence address inside the sending Comune. */
export interface Indirizzo {
  readonly toponimo: string;
  readonly civico: string;
  readonly interno?: string;
  readonly cap: string;
}

export interface Famiglia {
  /** The Comune's identifier of the family (scheda di famiglia). */
  readonly idFamiglia: string;
  readonly relazione: RelazioneParentela;
}

/** The Comune's protocol registration of the practice, when it has one. */
export interface Protocollo {
  readonly numero: string;
  readonly data: string;
}

interface EventoBase {
  /** The date the event takes effect (decorrenza), YYYY-MM-DD. */
  readonly dataEvento: string;
  /** The registry software's own reference: echoed in outcomes, and a repeated POST with it is recognised. */
  readonly riferimentoComune?: string;
  readonly protocollo?: Protocollo;
  readonly soggetto: Soggetto;
}

export interface IscrizioneNascita extends EventoBase {
  readonly tipo: 'iscrizione';
  readonly motivo: 'nascita';
  readonly soggetto: SoggettoCompleto;
  readonly indirizzo: Indirizzo;
  readonly famiglia: Famiglia;
}

export interface IscrizioneImmigrazione extends EventoBase {
  readonly tipo: 'iscrizione';
  readonly motivo: 'immigrazione';
  readonly soggetto: SoggettoCompleto;
  readonly provenienza: Luogo;
  readonly indirizzo: Indirizzo;
  readonly famiglia: Famiglia;
}

export interface CancellazioneMorte extends EventoBase {
  readonly tipo: 'cancellazione';
  readonly motivo: 'morte';
  readonly luogoMorte?: Luogo;
}

export interface CancellazioneEmigrazione extends EventoBase {
  readonly tipo: 'cancellazione';
  readonly motivo: 'emigrazione';
  readonly destinazione: Luogo;
}

export interface MutazioneIndirizzo extends EventoBase {
  readonly tipo: 'mutazione';
  readonly motivo: 'indirizzo';
  readonly indirizzo: Indirizzo;
}

export interface MutazioneFamiglia extends EventoBase {
  readonly tipo: 'mutazione';
  readonly motivo: 'famiglia';
  readonly famiglia: Famiglia;
}

/** A change in the person's life (marriage, a new name, citizenship): at least one field. */
export interface MutazioneDatiPersonali extends EventoBase {
  readonly tipo: 'mutazione';
  readonly motivo: 'datiPersonali';
  readonly datiPersonali: {
    readonly cognome?: string;
    readonly nome?: string;
    readonly cittadinanza?: string;
    readonly statoCivile?: StatoCivile;
  };
}

/**
 * A correction of data registered wrongly: at least one field. The codice fiscale cannot be
 * corrected here: a new one comes from the Agenzia delle Entrate, and it is the key events are
 * ordered by.
 */
export interface Rettifica extends EventoBase {
  readonly tipo: 'rettifica';
  readonly rettifiche: {
    readonly cognome?: string;
    readonly nome?: string;
    readonly sesso?: Sesso;
    readonly dataNascita?: string;
    readonly luogoNascita?: string;
  };
  readonly motivazione: string;
}

export type RegistryEvent =
  | IscrizioneNascita
  | IscrizioneImmigrazione
  | CancellazioneMorte
  | CancellazioneEmigrazione
  | MutazioneIndirizzo
  | MutazioneFamiglia
  | MutazioneDatiPersonali
  | Rettifica;

/** `tipo.motivo` (or just `rettifica`): the key of every per-kind table (schemas, XML elements, ANPR families). */
export type RegistryEventKind = keyof typeof REGISTRY_EVENT_SCHEMAS;
export const REGISTRY_EVENT_KINDS = Object.keys(REGISTRY_EVENT_SCHEMAS) as readonly RegistryEventKind[];

export function kindOf(event: RegistryEvent): RegistryEventKind {
  // TypeScript does not pair each tipo with its own motivi in a template literal; the union does.
  return (event.tipo === 'rettifica' ? 'rettifica' : `${event.tipo}.${event.motivo}`) as RegistryEventKind;
}

/** One thing wrong with an event, at a dotted field path (`soggetto.codiceFiscale`). */
export interface RegistryEventProblem {
  readonly field: string;
  readonly message: string;
}

/** An event refused at the edge: TRAMITE_ERR_BAD_REQUEST naming the (first) field, with every problem found. */
export class RegistryEventError extends TramiteError {
  readonly field: string;
  readonly problems: readonly RegistryEventProblem[];
  constructor(problems: readonly [RegistryEventProblem, ...RegistryEventProblem[]]) {
    super('TRAMITE_ERR_BAD_REQUEST', problems.map((p) => `${p.field || '(event)'}: ${p.message}`).join('; '));
    this.field = problems[0].field;
    this.problems = problems;
  }
}

export interface RegistryEventCheckOptions {
  /** "Now", for the dates that must not be in the future (default: the current time). */
  readonly today?: Date;
  /** The sending Comune's Belfiore code: an immigration from it, or an emigration to it, is no move at all. */
  readonly comune?: string;
}

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats.default(ajv, ['date']);
const validateKind = ajv.compile<{ tipo: RegistryEvent['tipo']; motivo?: string }>(EVENT_KIND_SCHEMA);
const validators = new Map<RegistryEventKind, ValidateFunction<RegistryEvent>>(
  REGISTRY_EVENT_KINDS.map((kind) => [kind, ajv.compile<RegistryEvent>(REGISTRY_EVENT_SCHEMAS[kind])]),
);

/**
 * Validates a JSON value as a registry event and returns it typed, with the codice fiscale
 * normalised (upper case, no spaces). Throws RegistryEventError listing every problem.
 */
export function parseRegistryEvent(json: unknown, opts: RegistryEventCheckOptions = {}): RegistryEvent {
  const kind = readKind(json);
  const validate = validators.get(kind)!;
  // ajv validates a copy: the caller's object is never touched, and the result is ours alone.
  const candidate: unknown = structuredClone(json);
  if (!validate(candidate)) throw errorOf(ajvProblems(validate.errors ?? []));
  const event = withNormalisedCodiceFiscale(candidate);
  const problems = registryEventProblems(event, opts);
  if (problems.length > 0) throw errorOf(problems);
  return event;
}

function readKind(json: unknown): RegistryEventKind {
  if (!validateKind(json)) throw errorOf(ajvProblems(validateKind.errors ?? []));
  const { tipo, motivo } = json;
  if (tipo === 'rettifica') {
    if (motivo !== undefined) throw errorOf([{ field: 'motivo', message: 'a rettifica has no motivo' }]);
    return 'rettifica';
  }
  const kind = `${tipo}.${motivo ?? ''}`;
  if (!validators.has(kind as RegistryEventKind)) {
    const allowed = REGISTRY_EVENT_KINDS.filter((k) => k.startsWith(`${tipo}.`)).map((k) => k.slice(tipo.length + 1));
    throw errorOf([
      {
        field: 'motivo',
        message:
          motivo === undefined
            ? `is required for ${tipo}: one of ${allowed.join(', ')}`
            : `"${motivo}" is not one of ${allowed.join(', ')}`,
      },
    ]);
  }
  return kind as RegistryEventKind;
}

function withNormalisedCodiceFiscale<E extends RegistryEvent>(event: E): E {
  const codiceFiscale = event.soggetto.codiceFiscale.replace(/\s+/g, '').toUpperCase();
  return { ...event, soggetto: { ...event.soggetto, codiceFiscale } };
}

/**
 * The checks that need more than one field, or the clock, on an event already of the right shape.
 * Exported for the INA simulator, which applies the same rules to what it reads from XML.
 */
export function registryEventProblems(event: RegistryEvent, opts: RegistryEventCheckOptions = {}): RegistryEventProblem[] {
  const today = opts.today ?? new Date();
  // Italy's date: an event registered just after midnight in Rome is "today" there, not tomorrow in UTC.
  const todayIso = romeDay(today);
  const problems: RegistryEventProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const { soggetto } = event;

  const cf = checkCodiceFiscale(soggetto.codiceFiscale, { today });
  if (!cf.valid) add('soggetto.codiceFiscale', `is not a valid codice fiscale: ${cf.reason}`);

  const checkAgainstCf = (prefix: string, data: { sesso?: Sesso; dataNascita?: string }) => {
    if (!cf.valid) return;
    if (data.sesso !== undefined && data.sesso !== cf.sex)
      add(`${prefix}.sesso`, `is ${data.sesso}, but the codice fiscale is of a ${cf.sex === 'M' ? 'man' : 'woman'}`);
    // The code only holds two digits of the year, and its century is a guess: compare YY-MM-DD.
    if (data.dataNascita !== undefined && data.dataNascita.slice(2) !== cf.birthDate.slice(2)) {
      add(`${prefix}.dataNascita`, `is ${data.dataNascita}, but the codice fiscale says ${cf.birthDate.slice(2)} (YY-MM-DD)`);
    }
    // The birth place is not compared: a Comune merged or renamed since keeps its old code in the
    // codice fiscale, so a mismatch there is not an error.
  };
  checkAgainstCf('soggetto', soggetto);
  if (event.tipo === 'rettifica') checkAgainstCf('rettifiche', event.rettifiche);

  const notFuture = (field: string, value: string | undefined) => {
    if (value !== undefined && value > todayIso) add(field, `${value} is in the future (today is ${todayIso})`);
  };
  notFuture('dataEvento', event.dataEvento);
  notFuture('soggetto.dataNascita', soggetto.dataNascita);
  notFuture('protocollo.data', event.protocollo?.data);
  if (event.tipo === 'rettifica') notFuture('rettifiche.dataNascita', event.rettifiche.dataNascita);

  const birth = event.tipo === 'rettifica' ? (event.rettifiche.dataNascita ?? soggetto.dataNascita) : soggetto.dataNascita;
  if (birth !== undefined && event.dataEvento < birth) add('dataEvento', `${event.dataEvento} is before the birth date ${birth}`);
  // An iscrizione by birth takes effect on the day of birth, whenever it is registered.
  if (event.tipo === 'iscrizione' && event.motivo === 'nascita' && event.dataEvento !== soggetto.dataNascita) {
    add('dataEvento', `an iscrizione by birth takes effect on the birth date ${soggetto.dataNascita}, not ${event.dataEvento}`);
  }

  if (opts.comune !== undefined) {
    if (
      event.tipo === 'iscrizione' &&
      event.motivo === 'immigrazione' &&
      'comune' in event.provenienza &&
      event.provenienza.comune === opts.comune
    ) {
      add('provenienza.comune', `is this Comune (${opts.comune}): a move inside the Comune is a mutazione of the address`);
    }
    if (
      event.tipo === 'cancellazione' &&
      event.motivo === 'emigrazione' &&
      'comune' in event.destinazione &&
      event.destinazione.comune === opts.comune
    ) {
      add('destinazione.comune', `is this Comune (${opts.comune}): a move inside the Comune is a mutazione of the address`);
    }
  }
  return problems;
}

/** One problem per field (a value may break several keywords at once: say the first). */
function ajvProblems(errors: readonly ErrorObject[]): RegistryEventProblem[] {
  const byField = new Map<string, RegistryEventProblem>();
  for (const e of errors) {
    const base = e.instancePath.split('/').filter(Boolean).join('.');
    const named = (e.params as Record<string, unknown>)['missingProperty'] ?? (e.params as Record<string, unknown>)['additionalProperty'];
    const field = typeof named === 'string' ? (base ? `${base}.${named}` : named) : base;
    const detail = e.keyword === 'additionalProperties' ? 'is not a field of this event' : (e.message ?? e.keyword);
    if (!byField.has(field)) byField.set(field, { field, message: detail });
  }
  return [...byField.values()];
}

function errorOf(problems: readonly RegistryEventProblem[]): RegistryEventError {
  const [first, ...rest] = problems;
  return new RegistryEventError(first ? [first, ...rest] : [{ field: '', message: 'is not a registry event' }]);
}
