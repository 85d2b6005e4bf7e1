import { SaxesParser } from 'saxes';
import { EnvelopeError } from '../../src/core/errors.js';
import { checkDoctype, type AcceptedDoctype, type KnownExternalDtd } from './xml-doctype.js';
import { decodeXmlBytes } from './xml-encoding.js';
import { SaxDomBuilder } from './sax-dom-builder.js';

export type { KnownExternalDtd } from './xml-doctype.js';
export { decodeXmlBytes, withUtf8Declaration, type DecodedXml, type XmlEncoding } from './xml-encoding.js';

export interface XmlLimits {
  /** Largest document accepted, in bytes (UTF-8). */
  readonly maxBytes: number;
  /** Deepest element nesting accepted. */
  readonly maxDepth: number;
  /** Most elements accepted in one document. */
  readonly maxElements: number;
  /** Most attributes on one element (namespace declarations are counted apart). */
  readonly maxAttributes: number;
  /** Most attributes in the whole document (namespace declarations are counted apart). */
  readonly maxTotalAttributes: number;
  /** Most namespace declarations (`xmlns`, `xmlns:p`) on one element. */
  readonly maxNamespaceDeclarations: number;
  /** Most namespace declarations in the whole document. */
  readonly maxTotalNamespaceDeclarations: number;
}

/**
 * Sized from real material (docs/security.md, "XML limits"): the busiest real envelope the project
 * has seen carries ~2 000 elements, 2 000 attributes, 3 namespace declarations on one element and 32
 * in all; each limit leaves several times that, and bounds the work verification does on what passes.
 */
export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 5 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 10_000,
  maxAttributes: 32,
  maxTotalAttributes: 20_000,
  maxNamespaceDeclarations: 16,
  maxTotalNamespaceDeclarations: 1_000,
};

/** What a caller may opt into beyond the default refusals. */
export interface UntrustedXmlOptions {
  /**
   * Accept a DOCTYPE that only names this DTD by its external identifier, for one of its roots (no
   * internal subset, no entity; never resolved). Only for a reader of a legacy vocabulary that was
   * defined by a DTD — the 2001 Segnatura — never for envelopes.
   */
  readonly acceptDoctype?: KnownExternalDtd;
}

/**
 * Parses untrusted XML into a DOM, refusing what an envelope never needs and an attacker loves:
 * any DOCTYPE (so no entity expansion, no external entities) unless the caller opted into one that only
 * names a known DTD (see UntrustedXmlOptions), processing instructions other than the XML declaration,
 * oversized or over-deep documents. Bytes are decoded as their XML declaration (or byte-order mark)
 * says, and refused when it names an unknown encoding or one the bytes contradict (xml-encoding.ts).
 * One strict SAX pass (saxes, namespace-aware, which rejects every well-formedness error and undeclared
 * prefix) checks the limits and builds the @xmldom/xmldom DOM (the one xml-crypto also uses) from the
 * same events: the text is tokenised once. Every refusal is EGOV_IT_001 with the line and column, which is what a reply's `posizione` must say.
 */
export function parseUntrustedXml(
  input: string | Uint8Array,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
  options: UntrustedXmlOptions = {},
): { doc: Document; text: string } {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > limits.maxBytes) {
    throw new EnvelopeError(
      'EGOV_IT_001',
      'Envelope',
      `EGOV_IT_001 - envelope of ${size} bytes exceeds the limit of ${limits.maxBytes} bytes`,
    );
  }
  const text = typeof input === 'string' ? input : decodeXmlBytes(input).text;
  const { doc, doctype } = guardedParse(text, limits, options.acceptDoctype);
  if (!doc.documentElement) throw new EnvelopeError('EGOV_IT_001', 'Envelope', 'EGOV_IT_001 - XML not well formed: no root element');
  if (doctype) checkDoctypeNamesRoot(doctype, doc.documentElement);
  return { doc, text };
}

/** Refusals caused by a DOCTYPE, so that a caller can give its own advice about the line. */
const doctypeRefusals = new WeakSet<object>();

/** Whether `err` is parseUntrustedXml refusing a DOCTYPE (as opposed to anything else in the document). */
export function isDoctypeRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && doctypeRefusals.has(err);
}

/** An accepted DOCTYPE must name the root the document has, and that root must be in no namespace. */
function checkDoctypeNamesRoot(doctype: AcceptedDoctype, root: Element): void {
  if (root.tagName === doctype.rootName && !root.namespaceURI) return;
  const err = new EnvelopeError(
    'EGOV_IT_001',
    'DOCTYPE',
    `EGOV_IT_001 - the DOCTYPE names ${doctype.rootName} but the root element is ${root.namespaceURI ? `{${root.namespaceURI}}${root.localName}` : root.tagName}`,
  );
  doctypeRefusals.add(err);
  throw err;
}

/**
 * The strict SAX pass, which also builds the DOM (sax-dom-builder.ts); returns it with the DOCTYPE the
 * caller's options accepted, if the document has one. It counts as it reads and throws at the first
 * excess — from inside the parser's callbacks, so parsing stops there: what a hostile document costs is
 * bounded by the limits, not by its size. Attributes are counted one by one as they are read, before
 * their element is complete; the counting handlers are registered first, so an element over a limit is
 * refused before it is built.
 */
function guardedParse(
  text: string,
  limits: XmlLimits,
  acceptDoctype: KnownExternalDtd | undefined,
): { doc: Document; doctype: AcceptedDoctype | undefined } {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const builder = new SaxDomBuilder(parser, text);
  let depth = 0;
  let elements = 0;
  let attributesHere = 0;
  let attributes = 0;
  let declarationsHere = 0;
  let declarations = 0;
  let element = '';
  const refusal = (why: string) =>
    new EnvelopeError(
      'EGOV_IT_001',
      `riga ${parser.line}, colonna ${parser.column}`,
      `EGOV_IT_001 - ${why} (line ${parser.line}, column ${parser.column})`,
    );
  const refuse = (why: string): never => {
    throw refusal(why);
  };
  let doctype: AcceptedDoctype | undefined;
  parser.on('doctype', (declaration) => {
    const checked = checkDoctype(declaration, acceptDoctype);
    if ('refused' in checked) {
      const err = refusal(checked.refused);
      doctypeRefusals.add(err);
      throw err;
    }
    doctype = checked;
  });
  parser.on('processinginstruction', (pi) => refuse(`processing instruction <?${pi.target}?> is not accepted`));
  parser.on('opentagstart', (tag) => {
    depth += 1;
    elements += 1;
    element = tag.name;
    attributesHere = 0;
    declarationsHere = 0;
    if (depth > limits.maxDepth) refuse(`element nesting deeper than ${limits.maxDepth}`);
    if (elements > limits.maxElements) refuse(`more than ${limits.maxElements} elements`);
    builder.openTagStart(tag);
  });
  parser.on('opentag', (tag) => builder.openTag(tag));
  parser.on('text', (data) => builder.characters(data));
  parser.on('cdata', (data) => builder.cdata(data));
  parser.on('comment', (data) => builder.comment(data));
  parser.on('xmldecl', () => builder.xmlDeclaration());
  parser.on('attribute', (attr) => {
    if (attr.name === 'xmlns' || attr.name.startsWith('xmlns:')) {
      declarationsHere += 1;
      declarations += 1;
      if (declarationsHere > limits.maxNamespaceDeclarations)
        refuse(`more than ${limits.maxNamespaceDeclarations} namespace declarations on <${element}>`);
      if (declarations > limits.maxTotalNamespaceDeclarations)
        refuse(`more than ${limits.maxTotalNamespaceDeclarations} namespace declarations`);
    } else {
      attributesHere += 1;
      attributes += 1;
      if (attributesHere > limits.maxAttributes) refuse(`more than ${limits.maxAttributes} attributes on <${element}>`);
      if (attributes > limits.maxTotalAttributes) refuse(`more than ${limits.maxTotalAttributes} attributes`);
    }
  });
  parser.on('closetag', (tag) => {
    depth -= 1;
    builder.closeTag(tag);
  });
  parser.on('error', (err) => refuse(`XML not well formed: ${err.message.replace(/^.*?:\d+:\d+: /, '')}`));
  parser.write(text).close();
  return { doc: builder.doc, doctype };
}
