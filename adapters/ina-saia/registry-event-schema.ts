/**
 * JSON Schemas of the registry events a Comune's registry software posts (one per event kind), for
 * ajv. Shape only: what needs more than one field or the clock (codice fiscale coherence, dates in
 * the past, event after birth) is checked in registry-event.ts.
 *
 * Place codes are Belfiore (codice catastale) codes: a letter and three digits, the form the codice
 * fiscale itself carries, so the birth place can be read against it. `Z` + three digits is a foreign
 * state; any other letter is a Comune. ISTAT's six-digit codes were the alternative; Belfiore wins
 * because every registry software and every codice fiscale already has it.
 */

/** A Comune's Belfiore code: a letter other than Z and three digits (Z is for foreign states). */
export const COMUNE_PATTERN = '^[A-Y][0-9]{3}$';
/** A foreign state's Belfiore code. */
export const STATO_ESTERO_PATTERN = '^Z[0-9]{3}$';
/** A birth place: a Comune or a foreign state. */
export const LUOGO_NASCITA_PATTERN = '^[A-Z][0-9]{3}$';

/** Letters (any script's, with accents), apostrophes, spaces, dots and hyphens; starts with a letter, no trailing space. */
const NAME_PATTERN = "^\\p{L}(?:[\\p{L}' .-]*[\\p{L}.'])?$";
/** Printable text without leading or trailing whitespace (XML readers trim; the round trip must be exact). */
const TEXT_PATTERN = '^[^\\p{Cc}\\s](?:[^\\p{Cc}]*[^\\p{Cc}\\s])?$';

const name = { type: 'string', minLength: 1, maxLength: 100, pattern: NAME_PATTERN } as const;
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: TEXT_PATTERN }) as const;
const date = { type: 'string', format: 'date', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } as const;
const sesso = { enum: ['M', 'F'] } as const;

export const RELAZIONI_PARENTELA = [
  'intestatario',
  'coniuge',
  'unitoCivilmente',
  'figlio',
  'genitore',
  'altroParente',
  'convivente',
] as const;
export const STATI_CIVILI = ['celibeNubile', 'coniugato', 'unitoCivilmente', 'vedovo', 'divorziato'] as const;

const soggettoProperties = {
  // Lower case and spaces are common in typed input; registry-event.ts normalises after the check.
  codiceFiscale: { type: 'string', pattern: '^\\s*(?:[A-Za-z0-9]\\s*){16}$' },
  cognome: name,
  nome: name,
  sesso,
  dataNascita: date,
  luogoNascita: { type: 'string', pattern: LUOGO_NASCITA_PATTERN },
} as const;

/** The person an event is about, identified by codice fiscale; the rest is checked against it when given. */
const soggetto = {
  type: 'object',
  additionalProperties: false,
  required: ['codiceFiscale', 'cognome', 'nome'],
  properties: soggettoProperties,
} as const;
/** An iscrizione creates the person at INA: every datum is required. */
const soggettoCompleto = { ...soggetto, required: ['codiceFiscale', 'cognome', 'nome', 'sesso', 'dataNascita', 'luogoNascita'] } as const;

const luogo = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: { comune: { type: 'string', pattern: COMUNE_PATTERN }, statoEstero: { type: 'string', pattern: STATO_ESTERO_PATTERN } },
} as const;

/** The residence address, inside the Comune that sends the event. */
const indirizzo = {
  type: 'object',
  additionalProperties: false,
  required: ['toponimo', 'civico', 'cap'],
  properties: {
    toponimo: text(200),
    civico: { type: 'string', pattern: '^[0-9]{1,5}(?:/?[A-Z0-9]{1,4})?$' },
    interno: text(20),
    cap: { type: 'string', pattern: '^[0-9]{5}$' },
  },
} as const;

const famiglia = {
  type: 'object',
  additionalProperties: false,
  required: ['idFamiglia', 'relazione'],
  properties: { idFamiglia: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,32}$' }, relazione: { enum: RELAZIONI_PARENTELA } },
} as const;

const protocollo = {
  type: 'object',
  additionalProperties: false,
  required: ['numero', 'data'],
  properties: { numero: { type: 'string', pattern: '^[A-Za-z0-9/._-]{1,32}$' }, data: date },
} as const;

/** Fields every event has; `tipo` and `motivo` are pinned per kind below. */
function eventSchema(
  tipo: string,
  motivo: string | undefined,
  required: readonly string[],
  properties: Record<string, unknown>,
  subject: object = soggetto,
) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['tipo', ...(motivo ? ['motivo'] : []), 'dataEvento', 'soggetto', ...required],
    properties: {
      tipo: { const: tipo },
      ...(motivo ? { motivo: { const: motivo } } : {}),
      dataEvento: date,
      riferimentoComune: { type: 'string', pattern: '^[A-Za-z0-9._:/-]{1,64}$' },
      protocollo,
      soggetto: subject,
      ...properties,
    },
  } as const;
}

/** Data a mutazione may change: at least one. */
const datiPersonali = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { cognome: name, nome: name, cittadinanza: { type: 'string', pattern: '^[A-Z]{2}$' }, statoCivile: { enum: STATI_CIVILI } },
} as const;

/** Data a rettifica corrects (a registration error, not a change in the person's life): at least one. */
const rettifiche = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { cognome: name, nome: name, sesso, dataNascita: date, luogoNascita: { type: 'string', pattern: LUOGO_NASCITA_PATTERN } },
} as const;

/** One schema per event kind (the keys are RegistryEventKind). */
export const REGISTRY_EVENT_SCHEMAS = {
  'iscrizione.nascita': eventSchema('iscrizione', 'nascita', ['indirizzo', 'famiglia'], { indirizzo, famiglia }, soggettoCompleto),
  'iscrizione.immigrazione': eventSchema(
    'iscrizione',
    'immigrazione',
    ['provenienza', 'indirizzo', 'famiglia'],
    { provenienza: luogo, indirizzo, famiglia },
    soggettoCompleto,
  ),
  'cancellazione.morte': eventSchema('cancellazione', 'morte', [], { luogoMorte: luogo }),
  'cancellazione.emigrazione': eventSchema('cancellazione', 'emigrazione', ['destinazione'], { destinazione: luogo }),
  'mutazione.indirizzo': eventSchema('mutazione', 'indirizzo', ['indirizzo'], { indirizzo }),
  'mutazione.famiglia': eventSchema('mutazione', 'famiglia', ['famiglia'], { famiglia }),
  'mutazione.datiPersonali': eventSchema('mutazione', 'datiPersonali', ['datiPersonali'], { datiPersonali }),
  rettifica: eventSchema('rettifica', undefined, ['rettifiche', 'motivazione'], { rettifiche, motivazione: text(500) }),
} as const;

/** What the first pass reads, to pick the schema: only the two discriminating fields. */
export const EVENT_KIND_SCHEMA = {
  type: 'object',
  required: ['tipo'],
  properties: { tipo: { enum: ['iscrizione', 'cancellazione', 'mutazione', 'rettifica'] }, motivo: { type: 'string' } },
} as const;
