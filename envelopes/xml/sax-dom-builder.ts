/**
 * Builds the @xmldom/xmldom DOM of a document from the events of the strict saxes pass, so that the
 * untrusted text is tokenised once (saxes: namespace-aware, every well-formedness error refused)
 * instead of twice (saxes, then xmldom's own lenient parser). The tree is the one xmldom's
 * DOMParser gives for the documents saxes accepts: the same node kinds (Text, CDATASection,
 * Comment; the XML declaration as a processing instruction `xml`; whitespace and comments outside the
 * root on the document), the same names, and `null` as the namespace of an element or attribute in
 * none, but `""` for an element under an explicit `xmlns=""` — as xmldom has it.
 *
 * It also remembers where the start tag of each element near the root (the SOAP Envelope, its
 * children and their children: the Header blocks and the Body) lies in the text, for the signer,
 * which inserts into the original text instead of serialising the whole tree again.
 */
import { DOMImplementation } from '@xmldom/xmldom';
import type { SaxesParser, SaxesTagNS } from 'saxes';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** Where an element's start tag is in the text it was parsed from (UTF-16 offsets, as JS strings index). */
export interface StartTagSpan {
  /** Offset of the `<`. */
  readonly start: number;
  /** Offset just after the closing `>` (or `/>`). */
  readonly end: number;
  /** `<x/>`: the element has no end tag. */
  readonly selfClosing: boolean;
}

/** Elements this deep (the root is 1) get their start tag recorded. */
const SPAN_DEPTH = 3;

const spans = new WeakMap<Element, StartTagSpan>();

/** The start tag of an element the builder made, at depth 3 or less; undefined for any other element. */
export function startTagSpan(el: Element): StartTagSpan | undefined {
  return spans.get(el);
}

const implementation = new DOMImplementation();

/**
 * The DOM under construction, fed by the saxes handlers of the strict pass (saxes keeps one handler
 * per event, so the pass that also counts for the limits calls these from its own).
 */
export class SaxDomBuilder {
  readonly doc: Document = implementation.createDocument(null, null as unknown as string, null);
  #current: Document | Element = this.doc;
  #depth = 0;
  #tagStart = 0;
  /** Whether the default namespace in force was undeclared with xmlns="" (xmldom then says "" not null). */
  readonly #undeclaredDefault: boolean[] = [false];

  /** `parser` must have been made with `xmlns: true, position: true`; `text` is what it is given. */
  constructor(
    private readonly parser: SaxesParser<{ xmlns: true; position: true }>,
    private readonly text: string,
  ) {}

  xmlDeclaration(): void {
    // xmldom keeps the declaration as a processing instruction `xml` with its pseudo-attributes as data.
    const close = this.text.indexOf('?>');
    if (this.text.startsWith('<?xml') && close > 0)
      this.doc.appendChild(this.doc.createProcessingInstruction('xml', this.text.slice(5, close).trim()));
  }

  openTagStart(tag: { readonly name: string }): void {
    // saxes has read the name and the character (or CR LF) that ended it; nothing lies between `<` and the name.
    this.#tagStart = this.text.lastIndexOf('<', this.parser.position - tag.name.length - 1);
  }

  openTag(tag: SaxesTagNS): void {
    const doc = this.doc;
    this.#depth += 1;
    const declared = tag.ns[''];
    const undeclared = declared === undefined ? this.#undeclaredDefault[this.#undeclaredDefault.length - 1]! : declared === '';
    this.#undeclaredDefault.push(undeclared);
    const el = doc.createElementNS(tag.uri !== '' ? tag.uri : tag.prefix === '' && undeclared ? '' : null, tag.name);
    for (const key in tag.attributes) {
      const a = tag.attributes[key]!;
      el.setAttributeNS(a.uri !== '' ? a.uri : a.prefix === 'xmlns' || a.name === 'xmlns' ? XMLNS_NS : null, a.name, a.value);
    }
    this.#current.appendChild(el);
    if (this.#depth <= SPAN_DEPTH) spans.set(el, { start: this.#tagStart, end: this.parser.position, selfClosing: tag.isSelfClosing });
    if (!tag.isSelfClosing) this.#current = el;
  }

  closeTag(tag: { readonly isSelfClosing: boolean }): void {
    this.#depth -= 1;
    this.#undeclaredDefault.pop();
    // A self-closing element was never made current: only close what was opened.
    if (!tag.isSelfClosing) this.#current = this.#current.parentNode as Document | Element;
  }

  characters(data: string): void {
    // Outside the root saxes lets only whitespace through; xmldom keeps it on the document too.
    this.#current.appendChild(this.doc.createTextNode(data));
  }

  cdata(data: string): void {
    this.#current.appendChild(this.doc.createCDATASection(data));
  }

  comment(data: string): void {
    this.#current.appendChild(this.doc.createComment(data));
  }
}
