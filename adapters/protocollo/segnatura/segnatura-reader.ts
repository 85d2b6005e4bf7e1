/**
 * Reads a Segnatura, in any of its three official forms, into the one model (segnatura-model.ts):
 *
 * - 2021: `SegnaturaInformatica` in `http://www.agid.gov.it/protocollo/` — or the same element declared
 *   again by pec_message.xsd in `http://www.agid.gov.it/protocollo/pec/` (its content stays in the first
 *   namespace). Attributes are namespace-qualified (attributeFormDefault="qualified").
 * - 2013: `Segnatura` in `http://www.digitPa.gov.it/protocollo/` (Circolare AgID 60/2013).
 * - 2001: the same content with no namespace (it was defined by a DTD).
 *
 * The reader checks what it needs in order to build the model unambiguously — required elements present,
 * single elements not repeated, booleans readable — and names the element path when something is wrong
 * (ProtocolloError 000_Irricevibile). Everything else (patterns, lengths, order) is the XSD validator's
 * job: see segnatura-schema.ts. It also exports the pieces the other messages share
 * (protocollo-messages.ts): the hardened parse, the element reader, the Identificatore.
 */
import { DEFAULT_XML_LIMITS, childElements, decodeXmlBytes, isDoctypeRefusal, parseUntrustedXml, type KnownExternalDtd } from '../../sdk/xml-security.js';
import { ProtocolloError } from '../../../src/core/errors.js';
import type {
  Amministrazione,
  AmministrazioneEstera,
  Apposizione,
  Classifica,
  CodiceIPA,
  CollocazioneTelematica,
  Contatti,
  Destinatario,
  Documento,
  Fascicolo,
  Identificatore,
  Impronta,
  IndirizzoPostale,
  IndirizzoTelematico,
  LivelloClassifica,
  PersonaFisica,
  PersonaGiuridica,
  ProtocolloForm,
  ReadSegnatura,
  Riferimenti,
  Riservato,
  Segnatura,
  Soggetto,
} from './segnatura-model.js';

/** Namespace URIs of the protocollo vocabulary (facts of the official schemas). */
export const PROTOCOLLO_NS = {
  /** segnatura_protocollo.xsd (2021): SegnaturaInformatica and every type it uses. */
  segnatura: 'http://www.agid.gov.it/protocollo/',
  /** pec_message.xsd (2021): ConfermaRicezione, NotificaEccezione, … and SegnaturaInformatica again. */
  pec: 'http://www.agid.gov.it/protocollo/pec/',
  /** messaggio_protocollo.xsd (2021): the SOAP MessaggioProtocollo (Segnatura + files). */
  messaggi: 'http://www.agid.gov.it/protocollo/messaggi/',
  /** Circolare 60/2013. Note the capital P: URIs compare exactly. */
  circolare2013: 'http://www.digitPa.gov.it/protocollo/',
} as const;

/** parseUntrustedXml speaks e-Gov (EGOV_IT_001 - …); the protocollo code replaces that prefix. */
const EGOV_CODE_PREFIX = /^EGOV_IT_\d{3} - /;

/**
 * The DTD of the 2001 form (Circolare AIPA/CR/28, Allegato B), which defines all five roots: such documents
 * routinely begin `<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">`. The line is accepted, never resolved (the
 * reader needs nothing from the DTD: the model's defaults are its own), and only in that exact shape — no
 * internal subset, no entity, no other DTD, a root with no namespace (hardened-xml / xml-doctype).
 */
export const SEGNATURA_DTD_2001: KnownExternalDtd = {
  roots: ['Segnatura', 'ConfermaRicezione', 'AggiornamentoConferma', 'NotificaEccezione', 'AnnullamentoProtocollazione'],
  systemFile: 'Segnatura.dtd',
};

// ---------------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses untrusted protocollo XML with the node's hardened parser (no DOCTYPE but the 2001 one, no PIs,
 * size and depth limits, bytes decoded by their declared encoding — ISO-8859-1 is common in older
 * documents). Any refusal becomes 000_Irricevibile; a refused DOCTYPE gets its own message, because the
 * sender's fix is simply to drop that line. `text` is the document as characters (see decodeXmlBytes).
 */
export function parseProtocolloXml(xml: string | Uint8Array, what: string): { doc: Document; root: Element; text: string } {
  try {
    const { doc, text } = parseUntrustedXml(xml, DEFAULT_XML_LIMITS, { acceptDoctype: SEGNATURA_DTD_2001 });
    return { doc, root: doc.documentElement as Element, text };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.replace(EGOV_CODE_PREFIX, '') : String(cause);
    if (isDoctypeRefusal(cause)) {
      const line = doctypeLine(xml);
      throw new ProtocolloError(
        '000_Irricevibile',
        `${what} refused: it declares a DOCTYPE${line ? ` (line ${line})` : ''} the bus does not accept (${reason}). The bus never processes a DTD ` +
          `(no entities, no external files); only the 2001 form's <!DOCTYPE Segnatura SYSTEM "${SEGNATURA_DTD_2001.systemFile}"> is tolerated — ` +
          'remove the <!DOCTYPE …> line and send it again: the document reads the same without it',
        { cause, where: 'DOCTYPE' },
      );
    }
    throw new ProtocolloError('000_Irricevibile', `${what} is not readable XML: ${reason}`, { cause });
  }
}

/** Line of the `<!DOCTYPE` in the prolog (after the XML declaration, comments, whitespace), if any. */
function doctypeLine(xml: string | Uint8Array): number | undefined {
  let text: string;
  try {
    text = typeof xml === 'string' ? xml : decodeXmlBytes(xml).text;
  } catch {
    return undefined;
  }
  const at = doctypeOffset(text);
  return at < 0 ? undefined : text.slice(0, at).split('\n').length;
}

/** Offset of a `<!DOCTYPE` in the prolog (after the XML declaration, comments, whitespace), or -1. */
function doctypeOffset(text: string): number {
  let at = text.startsWith('\uFEFF') ? 1 : 0;
  for (;;) {
    while (at < text.length && /\s/.test(text.charAt(at))) at += 1;
    if (text.startsWith('<?', at)) at = skipPast(text, at, '?>');
    else if (text.startsWith('<!--', at)) at = skipPast(text, at, '-->');
    else return text.startsWith('<!DOCTYPE', at) ? at : -1;
    if (at < 0) return -1;
  }
}

function skipPast(text: string, from: number, end: string): number {
  const i = text.indexOf(end, from);
  return i < 0 ? -1 : i + end.length;
}

// ---------------------------------------------------------------------------------------------------
// Reading elements: the path travels with the element, so every refusal names where it happened.

/** How a form spells its names: the namespace of its elements and of its attributes. */
export interface FormSyntax {
  readonly form: ProtocolloForm;
  /** Namespace of the content elements; null for the 2001 form. */
  readonly ns: string | null;
  /** 2021 qualifies attributes with the namespace of the schema declaring them; older forms do not. */
  readonly attributeNs: string | null;
}

export const SYNTAX_2021: FormSyntax = { form: '2021', ns: PROTOCOLLO_NS.segnatura, attributeNs: PROTOCOLLO_NS.segnatura };
export const SYNTAX_2013: FormSyntax = { form: '2013', ns: PROTOCOLLO_NS.circolare2013, attributeNs: null };
export const SYNTAX_2001: FormSyntax = { form: '2001', ns: null, attributeNs: null };

/** An element, its path from the root (for messages) and the syntax its children are read with. */
export class ElementReader {
  constructor(
    readonly el: Element,
    readonly path: string,
    readonly syntax: FormSyntax,
  ) {}

  /** The same element, its children read in another namespace (a pec element holding prot content). */
  withSyntax(syntax: FormSyntax): ElementReader {
    return new ElementReader(this.el, this.path, syntax);
  }

  many(name: string): ElementReader[] {
    return childElements(this.el)
      .filter((c) => c.localName === name && (c.namespaceURI ?? null) === this.syntax.ns)
      .map((c) => new ElementReader(c, `${this.path}/${name}`, this.syntax));
  }

  optional(name: string): ElementReader | undefined {
    const found = this.many(name);
    if (found.length > 1) {
      throw this.refuse(`${this.path}/${name} appears ${found.length} times; the schema allows it once`, `${this.path}/${name}`);
    }
    return found[0];
  }

  one(name: string): ElementReader {
    const found = this.optional(name);
    if (!found) throw this.missing(name);
    return found;
  }

  /**
   * Which one of `names` (an xs:choice) is present; exactly one must be. The caller then reads it with
   * `one` or, for a repeatable alternative, `many`.
   */
  choice<N extends string>(names: readonly N[]): N {
    const present = names.filter((name) => this.many(name).length > 0);
    const name = present[0];
    if (name === undefined) throw this.missing(names.join(' | '));
    if (present.length > 1) {
      throw this.refuse(`${this.path} holds both ${present.join(' and ')}; the schema allows one of ${names.join(', ')}`, this.path);
    }
    return name;
  }

  /** Text content, trimmed. */
  text(): string {
    return (this.el.textContent ?? '').trim();
  }

  requiredText(name: string): string {
    return this.one(name).text();
  }

  optionalText(name: string): string | undefined {
    return this.optional(name)?.text();
  }

  /**
   * An attribute as this form spells it. In the 2021 form an attribute without its prefix is not the
   * attribute the schema declares; it is refused rather than ignored, since ignoring an unqualified
   * confermaRicezione="false" would silently apply the default (true).
   */
  attr(name: string): string | undefined {
    const ns = this.syntax.attributeNs;
    const value = findAttribute(this.el, ns, name);
    if (value === undefined && ns !== null && findAttribute(this.el, null, name) !== undefined) {
      throw this.refuse(
        `${this.path}/@${name} must be namespace-qualified (e.g. prot:${name}): the 2021 schema has attributeFormDefault="qualified"`,
        `${this.path}/@${name}`,
      );
    }
    return value;
  }

  requiredAttr(name: string): string {
    const value = this.attr(name);
    if (value === undefined) throw this.refuse(`${this.path}/@${name} is missing (required)`, `${this.path}/@${name}`);
    return value;
  }

  /** xs:boolean (`true`, `false`, `1`, `0`). */
  booleanText(): boolean {
    return parseXsBoolean(this.text(), this.path, this);
  }

  booleanAttr(name: string, fallback: boolean): boolean {
    const value = this.attr(name);
    return value === undefined ? fallback : parseXsBoolean(value, `${this.path}/@${name}`, this);
  }

  /** xs:integer, as a JavaScript number (the values in this vocabulary are small). */
  integerAttr(name: string): number | undefined {
    const value = this.attr(name)?.trim();
    if (value === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw this.refuse(`${this.path}/@${name} is "${value}", not an integer`, `${this.path}/@${name}`);
    }
    return Number(value);
  }

  missing(name: string): ProtocolloError {
    return this.refuse(`required element ${this.path}/${name} is missing`, `${this.path}/${name}`);
  }

  refuse(message: string, where: string): ProtocolloError {
    return new ProtocolloError('000_Irricevibile', `${message} (${this.syntax.form} form)`, { where });
  }
}

function findAttribute(el: Element, ns: string | null, name: string): string | undefined {
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i);
    if (a && (a.localName ?? a.name) === name && (a.namespaceURI || null) === ns && a.prefix !== 'xmlns') return a.value;
  }
  return undefined;
}

function parseXsBoolean(value: string, where: string, reader: ElementReader): boolean {
  const v = value.trim();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw reader.refuse(`${where} is "${v}", not a boolean (true, false, 1, 0)`, where);
}

/**
 * Identificatore content: the same five (six) children in every form and every message — except that
 * the 2001 DTD had no CodiceRegistro (one register per AOO then; the 2013 rules added it): absent there,
 * it is read as ''.
 */
export function readIdentificatore(r: ElementReader): Identificatore {
  return {
    codiceAmministrazione: r.requiredText('CodiceAmministrazione'),
    codiceAOO: r.requiredText('CodiceAOO'),
    codiceRegistro: r.syntax.form === '2001' ? (r.optionalText('CodiceRegistro') ?? '') : r.requiredText('CodiceRegistro'),
    numeroRegistrazione: r.requiredText('NumeroRegistrazione'),
    dataRegistrazione: r.requiredText('DataRegistrazione'),
    oraRegistrazione: r.optionalText('OraRegistrazione'),
  };
}

// ---------------------------------------------------------------------------------------------------
// Entry point

/** Reads a Segnatura in the 2021, 2013 or 2001 form; refuses anything else with 000_Irricevibile. */
export function readSegnatura(xml: string | Uint8Array): ReadSegnatura {
  const { doc, root } = parseProtocolloXml(xml, 'Segnatura');
  const segnatura = readSegnaturaElement(root);
  if (!segnatura) {
    throw new ProtocolloError(
      '000_Irricevibile',
      `the document is not a Segnatura: its root is ${describeElement(root)}; expected SegnaturaInformatica ` +
        `(${PROTOCOLLO_NS.segnatura} or ${PROTOCOLLO_NS.pec}), Segnatura (${PROTOCOLLO_NS.circolare2013}) or Segnatura with no namespace (2001)`,
      { where: root.localName ?? root.nodeName },
    );
  }
  return { segnatura, doc, root };
}

/** The Segnatura `root` holds, or undefined when `root` is no Segnatura element of a known form. */
export function readSegnaturaElement(root: Element): Segnatura | undefined {
  const ns = root.namespaceURI ?? null;
  if (root.localName === 'SegnaturaInformatica' && (ns === PROTOCOLLO_NS.segnatura || ns === PROTOCOLLO_NS.pec)) {
    return readSegnatura2021(new ElementReader(root, 'SegnaturaInformatica', SYNTAX_2021));
  }
  if (root.localName === 'Segnatura' && ns === PROTOCOLLO_NS.circolare2013) {
    return readSegnaturaCircolare(new ElementReader(root, 'Segnatura', SYNTAX_2013));
  }
  if (root.localName === 'Segnatura' && ns === null) {
    return readSegnaturaCircolare(new ElementReader(root, 'Segnatura', SYNTAX_2001));
  }
  return undefined;
}

export function describeElement(el: Element): string {
  return el.namespaceURI ? `{${el.namespaceURI}}${el.localName}` : `${el.localName ?? el.nodeName} (no namespace)`;
}

// ---------------------------------------------------------------------------------------------------
// 2021 form: the model mirrors it, so this is a direct reading.

function readSegnatura2021(root: ElementReader): Segnatura {
  const intestazione = root.one('Intestazione');
  const riferimenti = root.optional('Riferimenti');
  const descrizione = root.one('Descrizione');
  return {
    form: '2021',
    identificatore: readIdentificatore(intestazione.one('Identificatore')),
    primaRegistrazione: mapOptional(intestazione.optional('PrimaRegistrazione'), readIdentificatore),
    oggetto: intestazione.requiredText('Oggetto'),
    classifica: readClassifica(intestazione.one('Classifica')),
    fascicolo: mapOptional(intestazione.optional('Fascicolo'), readFascicolo),
    riservato: mapOptional(intestazione.optional('Riservato'), readRiservato),
    riferimenti: mapOptional(riferimenti, readRiferimenti),
    mittente: readSoggetto(descrizione.one('Mittente')),
    destinatari: requireSome(descrizione, 'Destinatario').map(readDestinatario),
    documentoPrimario: readDocumento(descrizione.one('DocumentoPrimario')),
    allegati: descrizione.many('Allegato').map(readDocumento),
  };
}

function mapOptional<T>(r: ElementReader | undefined, read: (r: ElementReader) => T): T | undefined {
  return r === undefined ? undefined : read(r);
}

function requireSome(parent: ElementReader, name: string): ElementReader[] {
  const found = parent.many(name);
  if (found.length === 0) throw parent.missing(name);
  return found;
}

function readRiferimenti(r: ElementReader): Riferimenti {
  return {
    identificatore: readIdentificatore(r.one('Identificatore')),
    primaRegistrazione: mapOptional(r.optional('PrimaRegistrazione'), readIdentificatore),
    oggetto: r.requiredText('Oggetto'),
    classifica: readClassifica(r.one('Classifica')),
    fascicolo: mapOptional(r.optional('Fascicolo'), readFascicolo),
  };
}

function readClassifica(r: ElementReader): Classifica {
  const denominazione = r.requiredText('Denominazione');
  if (r.choice(['CodiceFlat', 'CodicePath'] as const) === 'CodiceFlat') {
    return { denominazione, codice: { kind: 'flat', codice: r.requiredText('CodiceFlat') } };
  }
  const livelli: LivelloClassifica[] = [];
  for (let level: ElementReader | undefined = r.one('CodicePath'); level; level = level.optional('SubLivello')) {
    const livello = level.one('Livello');
    livelli.push({ valore: livello.text(), descrizione: livello.attr('descrizione') });
  }
  return { denominazione, codice: { kind: 'path', livelli } };
}

function readFascicolo(r: ElementReader): Fascicolo {
  return { denominazione: r.requiredText('Denominazione'), codiceFascicolo: r.requiredText('CodiceFascicolo') };
}

function readRiservato(r: ElementReader): Riservato {
  return { riservato: r.booleanText(), note: r.attr('note') };
}

const SOGGETTI = ['Amministrazione', 'PersonaGiuridica', 'PersonaFisica', 'AmministrazioneEstera'] as const;

function readSoggetto(r: ElementReader): Soggetto {
  const name = r.choice(SOGGETTI);
  const reader = r.one(name);
  switch (name) {
    case 'Amministrazione':
      return readAmministrazione(reader);
    case 'PersonaGiuridica':
      return readPersonaGiuridica(reader);
    case 'PersonaFisica':
      return readPersonaFisica(reader);
    case 'AmministrazioneEstera':
      return readAmministrazioneEstera(reader);
  }
}

function readDestinatario(r: ElementReader): Destinatario {
  return {
    soggetto: readSoggetto(r),
    confermaRicezione: r.booleanAttr('confermaRicezione', true),
    perConoscenza: r.booleanAttr('perConoscenza', false),
  };
}

function readCodiceIPA(r: ElementReader): CodiceIPA {
  return { codice: r.text(), descrizione: r.attr('descrizione') };
}

function readAmministrazione(r: ElementReader): Amministrazione {
  return {
    tipo: 'Amministrazione',
    denominazioneAmministrazione: r.requiredText('DenominazioneAmministrazione'),
    cfAmministrazione: r.optionalText('CFAmministrazione'),
    codiceIPAAmministrazione: readCodiceIPA(r.one('CodiceIPAAmministrazione')),
    contattiAmministrazione: mapOptional(r.optional('ContattiAmministrazione'), readContatti),
    codiceIPAAOO: mapOptional(r.optional('CodiceIPAAOO'), readCodiceIPA),
    contattiAOO: mapOptional(r.optional('ContattiAOO'), readContatti),
    codiceIPAUO: mapOptional(r.optional('CodiceIPAUO'), readCodiceIPA),
    contattiUO: mapOptional(r.optional('ContattiUO'), readContatti),
    personeFisiche: r.many('PersonaFisica').map(readPersonaFisica),
  };
}

function readPersonaGiuridica(r: ElementReader): PersonaGiuridica {
  return {
    tipo: 'PersonaGiuridica',
    denominazione: r.requiredText('Denominazione'),
    pivaOCF: r.optionalText('PIVAoCF'),
    contattiPersonaGiuridica: mapOptional(r.optional('ContattiPersonaGiuridica'), readContatti),
    personeFisiche: r.many('PersonaFisica').map(readPersonaFisica),
  };
}

function readPersonaFisica(r: ElementReader): PersonaFisica {
  return {
    tipo: 'PersonaFisica',
    nome: r.requiredText('Nome'),
    cognome: r.requiredText('Cognome'),
    titolo: r.optionalText('Titolo'),
    codiceFiscale: r.optionalText('CodiceFiscale'),
    contatti: mapOptional(r.optional('Contatti'), readContatti),
  };
}

function readAmministrazioneEstera(r: ElementReader): AmministrazioneEstera {
  return {
    tipo: 'AmministrazioneEstera',
    denominazioneAmministrazione: r.requiredText('DenominazioneAmministrazione'),
    denominazioneUfficio: r.optionalText('DenominazioneUfficio'),
    contattiAmministrazione: mapOptional(r.optional('ContattiAmministrazione'), readContatti),
  };
}

function readContatti(r: ElementReader): Contatti {
  return {
    indirizziPostali: r.many('IndirizzoPostale').map(readIndirizzoPostale),
    indirizziTelematici: r.many('IndirizzoTelematico').map(readIndirizzoTelematico),
    telefoni: r.many('Telefono').map((t) => t.text()),
  };
}

const TIPI_INDIRIZZO_TELEMATICO = ['smtp', 'url', 'other'] as const;

function readIndirizzoTelematico(r: ElementReader): IndirizzoTelematico {
  const tipo = (r.attr('tipo') ?? 'smtp').trim();
  if (!(TIPI_INDIRIZZO_TELEMATICO as readonly string[]).includes(tipo)) {
    throw r.refuse(`${r.path}/@tipo is "${tipo}"; the schema allows smtp, url, other`, `${r.path}/@tipo`);
  }
  return { indirizzo: r.text(), tipo: tipo as IndirizzoTelematico['tipo'], note: r.attr('note') };
}

function readIndirizzoPostale(r: ElementReader): IndirizzoPostale {
  const toponimo = r.one('Toponimo');
  const comune = r.one('Comune');
  const nazione = r.one('Nazione');
  return {
    toponimo: { dug: toponimo.requiredText('dug'), duf: toponimo.requiredText('duf') },
    civico: r.requiredText('Civico'),
    cap: r.requiredText('CAP'),
    comune: { denominazione: comune.text(), codiceISTAT: comune.requiredAttr('CodiceISTAT') },
    // Both defaults are the schema's: an empty Nazione is Italia, a missing code is ITA.
    nazione: { denominazione: nazione.text() || 'Italia', codice3166: nazione.attr('codice3166') ?? 'ITA' },
  };
}

function readDocumento(r: ElementReader): Documento {
  return {
    nomeFile: r.requiredAttr('nomeFile'),
    mimeType: r.requiredAttr('mimeType'),
    descrizione: r.optionalText('Descrizione'),
    impronta: readImpronta(r.one('Impronta'), 'SHA-256'),
    collocazioneTelematica: mapOptional(r.optional('CollocazioneTelematica'), readCollocazioneTelematica),
    firmatoDigitalmente: mapOptional(r.optional('firmatoDigitalmente'), readApposizione),
    sigillatoElettronicamente: mapOptional(r.optional('sigillatoElettronicamente'), readApposizione),
    marcaturaTemporale: mapOptional(r.optional('marcaturaTemporale'), readApposizione),
  };
}

/** xs:base64Binary may be wrapped over lines; the model keeps the bare value. */
function readImpronta(r: ElementReader, defaultAlgorithm: string): Impronta {
  return { algoritmo: (r.attr('algoritmo') ?? defaultAlgorithm).trim(), valore: r.text().replace(/\s+/g, '') };
}

function readCollocazioneTelematica(r: ElementReader): CollocazioneTelematica {
  return {
    hostValue: r.requiredText('HostValue'),
    pathValue: r.requiredText('PathValue'),
    timeToLive: r.integerAttr('timeToLive'),
    userId: r.attr('userId'),
    password: r.attr('password'),
  };
}

function readApposizione(r: ElementReader): Apposizione {
  if (r.choice(['UnDetached', 'Detached'] as const) === 'UnDetached') {
    r.one('UnDetached'); // fixed="true": nothing to read, but it must not be repeated
    return { kind: 'UnDetached' };
  }
  return {
    kind: 'Detached',
    detached: r.many('Detached').map((d) => ({ nomeFile: d.requiredAttr('nomeFile'), mimeType: d.attr('mimeType'), order: requiredInteger(d, 'order') })),
  };
}

function requiredInteger(r: ElementReader, name: string): number {
  const value = r.integerAttr(name);
  if (value === undefined) throw r.refuse(`${r.path}/@${name} is missing (required)`, `${r.path}/@${name}`);
  return value;
}

// ---------------------------------------------------------------------------------------------------
// 2013 and 2001 forms (Circolare 60/2013 content model). A mapping into the 2021-shaped model:
//
// - Intestazione/OraRegistrazione → identificatore.oraRegistrazione.
// - Origine: Mittente/Amministrazione + AOO → an Amministrazione; the AOO's Denominazione becomes the
//   description of its code; Origine/IndirizzoTelematico (the address the message came from) goes to the
//   AOO's contacts.
// - Each Destinazione (and PerConoscenza, perConoscenza=true) gives one Destinatario per Destinatario child,
//   with @confermaRicezione si|no (default no); its IndirizzoTelematico goes to the AOO's contacts (or the
//   Amministrazione's when no AOO is named). A Destinazione naming only an address becomes a
//   PersonaGiuridica whose denominazione is that address: it is all the sender said.
// - An Amministrazione's UnitaOrganizzativa → codiceIPAUO (Identificativo, Denominazione as description)
//   and its contacts; nested units, Ruolo, Fax and free-text postal addresses have no place in the model.
// - Persona → PersonaFisica; a Persona given only by Denominazione keeps it as cognome.
// - Classifica: the first one; Livello@nome → descrizione.
// - Riservato: present and not `no`/`false`/`0` → riservato.
// - Descrizione/Documento → documentoPrimario; Allegati (Documento, and the Documento inside each Fascicolo,
//   depth first) → allegati. TitoloDocumento → descrizione. @nome, @tipoMIME → nomeFile, mimeType.
// - Not mapped: Riferimenti (its Messaggio/ContestoProcedurale/Procedimento differ from the 2021
//   Riferimenti), Risposta, InterventoOperatore, Note, PiuInfo, the free-text CollocazioneTelematica.
//
// - A Documento without Impronta (both forms allow it) is read with no impronta and `unchecked: true`;
//   whether to accept it is the receiver's policy, not the reader's (impronta.ts, checkImpronte).
//
// Refused (000_Irricevibile): a message body (TestoDelMessaggio) instead of a Documento: it is no file.

function readSegnaturaCircolare(root: ElementReader): Segnatura {
  const intestazione = root.one('Intestazione');
  const descrizione = root.one('Descrizione');
  const identificatore = readIdentificatore(intestazione.one('Identificatore'));
  const oraRegistrazione = intestazione.optionalText('OraRegistrazione');
  const destinazioni = requireSome(intestazione, 'Destinazione');
  return {
    form: root.syntax.form,
    identificatore: { ...identificatore, oraRegistrazione },
    primaRegistrazione: mapOptional(intestazione.optional('PrimaRegistrazione'), (p) => readIdentificatore(p.one('Identificatore'))),
    oggetto: intestazione.requiredText('Oggetto'),
    classifica: mapOptional(intestazione.many('Classifica')[0], readClassificaCircolare),
    riservato: mapOptional(intestazione.optional('Riservato'), (r) => ({ riservato: !/^(no|false|0)$/i.test(r.text()) })),
    mittente: readMittenteCircolare(intestazione.one('Origine')),
    destinatari: [
      ...destinazioni.flatMap((d) => readDestinazioneCircolare(d, false)),
      ...intestazione.many('PerConoscenza').flatMap((d) => readDestinazioneCircolare(d, true)),
    ],
    documentoPrimario: readDocumentoPrimarioCircolare(descrizione),
    allegati: mapOptional(descrizione.optional('Allegati'), readDocumentiCircolare) ?? [],
  };
}

function readClassificaCircolare(r: ElementReader): Classifica {
  const livelli = r.many('Livello');
  if (livelli.length === 0) throw r.missing('Livello');
  return {
    denominazione: r.optionalText('Denominazione') ?? '',
    codice: { kind: 'path', livelli: livelli.map((l) => ({ valore: l.text(), descrizione: l.attr('nome') })) },
  };
}

function readMittenteCircolare(origine: ElementReader): Soggetto {
  const recapito = readIndirizzoTelematicoCircolare(origine.one('IndirizzoTelematico'));
  const mittente = origine.one('Mittente');
  return readAmministrazioneCircolare(mittente.one('Amministrazione'), mittente.one('AOO'), contattiOf([recapito]));
}

function readDestinazioneCircolare(d: ElementReader, perConoscenza: boolean): Destinatario[] {
  const confermaRicezione = readSiNo(d);
  const recapito = readIndirizzoTelematicoCircolare(d.one('IndirizzoTelematico'));
  const destinatari = d.many('Destinatario');
  const soggetti: Soggetto[] =
    destinatari.length === 0
      ? [{ tipo: 'PersonaGiuridica', denominazione: recapito.indirizzo, contattiPersonaGiuridica: contattiOf([recapito]), personeFisiche: [] }]
      : destinatari.flatMap((x) => readSoggettiDestinatarioCircolare(x, recapito));
  return soggetti.map((soggetto) => ({ soggetto, confermaRicezione, perConoscenza }));
}

function readSiNo(d: ElementReader): boolean {
  const value = (d.attr('confermaRicezione') ?? 'no').trim();
  if (value === 'si') return true;
  if (value === 'no') return false;
  throw d.refuse(`${d.path}/@confermaRicezione is "${value}"; the schema allows si, no`, `${d.path}/@confermaRicezione`);
}

/** One 2013 Destinatario: an Amministrazione (+AOO), a Denominazione with Persone, or Persone. */
function readSoggettiDestinatarioCircolare(x: ElementReader, recapito: IndirizzoTelematico): Soggetto[] {
  // The address the message was sent to comes first, then whatever the Destinatario lists itself.
  const contatti = mergeContatti(contattiOf([recapito]), readContattiCircolare(x));
  const amministrazione = x.optional('Amministrazione');
  if (amministrazione) return [readAmministrazioneCircolare(amministrazione, x.optional('AOO'), contatti)];
  const denominazione = x.optional('Denominazione');
  const persone = x.many('Persona').map(readPersonaCircolare);
  if (denominazione) {
    return [{ tipo: 'PersonaGiuridica', denominazione: denominazione.text(), contattiPersonaGiuridica: contatti, personeFisiche: persone }];
  }
  if (persone.length === 0) throw x.missing('Amministrazione | Denominazione | Persona');
  return persone.map((p) => ({ ...p, contatti }));
}

/**
 * A 2013 Amministrazione. `recapito` holds the addresses the message was sent from or to: they belong to
 * the AOO when one is named (that is the AOO's protocol mailbox), else to the Amministrazione.
 */
function readAmministrazioneCircolare(amm: ElementReader, aoo: ElementReader | undefined, recapito: Contatti | undefined): Amministrazione {
  const uo = amm.optional('UnitaOrganizzativa');
  const own = readContattiCircolare(amm);
  return {
    tipo: 'Amministrazione',
    denominazioneAmministrazione: amm.requiredText('Denominazione'),
    codiceIPAAmministrazione: { codice: amm.optionalText('CodiceAmministrazione') ?? '' },
    contattiAmministrazione: aoo ? own : mergeContatti(recapito, own),
    codiceIPAAOO: aoo && { codice: aoo.optionalText('CodiceAOO') ?? '', descrizione: aoo.requiredText('Denominazione') },
    contattiAOO: aoo ? recapito : undefined,
    codiceIPAUO: uo && { codice: uo.optionalText('Identificativo') ?? '', descrizione: uo.requiredText('Denominazione') },
    contattiUO: uo && readContattiCircolare(uo),
    personeFisiche: (uo ?? amm).many('Persona').map(readPersonaCircolare),
  };
}

function readPersonaCircolare(r: ElementReader): PersonaFisica {
  const denominazione = r.optionalText('Denominazione');
  return {
    tipo: 'PersonaFisica',
    nome: r.optionalText('Nome') ?? '',
    cognome: denominazione ?? r.requiredText('Cognome'),
    titolo: r.optionalText('Titolo'),
    codiceFiscale: r.optionalText('CodiceFiscale'),
  };
}

/** IndirizzoPostale (structured ones only), IndirizzoTelematico, Telefono of a 2013 element; undefined if none. */
function readContattiCircolare(r: ElementReader): Contatti | undefined {
  const contatti: Contatti = {
    indirizziPostali: r.many('IndirizzoPostale').flatMap((p) => mapOptional(p.optional('Indirizzo'), readIndirizzoCircolare) ?? []),
    indirizziTelematici: r.many('IndirizzoTelematico').map(readIndirizzoTelematicoCircolare),
    telefoni: r.many('Telefono').map((t) => t.text()),
  };
  return isEmpty(contatti) ? undefined : contatti;
}

function contattiOf(indirizziTelematici: IndirizzoTelematico[]): Contatti {
  return { indirizziPostali: [], indirizziTelematici, telefoni: [] };
}

function mergeContatti(a: Contatti | undefined, b: Contatti | undefined): Contatti | undefined {
  if (!a || !b) return a ?? b;
  const telematici = [...a.indirizziTelematici];
  for (const t of b.indirizziTelematici) if (!telematici.some((x) => x.indirizzo === t.indirizzo)) telematici.push(t);
  return {
    indirizziPostali: [...a.indirizziPostali, ...b.indirizziPostali],
    indirizziTelematici: telematici,
    telefoni: [...new Set([...a.telefoni, ...b.telefoni])],
  };
}

function isEmpty(c: Contatti): boolean {
  return c.indirizziPostali.length === 0 && c.indirizziTelematici.length === 0 && c.telefoni.length === 0;
}

/** 2013 @tipo is uri | smtp | NMTOKEN (sic: the literal word), default smtp. */
function readIndirizzoTelematicoCircolare(r: ElementReader): IndirizzoTelematico {
  const tipo = (r.attr('tipo') ?? 'smtp').trim();
  return { indirizzo: r.text(), tipo: tipo === 'smtp' ? 'smtp' : tipo === 'uri' ? 'url' : 'other', note: r.attr('note') };
}

function readIndirizzoCircolare(r: ElementReader): IndirizzoPostale {
  const toponimo = r.one('Toponimo');
  const comune = r.one('Comune');
  const nazione = r.optionalText('Nazione');
  const italia = nazione === undefined || /^ital(ia|y)$/i.test(nazione);
  return {
    toponimo: { dug: toponimo.attr('dug') ?? '', duf: toponimo.text() },
    civico: r.requiredText('Civico'),
    cap: r.requiredText('CAP'),
    comune: { denominazione: comune.text(), codiceISTAT: comune.attr('codiceISTAT') ?? '' },
    nazione: italia ? { denominazione: nazione ?? 'Italia', codice3166: 'ITA' } : { denominazione: nazione },
  };
}

function readDocumentoPrimarioCircolare(descrizione: ElementReader): Documento {
  const name = descrizione.choice(['Documento', 'TestoDelMessaggio'] as const);
  const reader = descrizione.one(name);
  if (name === 'TestoDelMessaggio') {
    throw reader.refuse(
      `${reader.path}: the primary document is the message body, which the bus cannot check against an Impronta; send it as a Documento with nome, tipoMIME and Impronta`,
      reader.path,
    );
  }
  return readDocumentoCircolare(reader);
}

/** Allegati and Fascicolo: Documento and Fascicolo children in document order, Fascicolo flattened. */
function readDocumentiCircolare(r: ElementReader): Documento[] {
  return childElements(r.el).flatMap((child) => {
    if ((child.namespaceURI ?? null) !== r.syntax.ns) return [];
    if (child.localName === 'Documento') return [readDocumentoCircolare(new ElementReader(child, `${r.path}/Documento`, r.syntax))];
    if (child.localName === 'Fascicolo') return readDocumentiCircolare(new ElementReader(child, `${r.path}/Fascicolo`, r.syntax));
    return [];
  });
}

function readDocumentoCircolare(r: ElementReader): Documento {
  const impronta = r.optional('Impronta');
  return {
    nomeFile: r.attr('nome') ?? '',
    mimeType: r.attr('tipoMIME') ?? '',
    descrizione: r.optionalText('TitoloDocumento'),
    ...(impronta ? { impronta: readImpronta(impronta, 'SHA-256') } : { unchecked: true as const }),
  };
}
