/**
 * The one XML writer for documents the bus and its adapters build: a DOM in fixed namespace prefixes,
 * declared once on the root, serialized by @xmldom/xmldom — every text and attribute value goes through
 * the serializer's escaping, never through string concatenation. A value holding a character XML 1.0
 * cannot carry is refused before it enters the tree (the document would not parse back).
 *
 * A class of our own rather than fast-xml-parser's builder: the documents here are namespace-qualified
 * (prefixed elements and qualified attributes), some are signed afterwards on the very DOM built here
 * (XAdES appends to `root`), and the reader side is already xmldom; the builder works on plain objects
 * with no namespace model and would need a second parse before signing.
 */
import { DOMImplementation, XMLSerializer } from '@xmldom/xmldom';
import { TramiteError } from '../../src/core/errors.js';
import { findForbiddenXmlChar, type ForbiddenXmlChar } from './xml-escape.js';

export interface XmlNamespace {
  readonly prefix: string;
  readonly uri: string;
}

/** Builds the error for a value XML cannot carry; `field` is the element name, or `@name` for an attribute. */
export type UnwritableValueFactory = (field: string, char: ForbiddenXmlChar) => Error;

export interface XmlWriterOptions {
  /** The namespace `add` and `attribute` write in (default: the root's). */
  readonly contentNs?: XmlNamespace;
  /** Further namespaces used below the root, declared on it once rather than on each element. */
  readonly alsoUsed?: readonly XmlNamespace[];
  /** Begin the serialization with `<?xml version="1.0" encoding="UTF-8"?>` (default: no declaration). */
  readonly declaration?: boolean;
  /** Indent element-only content for people reading it (text content is never changed). Default: off. */
  readonly indent?: boolean;
  /** Unqualified attributes of the root, written before the namespace declarations. */
  readonly rootAttributes?: Readonly<Record<string, string>>;
  /** The error for a forbidden character (default: TramiteError TRAMITE_ERR_XML_UNWRITABLE). */
  readonly unwritable?: UnwritableValueFactory;
}

const XMLNS = 'http://www.w3.org/2000/xmlns/';
const INDENT = '  ';
const ELEMENT_NODE = 1;

const defaultUnwritable: UnwritableValueFactory = (field, char) =>
  new TramiteError('TRAMITE_ERR_XML_UNWRITABLE', `cannot write ${field}: it contains ${char.label}, a character XML cannot carry`);

/** One document under construction. `name` arguments also name the field in error messages. */
export class XmlWriter {
  readonly doc: Document;
  readonly root: Element;
  readonly contentNs: XmlNamespace;
  private readonly options: XmlWriterOptions;

  constructor(rootNs: XmlNamespace, rootName: string, options: XmlWriterOptions = {}) {
    this.options = options;
    this.contentNs = options.contentNs ?? rootNs;
    this.doc = new DOMImplementation().createDocument(rootNs.uri, `${rootNs.prefix}:${rootName}`, null);
    this.root = this.doc.documentElement as Element;
    for (const [name, value] of Object.entries(options.rootAttributes ?? {})) this.attributeIn(null, this.root, name, value);
    const declared = new Map<string, XmlNamespace>();
    for (const ns of [rootNs, this.contentNs, ...(options.alsoUsed ?? [])]) declared.set(ns.uri, ns);
    for (const ns of declared.values()) this.root.setAttributeNS(XMLNS, `xmlns:${ns.prefix}`, ns.uri);
  }

  /** A child element in `ns`, with text when given. */
  addIn(ns: XmlNamespace, parent: Element, name: string, text?: string): Element {
    const el = this.doc.createElementNS(ns.uri, `${ns.prefix}:${name}`);
    if (text !== undefined) el.appendChild(this.doc.createTextNode(this.checked(text, name)));
    parent.appendChild(el);
    return el;
  }

  /** A child element in the content namespace. */
  add(parent: Element, name: string, text?: string): Element {
    return this.addIn(this.contentNs, parent, name, text);
  }

  /** The element only when there is a value: for the schema's minOccurs="0" text elements. */
  addOptional(parent: Element, name: string, text: string | undefined): void {
    if (text !== undefined) this.add(parent, name, text);
  }

  /** An attribute in `ns` (null: unqualified); nothing when the value is undefined (use="optional"). */
  attributeIn(ns: XmlNamespace | null, el: Element, name: string, value: string | number | boolean | undefined): void {
    if (value === undefined) return;
    const text = this.checked(String(value), `@${name}`);
    if (ns) el.setAttributeNS(ns.uri, `${ns.prefix}:${name}`, text);
    else el.setAttribute(name, text);
  }

  /** An attribute qualified with the content namespace. */
  attribute(el: Element, name: string, value: string | number | boolean | undefined): void {
    this.attributeIn(this.contentNs, el, name, value);
  }

  serialize(): string {
    if (this.options.indent) indent(this.root, 0);
    const xml = new XMLSerializer().serializeToString(this.doc);
    return this.options.declaration ? `<?xml version="1.0" encoding="UTF-8"?>\n${xml}` : xml;
  }

  private checked(value: string, field: string): string {
    const bad = findForbiddenXmlChar(value);
    if (bad) throw (this.options.unwritable ?? defaultUnwritable)(field, bad);
    return value;
  }
}

function indent(el: Element, depth: number): void {
  const children = Array.from(el.childNodes as ArrayLike<Node>);
  const elementOnly = children.length > 0 && children.every((c) => c.nodeType === ELEMENT_NODE);
  if (!elementOnly) return;
  const doc = el.ownerDocument as Document;
  for (const child of children) {
    el.insertBefore(doc.createTextNode(`\n${INDENT.repeat(depth + 1)}`), child);
    indent(child as Element, depth + 1);
  }
  el.appendChild(doc.createTextNode(`\n${INDENT.repeat(depth)}`));
}
