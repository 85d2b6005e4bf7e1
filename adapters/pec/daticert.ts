/**
 * daticert.xml: the certification data a PEC provider attaches to every receipt and busta, covered by
 * its S/MIME signature (unlike the message headers). Typed model, a strict reader over the SDK's
 * hardened XML parser, and a writer that builds the document with a DOM (the provider simulator
 * needs it). Element names, cardinalities and enumerations follow the DTD of the technical rules
 * (DM 2 November 2005): postacert(intestazione, dati); the DTD has no extension point, so anything
 * else is refused rather than guessed at.
 */
import { DOMImplementation, XMLSerializer } from '@xmldom/xmldom';
import { childElements, NOT_XML_CHAR, parseUntrustedXml, textOf } from '../sdk/index.js';
import { PecError } from './pec-errors.js';

export const POSTACERT_TIPI = [
  'accettazione',
  'non-accettazione',
  'presa-in-carico',
  'avvenuta-consegna',
  'posta-certificata',
  'errore-consegna',
  'preavviso-errore-consegna',
  'rilevazione-virus',
] as const;
export type PostacertTipo = (typeof POSTACERT_TIPI)[number];

export const POSTACERT_ERRORI = ['nessuno', 'no-dest', 'no-dominio', 'virus', 'altro'] as const;
export type PostacertErrore = (typeof POSTACERT_ERRORI)[number];

export const TIPI_RICEVUTA = ['completa', 'breve', 'sintetica'] as const;
export type TipoRicevuta = (typeof TIPI_RICEVUTA)[number];

export const TIPI_DESTINATARIO = ['certificato', 'esterno'] as const;
export type TipoDestinatario = (typeof TIPI_DESTINATARIO)[number];

export interface DaticertDestinatario {
  readonly indirizzo: string;
  /** `certificato`: a PEC mailbox; `esterno`: an ordinary one. */
  readonly tipo: TipoDestinatario;
}

/** The provider's timestamp as written (local day and time plus offset) and as an instant. */
export interface DaticertData {
  /** UTC offset as written, e.g. `+0100`. */
  readonly zona: string;
  /** dd/MM/yyyy */
  readonly giorno: string;
  /** HH:mm:ss */
  readonly ora: string;
  /** The same moment as an ISO 8601 instant in UTC (`2024-11-15T17:20:38.000Z`). */
  readonly instant: string;
}

export interface DaticertIntestazione {
  readonly mittente: string;
  /** One or more. */
  readonly destinatari: readonly DaticertDestinatario[];
  readonly risposte: string;
  readonly oggetto?: string;
}

export interface DaticertDati {
  readonly gestoreEmittente: string;
  readonly data: DaticertData;
  /** The provider's identifier of the message. */
  readonly identificativo: string;
  /** Message-ID of the original message, angle brackets included (`<…@…>`), unescaped. */
  readonly msgid?: string;
  /** `ricevuta@tipo`: the kind of delivery receipt the sender asked for. */
  readonly ricevuta?: TipoRicevuta;
  /** The recipient address a delivery (or failed delivery) receipt is about. */
  readonly consegna?: string;
  readonly ricezione: readonly string[];
  /** The provider's detailed reason, e.g. `5.1.1 - indirizzo non valido`. */
  readonly erroreEsteso?: string;
}

export interface Daticert {
  readonly tipo: PostacertTipo;
  readonly errore: PostacertErrore;
  readonly intestazione: DaticertIntestazione;
  readonly dati: DaticertDati;
}

// ---------------------------------------------------------------------------------------------------
// Reader

const POSTACERT_CHILDREN = ['intestazione', 'dati'] as const;
const INTESTAZIONE_CHILDREN = ['mittente', 'destinatari', 'risposte', 'oggetto'] as const;
const DATI_CHILDREN = [
  'gestore-emittente',
  'data',
  'identificativo',
  'msgid',
  'ricevuta',
  'consegna',
  'ricezione',
  'errore-esteso',
] as const;
const DATA_CHILDREN = ['giorno', 'ora'] as const;

/** Reads daticert.xml (bytes as attached, or text). Throws PecError TRAMITE_ERR_PEC_MALFORMED. */
export function readDaticert(input: Uint8Array | string): Daticert {
  let doc: Document;
  try {
    doc = parseUntrustedXml(input).doc; // bytes: decoded by their declaration (older providers write ISO-8859-1)
  } catch (cause) {
    if (cause instanceof PecError) throw cause;
    // The hardened parser speaks in e-Gov codes (it guards envelopes); here only its reason matters.
    const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/^EGOV_IT_\d+ - /, '');
    throw malformed(`not acceptable XML: ${reason}`, cause);
  }
  const root = doc.documentElement!;
  if (root.namespaceURI || root.localName !== 'postacert') {
    throw malformed(`root element is <${root.tagName}>${root.namespaceURI ? ` in namespace ${root.namespaceURI}` : ''}, not <postacert>`);
  }
  const tipo = enumAttribute(root, 'tipo', POSTACERT_TIPI);
  const errore = enumAttribute(root, 'errore', POSTACERT_ERRORI, 'nessuno');
  const top = childrenByName(root, POSTACERT_CHILDREN);
  return {
    tipo,
    errore,
    intestazione: readIntestazione(required(top, 'intestazione', 'postacert')),
    dati: readDati(required(top, 'dati', 'postacert')),
  };
}

function readIntestazione(el: Element): DaticertIntestazione {
  const children = childrenByName(el, INTESTAZIONE_CHILDREN);
  const destinatari = (children.get('destinatari') ?? []).map((d) => ({
    indirizzo: nonEmptyText(d),
    tipo: enumAttribute(d, 'tipo', TIPI_DESTINATARIO),
  }));
  if (destinatari.length === 0) throw malformed('<intestazione> has no <destinatari>');
  const oggetto = optional(children, 'oggetto', 'intestazione');
  return {
    mittente: nonEmptyText(required(children, 'mittente', 'intestazione')),
    destinatari,
    risposte: nonEmptyText(required(children, 'risposte', 'intestazione')),
    ...(oggetto ? { oggetto: text(oggetto) } : {}),
  };
}

function readDati(el: Element): DaticertDati {
  const children = childrenByName(el, DATI_CHILDREN);
  const dataEl = required(children, 'data', 'dati');
  const dataChildren = childrenByName(dataEl, DATA_CHILDREN);
  const data = daticertDataFrom({
    zona: attribute(dataEl, 'zona'),
    giorno: text(required(dataChildren, 'giorno', 'data')),
    ora: text(required(dataChildren, 'ora', 'data')),
  });
  const msgid = optional(children, 'msgid', 'dati');
  const ricevuta = optional(children, 'ricevuta', 'dati');
  if (ricevuta && (childElements(ricevuta).length > 0 || text(ricevuta) !== ''))
    throw malformed('<ricevuta> must be empty (it carries only @tipo)');
  const consegna = optional(children, 'consegna', 'dati');
  const erroreEsteso = optional(children, 'errore-esteso', 'dati');
  return {
    gestoreEmittente: nonEmptyText(required(children, 'gestore-emittente', 'dati')),
    data,
    identificativo: nonEmptyText(required(children, 'identificativo', 'dati')),
    ...(msgid ? { msgid: unescapeMsgid(nonEmptyText(msgid)) } : {}),
    ...(ricevuta ? { ricevuta: enumAttribute(ricevuta, 'tipo', TIPI_RICEVUTA, 'completa') } : {}),
    ...(consegna ? { consegna: nonEmptyText(consegna) } : {}),
    ricezione: (children.get('ricezione') ?? []).map(nonEmptyText),
    ...(erroreEsteso ? { erroreEsteso: text(erroreEsteso) } : {}),
  };
}

/**
 * The DTD has the Message-ID's angle brackets escaped once (`&lt;id&gt;`), which the DOM already
 * undoes; some providers escape twice (`&amp;lt;`), leaving the entities in the text.
 */
function unescapeMsgid(value: string): string {
  const doubled = /^&lt;(.*)&gt;$/s.exec(value);
  return doubled ? `<${doubled[1]!}>` : value;
}

function childrenByName(parent: Element, allowed: readonly string[]): Map<string, Element[]> {
  const byName = new Map<string, Element[]>();
  for (const el of childElements(parent)) {
    if (el.namespaceURI)
      throw malformed(`<${el.tagName}> in <${parent.localName}> has namespace ${el.namespaceURI}; daticert.xml uses none`);
    if (!allowed.includes(el.localName)) throw malformed(`unexpected element <${el.localName}> in <${parent.localName}>`);
    byName.set(el.localName, [...(byName.get(el.localName) ?? []), el]);
  }
  return byName;
}

function optional(children: Map<string, Element[]>, name: string, where: string): Element | undefined {
  const found = children.get(name) ?? [];
  if (found.length > 1) throw malformed(`<${where}> has ${found.length} <${name}> elements, at most one is allowed`);
  return found[0];
}

function required(children: Map<string, Element[]>, name: string, where: string): Element {
  const el = optional(children, name, where);
  if (!el) throw malformed(`<${where}> has no <${name}>`);
  return el;
}

/** Text of an element that must hold text only. */
function text(el: Element): string {
  if (childElements(el).length > 0) throw malformed(`<${el.localName}> must hold text, not elements`);
  return textOf(el);
}

function nonEmptyText(el: Element): string {
  const value = text(el);
  if (value === '') throw malformed(`<${el.localName}> is empty`);
  return value;
}

function attribute(el: Element, name: string): string {
  if (!el.hasAttribute(name)) throw malformed(`<${el.localName}> has no @${name}`);
  return el.getAttribute(name)!.trim();
}

function enumAttribute<T extends string>(el: Element, name: string, values: readonly T[], fallback?: T): T {
  if (!el.hasAttribute(name) && fallback !== undefined) return fallback;
  const value = attribute(el, name);
  if (!(values as readonly string[]).includes(value)) {
    throw malformed(`<${el.localName}> @${name}="${value}" is not one of ${values.join(', ')}`);
  }
  return value as T;
}

function malformed(reason: string, cause?: unknown): PecError {
  return new PecError('TRAMITE_ERR_PEC_MALFORMED', `daticert.xml: ${reason}`, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------------------
// Dates

const GIORNO = /^(\d{2})\/(\d{2})\/(\d{4})$/;
const ORA = /^(\d{2}):(\d{2}):(\d{2})$/;
/** `+0100` as the rules write it; `+01:00` is tolerated. */
const ZONA = /^([+-])(\d{2}):?(\d{2})$/;

/** Checks giorno, ora and zona and adds the instant they denote. Throws PecError on a bad value. */
export function daticertDataFrom(local: { zona: string; giorno: string; ora: string }): DaticertData {
  const day = GIORNO.exec(local.giorno);
  if (!day) throw malformed(`<giorno>${local.giorno}</giorno> is not dd/MM/yyyy`);
  const time = ORA.exec(local.ora);
  if (!time) throw malformed(`<ora>${local.ora}</ora> is not HH:mm:ss`);
  const offsetMinutes = zonaMinutes(local.zona);
  const [dd, mm, yyyy] = [Number(day[1]), Number(day[2]), Number(day[3])];
  const [h, m, s] = [Number(time[1]), Number(time[2]), Number(time[3])];
  const asUtc = new Date(Date.UTC(yyyy, mm - 1, dd, h, m, s));
  // Date.UTC rolls 31/02 over into March: a round trip tells a real calendar date from an overflow.
  if (asUtc.getUTCFullYear() !== yyyy || asUtc.getUTCMonth() !== mm - 1 || asUtc.getUTCDate() !== dd || h > 23 || m > 59 || s > 59) {
    throw malformed(`${local.giorno} ${local.ora} is not a valid date and time`);
  }
  return {
    zona: local.zona,
    giorno: local.giorno,
    ora: local.ora,
    instant: new Date(asUtc.getTime() - offsetMinutes * 60_000).toISOString(),
  };
}

/** The daticert form of an instant, as a provider in `zona` writes it (for writers and simulators). */
export function daticertData(at: Date, zona = '+0100'): DaticertData {
  const offsetMinutes = zonaMinutes(zona);
  const local = new Date(at.getTime() + offsetMinutes * 60_000);
  const two = (n: number) => String(n).padStart(2, '0');
  return daticertDataFrom({
    zona,
    giorno: `${two(local.getUTCDate())}/${two(local.getUTCMonth() + 1)}/${String(local.getUTCFullYear()).padStart(4, '0')}`,
    ora: `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`,
  });
}

function zonaMinutes(zona: string): number {
  const match = ZONA.exec(zona);
  if (!match || Number(match[2]) > 14 || Number(match[3]) > 59) throw malformed(`<data zona="${zona}"> is not a UTC offset like +0100`);
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

// ---------------------------------------------------------------------------------------------------
// Writer

/**
 * daticert.xml for `model`, built as a DOM and serialised (so every value is escaped by the
 * serialiser, msgid's angle brackets included). Refuses, with PecError TRAMITE_ERR_PEC_MALFORMED, a
 * model that the reader would refuse: bad enumerations, no destinatari, a date whose giorno/ora/zona
 * disagree with its instant, characters XML cannot carry.
 */
export function buildDaticertXml(model: Daticert): string {
  checkWritable(model);
  const doc = new DOMImplementation().createDocument(null, 'postacert', null);
  const root = doc.documentElement!;
  root.setAttribute('tipo', model.tipo);
  root.setAttribute('errore', model.errore);
  const add = (parent: Element, name: string, value?: string): Element => {
    const el = doc.createElement(name);
    if (value !== undefined) el.appendChild(doc.createTextNode(value));
    parent.appendChild(el);
    return el;
  };

  const { intestazione: head, dati } = model;
  const intestazione = add(root, 'intestazione');
  add(intestazione, 'mittente', head.mittente);
  for (const d of head.destinatari) add(intestazione, 'destinatari', d.indirizzo).setAttribute('tipo', d.tipo);
  add(intestazione, 'risposte', head.risposte);
  if (head.oggetto !== undefined) add(intestazione, 'oggetto', head.oggetto);

  const datiEl = add(root, 'dati');
  add(datiEl, 'gestore-emittente', dati.gestoreEmittente);
  const data = add(datiEl, 'data');
  data.setAttribute('zona', dati.data.zona);
  add(data, 'giorno', dati.data.giorno);
  add(data, 'ora', dati.data.ora);
  add(datiEl, 'identificativo', dati.identificativo);
  if (dati.msgid !== undefined) add(datiEl, 'msgid', dati.msgid);
  if (dati.ricevuta !== undefined) add(datiEl, 'ricevuta').setAttribute('tipo', dati.ricevuta);
  if (dati.consegna !== undefined) add(datiEl, 'consegna', dati.consegna);
  for (const r of dati.ricezione) add(datiEl, 'ricezione', r);
  if (dati.erroreEsteso !== undefined) add(datiEl, 'errore-esteso', dati.erroreEsteso);

  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}\n`;
}

function checkWritable(model: Daticert): void {
  const refuse = (reason: string): never => {
    throw new PecError('TRAMITE_ERR_PEC_MALFORMED', `cannot write daticert.xml: ${reason}`);
  };
  const oneOf = <T extends string>(what: string, value: string, values: readonly T[]) => {
    if (!(values as readonly string[]).includes(value)) refuse(`${what} "${value}" is not one of ${values.join(', ')}`);
  };
  oneOf('tipo', model.tipo, POSTACERT_TIPI);
  oneOf('errore', model.errore, POSTACERT_ERRORI);
  if (model.intestazione.destinatari.length === 0) refuse('no destinatari');
  const requiredTexts: Array<[string, string]> = [
    ['mittente', model.intestazione.mittente],
    ['risposte', model.intestazione.risposte],
    ['gestore-emittente', model.dati.gestoreEmittente],
    ['identificativo', model.dati.identificativo],
    ...model.intestazione.destinatari.map((d): [string, string] => ['destinatari', d.indirizzo]),
  ];
  for (const [name, value] of requiredTexts) if (value.trim() === '') refuse(`<${name}> is empty`);
  for (const d of model.intestazione.destinatari) oneOf('destinatari tipo', d.tipo, TIPI_DESTINATARIO);
  if (model.dati.ricevuta !== undefined) oneOf('ricevuta tipo', model.dati.ricevuta, TIPI_RICEVUTA);
  const data = daticertDataFrom(model.dati.data);
  if (data.instant !== new Date(model.dati.data.instant).toISOString()) {
    refuse(`data ${data.giorno} ${data.ora} ${data.zona} is ${data.instant}, not the instant ${model.dati.data.instant} the model says`);
  }
  const texts: Array<[string, string | undefined]> = [
    ['mittente', model.intestazione.mittente],
    ['risposte', model.intestazione.risposte],
    ['oggetto', model.intestazione.oggetto],
    ['gestore-emittente', model.dati.gestoreEmittente],
    ['identificativo', model.dati.identificativo],
    ['msgid', model.dati.msgid],
    ['consegna', model.dati.consegna],
    ['errore-esteso', model.dati.erroreEsteso],
    ...model.intestazione.destinatari.map((d): [string, string] => ['destinatari', d.indirizzo]),
    ...model.dati.ricezione.map((r): [string, string] => ['ricezione', r]),
  ];
  for (const [name, value] of texts) {
    if (value !== undefined && NOT_XML_CHAR.test(value)) refuse(`<${name}> holds a character XML 1.0 cannot carry`);
  }
}
