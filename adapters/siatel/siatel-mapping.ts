/**
 * The SIATEL wire format: typed requests and answers ↔ XML, and XSD validation.
 *
 * The Agenzia delle Entrate publishes no interface specification for SIATEL, so the XML here is
 * Tramite's own (schemas/siatel/siatel-interrogazione.xsd, namespace urn:tramite:siatel:1, described
 * in docs/siatel.md). This is the ONE module that knows it: the adapter, its API, the quota and the
 * simulator only see the types below. A real SIATEL format replaces this module (and the XSD), nothing
 * else.
 *
 * Writing builds a DOM and serializes it (values are escaped by the serializer, never concatenated),
 * after checking each value against the rule the XSD states, so what is written is schema-valid.
 * Reading uses the SDK's hardened parser (no DOCTYPE, no PIs, size and depth limits) and refuses any
 * element that is missing, repeated, unknown or out of order, and any value the typed model cannot
 * hold. Documents carry no XML declaration: they travel as the Body of a bus message.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../sdk/shipped-files.js';
import { lazyXsdSchema, type XsdViolation } from '../sdk/xml-schema/xsd-schema.js';
import {
  childElements,
  describeElement,
  NOT_XML_CHAR,
  parseUntrustedXml,
  StrictSequenceReader,
  XmlWriter,
  type ChildSequence,
  type SequenceRefusalFactory,
  type XmlNamespace,
} from '../sdk/index.js';
import { TramiteError } from '../../src/core/errors.js';

export const SIATEL_NAMESPACE = 'urn:tramite:siatel:1';
/** The prefix written for the namespace (readers must not rely on it). */
const PREFIX = 'siatel';
const SIATEL: XmlNamespace = { prefix: PREFIX, uri: SIATEL_NAMESPACE };

// ---------------------------------------------------------------------------------------------------
// The typed model

export const SIATEL_QUERY_KINDS = ['verificaCodiceFiscale', 'datiAnagrafici', 'verificaResidenza'] as const;
export type SiatelQueryKind = (typeof SIATEL_QUERY_KINDS)[number];

export type SiatelRequest =
  | { readonly interrogazione: 'verificaCodiceFiscale' | 'datiAnagrafici'; readonly operatore: string; readonly codiceFiscale: string }
  | { readonly interrogazione: 'verificaResidenza'; readonly operatore: string; readonly codiceFiscale: string; readonly comune: string };

/** The outcomes each kind of query can have. */
export const SIATEL_ESITI = {
  verificaCodiceFiscale: ['VALIDO', 'OMOCODICO', 'NON_ATTRIBUITO', 'NON_VALIDO'],
  datiAnagrafici: ['TROVATO', 'NON_TROVATO', 'NON_VALIDO'],
  verificaResidenza: ['RESIDENTE', 'NON_RESIDENTE', 'NON_TROVATO', 'NON_VALIDO'],
} as const;
export type EsitoOf<K extends SiatelQueryKind> = (typeof SIATEL_ESITI)[K][number];

export interface Persona {
  readonly cognome: string;
  readonly nome: string;
  readonly sesso: 'M' | 'F';
  /** YYYY-MM-DD */
  readonly dataNascita: string;
  /** Codice catastale (Belfiore) of the place of birth. */
  readonly luogoNascita: string;
  /** Codice catastale of the Comune of residence, when known. */
  readonly comuneResidenza?: string;
}

/** An answer to a query (the query was made and answered). */
export type SiatelEsito =
  | {
      readonly interrogazione: 'verificaCodiceFiscale';
      readonly codiceFiscale: string;
      readonly esito: EsitoOf<'verificaCodiceFiscale'>;
      readonly motivo?: string;
    }
  | {
      readonly interrogazione: 'datiAnagrafici';
      readonly codiceFiscale: string;
      readonly esito: EsitoOf<'datiAnagrafici'>;
      readonly persona?: Persona;
      readonly motivo?: string;
    }
  | {
      readonly interrogazione: 'verificaResidenza';
      readonly codiceFiscale: string;
      readonly comune: string;
      readonly esito: EsitoOf<'verificaResidenza'>;
      readonly motivo?: string;
    };

export const SIATEL_ERROR_CODES = ['OPERATORE_BLOCCATO', 'RICHIESTA_NON_VALIDA', 'SERVIZIO_NON_DISPONIBILE'] as const;
export type SiatelErrorCode = (typeof SIATEL_ERROR_CODES)[number];

/** SIATEL did not answer the query itself. */
export interface SiatelErrore {
  readonly errore: {
    readonly codice: SiatelErrorCode;
    readonly descrizione: string;
    readonly operatore?: string;
    /** ISO 8601 instant until which the operator is blocked. */
    readonly bloccatoFinoA?: string;
  };
}

export type SiatelAnswer = SiatelEsito | SiatelErrore;

export function isSiatelErrore(answer: SiatelAnswer): answer is SiatelErrore {
  return 'errore' in answer;
}

/** A document that is not (or could not be made) one of the SIATEL messages; `message` names the element. */
export class SiatelXmlError extends TramiteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRAMITE_ERR_SIATEL_XML', message, options);
  }
}

/** Element names of the wire format, by kind. The request's name is also the bus Azione. */
const REQUEST_ELEMENT: Readonly<Record<SiatelQueryKind, string>> = {
  verificaCodiceFiscale: 'VerificaCodiceFiscale',
  datiAnagrafici: 'DatiAnagrafici',
  verificaResidenza: 'VerificaResidenza',
};
const ANSWER_ELEMENT: Readonly<Record<SiatelQueryKind, string>> = {
  verificaCodiceFiscale: 'EsitoVerificaCodiceFiscale',
  datiAnagrafici: 'EsitoDatiAnagrafici',
  verificaResidenza: 'EsitoVerificaResidenza',
};
const ERROR_ELEMENT = 'ErroreInterrogazione';

/** The bus Azione a request of this kind travels with. */
export function siatelAction(kind: SiatelQueryKind): string {
  return REQUEST_ELEMENT[kind];
}

// ---------------------------------------------------------------------------------------------------
// Value rules: what the XSD's simple types say, checked on both writing and reading

interface ValueRule {
  readonly test: (value: string) => boolean;
  readonly expected: string;
}

const pattern = (re: RegExp, expected: string): ValueRule => ({ test: (v) => re.test(v), expected });
/** Without surrounding spaces: the reader trims, and what is written must read back the same. */
const text = (max: number): ValueRule => ({
  test: (v) => v.length >= 1 && v === v.trim() && [...v].length <= max && !NOT_XML_CHAR.test(v),
  expected: `text of 1 to ${max} characters, without surrounding spaces`,
});
const oneOf = (values: readonly string[]): ValueRule => ({ test: (v) => values.includes(v), expected: `one of ${values.join(', ')}` });

const RULES = {
  operatore: pattern(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits, ".", "_" or "-"'),
  codiceFiscale: pattern(
    /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/,
    'the 16-character shape of a codice fiscale, upper case',
  ),
  codiceCatastale: pattern(/^[A-Z][0-9]{3}$/, 'a codice catastale (a letter and three digits)'),
  nome: text(100),
  testo: text(500),
  sesso: oneOf(['M', 'F']),
  data: { test: isIsoDate, expected: 'a date YYYY-MM-DD' },
  istante: {
    test: (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
    expected: 'an ISO 8601 date-time with its offset',
  },
  errore: oneOf(SIATEL_ERROR_CODES),
} satisfies Record<string, ValueRule>;

function isIsoDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === v;
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** One document under construction, in the SIATEL namespace; each value checked against its rule first. */
class SiatelXmlWriter {
  private readonly w: XmlWriter;
  readonly root: Element;

  constructor(rootName: string) {
    this.w = new XmlWriter(SIATEL, rootName, { unwritable: (field) => new SiatelXmlError(`${field}: holds a character XML cannot carry`) });
    this.root = this.w.root;
  }

  element(parent: Element, name: string): Element {
    return this.w.add(parent, name);
  }

  /** A text element, after checking the value against its rule (so the document stays schema-valid). */
  value(parent: Element, name: string, value: string, rule: ValueRule): void {
    if (!rule.test(value)) throw new SiatelXmlError(`${name}: "${value}" is not ${rule.expected}`);
    this.w.add(parent, name, value);
  }

  optional(parent: Element, name: string, value: string | undefined, rule: ValueRule): void {
    if (value !== undefined) this.value(parent, name, value, rule);
  }

  serialize(): string {
    return this.w.serialize();
  }
}

export function writeSiatelRequest(request: SiatelRequest): string {
  const w = new SiatelXmlWriter(REQUEST_ELEMENT[request.interrogazione]);
  w.value(w.root, 'Operatore', request.operatore, RULES.operatore);
  w.value(w.root, 'CodiceFiscale', request.codiceFiscale, RULES.codiceFiscale);
  if (request.interrogazione === 'verificaResidenza') w.value(w.root, 'Comune', request.comune, RULES.codiceCatastale);
  return w.serialize();
}

export function writeSiatelAnswer(answer: SiatelAnswer): string {
  if (isSiatelErrore(answer)) {
    const { codice, descrizione, operatore, bloccatoFinoA } = answer.errore;
    const w = new SiatelXmlWriter(ERROR_ELEMENT);
    w.value(w.root, 'Codice', codice, RULES.errore);
    w.value(w.root, 'Descrizione', descrizione, RULES.testo);
    w.optional(w.root, 'Operatore', operatore, RULES.operatore);
    w.optional(w.root, 'BloccatoFinoA', bloccatoFinoA, RULES.istante);
    return w.serialize();
  }
  const w = new SiatelXmlWriter(ANSWER_ELEMENT[answer.interrogazione]);
  w.value(w.root, 'CodiceFiscale', answer.codiceFiscale, RULES.codiceFiscale);
  if (answer.interrogazione === 'verificaResidenza') w.value(w.root, 'Comune', answer.comune, RULES.codiceCatastale);
  w.value(w.root, 'Esito', answer.esito, oneOf(SIATEL_ESITI[answer.interrogazione]));
  if (answer.interrogazione === 'datiAnagrafici') {
    if ((answer.persona !== undefined) !== (answer.esito === 'TROVATO'))
      throw new SiatelXmlError('Persona: present exactly when Esito is TROVATO');
    if (answer.persona) writePersona(w, w.element(w.root, 'Persona'), answer.persona);
  }
  w.optional(w.root, 'Motivo', answer.motivo, RULES.testo);
  return w.serialize();
}

function writePersona(w: SiatelXmlWriter, el: Element, p: Persona): void {
  w.value(el, 'Cognome', p.cognome, RULES.nome);
  w.value(el, 'Nome', p.nome, RULES.nome);
  w.value(el, 'Sesso', p.sesso, RULES.sesso);
  w.value(el, 'DataNascita', p.dataNascita, RULES.data);
  w.value(el, 'LuogoNascita', p.luogoNascita, RULES.codiceCatastale);
  w.optional(el, 'ComuneResidenza', p.comuneResidenza, RULES.codiceCatastale);
}

// ---------------------------------------------------------------------------------------------------
// Reading

export function readSiatelRequest(xml: string): SiatelRequest {
  const root = parseSiatelXml(xml);
  const kind = kindOf(root, REQUEST_ELEMENT);
  if (!kind)
    throw new SiatelXmlError(
      `the root element is ${describeElement(root)}, expected a SIATEL request (${Object.values(REQUEST_ELEMENT).join(', ')})`,
    );
  const residenza = kind === 'verificaResidenza';
  const r = new SequenceReader(root, ['Operatore', 'CodiceFiscale', ...(residenza ? ['Comune'] : [])], []);
  const operatore = r.value('Operatore', RULES.operatore);
  const codiceFiscale = r.value('CodiceFiscale', RULES.codiceFiscale);
  return residenza
    ? { interrogazione: kind, operatore, codiceFiscale, comune: r.value('Comune', RULES.codiceCatastale) }
    : { interrogazione: kind, operatore, codiceFiscale };
}

/** Reads an answer; with `expected`, an answer to another kind of query is refused. */
export function readSiatelAnswer(xml: string, expected?: SiatelQueryKind): SiatelAnswer {
  const root = parseSiatelXml(xml);
  if (root.namespaceURI === SIATEL_NAMESPACE && root.localName === ERROR_ELEMENT) return readErrore(root);
  const kind = kindOf(root, ANSWER_ELEMENT);
  if (!kind || (expected !== undefined && kind !== expected)) {
    const wanted = expected ? ANSWER_ELEMENT[expected] : Object.values(ANSWER_ELEMENT).join(', ');
    throw new SiatelXmlError(`the root element is ${describeElement(root)}, expected ${wanted} or ${ERROR_ELEMENT}`);
  }
  switch (kind) {
    case 'verificaCodiceFiscale': {
      const r = new SequenceReader(root, ['CodiceFiscale', 'Esito'], ['Motivo']);
      return withMotivo(
        { interrogazione: kind, codiceFiscale: r.value('CodiceFiscale', RULES.codiceFiscale), esito: r.oneOf('Esito', SIATEL_ESITI[kind]) },
        r,
      );
    }
    case 'datiAnagrafici': {
      const r = new SequenceReader(root, ['CodiceFiscale', 'Esito'], ['Persona', 'Motivo']);
      const codiceFiscale = r.value('CodiceFiscale', RULES.codiceFiscale);
      const esito = r.oneOf('Esito', SIATEL_ESITI[kind]);
      const personaEl = r.element('Persona');
      if ((personaEl !== undefined) !== (esito === 'TROVATO'))
        throw new SiatelXmlError(`${ANSWER_ELEMENT[kind]}/Persona: present exactly when Esito is TROVATO (Esito is ${esito})`);
      return withMotivo({ interrogazione: kind, codiceFiscale, esito, ...(personaEl ? { persona: readPersona(personaEl) } : {}) }, r);
    }
    case 'verificaResidenza': {
      const r = new SequenceReader(root, ['CodiceFiscale', 'Comune', 'Esito'], ['Motivo']);
      return withMotivo(
        {
          interrogazione: kind,
          codiceFiscale: r.value('CodiceFiscale', RULES.codiceFiscale),
          comune: r.value('Comune', RULES.codiceCatastale),
          esito: r.oneOf('Esito', SIATEL_ESITI[kind]),
        },
        r,
      );
    }
  }
}

function withMotivo<T extends SiatelEsito>(esito: T, r: SequenceReader): T {
  const motivo = r.optionalValue('Motivo', RULES.testo);
  return motivo === undefined ? esito : { ...esito, motivo };
}

function readErrore(root: Element): SiatelErrore {
  const r = new SequenceReader(root, ['Codice', 'Descrizione'], ['Operatore', 'BloccatoFinoA']);
  const operatore = r.optionalValue('Operatore', RULES.operatore);
  const bloccatoFinoA = r.optionalValue('BloccatoFinoA', RULES.istante);
  return {
    errore: {
      codice: r.oneOf('Codice', SIATEL_ERROR_CODES),
      descrizione: r.value('Descrizione', RULES.testo),
      ...(operatore !== undefined ? { operatore } : {}),
      ...(bloccatoFinoA !== undefined ? { bloccatoFinoA } : {}),
    },
  };
}

function readPersona(el: Element): Persona {
  const r = new SequenceReader(el, ['Cognome', 'Nome', 'Sesso', 'DataNascita', 'LuogoNascita'], ['ComuneResidenza']);
  const comuneResidenza = r.optionalValue('ComuneResidenza', RULES.codiceCatastale);
  return {
    cognome: r.value('Cognome', RULES.nome),
    nome: r.value('Nome', RULES.nome),
    sesso: r.oneOf('Sesso', ['M', 'F'] as const),
    dataNascita: r.value('DataNascita', RULES.data),
    luogoNascita: r.value('LuogoNascita', RULES.codiceCatastale),
    ...(comuneResidenza !== undefined ? { comuneResidenza } : {}),
  };
}

function parseSiatelXml(xml: string): Element {
  try {
    return parseUntrustedXml(xml.trim()).doc.documentElement as Element;
  } catch (cause) {
    // The hardened parser speaks e-Gov (EGOV_IT_001 - …); here it is just an unreadable document.
    throw new SiatelXmlError((cause as Error).message.replace(/^EGOV_IT_\d{3} - /, ''), { cause });
  }
}

function kindOf(root: Element, names: Readonly<Record<SiatelQueryKind, string>>): SiatelQueryKind | undefined {
  if (root.namespaceURI !== SIATEL_NAMESPACE) return undefined;
  return SIATEL_QUERY_KINDS.find((k) => names[k] === root.localName);
}

/** The strict sequence reader's refusals in SIATEL terms; `order` is the sequence, for messages. */
function siatelRefusal(order: readonly string[]): SequenceRefusalFactory {
  const expected = order.join(', ');
  return (r) => {
    switch (r.kind) {
      case 'stray-text':
        return new SiatelXmlError(`${r.path}: text is not allowed between elements`);
      case 'unexpected':
        return new SiatelXmlError(`${r.path}: unexpected element ${describeElement(r.element)}`);
      case 'too-many':
        return new SiatelXmlError(`${r.path}/${r.element.localName}: appears more than once`);
      case 'out-of-order':
        return new SiatelXmlError(`${r.path}/${r.element.localName}: out of order (expected ${expected})`);
      case 'missing': {
        // A required element standing after one that should follow it is out of order, not missing.
        const later = r.found && childElements(r.parent).some((c) => c.namespaceURI === r.slot.ns && c.localName === r.slot.name);
        return new SiatelXmlError(
          later ? `${r.path}/${r.slot.name}: out of order (expected ${expected})` : `${r.path}: missing ${r.slot.name}`,
        );
      }
      case 'not-text':
        return new SiatelXmlError(`${r.path}: must hold text only`);
      default:
        return new SiatelXmlError(`${r.path}: malformed`);
    }
  };
}

/**
 * The children of one element, read as the XSD's xs:sequence: the `required` names, then the `optional`
 * ones (every SIATEL sequence ends with its optional elements), each at most once, in that order, in the
 * SIATEL namespace; nothing else is allowed, not even stray text.
 */
class SequenceReader {
  private readonly reader: StrictSequenceReader;
  private readonly seq: ChildSequence;
  private readonly path: string;

  constructor(parent: Element, required: readonly string[], optional: readonly string[]) {
    this.path = parent.localName;
    this.reader = new StrictSequenceReader(siatelRefusal([...required, ...optional]));
    this.seq = this.reader.sequence(parent, this.path, [
      ...required.map((name) => ({ ns: SIATEL_NAMESPACE, name, min: 1, max: 1 })),
      ...optional.map((name) => ({ ns: SIATEL_NAMESPACE, name, min: 0, max: 1 })),
    ]);
  }

  element(name: string): Element | undefined {
    return this.seq.optional(name);
  }

  value(name: string, rule: ValueRule): string {
    const v = this.optionalValue(name, rule);
    if (v === undefined) throw new SiatelXmlError(`${this.path}: missing ${name}`);
    return v;
  }

  optionalValue(name: string, rule: ValueRule): string | undefined {
    const el = this.seq.optional(name);
    if (!el) return undefined;
    const v = this.reader.text(el, `${this.path}/${name}`);
    if (!rule.test(v)) throw new SiatelXmlError(`${this.path}/${name}: "${v}" is not ${rule.expected}`);
    return v;
  }

  oneOf<const T extends string>(name: string, values: readonly T[]): T {
    return this.value(name, oneOf(values)) as T;
  }
}

// ---------------------------------------------------------------------------------------------------
// XSD validation

export type SiatelSchemaValidation = { valid: true } | { valid: false; errors: string[] };

const SCHEMA_FILE = 'siatel-interrogazione.xsd';

/**
 * Validates a SIATEL document (any request or answer) against the XSD with libxml2's validator, compiled
 * once and kept warm (the SDK's XsdSchema): under a millisecond a document. The hardened parse runs
 * first, so libxml2 never sees a DOCTYPE. The simulator validates what it receives, the adapter what it
 * reads back.
 */
export async function validateSiatelSchema(xml: string): Promise<SiatelSchemaValidation> {
  try {
    parseSiatelXml(xml);
  } catch (err) {
    if (err instanceof SiatelXmlError) return { valid: false, errors: [err.message] };
    throw err;
  }
  const result = (await siatelSchema()).validate(xml.trim());
  return result.valid ? { valid: true } : { valid: false, errors: result.violations.map(describeViolation) };
}

function describeViolation(v: XsdViolation): string {
  const message = v.message.replace(/\{urn:tramite:siatel:1\}/g, `${PREFIX}:`);
  return v.line !== undefined ? `line ${v.line}: ${message}` : message;
}

/** The XSD, read once per process from schemas/siatel/ under the package root (src or dist alike), and compiled. */
const siatelSchema = lazyXsdSchema(async () => ({
  name: SCHEMA_FILE,
  main: SCHEMA_FILE,
  files: { [SCHEMA_FILE]: await readFile(join(packageRoot(), 'schemas', 'siatel', SCHEMA_FILE), 'utf8') },
}));
