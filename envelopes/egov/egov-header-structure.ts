import { EnvelopeError } from '../../src/core/errors.js';
import type { EgovCode } from '../../src/core/error-codes.js';
import { NS } from '../xml/namespaces.js';
import { childElements } from '../xml/dom-navigation.js';

/** One expected child in a schema sequence: name, and how often it may appear. */
export interface Slot {
  readonly name: string;
  readonly min: 0 | 1;
  readonly max: 1 | 'n';
}

export function fail(code: EgovCode, posizione: string, why: string): never {
  throw new EnvelopeError(code, posizione, `${code} - ${why} (${posizione})`);
}

export const one = (m: Map<string, Element[]>, name: string): Element | undefined => m.get(name)?.[0];

const isText = (n: Node): boolean => (n.nodeType === 3 || n.nodeType === 4) && (n.nodeValue ?? '').trim() !== '';

/**
 * Reads the children of `parent` against a schema sequence (Busta.xsd order is significant).
 * Anything out of order, unknown, missing or repeated is EGOV_IT_002 at its position.
 */
export function readSequence(parent: Element, path: string, slots: readonly Slot[]): Map<string, Element[]> {
  const found = new Map<string, Element[]>();
  const children = childElements(parent);
  let i = 0;
  for (const slot of slots) {
    const got: Element[] = [];
    while (i < children.length) {
      const c = children[i]!;
      if (c.namespaceURI !== NS.egov || c.localName !== slot.name) break;
      got.push(c);
      i += 1;
      if (slot.max === 1) break;
    }
    if (got.length < slot.min) {
      // A stray or misplaced element in front of a required one is the problem to name, not the absence.
      const stray = children[i];
      if (stray && !slots.some((s) => s.name === stray.localName && stray.namespaceURI === NS.egov && s !== slot && slots.indexOf(s) > slots.indexOf(slot))) {
        fail('EGOV_IT_002', `${path}/${stray.localName}`, `unexpected or out-of-order element ${stray.nodeName} in ${path}`);
      }
      fail('EGOV_IT_002', `${path}/${slot.name}`, `${path}/${slot.name} missing`);
    }
    found.set(slot.name, got);
  }
  if (i < children.length) {
    const c = children[i]!;
    fail('EGOV_IT_002', `${path}/${c.localName}`, `unexpected or out-of-order element ${c.nodeName} in ${path}`);
  }
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (isText(n)) fail('EGOV_IT_002', path, `text not allowed in ${path}`);
  }
  return found;
}

/** A simple-content element (Busta.xsd: string or dateTime content) holds text only; its value, trimmed. */
export function textOnly(el: Element, path: string): string {
  if (childElements(el).length > 0) fail('EGOV_IT_002', path, `${el.localName} must hold text only, not elements`);
  return (el.textContent ?? '').trim();
}

/** An element whose schema type has attributes only (ProfiloTrasmissione, Sequenza, Eccezione) is empty. */
export function requireEmpty(el: Element, path: string): void {
  let inside = childElements(el).length > 0;
  for (let n = el.firstChild; n && !inside; n = n.nextSibling) inside = isText(n);
  if (inside) fail('EGOV_IT_002', path, `${el.localName} must be empty (its content is in attributes)`);
}

/** An attribute's value, or undefined when it is absent (an empty value is a value). */
export function attribute(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name)! : undefined;
}

/** Inside a list, a structural error (EGOV_IT_002) is reported with the list's own code (100, 115, 116). */
export function withCode<T>(code: EgovCode, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof EnvelopeError && err.code === 'EGOV_IT_002') throw new EnvelopeError(code, err.posizione, err.message.replace('EGOV_IT_002', code), { cause: err });
    throw err;
  }
}

/** A list element's items; a malformed list is the list's own code (100, 115, 116) rather than 002. */
export function readList(list: Element, path: string, item: string, code: EgovCode): Element[] {
  return withCode(code, () => readSequence(list, path, [{ name: item, min: 1, max: 'n' }])).get(item)!;
}
