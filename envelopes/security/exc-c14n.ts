/**
 * Exclusive XML Canonicalization 1.0 without comments (W3C REC xml-exc-c14n, 2002), with its
 * InclusiveNamespaces PrefixList, and — for the one Reference transform that still names it —
 * Canonical XML 1.0 without comments, both for the subtree of one element in its document context:
 * what a same-document `#Id` Reference or a ds:SignedInfo is digested or signed over.
 *
 * Pure: it walks the @xmldom/xmldom tree once, touching only the subtree and the apex's ancestors
 * (for the namespaces and xml:* attributes they put in scope), and returns the canonical text. No
 * XPath, no re-serialising of the document: the base of a later streaming fast path.
 *
 * Where the spec is easy to get subtly wrong (and xml-crypto does):
 * - namespace declarations are sorted by prefix in Unicode code point order, the default namespace
 *   first — `SOAP_ENV` before `eGov_IT`, `Z` before `a` — never by a locale-aware comparison;
 * - attributes are sorted by (namespace URI, local name), each in code point order, unqualified ones first;
 * - a prefix is declared where it is visibly utilised (by the element or one of its attributes) and
 *   the nearest output ancestor did not already declare it with the same value; `xml` never is;
 * - xml:* attributes are rendered where they stand, never inherited (exclusive), but an inclusive
 *   apex takes the xml:* attributes of its ancestors (Canonical XML 1.0 §2.4).
 */
import { SecurityError } from '../../src/core/errors.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const PROCESSING_INSTRUCTION = 7;
const COMMENT = 8;

export interface CanonicalizationOptions {
  /**
   * Exclusive only: prefixes handled as Canonical XML handles them (InclusiveNamespaces PrefixList);
   * the empty string stands for `#default`.
   */
  readonly inclusivePrefixes?: Iterable<string>;
  /** A node left out with its subtree: the enveloped-signature transform's ds:Signature. */
  readonly exclude?: Node;
}

/** Exclusive XML Canonicalization 1.0 (without comments) of `apex` and its subtree. */
export function exclusiveC14n(apex: Element, opts: CanonicalizationOptions = {}): string {
  const listed = new Set(opts.inclusivePrefixes ?? []);
  return canonicalize(apex, { mode: 'exclusive', listed, exclude: opts.exclude });
}

/** Canonical XML 1.0 (without comments) of `apex` and its subtree (the REC-xml-c14n-20010315 transform). */
export function inclusiveC14n(apex: Element, opts: Pick<CanonicalizationOptions, 'exclude'> = {}): string {
  return canonicalize(apex, { mode: 'inclusive', listed: new Set(), exclude: opts.exclude });
}

/** The prefixes of an InclusiveNamespaces PrefixList attribute; `#default` becomes the empty string. */
export function parsePrefixList(value: string): string[] {
  return value
    .split(/[ \t\r\n]+/)
    .filter((token) => token.length > 0)
    .map((token) => (token === '#default' ? '' : token));
}

/**
 * Orders two strings by Unicode code point. UTF-16 code units already do, except where a surrogate
 * (a code point above U+FFFF) meets a code unit in U+E000–U+FFFF: there the surrogate must sort last.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

interface Walk {
  readonly mode: 'exclusive' | 'inclusive';
  /** Exclusive: prefixes of the PrefixList ('' = default namespace). */
  readonly listed: ReadonlySet<string>;
  readonly exclude: Node | undefined;
}

/** prefix → namespace URI; '' is the default namespace, and '' as a value means "none". */
type Bindings = ReadonlyMap<string, string>;

interface RenderedAttribute {
  readonly ns: string;
  readonly local: string;
  readonly name: string;
  readonly value: string;
}

function canonicalize(apex: Element, walk: Walk): string {
  const out: string[] = [];
  // In-scope namespaces are only needed where declarations matter beyond visible use.
  const needsScope = walk.mode === 'inclusive' || walk.listed.size > 0;
  const scope = needsScope ? ancestorBindings(apex) : undefined;
  const inherited = walk.mode === 'inclusive' ? ancestorXmlAttributes(apex) : undefined;
  // Nothing is rendered above the apex; the empty default namespace counts as rendered.
  renderElement(apex, walk, new Map([['', '']]), scope, inherited, out);
  return out.join('');
}

function renderElement(
  el: Element,
  walk: Walk,
  rendered: Bindings,
  parentScope: Bindings | undefined,
  inheritedXml: readonly RenderedAttribute[] | undefined,
  out: string[],
): void {
  if (el === walk.exclude) return;
  const attrs: RenderedAttribute[] = [];
  const used = new Map<string, string>();
  used.set(el.prefix ?? '', el.namespaceURI ?? '');
  let scope = parentScope;
  const declared: Array<[string, string]> = [];
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    const name = a.name;
    if (a.namespaceURI === XMLNS_NS || name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope) declared.push([name === 'xmlns' ? '' : name.slice(6), a.value]);
      continue;
    }
    const ns = a.namespaceURI ?? '';
    const prefix = a.prefix ?? '';
    if (prefix !== '' && prefix !== 'xml') used.set(prefix, ns);
    attrs.push({ ns, local: a.localName ?? name, name, value: a.value });
  }
  if (scope) {
    const next = new Map(scope);
    for (const [prefix, uri] of declared) next.set(prefix, uri);
    // A DOM built in code may lack the declarations its names rely on: the names decide.
    for (const [prefix, uri] of used) next.set(prefix, uri);
    scope = next;
  }

  // The namespace declarations this element must carry.
  const candidates = new Map<string, string>(used);
  if (walk.mode === 'inclusive') {
    for (const [prefix, uri] of scope!) if (!candidates.has(prefix)) candidates.set(prefix, uri);
  } else if (walk.listed.size > 0) {
    for (const prefix of walk.listed) {
      if (candidates.has(prefix)) continue;
      const uri = scope!.get(prefix);
      if (uri !== undefined) candidates.set(prefix, uri);
      else if (prefix === '') candidates.set('', '');
    }
  }
  const declare: Array<[string, string]> = [];
  let nextRendered: Map<string, string> | undefined;
  for (const [prefix, uri] of candidates) {
    if (prefix === 'xml') continue;
    const before = rendered.get(prefix) ?? (prefix === '' ? '' : undefined);
    if (before === uri) continue;
    if (prefix !== '' && uri === '') continue; // xmlns:p="" is not XML 1.0: nothing to undeclare
    declare.push([prefix, uri]);
    nextRendered ??= new Map(rendered);
    nextRendered.set(prefix, uri);
  }
  declare.sort((x, y) => compareCodePoints(x[0], y[0]));

  if (inheritedXml) {
    for (const a of inheritedXml) if (!attrs.some((own) => own.ns === XML_NS && own.local === a.local)) attrs.push(a);
  }
  attrs.sort((x, y) => compareCodePoints(x.ns, y.ns) || compareCodePoints(x.local, y.local));

  const qname = el.nodeName;
  out.push('<', qname);
  for (const [prefix, uri] of declare) out.push(prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`, escapeAttribute(uri), '"');
  for (const a of attrs) out.push(' ', a.name, '="', escapeAttribute(a.value), '"');
  out.push('>');
  const childRendered = nextRendered ?? rendered;
  for (let n = el.firstChild; n; n = n.nextSibling) {
    switch (n.nodeType) {
      case ELEMENT:
        renderElement(n as Element, walk, childRendered, scope, undefined, out);
        break;
      case TEXT:
      case CDATA:
        out.push(escapeText((n as CharacterData).data));
        break;
      case COMMENT:
        break;
      case PROCESSING_INSTRUCTION: {
        const pi = n as ProcessingInstruction;
        out.push('<?', pi.target, pi.data ? ` ${pi.data}` : '', '?>');
        break;
      }
      default:
        throw new SecurityError('TRAMITE_ERR_SIG_STRUCTURE', `node type ${n.nodeType} (${n.nodeName}) cannot be canonicalised`);
    }
  }
  out.push('</', qname, '>');
}

/** The namespaces the apex's ancestors put in scope (nearest declaration wins). */
function ancestorBindings(apex: Element): Map<string, string> {
  const chain: Element[] = [];
  for (let p = apex.parentNode; p && p.nodeType === ELEMENT; p = p.parentNode) chain.push(p as Element);
  const scope = new Map<string, string>();
  for (let i = chain.length - 1; i >= 0; i--) {
    const el = chain[i]!;
    scope.set(el.prefix ?? '', el.namespaceURI ?? '');
    for (let j = 0; j < el.attributes.length; j++) {
      const a = el.attributes.item(j)!;
      if (a.name === 'xmlns') scope.set('', a.value);
      else if (a.name.startsWith('xmlns:')) scope.set(a.name.slice(6), a.value);
      else if (a.prefix && a.prefix !== 'xml' && a.namespaceURI) scope.set(a.prefix, a.namespaceURI);
    }
  }
  return scope;
}

/** Canonical XML 1.0 §2.4: the apex of a subtree takes the xml:* attributes in force at it. */
function ancestorXmlAttributes(apex: Element): RenderedAttribute[] {
  const found = new Map<string, RenderedAttribute>();
  for (let p = apex.parentNode; p && p.nodeType === ELEMENT; p = p.parentNode) {
    const el = p as Element;
    for (let j = 0; j < el.attributes.length; j++) {
      const a = el.attributes.item(j)!;
      const local = a.localName ?? a.name;
      if (a.namespaceURI === XML_NS && !found.has(local)) found.set(local, { ns: XML_NS, local, name: a.name, value: a.value });
    }
  }
  return [...found.values()];
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/;

function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#xD;');
}

function escapeAttribute(s: string): string {
  if (!ATTRIBUTE_SPECIAL.test(s)) return s;
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#x9;')
    .replace(/\n/g, '&#xA;')
    .replace(/\r/g, '&#xD;');
}
