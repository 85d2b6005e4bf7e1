/**
 * The sealed envelope as text, made by inserting into the text that was parsed instead of serialising
 * the whole tree again: the wsu:Id attributes given to the signed elements go into their start tags,
 * and the wsse:Security header (serialised on its own) goes in as the Header's first child — or, when
 * the envelope had no Header, a new Header with it goes before the Body.
 *
 * Why it is the same document the signature was computed over: every other byte is the original text,
 * which parses to the tree the signer read; the inserted attributes are the ones set on that tree
 * before any digest; the signed elements' ancestors keep their start tags, so the namespaces in scope
 * (all that exclusive C14N takes from outside a subtree) are the same. Only where the tree changed in
 * some other way (a profile added header blocks, or an element's place in the text is unknown) is
 * there no splice to make: the caller serialises the tree then.
 */
import { XMLSerializer } from '@xmldom/xmldom';
import { startTagSpan, type StartTagSpan } from '../xml/sax-dom-builder.js';

/** An attribute text (` name="value"`, escaped) added to an element after parsing. */
export interface AddedAttributes {
  readonly element: Element;
  readonly text: string;
}

export interface SealedTree {
  /** The text the tree was parsed from. */
  readonly text: string;
  readonly header: Element;
  /** True when the signer made the Header: it goes in before the Body. */
  readonly headerCreated: boolean;
  readonly body: Element;
  /** The new wsse:Security, the Header's first child. */
  readonly security: Element;
  readonly added: readonly AddedAttributes[];
}

/** The sealed text, or undefined when the tree changed in a way a splice cannot express. */
export function spliceSealedEnvelope(tree: SealedTree, serialize: (node: Node) => string): string | undefined {
  const inserts: Array<{ at: number; text: string; drop?: number }> = [];
  const headerSpan = spanIn(tree.text, tree.header);
  if (tree.headerCreated) {
    const bodySpan = spanIn(tree.text, tree.body);
    if (!bodySpan || childElementsOtherThan(tree.header, tree.security) > 0) return undefined;
    inserts.push({ at: bodySpan.start, text: serialize(tree.header) });
  } else {
    if (!headerSpan) return undefined;
    // Every other header block must be one that was parsed: a block a profile added has no text yet.
    for (let n = tree.header.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1 && n !== tree.security && !spanIn(tree.text, n as Element)) return undefined;
    }
    const security = serialize(tree.security);
    if (headerSpan.selfClosing) {
      // `<P:Header/>` becomes `<P:Header>…</P:Header>`.
      inserts.push({ at: headerSpan.end - 2, drop: 2, text: `>${security}</${tree.header.nodeName}>` });
    } else {
      inserts.push({ at: headerSpan.end, text: security });
    }
  }
  for (const { element, text } of tree.added) {
    const span = spanIn(tree.text, element);
    if (!span) return undefined;
    inserts.push({ at: span.end - (span.selfClosing ? 2 : 1), text });
  }
  inserts.sort((a, b) => a.at - b.at);
  let out = '';
  let from = 0;
  for (const i of inserts) {
    out += tree.text.slice(from, i.at) + i.text;
    from = i.at + (i.drop ?? 0);
  }
  return out + tree.text.slice(from);
}

/** Where the element's start tag is in `text`, if known and the text there is a start tag of that name. */
function spanIn(text: string, el: Element): StartTagSpan | undefined {
  const span = startTagSpan(el);
  if (!span) return undefined;
  const name = el.nodeName;
  const ok =
    text.startsWith(`<${name}`, span.start) &&
    text.charCodeAt(span.end - 1) === 0x3e && // >
    (!span.selfClosing || text.charCodeAt(span.end - 2) === 0x2f); // /
  return ok ? span : undefined;
}

function childElementsOtherThan(parent: Element, except: Element): number {
  let n = 0;
  for (let c = parent.firstChild; c; c = c.nextSibling) if (c.nodeType === 1 && c !== except) n++;
  return n;
}

/** xmldom's serialiser, for a subtree or the whole document. */
export function xmldomSerializer(filter?: (node: Node) => Node | string): (node: Node) => string {
  const s = new XMLSerializer();
  // xmldom writes a string returned by the node filter as is; its typings only admit a Node.
  return (node) => s.serializeToString(node, false, filter as unknown as (node: Node) => Node);
}
