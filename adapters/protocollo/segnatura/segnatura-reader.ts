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
 * job: see segnatura-schema.ts.
 *
 * One job per file: segnatura-reader-parse (bytes to DOM, the 2001 DOCTYPE), -element (namespaces per
 * form, the ElementReader on the SDK's strict reader), -identificatore (shared by every message),
 * -2021, -documento (the 2021 Documento), -circolare (the 2013 and 2001 forms). The pieces the other
 * messages share (protocollo-messages.ts, the SOAP leg) are re-exported here.
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import type { ReadSegnatura, Segnatura } from './segnatura-model.js';
import { readSegnatura2021 } from './segnatura-reader-2021.js';
import { readSegnaturaCircolare } from './segnatura-reader-circolare.js';
import { describeElement, ElementReader, PROTOCOLLO_NS, SYNTAX_2001, SYNTAX_2013, SYNTAX_2021 } from './segnatura-reader-element.js';
import { parseProtocolloXml } from './segnatura-reader-parse.js';

export {
  describeElement,
  ElementReader,
  PROTOCOLLO_NS,
  SYNTAX_2001,
  SYNTAX_2013,
  SYNTAX_2021,
  type FormSyntax,
} from './segnatura-reader-element.js';
export { readIdentificatore } from './segnatura-reader-identificatore.js';
export { parseProtocolloXml, SEGNATURA_DTD_2001 } from './segnatura-reader-parse.js';

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
