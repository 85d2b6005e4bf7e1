/**
 * The operations' elements as the WSDLs' own schemas and messaggio_protocollo.xsd define them: the
 * syntax each is read with, a writer for each, and the parts several operations share (Identificatore,
 * Anomalia). Server and client read and write with these; responses are written here, namespace-exact,
 * and handed to soap as `_xml`, because soap's own serializer puts the IdentificatoreType children (prot
 * namespace) in the operation's namespace.
 */
import { XMLSerializer } from '@xmldom/xmldom';
import { TramiteError } from '../../../src/core/errors.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';
import { ElementReader, PROTOCOLLO_NS, SYNTAX_2021, readIdentificatore, type FormSyntax } from '../segnatura/segnatura-reader.js';
import { PROT, ProtocolloXmlWriter, writeIdentificatore, type XmlNamespace } from '../segnatura/segnatura-writer.js';
import { PROTOCOLLO_SOAP, type Anomalia, type ProtocolloSoapSide } from './protocollo-soap-contract.js';

/** Elements of a WSDL's own schema: its target namespace, unqualified attributes (Anomalia/@info). */
export function operationSyntax(side: ProtocolloSoapSide): FormSyntax {
  return { form: '2021', ns: PROTOCOLLO_SOAP[side].ns, attributeNs: null };
}

/** messaggio_protocollo.xsd: elementFormDefault and attributeFormDefault qualified. */
export const MESSAGGI_SYNTAX: FormSyntax = { form: '2021', ns: PROTOCOLLO_NS.messaggi, attributeNs: PROTOCOLLO_NS.messaggi };

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
  if (!allowed.includes(anomalia.code)) throw new TramiteError('TRAMITE_ERR_ADAPTER_REFUSED', `Anomalia "${anomalia.code}" is not one of ${allowed.join(', ')}`);
  const el = w.add(w.root, 'Anomalia', anomalia.code);
  if (anomalia.info !== undefined) el.setAttribute('info', xmlChars(anomalia.info, 'Anomalia/@info'));
}

/** Characters XML 1.0 cannot carry, even escaped. */
export const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function xmlChars(value: string, field: string): string {
  if (NOT_XML_CHAR.test(value)) throw new TramiteError('TRAMITE_ERR_ADAPTER_REFUSED', `${field} contains a character XML cannot carry`);
  return value;
}

/** An attribute value as markup: escaped so that it reads back as exactly `value` (whitespace included). */
export function attributeValue(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}
