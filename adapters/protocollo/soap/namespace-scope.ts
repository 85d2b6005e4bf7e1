/**
 * Which namespace bindings an element declares, inherits and needs: what a copy of an element cut out
 * of its document (a Segnatura out of a SOAP envelope) must declare to mean the same.
 */
import { childElements } from '../../sdk/index.js';

/** Namespace declarations written on `el` itself: prefix ('' for the default) → URI. */
export function namespaceDeclarationsOn(el: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    if (a.name === 'xmlns') out.set('', a.value);
    else if (a.name.startsWith('xmlns:')) out.set(a.name.slice('xmlns:'.length), a.value);
  }
  return out;
}

/** The bindings in scope where `el` starts, from its ancestors only (the nearest declaration wins). */
export function inScopeAbove(el: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (let node = el.parentNode; node && node.nodeType === 1; node = node.parentNode) {
    for (const [prefix, uri] of namespaceDeclarationsOn(node as Element)) if (!out.has(prefix)) out.set(prefix, uri);
  }
  return out;
}

/**
 * Prefixes used below `el` (element and attribute names, and xsi:type values) that neither `el` nor the
 * element using them declares: the ones a copy cut out of the envelope must declare. `el`'s own name is
 * left out; the candidate root name brings its own.
 */
export function prefixesFromOutside(el: Element): Set<string> {
  const needed = new Set<string>();
  const visit = (node: Element, declaredAbove: ReadonlySet<string>, isRoot: boolean): void => {
    const declared = new Set([...declaredAbove, ...namespaceDeclarationsOn(node).keys()]);
    const use = (prefix: string): void => {
      if (!declared.has(prefix)) needed.add(prefix);
    };
    if (!isRoot) use(node.prefix ?? '');
    for (let i = 0; i < node.attributes.length; i++) {
      const a = node.attributes.item(i)!;
      if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
      if (a.prefix && a.prefix !== 'xml') use(a.prefix);
      if (a.localName === 'type' && a.namespaceURI === XSI_NS && a.value.includes(':')) use(a.value.slice(0, a.value.indexOf(':')).trim());
    }
    for (const child of childElements(node)) visit(child, declared, false);
  };
  visit(el, new Set(), true);
  return needed;
}

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
