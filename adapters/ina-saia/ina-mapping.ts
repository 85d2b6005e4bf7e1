/**
 * Registry events in INA-SAIA form, and INA's esito back: THE one place that knows the XML.
 *
 * No SAIA message schema is public, so the XML is the project's own (schemas/ina-saia/
 * ina-saia-comunicazione.xsd, namespace urn:tramite:ina-saia:1, documented in docs/ina-saia.md).
 * When a real schema is available, replace this module and that file together: the adapter, the
 * queue and the simulator only see the typed values below.
 *
 *   RegistryEvent  ──buildComunicazioneXml──▶  <ina:Comunicazione>  ──readComunicazioneXml──▶  RegistryEvent
 *   EsitoIna       ──buildEsitoXml─────────▶  <ina:Esito>          ──readEsitoXml─────────▶  EsitoIna
 *
 * Documents are built as a DOM and serialised, so every value goes through the serialiser's escaping.
 * Readers take what the hardened parser accepts; validate against the XSD (validateInaSchema) first,
 * the readers then only refuse what the schema cannot say.
 */
import { TramiteError } from '../../src/core/errors.js';
import { childElements, parseUntrustedXml, textOf, XmlWriter } from '../sdk/index.js';
import { INA_NS } from './ina-xml-schema.js';
import {
  kindOf,
  type Famiglia,
  type Indirizzo,
  type Luogo,
  type Protocollo,
  type RegistryEvent,
  type RegistryEventKind,
  type Sesso,
  type Soggetto,
  type SoggettoCompleto,
} from './registry-event.js';

export { INA_NS, validateInaSchema, type SchemaValidation } from './ina-xml-schema.js';

/** One registry event as the Comune communicates it to INA. */
export interface ComunicazioneIna {
  /** Unique per Comune: INA answers a repeated id with the esito it gave the first time. */
  readonly idComunicazione: string;
  /** The sending Comune's Belfiore code. */
  readonly codiceComune: string;
  /** xsd:dateTime, e.g. 2024-05-02T10:15:00.000Z. */
  readonly dataOraComunicazione: string;
  readonly evento: RegistryEvent;
}

export interface InaErrore {
  /** Upper-case code, e.g. SOGGETTO_NON_ISCRITTO (docs/ina-saia.md lists the simulator's). */
  readonly codice: string;
  readonly descrizione: string;
  /** Dotted path of the event field concerned, when there is one. */
  readonly campo?: string;
}

/** INA's answer to one communication: accepted with its operation id, or rejected with at least one error. */
export type EsitoIna =
  | { readonly stato: 'ACCETTATA'; readonly idComunicazione: string; readonly dataOraEsito: string; readonly idOperazioneIna: string }
  | {
      readonly stato: 'RESPINTA';
      readonly idComunicazione: string;
      readonly dataOraEsito: string;
      readonly errori: readonly [InaErrore, ...InaErrore[]];
    };

/** The element each event kind travels in. */
const EVENT_ELEMENTS: Readonly<Record<RegistryEventKind, string>> = {
  'iscrizione.nascita': 'IscrizioneNascita',
  'iscrizione.immigrazione': 'IscrizioneImmigrazione',
  'cancellazione.morte': 'CancellazioneMorte',
  'cancellazione.emigrazione': 'CancellazioneEmigrazione',
  'mutazione.indirizzo': 'MutazioneIndirizzo',
  'mutazione.famiglia': 'MutazioneFamiglia',
  'mutazione.datiPersonali': 'MutazioneDatiPersonali',
  rettifica: 'Rettifica',
};
const KIND_OF_ELEMENT = new Map(Object.entries(EVENT_ELEMENTS).map(([kind, element]) => [element, kind as RegistryEventKind]));

/** What the schema caps an error description at: longer texts (a validator's report) are cut, never refused. */
const MAX_DESCRIZIONE = 500;
const SCHEMA_VERSION = '1';

// ---------------------------------------------------------------------------------------------------
// Writing

/**
 * A document in the INA namespace with the `ina` prefix, declared once on the root. No XML declaration
 * (XmlWriter's default): the document travels as a bus payload (element content), where none may stand.
 */
function inaWriter(rootName: string): XmlWriter {
  return new XmlWriter({ prefix: 'ina', uri: INA_NS }, rootName, { rootAttributes: { versione: SCHEMA_VERSION } });
}

/** The Comunicazione, unsealed (ina-seal.ts appends the Comune's signature). */
export function buildComunicazioneXml(c: ComunicazioneIna): string {
  const w = inaWriter('Comunicazione');
  const intestazione = w.add(w.root, 'Intestazione');
  w.add(intestazione, 'IdComunicazione', c.idComunicazione);
  w.add(intestazione, 'CodiceComune', c.codiceComune);
  w.add(intestazione, 'DataOraComunicazione', c.dataOraComunicazione);
  w.addOptional(intestazione, 'RiferimentoComune', c.evento.riferimentoComune);
  if (c.evento.protocollo) writeProtocollo(w, intestazione, c.evento.protocollo);

  const e = c.evento;
  const el = w.add(w.root, EVENT_ELEMENTS[kindOf(e)]);
  w.add(el, 'DataEvento', e.dataEvento);
  writeSoggetto(w, el, e.soggetto);
  switch (e.tipo) {
    case 'iscrizione':
      if (e.motivo === 'immigrazione') writeLuogo(w, el, 'Provenienza', e.provenienza);
      writeIndirizzo(w, el, e.indirizzo);
      writeFamiglia(w, el, e.famiglia);
      break;
    case 'cancellazione':
      if (e.motivo === 'morte') {
        if (e.luogoMorte) writeLuogo(w, el, 'LuogoMorte', e.luogoMorte);
      } else writeLuogo(w, el, 'Destinazione', e.destinazione);
      break;
    case 'mutazione':
      if (e.motivo === 'indirizzo') writeIndirizzo(w, el, e.indirizzo);
      else if (e.motivo === 'famiglia') writeFamiglia(w, el, e.famiglia);
      else {
        const dati = w.add(el, 'DatiPersonali');
        w.addOptional(dati, 'Cognome', e.datiPersonali.cognome);
        w.addOptional(dati, 'Nome', e.datiPersonali.nome);
        w.addOptional(dati, 'Cittadinanza', e.datiPersonali.cittadinanza);
        w.addOptional(dati, 'StatoCivile', e.datiPersonali.statoCivile);
      }
      break;
    case 'rettifica': {
      const r = w.add(el, 'Rettifiche');
      w.addOptional(r, 'Cognome', e.rettifiche.cognome);
      w.addOptional(r, 'Nome', e.rettifiche.nome);
      w.addOptional(r, 'Sesso', e.rettifiche.sesso);
      w.addOptional(r, 'DataNascita', e.rettifiche.dataNascita);
      w.addOptional(r, 'LuogoNascita', e.rettifiche.luogoNascita);
      w.add(el, 'Motivazione', e.motivazione);
      break;
    }
  }
  return w.serialize();
}

function writeProtocollo(w: XmlWriter, parent: Element, p: Protocollo): void {
  const el = w.add(parent, 'Protocollo');
  w.add(el, 'Numero', p.numero);
  w.add(el, 'Data', p.data);
}

function writeSoggetto(w: XmlWriter, parent: Element, s: Soggetto): void {
  const el = w.add(parent, 'Soggetto');
  w.add(el, 'CodiceFiscale', s.codiceFiscale);
  w.add(el, 'Cognome', s.cognome);
  w.add(el, 'Nome', s.nome);
  w.addOptional(el, 'Sesso', s.sesso);
  w.addOptional(el, 'DataNascita', s.dataNascita);
  w.addOptional(el, 'LuogoNascita', s.luogoNascita);
}

function writeLuogo(w: XmlWriter, parent: Element, name: string, l: Luogo): void {
  const el = w.add(parent, name);
  if ('comune' in l) w.add(el, 'Comune', l.comune);
  else w.add(el, 'StatoEstero', l.statoEstero);
}

function writeIndirizzo(w: XmlWriter, parent: Element, i: Indirizzo): void {
  const el = w.add(parent, 'Indirizzo');
  w.add(el, 'Toponimo', i.toponimo);
  w.add(el, 'Civico', i.civico);
  w.addOptional(el, 'Interno', i.interno);
  w.add(el, 'CAP', i.cap);
}

function writeFamiglia(w: XmlWriter, parent: Element, f: Famiglia): void {
  const el = w.add(parent, 'Famiglia');
  w.add(el, 'IdFamiglia', f.idFamiglia);
  w.add(el, 'RelazioneParentela', f.relazione);
}

export function buildEsitoXml(esito: EsitoIna): string {
  const w = inaWriter('Esito');
  w.add(w.root, 'IdComunicazione', esito.idComunicazione);
  w.add(w.root, 'DataOraEsito', esito.dataOraEsito);
  if (esito.stato === 'ACCETTATA') {
    w.add(w.add(w.root, 'Accettata'), 'IdOperazioneINA', esito.idOperazioneIna);
  } else {
    const respinta = w.add(w.root, 'Respinta');
    for (const errore of esito.errori) {
      const el = w.add(respinta, 'Errore');
      w.add(el, 'Codice', errore.codice);
      w.add(
        el,
        'Descrizione',
        errore.descrizione.length > MAX_DESCRIZIONE ? `${errore.descrizione.slice(0, MAX_DESCRIZIONE - 1)}…` : errore.descrizione,
      );
      w.addOptional(el, 'Campo', errore.campo);
    }
  }
  return w.serialize();
}

// ---------------------------------------------------------------------------------------------------
// Reading

/** A document that is not the INA XML it should be; `where` names the element. */
export class InaXmlError extends TramiteError {
  readonly where: string;
  constructor(where: string, message: string, cause?: unknown) {
    super('TRAMITE_ERR_BAD_REQUEST', `${where}: ${message}`, { cause });
    this.where = where;
  }
}

/** The root of an INA document, parsed with the hardened parser (no DOCTYPE, size and depth limits). */
function inaRoot(xml: string, expected: 'Comunicazione' | 'Esito'): Element {
  let root: Element;
  try {
    root = parseUntrustedXml(xml).doc.documentElement as Element;
  } catch (cause) {
    throw new InaXmlError(expected, `not readable XML: ${(cause as Error).message}`, cause);
  }
  if (root.namespaceURI !== INA_NS || root.localName !== expected) {
    throw new InaXmlError(expected, `the root element is {${root.namespaceURI ?? ''}}${root.localName}, expected {${INA_NS}}${expected}`);
  }
  return root;
}

/** The INA-namespace children of an element, by local name, in document order. */
class Children {
  private readonly byName = new Map<string, Element[]>();
  constructor(readonly el: Element) {
    for (const child of childElements(el)) {
      if (child.namespaceURI !== INA_NS) continue;
      const list = this.byName.get(child.localName) ?? [];
      list.push(child);
      this.byName.set(child.localName, list);
    }
  }

  optional(name: string): Element | undefined {
    const found = this.byName.get(name) ?? [];
    if (found.length > 1) throw new InaXmlError(`${this.el.localName}/${name}`, 'appears more than once');
    return found[0];
  }

  one(name: string): Element {
    const el = this.optional(name);
    if (!el) throw new InaXmlError(`${this.el.localName}/${name}`, 'is missing');
    return el;
  }

  text(name: string): string {
    return textOf(this.one(name));
  }

  optionalText(name: string): string | undefined {
    const el = this.optional(name);
    return el ? textOf(el) : undefined;
  }
}

/** The IdComunicazione of what claims to be a Comunicazione, read leniently: what an esito can refer to even when the rest is invalid. */
export function peekIdComunicazione(xml: string): string | undefined {
  try {
    const id = new Children(new Children(inaRoot(xml, 'Comunicazione')).one('Intestazione')).text('IdComunicazione');
    return /^[A-Za-z0-9._:-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The communication back as a typed value (schema-valid input assumed; see the module comment). */
export function readComunicazioneXml(xml: string): ComunicazioneIna {
  const root = new Children(inaRoot(xml, 'Comunicazione'));
  const intestazione = new Children(root.one('Intestazione'));
  const eventElements = childElements(root.el).filter((c) => c.namespaceURI === INA_NS && KIND_OF_ELEMENT.has(c.localName));
  const [eventElement, ...others] = eventElements;
  if (!eventElement || others.length > 0)
    throw new InaXmlError('Comunicazione', `expected exactly one event element (${[...KIND_OF_ELEMENT.keys()].join(', ')})`);
  const kind = KIND_OF_ELEMENT.get(eventElement.localName)!;
  const protocolloEl = intestazione.optional('Protocollo');
  const riferimentoComune = intestazione.optionalText('RiferimentoComune');
  const common = {
    dataEvento: new Children(eventElement).text('DataEvento'),
    ...(riferimentoComune !== undefined ? { riferimentoComune } : {}),
    ...(protocolloEl ? { protocollo: readProtocollo(protocolloEl) } : {}),
  };
  return {
    idComunicazione: intestazione.text('IdComunicazione'),
    codiceComune: intestazione.text('CodiceComune'),
    dataOraComunicazione: intestazione.text('DataOraComunicazione'),
    evento: readEvent(kind, new Children(eventElement), common),
  };
}

type Common = Pick<RegistryEvent, 'dataEvento' | 'riferimentoComune' | 'protocollo'>;

function readEvent(kind: RegistryEventKind, el: Children, common: Common): RegistryEvent {
  const soggetto = readSoggetto(el.one('Soggetto'));
  switch (kind) {
    case 'iscrizione.nascita':
      return {
        tipo: 'iscrizione',
        motivo: 'nascita',
        ...common,
        soggetto: complete(soggetto),
        indirizzo: readIndirizzo(el.one('Indirizzo')),
        famiglia: readFamiglia(el.one('Famiglia')),
      };
    case 'iscrizione.immigrazione':
      return {
        tipo: 'iscrizione',
        motivo: 'immigrazione',
        ...common,
        soggetto: complete(soggetto),
        provenienza: readLuogo(el.one('Provenienza')),
        indirizzo: readIndirizzo(el.one('Indirizzo')),
        famiglia: readFamiglia(el.one('Famiglia')),
      };
    case 'cancellazione.morte': {
      const luogoMorte = el.optional('LuogoMorte');
      return { tipo: 'cancellazione', motivo: 'morte', ...common, soggetto, ...(luogoMorte ? { luogoMorte: readLuogo(luogoMorte) } : {}) };
    }
    case 'cancellazione.emigrazione':
      return { tipo: 'cancellazione', motivo: 'emigrazione', ...common, soggetto, destinazione: readLuogo(el.one('Destinazione')) };
    case 'mutazione.indirizzo':
      return { tipo: 'mutazione', motivo: 'indirizzo', ...common, soggetto, indirizzo: readIndirizzo(el.one('Indirizzo')) };
    case 'mutazione.famiglia':
      return { tipo: 'mutazione', motivo: 'famiglia', ...common, soggetto, famiglia: readFamiglia(el.one('Famiglia')) };
    case 'mutazione.datiPersonali': {
      const d = new Children(el.one('DatiPersonali'));
      const datiPersonali = definedOnly({
        cognome: d.optionalText('Cognome'),
        nome: d.optionalText('Nome'),
        cittadinanza: d.optionalText('Cittadinanza'),
        statoCivile: d.optionalText('StatoCivile'),
      });
      if (Object.keys(datiPersonali).length === 0)
        throw new InaXmlError('DatiPersonali', 'changes nothing: at least one field is required');
      return {
        tipo: 'mutazione',
        motivo: 'datiPersonali',
        ...common,
        soggetto,
        datiPersonali: datiPersonali as Extract<RegistryEvent, { motivo: 'datiPersonali' }>['datiPersonali'],
      };
    }
    case 'rettifica': {
      const r = new Children(el.one('Rettifiche'));
      const rettifiche = definedOnly({
        cognome: r.optionalText('Cognome'),
        nome: r.optionalText('Nome'),
        sesso: r.optionalText('Sesso'),
        dataNascita: r.optionalText('DataNascita'),
        luogoNascita: r.optionalText('LuogoNascita'),
      });
      if (Object.keys(rettifiche).length === 0) throw new InaXmlError('Rettifiche', 'corrects nothing: at least one field is required');
      return {
        tipo: 'rettifica',
        ...common,
        soggetto,
        rettifiche: rettifiche as Extract<RegistryEvent, { tipo: 'rettifica' }>['rettifiche'],
        motivazione: el.text('Motivazione'),
      };
    }
  }
}

function readProtocollo(el: Element): Protocollo {
  const p = new Children(el);
  return { numero: p.text('Numero'), data: p.text('Data') };
}

function readSoggetto(el: Element): Soggetto {
  const s = new Children(el);
  const sesso = s.optionalText('Sesso');
  if (sesso !== undefined && !isSesso(sesso)) throw new InaXmlError('Soggetto/Sesso', `"${sesso}" is neither M nor F`);
  return {
    codiceFiscale: s.text('CodiceFiscale'),
    cognome: s.text('Cognome'),
    nome: s.text('Nome'),
    ...definedOnly({ sesso, dataNascita: s.optionalText('DataNascita'), luogoNascita: s.optionalText('LuogoNascita') }),
  };
}

function isSesso(value: string): value is Sesso {
  return value === 'M' || value === 'F';
}

function complete(s: Soggetto): SoggettoCompleto {
  if (s.sesso === undefined || s.dataNascita === undefined || s.luogoNascita === undefined)
    throw new InaXmlError('Soggetto', 'an iscrizione needs Sesso, DataNascita and LuogoNascita');
  return { ...s, sesso: s.sesso, dataNascita: s.dataNascita, luogoNascita: s.luogoNascita };
}

function readLuogo(el: Element): Luogo {
  const l = new Children(el);
  const comune = l.optionalText('Comune');
  const statoEstero = l.optionalText('StatoEstero');
  if ((comune === undefined) === (statoEstero === undefined))
    throw new InaXmlError(el.localName, 'needs exactly one of Comune and StatoEstero');
  return comune !== undefined ? { comune } : { statoEstero: statoEstero! };
}

function readIndirizzo(el: Element): Indirizzo {
  const i = new Children(el);
  return {
    toponimo: i.text('Toponimo'),
    civico: i.text('Civico'),
    ...definedOnly({ interno: i.optionalText('Interno') }),
    cap: i.text('CAP'),
  };
}

function readFamiglia(el: Element): Famiglia {
  const f = new Children(el);
  return { idFamiglia: f.text('IdFamiglia'), relazione: f.text('RelazioneParentela') as Famiglia['relazione'] };
}

export function readEsitoXml(xml: string): EsitoIna {
  const root = new Children(inaRoot(xml, 'Esito'));
  const idComunicazione = root.text('IdComunicazione');
  const dataOraEsito = root.text('DataOraEsito');
  const accettata = root.optional('Accettata');
  const respinta = root.optional('Respinta');
  if ((accettata === undefined) === (respinta === undefined)) throw new InaXmlError('Esito', 'needs exactly one of Accettata and Respinta');
  if (accettata)
    return { stato: 'ACCETTATA', idComunicazione, dataOraEsito, idOperazioneIna: new Children(accettata).text('IdOperazioneINA') };
  const errori = childElements(respinta!)
    .filter((c) => c.namespaceURI === INA_NS && c.localName === 'Errore')
    .map((el): InaErrore => {
      const e = new Children(el);
      return { codice: e.text('Codice'), descrizione: e.text('Descrizione'), ...definedOnly({ campo: e.optionalText('Campo') }) };
    });
  const [first, ...rest] = errori;
  if (!first) throw new InaXmlError('Esito/Respinta', 'a rejection carries at least one Errore');
  return { stato: 'RESPINTA', idComunicazione, dataOraEsito, errori: [first, ...rest] };
}

/** The object without its undefined members: optional fields are absent, never present-and-undefined. */
function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
