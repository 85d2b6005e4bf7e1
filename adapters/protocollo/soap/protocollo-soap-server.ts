/**
 * The AgID SOAP interfaces of the protocollo informatico interoperabile (Linee guida 2021, Allegato 6),
 * served with the `soap` package:
 *   /protocollo/destinatario  protocollo-destinatario.wsdl  MessaggioInoltro, AnnullamentoInoltroMittente
 *                             (implemented by the RECEIVING AOO)
 *   /protocollo/mittente      protocollo-mittente.wsdl      ConfermaMessaggioInoltro, AnnullamentoInoltroDestinatario
 *                             (implemented by the SENDING AOO)
 * `?wsdl` on either path gives the official WSDL (its soap:address pointed at this server), and the XSDs it
 * imports are served where its relative schemaLocations resolve, so a remote tool can import it whole.
 *
 * The first part of this module is the contract both directions share (typed messages, namespaces, the
 * WSDL files, the Anomalia enumerations, the raw-text Segnatura copy); ProtocolloSoapClient imports it.
 *
 * Security. Every POST body is buffered (size-limited) and must pass the node's hardened parser
 * (parseUntrustedXml: no DOCTYPE, no PI, size/depth/element limits) before anything else sees it. The
 * `soap` package is bound to a private request router, not to the HTTP server, so no request can reach
 * its own parser (sax) unchecked — not even during start-up. A refused body is answered with a SOAP 1.1
 * Fault (HTTP 500) naming the reason, and never reaches a handler. Handlers read their values from the
 * DOM that passed that check, never from soap's object conversion, which (soap 1.13) turns xs:date into
 * a JavaScript Date and ignores namespaces; responses are written here, namespace-exact, and handed to
 * soap as `_xml`, because soap's own serializer puts the IdentificatoreType children (prot namespace) in
 * the operation's namespace. soap does the WSDL, the dispatch to the operation, the envelopes and Faults.
 *
 * The Segnatura on the SOAP leg: see standaloneSegnatura below.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { shippedSchemaPath } from '../../sdk/shipped-files.js';
import { XMLSerializer } from '@xmldom/xmldom';
import { SaxesParser } from 'saxes';
import { listen as soapListen, type IServices, type ISoapFault11 } from 'soap';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { ProtocolloError } from '../../../src/core/errors.js';
import { NS, AdapterError, DEFAULT_XML_LIMITS, childElements, childrenNamed, isElement, parseUntrustedXml, type AdapterLogger, type XmlLimits } from '../../sdk/index.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';
import { ElementReader, PROTOCOLLO_NS, SYNTAX_2021, readIdentificatore, type FormSyntax } from '../segnatura/segnatura-reader.js';
import { PROT, ProtocolloXmlWriter, writeIdentificatore, type XmlNamespace } from '../segnatura/segnatura-writer.js';
import { ACCEPTED_DIGESTS } from '../../sdk/index.js';

// ===================================================================================================
// The contract (shared with protocollo-soap-client.ts)

/** The two WSDLs: where each is served, its target namespace, the service/port soap dispatches to. */
export const PROTOCOLLO_SOAP = {
  destinatario: {
    wsdlFile: 'protocollo-destinatario.wsdl',
    path: '/protocollo/destinatario',
    ns: 'http://ws.protocollo.comunicazione.aoo.destinatario/',
    service: 'ProtocolloDestinatarioService',
    port: 'ProtocolloDestinatarioService',
  },
  mittente: {
    wsdlFile: 'protocollo-mittente.wsdl',
    path: '/protocollo/mittente',
    ns: 'http://ws.protocollo.comunicazione.aoo.mittente/',
    service: 'ProtocolloMittenteService',
    port: 'ProtocolloMittenteService',
  },
} as const;

export type ProtocolloSoapSide = keyof typeof PROTOCOLLO_SOAP;

/** The four operations, the WSDL each belongs to, and their Body elements (names as the WSDLs spell them). */
export const PROTOCOLLO_SOAP_OPERATIONS = {
  MessaggioInoltro: { side: 'destinatario', request: 'RequestMessageInoltro', response: 'ResponseMessageInoltro' },
  AnnullamentoInoltroMittente: { side: 'destinatario', request: 'RequestAnnullamentoInoltroMittente', response: 'ResponseAnnullamentoInoltroMittente' },
  ConfermaMessaggioInoltro: { side: 'mittente', request: 'RequestConfermaMessaggioInoltro', response: 'ResponseConfermaMessaggioInoltro' },
  AnnullamentoInoltroDestinatario: { side: 'mittente', request: 'RequestAnnullamentoInoltroDestinatario', response: 'ResponseAnnullamentoInoltroDestinatario' },
} as const;

export type ProtocolloSoapOperation = keyof typeof PROTOCOLLO_SOAP_OPERATIONS;

/**
 * The Anomalia enumerations of the WSDLs, spelled exactly as on the wire. They differ from the bus's
 * registry (PROTOCOLLO_CODES) in places — `002_AnomaliaImpronte`, `000_Irricevibilita`,
 * `004_…ErroreValidazioneFirma`, `005_…ErroreVaidazione…` — so mapping to a registry code goes by the
 * number (anomaliaOf in protocollo-messages.ts).
 */
export const ANOMALIE_INOLTRO = ['001_ValidazioneFirma', '002_AnomaliaImpronte'] as const;
export const ANOMALIE_ANNULLAMENTO = ['000_Irricevibilita', '007_ErroreIdentificatoreNonTrovato'] as const;
export const ANOMALIE_CONFERMA = [
  '000_Irricevibile',
  '003_DocumentoAllegatiNonLeggibili',
  '004_DocumentoAllegatiErroreValidazioneFirma',
  '005_DocumentoAllegatiErroreVaidazioneMarcaTemporale',
  '006_DocumentoAllegatiErroreValidazioneSigillo',
] as const;

export type AnomaliaInoltro = (typeof ANOMALIE_INOLTRO)[number];
export type AnomaliaAnnullamento = (typeof ANOMALIE_ANNULLAMENTO)[number];
export type AnomaliaConferma = (typeof ANOMALIE_CONFERMA)[number];

/** An Anomalia element: the code (element text) and its optional `info` attribute (unqualified). */
export interface Anomalia<Code extends string> {
  readonly code: Code;
  readonly info?: string;
}

/** A msgprot:File: base64 content with msgprot:nomeFile and msgprot:mimeType. */
export interface ProtocolloSoapFile {
  readonly nomeFile: string;
  readonly mimeType: string;
  readonly content: Buffer;
}

/** RequestMessageInoltro (MessaggioProtocolloType): the Segnatura and at least one file. */
export interface MessaggioInoltroRequest {
  /**
   * The Segnatura as a standalone XML document (UTF-8). Untrusted on the receiving side: the handler
   * verifies its seal (verifyXades) and reads it from the verified DOM. See standaloneSegnatura for
   * which root element it has.
   */
  readonly segnatura: Buffer;
  readonly files: readonly ProtocolloSoapFile[];
}

/** ResponseMessageInoltro: the sender's identifier, and the anomaly found (seal or digests), if any. */
export interface MessaggioInoltroResponse {
  readonly identificatoreMittente: Identificatore;
  readonly anomalia?: Anomalia<AnomaliaInoltro>;
}

/** RequestAnnullamentoInoltroMittente: the sender cancelled its registration. */
export interface AnnullamentoInoltroMittenteRequest {
  readonly identificatoreMittente: Identificatore;
  readonly identificatoreDestinatario: Identificatore;
  readonly riferimentoProvvedimento: string;
  readonly note?: string;
}

/** RequestAnnullamentoInoltroDestinatario: the receiver cancelled its registration (Note is required here). */
export interface AnnullamentoInoltroDestinatarioRequest {
  readonly identificatoreMittente: Identificatore;
  readonly identificatoreDestinatario: Identificatore;
  readonly riferimentoProvvedimento: string;
  readonly note: string;
}

/** Both ResponseAnnullamentoInoltro… elements have this content. */
export interface AnnullamentoInoltroResponse {
  readonly identificatoreMittente: Identificatore;
  readonly identificatoreDestinatario: Identificatore;
  readonly anomalia?: Anomalia<AnomaliaAnnullamento>;
}

/** RequestConfermaMessaggioInoltro: the receiver's registration, or (xs:choice) the anomaly it found. */
export type ConfermaMessaggioInoltroRequest =
  | { readonly identificatoreMittente: Identificatore; readonly identificatoreDestinatario: Identificatore; readonly anomalia?: undefined }
  | { readonly identificatoreMittente: Identificatore; readonly anomalia: Anomalia<AnomaliaConferma>; readonly identificatoreDestinatario?: undefined };

export interface ConfermaMessaggioInoltroResponse {
  readonly identificatoreMittente: Identificatore;
}

/**
 * What the server calls. The anomalies a WSDL lists in a response (e.g. 001/002 for MessaggioInoltro)
 * are answers: return them. Anything else is thrown: a ProtocolloError (or a final AdapterError) becomes
 * a Client Fault `<code> - <message>`, which the sending side takes as final; a retriable AdapterError
 * becomes a Server Fault (`TRAMITE_ERR_ADAPTER_UNAVAILABLE - …`), which it retries; any other error a
 * Server Fault without its details (they go to the log).
 */
export interface ProtocolloSoapHandlers {
  onMessaggioInoltro(req: MessaggioInoltroRequest): Promise<MessaggioInoltroResponse>;
  onAnnullamentoInoltroMittente(req: AnnullamentoInoltroMittenteRequest): Promise<AnnullamentoInoltroResponse>;
  onConfermaMessaggioInoltro(req: ConfermaMessaggioInoltroRequest): Promise<ConfermaMessaggioInoltroResponse>;
  onAnnullamentoInoltroDestinatario(req: AnnullamentoInoltroDestinatarioRequest): Promise<AnnullamentoInoltroResponse>;
}

/** schemas/protocollo/interfaces_SOAP/<wsdl> in the package: soap resolves its `../*.xsd` imports from there. */
export function protocolloWsdlPath(side: ProtocolloSoapSide): string {
  return join(protocolloSchemasDir(), 'interfaces_SOAP', PROTOCOLLO_SOAP[side].wsdlFile);
}

function protocolloSchemasDir(): string {
  return shippedSchemaPath('protocollo');
}

/** Elements of a WSDL's own schema: its target namespace, unqualified attributes (Anomalia/@info). */
export function operationSyntax(side: ProtocolloSoapSide): FormSyntax {
  return { form: '2021', ns: PROTOCOLLO_SOAP[side].ns, attributeNs: null };
}

/** messaggio_protocollo.xsd: elementFormDefault and attributeFormDefault qualified. */
const MESSAGGI_SYNTAX: FormSyntax = { form: '2021', ns: PROTOCOLLO_NS.messaggi, attributeNs: PROTOCOLLO_NS.messaggi };

/** A writer for one operation element (`tns:` prefix), with `prot:` declared for the Identificatore content. */
export function operationWriter(side: ProtocolloSoapSide, element: string, alsoUsed: readonly XmlNamespace[] = []): ProtocolloXmlWriter {
  const tns: XmlNamespace = { prefix: 'tns', uri: PROTOCOLLO_SOAP[side].ns };
  return new ProtocolloXmlWriter(tns, element, tns, [PROT, ...alsoUsed]);
}

/** The element as it goes into soap:Body: no XML declaration, no indentation. */
export function serializeOperation(w: ProtocolloXmlWriter): string {
  return new XMLSerializer().serializeToString(w.doc);
}

export function readIdentificatoreIn(r: ElementReader, name: string): Identificatore {
  return readIdentificatore(r.one(name).withSyntax(SYNTAX_2021));
}

export function writeIdentificatoreIn(w: ProtocolloXmlWriter, name: string, id: Identificatore): void {
  writeIdentificatore(w, w.add(w.root, name), id);
}

/** An Anomalia element, its code checked against the WSDL's enumeration. */
export function readAnomalia<Code extends string>(r: ElementReader, allowed: readonly Code[]): Anomalia<Code> {
  const code = r.text();
  if (!(allowed as readonly string[]).includes(code)) throw r.refuse(`${r.path} is "${code}", not one of ${allowed.join(', ')}`, r.path);
  const info = r.attr('info');
  return info === undefined ? { code: code as Code } : { code: code as Code, info };
}

export function writeAnomalia<Code extends string>(w: ProtocolloXmlWriter, anomalia: Anomalia<Code>, allowed: readonly Code[]): void {
  if (!allowed.includes(anomalia.code)) throw new Error(`Anomalia "${anomalia.code}" is not one of ${allowed.join(', ')}`);
  const el = w.add(w.root, 'Anomalia', anomalia.code);
  if (anomalia.info !== undefined) el.setAttribute('info', xmlChars(anomalia.info, 'Anomalia/@info'));
}

/** Characters XML 1.0 cannot carry, even escaped. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function xmlChars(value: string, field: string): string {
  if (NOT_XML_CHAR.test(value)) throw new Error(`${field} contains a character XML cannot carry`);
  return value;
}

/** An attribute value as markup: escaped so that it reads back as exactly `value` (whitespace included). */
function attributeValue(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

// ---------------------------------------------------------------------------------------------------
// Raw element text: how a sealed Segnatura crosses the SOAP leg without being re-serialised.

/** An element as written in a document's text. */
export interface RawElement {
  /** The element name as written, prefix included. */
  readonly qname: string;
  /** Everything between the name and the end of the start tag (attributes, declarations), as written. */
  readonly attributes: string;
  /** Everything between the start tag and the end tag, as written: references and CDATA untouched. */
  readonly content: string;
}

/**
 * The first element at `path` (namespace and local name of each element from the root down), cut out of
 * `text` as written. `text` must already have passed parseUntrustedXml. Copying text instead of
 * serialising a DOM is what keeps the seal: xmldom writes a carriage return in text content raw, and the
 * next parser turns it into a line feed, which changes the canonical form the digest covers.
 *
 * saxes reports the offset just past the `>` of each tag; the `<` that opened it is the last one before
 * (attribute values cannot hold `<`).
 */
export function rawElementAt(text: string, path: ReadonlyArray<{ readonly ns: string | null; readonly local: string }>): RawElement | undefined {
  const parser = new SaxesParser({ xmlns: true, position: true });
  let depth = 0;
  let matched = 0; // how many elements of `path` the current ancestors match
  let open: { qname: string; attributes: string; contentStart: number; selfClosing: boolean } | undefined;
  let found: RawElement | undefined;
  parser.on('opentag', (tag) => {
    depth += 1;
    const step = path[depth - 1];
    if (found || open || matched !== depth - 1 || !step || tag.local !== step.local || (tag.uri || null) !== step.ns) return;
    matched = depth;
    if (depth < path.length) return;
    const end = parser.position;
    const start = text.lastIndexOf('<', end - 1);
    const attributes = text.slice(start + 1 + tag.name.length, end - (tag.isSelfClosing ? 2 : 1));
    open = { qname: tag.name, attributes, contentStart: end, selfClosing: tag.isSelfClosing };
  });
  parser.on('closetag', () => {
    if (open && depth === path.length && !found) {
      const content = open.selfClosing ? '' : text.slice(open.contentStart, text.lastIndexOf('</', parser.position - 1));
      found = { qname: open.qname, attributes: open.attributes, content };
    }
    if (matched === depth) matched -= 1;
    depth -= 1;
  });
  parser.write(text).close();
  return found;
}

// ===================================================================================================
// The Segnatura on the SOAP leg

/**
 * In RequestMessageInoltro the Segnatura is the element `msgprot:Segnatura` (type SegnaturaInformaticaType),
 * while the AOO sealed a standalone `prot:SegnaturaInformatica` document: the enveloped XAdES Reference
 * (URI="", exclusive C14N) covers the root element, name included, so the same content under another
 * root name does not verify. What this module does, on both sides:
 *
 * - the client copies the standalone document's root attributes (namespace declarations included) and
 *   content, as written, under `msgprot:Segnatura` — a document already rooted at msgprot:Segnatura is
 *   copied whole, its own name kept;
 * - the server rebuilds a standalone document from that element, as written, declaring only the
 *   namespaces the content takes from the SOAP envelope, and tries the root names the seal can have
 *   been made over: the element's own name, and SegnaturaInformatica with each prefix bound (there) to
 *   the 2021 namespaces. It keeps the one whose canonical form matches the DigestValue of the seal's
 *   document Reference — a digest, not a verification: it needs no trust and proves nothing; the handler
 *   verifies what it gets. With no match (no seal, or altered), it hands the prot:SegnaturaInformatica
 *   form, which the readers accept and on which verifyXades then reports what is wrong.
 *
 * So a Segnatura sealed by the bus (prot:SegnaturaInformatica) arrives byte for byte as sealed (when it
 * was written with the `<?xml version="1.0" encoding="UTF-8"?>` line, as the bus writes it; a comment
 * outside the root is not carried), and one sealed over a root named msgprot:Segnatura, as some
 * implementations may do, arrives with that root and verifies too — but readSegnatura does not accept
 * that root today.
 */
function standaloneSegnatura(text: string, segnatura: Element, limits: XmlLimits): Buffer {
  const raw = rawElementAt(text, SEGNATURA_PATH);
  if (!raw) throw new Error('internal: the Segnatura element read from the DOM was not found in the text');
  const own = namespaceDeclarationsOn(segnatura);
  const outer = inScopeAbove(segnatura);
  const fromOutside = prefixesFromOutside(segnatura);
  const documents = rootCandidates(segnatura, own, outer)
    .map((candidate) => ({ candidate, xml: standaloneText(raw, candidate, own, outer, fromOutside) }))
    .filter((d): d is { candidate: RootCandidate; xml: string } => d.xml !== undefined);
  const chosen =
    documents.find((d) => documentDigestMatches(d.xml, limits)) ??
    documents.find((d) => d.candidate.standard) ??
    documents[0];
  if (!chosen) throw new Error('internal: no standalone form of the Segnatura could be written');
  return Buffer.from(chosen.xml, 'utf8');
}

const SEGNATURA_PATH = [
  { ns: NS.soap11, local: 'Envelope' },
  { ns: NS.soap11, local: 'Body' },
  { ns: PROTOCOLLO_SOAP.destinatario.ns, local: PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.request },
  { ns: PROTOCOLLO_NS.messaggi, local: 'Segnatura' },
] as const;

interface RootCandidate {
  readonly qname: string;
  readonly prefix: string;
  readonly ns: string | null;
  /** prot:SegnaturaInformatica: the form to hand over when no candidate matches the seal. */
  readonly standard: boolean;
}

/** The element's own name first, then SegnaturaInformatica under every prefix bound to a 2021 namespace. */
function rootCandidates(el: Element, own: ReadonlyMap<string, string>, outer: ReadonlyMap<string, string>): RootCandidate[] {
  const candidates: RootCandidate[] = [{ qname: el.tagName, prefix: el.prefix ?? '', ns: el.namespaceURI ?? null, standard: false }];
  const bindings = [...own, ...[...outer].filter(([prefix]) => !own.has(prefix))];
  for (const [prefix, uri] of bindings) {
    if (uri !== PROTOCOLLO_NS.segnatura && uri !== PROTOCOLLO_NS.pec) continue;
    candidates.push({ qname: prefix ? `${prefix}:SegnaturaInformatica` : 'SegnaturaInformatica', prefix, ns: uri, standard: uri === PROTOCOLLO_NS.segnatura });
  }
  if (!own.has('prot') && !outer.has('prot')) candidates.push({ qname: 'prot:SegnaturaInformatica', prefix: 'prot', ns: PROTOCOLLO_NS.segnatura, standard: true });
  return candidates;
}

/**
 * `<?xml…?>` + the element as written, renamed to the candidate, with the declarations its content (and
 * the new name) need from outside it. Undefined when the candidate's prefix is bound to another namespace.
 */
function standaloneText(
  raw: RawElement,
  candidate: RootCandidate,
  own: ReadonlyMap<string, string>,
  outer: ReadonlyMap<string, string>,
  fromOutside: ReadonlySet<string>,
): string | undefined {
  const declarations = new Map<string, string>();
  for (const prefix of [...fromOutside, candidate.prefix]) {
    if (own.has(prefix)) continue;
    const uri = outer.get(prefix);
    if (prefix === candidate.prefix) {
      if (uri !== undefined && uri !== (candidate.ns ?? '')) return undefined;
      if (candidate.ns) declarations.set(prefix, candidate.ns);
    } else if (uri) {
      declarations.set(prefix, uri);
    }
  }
  const declared = [...declarations]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([prefix, uri]) => ` ${prefix ? `xmlns:${prefix}` : 'xmlns'}="${attributeValue(uri)}"`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${candidate.qname}${declared}${raw.attributes}>${raw.content}</${candidate.qname}>`;
}

/** Namespace declarations written on `el` itself: prefix ('' for the default) → URI. */
export function namespaceDeclarationsOn(el: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    if (a.name === 'xmlns') out.set('', a.value);
    else if (a.name.startsWith('xmlns:')) out.set(a.name.slice('xmlns:'.length), a.value);
  }
  return out;
}

/** The bindings in scope where `el` starts, from its ancestors only (the nearest declaration wins). */
function inScopeAbove(el: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (let node = el.parentNode; node && node.nodeType === 1; node = node.parentNode) {
    for (const [prefix, uri] of namespaceDeclarationsOn(node as Element)) if (!out.has(prefix)) out.set(prefix, uri);
  }
  return out;
}

/**
 * Prefixes used below `el` (element and attribute names, and xsi:type values) that neither `el` nor the
 * element using them declares: the ones a copy cut out of the envelope must declare. `el`'s own name is
 * left out; the candidate root name brings its own.
 */
function prefixesFromOutside(el: Element): Set<string> {
  const needed = new Set<string>();
  const visit = (node: Element, declaredAbove: ReadonlySet<string>, isRoot: boolean): void => {
    const declared = new Set([...declaredAbove, ...namespaceDeclarationsOn(node).keys()]);
    const use = (prefix: string): void => {
      if (!declared.has(prefix)) needed.add(prefix);
    };
    if (!isRoot) use(node.prefix ?? '');
    for (let i = 0; i < node.attributes.length; i++) {
      const a = node.attributes.item(i)!;
      if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
      if (a.prefix && a.prefix !== 'xml') use(a.prefix);
      if (a.localName === 'type' && a.namespaceURI === XSI_NS && a.value.includes(':')) use(a.value.slice(0, a.value.indexOf(':')).trim());
    }
    for (const child of childElements(node)) visit(child, declared, false);
  };
  visit(el, new Set(), true);
  return needed;
}

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/**
 * Whether the document's enveloped signature Reference (URI="") digests to its DigestValue: the same
 * enveloped transform and exclusive canonicalisation verifyXades applies. Anything unreadable is false.
 */
function documentDigestMatches(xml: string, limits: XmlLimits): boolean {
  let root: Element;
  try {
    root = parseUntrustedXml(xml, limits).doc.documentElement!;
  } catch {
    return false;
  }
  const signature = childElements(root).at(-1);
  if (!isElement(signature, NS.ds, 'Signature')) return false;
  const signedInfo = childrenNamed(signature, NS.ds, 'SignedInfo')[0];
  const reference = signedInfo && childrenNamed(signedInfo, NS.ds, 'Reference').find((r) => r.hasAttribute('URI') && r.getAttribute('URI') === '');
  const method = reference && childrenNamed(reference, NS.ds, 'DigestMethod')[0];
  const value = reference && childrenNamed(reference, NS.ds, 'DigestValue')[0];
  const hash = method ? ACCEPTED_DIGESTS.get(method.getAttribute('Algorithm') ?? '') : undefined;
  if (!hash || !value) return false;
  const copy = root.cloneNode(true) as Element;
  copy.removeChild(copy.childNodes.item(Array.prototype.indexOf.call(root.childNodes, signature) as number));
  const canonical = new ExclusiveCanonicalization().process(copy, { defaultNs: '', ancestorNamespaces: [], inclusiveNamespacesPrefixList: [] });
  return createHash(hash).update(canonical, 'utf8').digest('base64') === (value.textContent ?? '').replace(/\s+/g, '');
}

// ===================================================================================================
// Requests in, responses out

function readMessaggioInoltro(op: Element, text: string, limits: XmlLimits): MessaggioInoltroRequest {
  const r = new ElementReader(op, PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.request, MESSAGGI_SYNTAX);
  const segnatura = r.one('Segnatura').el;
  const files = r.many('File').map((f): ProtocolloSoapFile => {
    const nomeFile = f.requiredAttr('nomeFile');
    const base64 = f.text().replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
      throw new ProtocolloError('003_DocumentoAllegatiNonLeggibili', `File ${nomeFile} is not base64`, { where: nomeFile });
    }
    return { nomeFile, mimeType: f.requiredAttr('mimeType'), content: Buffer.from(base64, 'base64') };
  });
  if (files.length === 0) throw r.missing('File');
  return { segnatura: standaloneSegnatura(text, segnatura, limits), files };
}

function readAnnullamento(op: Element, side: ProtocolloSoapSide, name: string): { identificatoreMittente: Identificatore; identificatoreDestinatario: Identificatore; riferimentoProvvedimento: string; note: string | undefined } {
  const r = new ElementReader(op, name, operationSyntax(side));
  return {
    identificatoreMittente: readIdentificatoreIn(r, 'IdentificatoreMittente'),
    identificatoreDestinatario: readIdentificatoreIn(r, 'IdentificatoreDestinatario'),
    riferimentoProvvedimento: r.requiredText('RiferimentoProvvedimento'),
    note: r.optionalText('Note'),
  };
}

function readConferma(op: Element): ConfermaMessaggioInoltroRequest {
  const r = new ElementReader(op, PROTOCOLLO_SOAP_OPERATIONS.ConfermaMessaggioInoltro.request, operationSyntax('mittente'));
  const identificatoreMittente = readIdentificatoreIn(r, 'IdentificatoreMittente');
  return r.choice(['IdentificatoreDestinatario', 'Anomalia']) === 'Anomalia'
    ? { identificatoreMittente, anomalia: readAnomalia(r.one('Anomalia'), ANOMALIE_CONFERMA) }
    : { identificatoreMittente, identificatoreDestinatario: readIdentificatoreIn(r, 'IdentificatoreDestinatario') };
}

function writeAnnullamentoResponse(side: ProtocolloSoapSide, name: string, res: AnnullamentoInoltroResponse): string {
  const w = operationWriter(side, name);
  writeIdentificatoreIn(w, 'IdentificatoreMittente', res.identificatoreMittente);
  writeIdentificatoreIn(w, 'IdentificatoreDestinatario', res.identificatoreDestinatario);
  if (res.anomalia) writeAnomalia(w, res.anomalia, ANOMALIE_ANNULLAMENTO);
  return serializeOperation(w);
}

/** Reads the request, calls the handler, writes the response element: one entry per operation. */
type OperationRunner = (op: Element, text: string, handlers: ProtocolloSoapHandlers, limits: XmlLimits) => Promise<() => string>;

/** The runner reads (refusals are Client Faults), awaits the handler, and returns the response writer (its failures are ours: Server Faults). */
const OPERATIONS: Record<ProtocolloSoapOperation, OperationRunner> = {
  async MessaggioInoltro(op, text, handlers, limits) {
    const res = await handlers.onMessaggioInoltro(readMessaggioInoltro(op, text, limits));
    return () => {
      const w = operationWriter('destinatario', PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.response);
      writeIdentificatoreIn(w, 'IdentificatoreMittente', res.identificatoreMittente);
      if (res.anomalia) writeAnomalia(w, res.anomalia, ANOMALIE_INOLTRO);
      return serializeOperation(w);
    };
  },
  async AnnullamentoInoltroMittente(op, _text, handlers) {
    const { note, ...req } = readAnnullamento(op, 'destinatario', PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroMittente.request);
    const res = await handlers.onAnnullamentoInoltroMittente(note === undefined ? req : { ...req, note });
    return () => writeAnnullamentoResponse('destinatario', PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroMittente.response, res);
  },
  async ConfermaMessaggioInoltro(op, _text, handlers) {
    const res = await handlers.onConfermaMessaggioInoltro(readConferma(op));
    return () => {
      const w = operationWriter('mittente', PROTOCOLLO_SOAP_OPERATIONS.ConfermaMessaggioInoltro.response);
      writeIdentificatoreIn(w, 'IdentificatoreMittente', res.identificatoreMittente);
      return serializeOperation(w);
    };
  },
  async AnnullamentoInoltroDestinatario(op, _text, handlers) {
    const name = PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroDestinatario.request;
    const { note, ...req } = readAnnullamento(op, 'mittente', name);
    if (note === undefined) throw new ProtocolloError('000_Irricevibile', `required element ${name}/Note is missing`, { where: `${name}/Note` });
    const res = await handlers.onAnnullamentoInoltroDestinatario({ ...req, note });
    return () => writeAnnullamentoResponse('mittente', PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroDestinatario.response, res);
  },
};

// ===================================================================================================
// Faults

type FaultCode = 'Client' | 'Server' | 'VersionMismatch';

/** What soap turns into a Fault: any thrown value with a `Fault` property. */
class SoapFault extends Error {
  readonly Fault: ISoapFault11 & { statusCode: number };
  constructor(faultcode: FaultCode, faultstring: string) {
    super(faultstring);
    this.Fault = { faultcode: `soap:${faultcode}`, faultstring: faultText(faultstring), statusCode: 500 };
  }
}

/**
 * The Fault for an error out of reading or handling a request. The protocol's convention, as for the
 * bus's own Faults: faultstring `<code> - <message>`; Client when the content is at fault (final for the
 * sender), Server when trying again later may succeed.
 */
function faultFor(err: unknown, operation: ProtocolloSoapOperation, log: AdapterLogger | undefined): SoapFault {
  if (err instanceof ProtocolloError) return new SoapFault('Client', `${err.code} - ${err.message}`);
  if (err instanceof AdapterError) return new SoapFault(err.retriable ? 'Server' : 'Client', `${err.code} - ${err.message}`);
  log?.error({ operation, err }, 'protocollo SOAP handler failed');
  return new SoapFault('Server', `TRAMITE_ERR_ADAPTER_UNAVAILABLE - ${operation} could not be processed; try again later`);
}

/** faultstring text: no character XML cannot carry, bounded (a refusal may quote what was refused). */
function faultText(text: string): string {
  const clean = text.replace(new RegExp(NOT_XML_CHAR.source, 'gu'), '\uFFFD');
  return clean.length > 2000 ? `${clean.slice(0, 2000)}…` : clean;
}

function faultEnvelope(faultcode: FaultCode, faultstring: string): string {
  const text = faultText(faultstring).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap11}"><soap:Body><soap:Fault>` +
    `<faultcode>soap:${faultcode}</faultcode><faultstring>${text}</faultstring></soap:Fault></soap:Body></soap:Envelope>`
  );
}

// ===================================================================================================
// The server

export interface ProtocolloSoapServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (see `address`). */
  readonly port?: number;
  /** Limits of the hardened parser for request bodies (documents travel base64 inside: size accordingly). */
  readonly limits?: Partial<XmlLimits>;
  /** The base URL clients use, when it is not this server's own (a reverse proxy): written in the served WSDLs' soap:address. */
  readonly publicUrl?: string;
  readonly log?: AdapterLogger;
}

/** A request body that passed the hardened parser, kept for the operation soap dispatches it to. */
interface CheckedRequest {
  readonly text: string;
  readonly operation: ProtocolloSoapOperation;
  readonly element: Element;
}

/** The XSDs the WSDLs import, by the path their relative schemaLocations resolve to from `/protocollo/<side>`. */
const SERVED_SCHEMAS = ['messaggio_protocollo.xsd', 'segnatura_protocollo.xsd', 'import_schemas/xmldsig-core-schema.xsd'] as const;

export class ProtocolloSoapServer {
  private readonly limits: XmlLimits;
  private readonly http: Server;
  /** What soap.listen binds to: soap only ever sees requests the gate passed on. */
  private readonly router = Object.assign(new EventEmitter(), { address: (): null => null });
  private readonly checked = new WeakMap<IncomingMessage, CheckedRequest>();
  private readonly schemas = new Map<string, string>();
  private ready = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly handlers: ProtocolloSoapHandlers,
    private readonly options: ProtocolloSoapServerOptions = {},
  ) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...options.limits };
    this.http = createServer((req, res) => {
      this.gate(req, res).catch((err: unknown) => {
        options.log?.error({ err }, 'protocollo SOAP request failed');
        if (!res.headersSent) this.sendFault(res, 'Server', 'TRAMITE_ERR_ADAPTER_UNAVAILABLE - internal error');
        else res.destroy();
      });
    });
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. Only once started. */
  get address(): string {
    const info = this.http.address() as AddressInfo | null;
    if (!info || typeof info === 'string') throw new Error('the protocollo SOAP server is not listening');
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return `http://${host}:${info.port}`;
  }

  /** The two service URLs (POST SOAP; GET ?wsdl). */
  get endpoints(): Record<ProtocolloSoapSide, string> {
    return { destinatario: this.address + PROTOCOLLO_SOAP.destinatario.path, mittente: this.address + PROTOCOLLO_SOAP.mittente.path };
  }

  /** Listens, then loads both WSDLs into soap; resolves once requests are served. */
  start(): Promise<void> {
    this.started ??= this.startOnce().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private async startOnce(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    for (const path of SERVED_SCHEMAS) this.schemas.set(`/${path}`, await readFile(join(protocolloSchemasDir(), path), 'utf8'));
    // Paths soap does not serve end here (soap hands them to the listeners it found).
    this.router.on('request', (_req: IncomingMessage, res: ServerResponse) => this.sendPlain(res, 404, 'not found'));
    const base = (this.options.publicUrl ?? this.address).replace(/\/+$/, '');
    try {
      for (const side of Object.keys(PROTOCOLLO_SOAP) as ProtocolloSoapSide[]) await this.listenSoap(side, base);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.ready = true;
  }

  async stop(): Promise<void> {
    if (!this.http.listening) return;
    this.ready = false;
    this.started = undefined;
    this.router.removeAllListeners('request');
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /**
   * soap.listen on the private router, serving the official WSDL with its soap:address set to this
   * server; `uri` is the WSDL's path on disk, against which soap resolves the `../*.xsd` imports.
   */
  private async listenSoap(side: ProtocolloSoapSide, base: string): Promise<void> {
    const { path, service, port } = PROTOCOLLO_SOAP[side];
    const uri = protocolloWsdlPath(side);
    const xml = (await readFile(uri, 'utf8')).replace(/(<soap:address\s+location=")[^"]*(")/, `$1${attributeValue(base + path)}$2`);
    const methods: Record<string, (args: unknown, callback: unknown, headers: unknown, req: IncomingMessage) => Promise<{ _xml: string }>> = {};
    for (const operation of Object.keys(PROTOCOLLO_SOAP_OPERATIONS) as ProtocolloSoapOperation[]) {
      if (PROTOCOLLO_SOAP_OPERATIONS[operation].side === side) methods[operation] = (_args, _callback, _headers, req) => this.run(operation, req);
    }
    const services: IServices = { [service]: { [port]: methods } };
    await new Promise<void>((resolve, reject) => {
      soapListen(this.router as unknown as Server, { path, services, xml, uri, callback: (err: unknown) => (err ? reject(err) : resolve()) });
    });
  }

  /**
   * Every request comes through here first. POST bodies: buffered within the size limit, parsed by the
   * hardened parser, checked to be a SOAP 1.1 envelope holding one of this path's operations — only then
   * handed to soap, with the body already read (soap then skips reading the stream).
   */
  private async gate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.ready) return this.sendFault(res, 'Server', 'TRAMITE_ERR_ADAPTER_UNAVAILABLE - the protocollo SOAP service is starting');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET') {
      const schema = [...this.schemas].find(([path]) => url.pathname.endsWith(path))?.[1];
      if (schema !== undefined) return this.sendPlain(res, 200, schema, 'application/xml');
      this.router.emit('request', req, res);
      return;
    }
    if (req.method !== 'POST') return this.sendPlain(res, 405, 'method not allowed');
    const side = (Object.keys(PROTOCOLLO_SOAP) as ProtocolloSoapSide[]).find((s) => url.pathname.replace(/\/+$/, '') === PROTOCOLLO_SOAP[s].path);
    if (!side) return this.sendPlain(res, 404, 'not found');

    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') return this.refuse(res, `Content-Encoding ${encoding} is not accepted`);
    const body = await readBody(req, this.limits.maxBytes);
    if (!body) return this.refuse(res, `the request body exceeds the limit of ${this.limits.maxBytes} bytes`, true);
    let checked: CheckedRequest;
    try {
      checked = checkEnvelope(body, side, this.limits);
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^EGOV_IT_\d+ - /, '') : String(err);
      return this.refuse(res, why, false, err instanceof SoapFault && err.Fault.faultcode === 'soap:VersionMismatch' ? 'VersionMismatch' : 'Client');
    }
    this.checked.set(req, checked);
    // Every operation declares soapAction="": dispatch goes by the Body element the gate checked, and a
    // SOAPAction naming something else must not send soap looking for a method that is not there.
    delete req.headers.soapaction;
    (req as IncomingMessage & { body?: Buffer }).body = body;
    this.router.emit('request', req, res);
  }

  /** The soap method of every operation: the request the gate checked, read, handled, answered. */
  private async run(operation: ProtocolloSoapOperation, req: IncomingMessage): Promise<{ _xml: string }> {
    const checked = this.checked.get(req);
    if (!checked || checked.operation !== operation) {
      throw new SoapFault('Client', `000_Irricevibile - soap dispatched the request to ${operation}, but its Body holds ${checked?.operation ?? 'nothing the gate checked'}`);
    }
    let write: () => string;
    try {
      write = await OPERATIONS[operation](checked.element, checked.text, this.handlers, this.limits);
    } catch (err) {
      throw faultFor(err, operation, this.options.log);
    }
    try {
      return { _xml: write() };
    } catch (err) {
      this.options.log?.error({ operation, err }, 'protocollo SOAP response could not be written');
      throw new SoapFault('Server', `TRAMITE_ERR_ADAPTER_UNAVAILABLE - the ${operation} response could not be written`);
    }
  }

  private refuse(res: ServerResponse, why: string, close = false, faultcode: FaultCode = 'Client'): void {
    this.options.log?.warn({ why }, 'protocollo SOAP request refused before processing');
    if (close) res.setHeader('Connection', 'close');
    this.sendFault(res, faultcode, `000_Irricevibile - request refused: ${why}`);
  }

  private sendFault(res: ServerResponse, faultcode: FaultCode, faultstring: string): void {
    this.sendPlain(res, 500, faultEnvelope(faultcode, faultstring), 'text/xml; charset=utf-8');
  }

  private sendPlain(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/**
 * The body, or undefined once it exceeds `maxBytes` (the rest is drained, not kept, so the Fault can
 * still be read by the client).
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before the end of the body'));
    });
  });
}

/** The hardened parse, then: a SOAP 1.1 Envelope, one Body, whose first element is an operation of `side`. */
function checkEnvelope(body: Buffer, side: ProtocolloSoapSide, limits: XmlLimits): CheckedRequest {
  const { doc, text } = parseUntrustedXml(body, limits);
  const envelope = doc.documentElement!;
  if (envelope.localName !== 'Envelope') throw new Error(`the body is <${envelope.nodeName}>, not a SOAP Envelope`);
  if (envelope.namespaceURI !== NS.soap11) throw new SoapFault('VersionMismatch', `the Envelope is in ${envelope.namespaceURI ?? 'no namespace'}; this service speaks SOAP 1.1 (${NS.soap11})`);
  const bodies = childrenNamed(envelope, NS.soap11, 'Body');
  if (bodies.length !== 1) throw new Error(`the Envelope holds ${bodies.length} soap:Body elements; exactly one is required`);
  const element = childElements(bodies[0]!)[0];
  const operation = (Object.keys(PROTOCOLLO_SOAP_OPERATIONS) as ProtocolloSoapOperation[]).find(
    (op) => PROTOCOLLO_SOAP_OPERATIONS[op].side === side && isElement(element, PROTOCOLLO_SOAP[side].ns, PROTOCOLLO_SOAP_OPERATIONS[op].request),
  );
  if (!element || !operation) {
    const found = element ? `{${element.namespaceURI ?? ''}}${element.localName}` : 'nothing';
    throw new Error(`soap:Body holds ${found}; ${PROTOCOLLO_SOAP[side].path} accepts ${Object.values(PROTOCOLLO_SOAP_OPERATIONS).filter((o) => o.side === side).map((o) => `{${PROTOCOLLO_SOAP[side].ns}}${o.request}`).join(', ')}`);
  }
  return { text, operation, element };
}
