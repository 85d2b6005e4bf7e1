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
import { createHash, type Hash } from 'node:crypto';
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
  return canonicalize(apex, 'exclusive', new Set(opts.inclusivePrefixes ?? []), opts.exclude);
}

/** Canonical XML 1.0 (without comments) of `apex` and its subtree (the REC-xml-c14n-20010315 transform). */
export function inclusiveC14n(apex: Element, opts: Pick<CanonicalizationOptions, 'exclude'> = {}): string {
  return canonicalize(apex, 'inclusive', new Set(), opts.exclude);
}

/**
 * The digest of the canonical form (exclusive, or inclusive for the c14n transform) of `apex`, the
 * canonical text going into the hash as it is produced instead of being built whole first.
 */
export function canonicalDigest(
  apex: Element,
  c14n: 'exclusive' | 'inclusive',
  hash: 'sha256' | 'sha512',
  opts: CanonicalizationOptions = {},
): Buffer {
  const h = createHash(hash);
  canonicalize(apex, c14n, new Set(c14n === 'exclusive' ? (opts.inclusivePrefixes ?? []) : []), opts.exclude, h);
  return h.digest();
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

/**
 * Where canonical text goes: appended to one string (V8 joins the pieces lazily) and, when a hash is
 * given, handed to it in chunks of about CHUNK characters, so a 200 KB Body is never held whole. A
 * chunk always ends between two whole DOM strings (names, values, text data), so no surrogate pair is
 * split and the UTF-8 bytes hashed are those of the whole canonical text.
 */
class CanonicalSink {
  #buf = '';
  constructor(private readonly hash?: Hash) {}
  write(s: string): void {
    this.#buf += s;
    if (this.hash && this.#buf.length >= CHUNK) {
      this.hash.update(this.#buf, 'utf8');
      this.#buf = '';
    }
  }
  /** The remaining text (everything, without a hash). */
  end(): string {
    const rest = this.#buf;
    this.#buf = '';
    if (this.hash) this.hash.update(rest, 'utf8');
    return rest;
  }
}

const CHUNK = 16 * 1024;

/**
 * Namespace bindings as a stack of (prefix, URI) pairs: an element pushes what it adds and its caller
 * truncates back afterwards, so no map is copied per element. Lookups scan from the top; the stack
 * holds a handful of entries in real documents.
 */
class BindingStack {
  readonly prefixes: string[] = [];
  readonly uris: string[] = [];
  push(prefix: string, uri: string): void {
    this.prefixes.push(prefix);
    this.uris.push(uri);
  }
  get(prefix: string): string | undefined {
    for (let i = this.prefixes.length - 1; i >= 0; i--) if (this.prefixes[i] === prefix) return this.uris[i];
    return undefined;
  }
  get size(): number {
    return this.prefixes.length;
  }
  truncate(size: number): void {
    this.prefixes.length = size;
    this.uris.length = size;
  }
}

interface Walk {
  readonly mode: 'exclusive' | 'inclusive';
  /** Exclusive: prefixes of the PrefixList ('' = default namespace). */
  readonly listed: ReadonlySet<string>;
  readonly exclude: Node | undefined;
  /** What the nearest output ancestors declared; the empty default namespace counts as rendered. */
  readonly rendered: BindingStack;
  /** In-scope namespaces, kept only where declarations matter beyond visible use (inclusive, PrefixList). */
  readonly scope: BindingStack | undefined;
  readonly out: CanonicalSink;
}

interface RenderedAttribute {
  readonly ns: string;
  readonly local: string;
  readonly name: string;
  readonly value: string;
}

function canonicalize(apex: Element, mode: Walk['mode'], listed: ReadonlySet<string>, exclude: Node | undefined, hash?: Hash): string {
  const rendered = new BindingStack();
  rendered.push('', '');
  // In-scope namespaces are only needed where declarations matter beyond visible use.
  const scope = mode === 'inclusive' || listed.size > 0 ? ancestorBindings(apex) : undefined;
  const walk: Walk = { mode, listed, exclude, rendered, scope, out: new CanonicalSink(hash) };
  renderElement(apex, walk, mode === 'inclusive' ? ancestorXmlAttributes(apex) : undefined);
  return walk.out.end();
}

const byCodePoint = (x: readonly [string, string], y: readonly [string, string]): number => compareCodePoints(x[0], y[0]);
const byNameInNamespace = (x: RenderedAttribute, y: RenderedAttribute): number =>
  compareCodePoints(x.ns, y.ns) || compareCodePoints(x.local, y.local);

function renderElement(el: Element, walk: Walk, inheritedXml: readonly RenderedAttribute[] | undefined): void {
  if (el === walk.exclude) return;
  const { rendered, scope, out } = walk;
  const renderedMark = rendered.size;
  const scopeMark = scope ? scope.size : 0;
  const attrs: RenderedAttribute[] = [];
  // Visibly utilised prefixes, the element's own first; a repeated prefix takes the later URI.
  const usedPrefixes: string[] = [el.prefix ?? ''];
  const usedUris: string[] = [el.namespaceURI ?? ''];
  const attributes = el.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes.item(i)!;
    const name = a.name;
    if (a.namespaceURI === XMLNS_NS || name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope) scope.push(name === 'xmlns' ? '' : name.slice(6), a.value);
      continue;
    }
    const ns = a.namespaceURI ?? '';
    const prefix = a.prefix ?? '';
    if (prefix !== '' && prefix !== 'xml') {
      const at = usedPrefixes.indexOf(prefix);
      if (at < 0) {
        usedPrefixes.push(prefix);
        usedUris.push(ns);
      } else usedUris[at] = ns;
    }
    attrs.push({ ns, local: a.localName ?? name, name, value: a.value });
  }
  // A DOM built in code may lack the declarations its names rely on: the names decide.
  if (scope) for (let i = 0; i < usedPrefixes.length; i++) scope.push(usedPrefixes[i]!, usedUris[i]!);

  // The namespace declarations this element may have to carry: visibly used, and per mode the rest.
  if (walk.mode === 'inclusive') {
    const seen = new Set(usedPrefixes);
    for (let i = scope!.size - 1; i >= 0; i--) {
      const prefix = scope!.prefixes[i]!;
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      usedPrefixes.push(prefix);
      usedUris.push(scope!.uris[i]!);
    }
  } else if (walk.listed.size > 0) {
    for (const prefix of walk.listed) {
      if (usedPrefixes.includes(prefix)) continue;
      const uri = scope!.get(prefix);
      if (uri !== undefined || prefix === '') {
        usedPrefixes.push(prefix);
        usedUris.push(uri ?? '');
      }
    }
  }
  const declare: Array<[string, string]> = [];
  for (let i = 0; i < usedPrefixes.length; i++) {
    const prefix = usedPrefixes[i]!;
    const uri = usedUris[i]!;
    if (prefix === 'xml') continue;
    if (rendered.get(prefix) === uri) continue;
    if (prefix !== '' && uri === '') continue; // xmlns:p="" is not XML 1.0: nothing to undeclare
    declare.push([prefix, uri]);
  }
  if (declare.length > 1) declare.sort(byCodePoint);
  for (const [prefix, uri] of declare) rendered.push(prefix, uri);

  if (inheritedXml) {
    for (const a of inheritedXml) if (!attrs.some((own) => own.ns === XML_NS && own.local === a.local)) attrs.push(a);
  }
  if (attrs.length > 1) attrs.sort(byNameInNamespace);

  const qname = el.nodeName;
  let tag = `<${qname}`;
  for (const [prefix, uri] of declare) tag += `${prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`}${escapeAttribute(uri)}"`;
  for (const a of attrs) tag += ` ${a.name}="${escapeAttribute(a.value)}"`;
  out.write(`${tag}>`);
  for (let n = el.firstChild; n; n = n.nextSibling) {
    switch (n.nodeType) {
      case ELEMENT:
        renderElement(n as Element, walk, undefined);
        break;
      case TEXT:
      case CDATA:
        out.write(escapeText((n as CharacterData).data));
        break;
      case COMMENT:
        break;
      case PROCESSING_INSTRUCTION: {
        const pi = n as ProcessingInstruction;
        out.write(`<?${pi.target}${pi.data ? ` ${pi.data}` : ''}?>`);
        break;
      }
      default:
        throw new SecurityError('TRAMITE_ERR_SIG_STRUCTURE', `node type ${n.nodeType} (${n.nodeName}) cannot be canonicalised`);
    }
  }
  out.write(`</${qname}>`);
  rendered.truncate(renderedMark);
  scope?.truncate(scopeMark);
}

/** The namespaces the apex's ancestors put in scope, outermost first (a later entry wins). */
function ancestorBindings(apex: Element): BindingStack {
  const chain: Element[] = [];
  for (let p = apex.parentNode; p && p.nodeType === ELEMENT; p = p.parentNode) chain.push(p as Element);
  const scope = new BindingStack();
  for (let i = chain.length - 1; i >= 0; i--) {
    const el = chain[i]!;
    scope.push(el.prefix ?? '', el.namespaceURI ?? '');
    for (let j = 0; j < el.attributes.length; j++) {
      const a = el.attributes.item(j)!;
      if (a.name === 'xmlns') scope.push('', a.value);
      else if (a.name.startsWith('xmlns:')) scope.push(a.name.slice(6), a.value);
      else if (a.prefix && a.prefix !== 'xml' && a.namespaceURI) scope.push(a.prefix, a.namespaceURI);
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
