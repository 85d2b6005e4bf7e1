/**
 * Raw element text: how a sealed Segnatura crosses the SOAP leg without being re-serialised (see
 * standalone-segnatura.ts for the server's side, protocollo-soap-client.ts for the client's).
 */
import { SaxesParser } from 'saxes';

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
export function rawElementAt(
  text: string,
  path: ReadonlyArray<{ readonly ns: string | null; readonly local: string }>,
): RawElement | undefined {
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
