/** Small, exact DOM walks: element children only, matched by namespace URI and local name. */

export const ELEMENT_NODE = 1;

export function childElements(parent: Node): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === ELEMENT_NODE) out.push(n as Element);
  return out;
}

declare const matched: unique symbol;
/** An element that passed an isElement test; the brand keeps the "else" branch typed as Element. */
export type MatchedElement = Element & { readonly [matched]: true };

export function isElement(node: Node | null | undefined, ns: string, local: string): node is MatchedElement {
  return !!node && node.nodeType === ELEMENT_NODE && (node as Element).namespaceURI === ns && (node as Element).localName === local;
}

export function childrenNamed(parent: Node, ns: string, local: string): Element[] {
  return childElements(parent).filter((e) => isElement(e, ns, local));
}

/** Text content of an element that must hold text only (no child elements), trimmed. */
export function textOf(el: Element): string {
  return (el.textContent ?? '').trim();
}

/** Every element below (and including) root, document order. */
export function* walkElements(root: Element): Generator<Element> {
  yield root;
  for (const c of childElements(root)) yield* walkElements(c);
}

/**
 * Attributes that act as XML-DSig identifiers: any attribute whose local name is Id, ID or id,
 * in any namespace (wsu:Id, ds Id, SAML ID). xml-crypto resolves References the same way, so
 * uniqueness over this set is what makes a Reference point at one element only.
 */
export function idAttributesOf(el: Element): string[] {
  const out: string[] = [];
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    const local = a.localName ?? a.name;
    if (local === 'Id' || local === 'ID' || local === 'id') out.push(a.value);
  }
  return out;
}
