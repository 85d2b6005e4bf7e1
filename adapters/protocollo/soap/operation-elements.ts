/**
 * The operations' elements as the WSDLs' own schemas and messaggio_protocollo.xsd define them: the
 * syntax each is read with, a writer for each, and the parts several operations share (Identificatore,
 * Anomalia). Server and client read and write with these; responses are written here, namespace-exact,
 * and handed to soap as `_xml`, because soap's own serializer puts the IdentificatoreType children (prot
 * namespace) in the operation's namespace.
 */
import { TramiteError } from '../../../src/core/errors.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';
import { ElementReader, PROTOCOLLO_NS, SYNTAX_2021, readIdentificatore, type FormSyntax } from '../segnatura/segnatura-reader.js';
import { XmlWriter } from '../../sdk/index.js';
import { PROT, unwritableProtocollo, writeIdentificatore, type XmlNamespace } from '../segnatura/segnatura-writer.js';
import { PROTOCOLLO_SOAP, type Anomalia, type ProtocolloSoapSide } from './protocollo-soap-contract.js';

/** Elements of a WSDL's own schema: its target namespace, unqualified attributes (Anomalia/@info). */
export function operationSyntax(side: ProtocolloSoapSide): FormSyntax {
  return { form: '2021', ns: PROTOCOLLO_SOAP[side].ns, attributeNs: null };
}

/** messaggio_protocollo.xsd: elementFormDefault and attributeFormDefault qualified. */
export const MESSAGGI_SYNTAX: FormSyntax = { form: '2021', ns: PROTOCOLLO_NS.messaggi, attributeNs: PROTOCOLLO_NS.messaggi };

/** A writer for one operation element (`tns:` prefix), with `prot:` declared for the Identificatore content. */
export function operationWriter(side: ProtocolloSoapSide, element: string, alsoUsed: readonly XmlNamespace[] = []): XmlWriter {
  const tns: XmlNamespace = { prefix: 'tns', uri: PROTOCOLLO_SOAP[side].ns };
  // No XML declaration, no indentation: the element goes into soap:Body as it is.
  return new XmlWriter(tns, element, { contentNs: tns, alsoUsed: [PROT, ...alsoUsed], unwritable: unwritableProtocollo });
}

/** The element as it goes into soap:Body. */
export function serializeOperation(w: XmlWriter): string {
  return w.serialize();
}

export function readIdentificatoreIn(r: ElementReader, name: string): Identificatore {
  return readIdentificatore(r.one(name).withSyntax(SYNTAX_2021));
}

export function writeIdentificatoreIn(w: XmlWriter, name: string, id: Identificatore): void {
  writeIdentificatore(w, w.add(w.root, name), id);
}

/** An Anomalia element, its code checked against the WSDL's enumeration. */
export function readAnomalia<Code extends string>(r: ElementReader, allowed: readonly Code[]): Anomalia<Code> {
  const code = r.text();
  if (!(allowed as readonly string[]).includes(code)) throw r.refuse(`${r.path} is "${code}", not one of ${allowed.join(', ')}`, r.path);
  const info = r.attr('info');
  return info === undefined ? { code: code as Code } : { code: code as Code, info };
}

export function writeAnomalia<Code extends string>(w: XmlWriter, anomalia: Anomalia<Code>, allowed: readonly Code[]): void {
  if (!allowed.includes(anomalia.code))
    throw new TramiteError('TRAMITE_ERR_ADAPTER_REFUSED', `Anomalia "${anomalia.code}" is not one of ${allowed.join(', ')}`);
  const el = w.add(w.root, 'Anomalia', anomalia.code);
  if (anomalia.info !== undefined) w.attributeIn(null, el, 'info', anomalia.info);
}
