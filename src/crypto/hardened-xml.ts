import { SaxesParser } from 'saxes';
import { DOMParser } from '@xmldom/xmldom';
import { EnvelopeError } from '../core/errors.js';

export interface XmlLimits {
  /** Largest document accepted, in bytes (UTF-8). */
  readonly maxBytes: number;
  /** Deepest element nesting accepted. */
  readonly maxDepth: number;
  /** Most elements accepted in one document. */
  readonly maxElements: number;
  /** Most attributes on one element (namespace declarations included). */
  readonly maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 5 * 1024 * 1024, maxDepth: 64, maxElements: 100_000, maxAttributes: 64 };

/**
 * Parses untrusted XML into a DOM, refusing what an envelope never needs and an attacker loves:
 * any DOCTYPE (so no entity expansion, no external entities), processing instructions other than the
 * XML declaration, oversized or over-deep documents. A strict SAX pass (saxes, namespace-aware, which
 * rejects every well-formedness error and undeclared prefix) runs first; only a document that
 * passed it reaches xmldom, the DOM that xml-crypto also uses. Every refusal is EGOV_IT_001 with the
 * line and column, which is what a reply's `posizione` must say.
 */
export function parseUntrustedXml(input: string | Uint8Array, limits: XmlLimits = DEFAULT_XML_LIMITS): { doc: Document; text: string } {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > limits.maxBytes) {
    throw new EnvelopeError('EGOV_IT_001', 'Envelope', `EGOV_IT_001 - envelope of ${size} bytes exceeds the limit of ${limits.maxBytes} bytes`);
  }
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  guard(text, limits);
  const errors: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: { warning: () => undefined, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) },
  }).parseFromString(text, 'text/xml');
  if (errors.length > 0 || !doc.documentElement) {
    throw new EnvelopeError('EGOV_IT_001', 'Envelope', `EGOV_IT_001 - XML not well formed: ${errors[0] ?? 'no root element'}`);
  }
  return { doc, text };
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (cause) {
    throw new EnvelopeError('EGOV_IT_001', 'Envelope', 'EGOV_IT_001 - envelope is not valid UTF-8', { cause });
  }
}

function guard(text: string, limits: XmlLimits): void {
  const parser = new SaxesParser({ xmlns: true, position: true });
  let depth = 0;
  let elements = 0;
  const refuse = (why: string): never => {
    throw new EnvelopeError('EGOV_IT_001', `riga ${parser.line}, colonna ${parser.column}`, `EGOV_IT_001 - ${why} (line ${parser.line}, column ${parser.column})`);
  };
  parser.on('doctype', () => refuse('a DOCTYPE is not accepted'));
  parser.on('processinginstruction', (pi) => refuse(`processing instruction <?${pi.target}?> is not accepted`));
  parser.on('opentag', (tag) => {
    depth += 1;
    elements += 1;
    if (depth > limits.maxDepth) refuse(`element nesting deeper than ${limits.maxDepth}`);
    if (elements > limits.maxElements) refuse(`more than ${limits.maxElements} elements`);
    if (Object.keys(tag.attributes).length > limits.maxAttributes) refuse(`more than ${limits.maxAttributes} attributes on <${tag.name}>`);
  });
  parser.on('closetag', () => {
    depth -= 1;
  });
  parser.on('error', (err) => refuse(`XML not well formed: ${err.message.replace(/^.*?:\d+:\d+: /, '')}`));
  parser.write(text).close();
}
