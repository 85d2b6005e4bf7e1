/**
 * The bytes of a protocollo document (Segnatura and the other messages) to a DOM: the hardened parse,
 * with the one DOCTYPE the 2001 form may carry, and refusals worded for the sender (000_Irricevibile).
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import { DEFAULT_XML_LIMITS, decodeXmlBytes, isDoctypeRefusal, parseUntrustedXml, type KnownExternalDtd } from '../../sdk/index.js';

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
