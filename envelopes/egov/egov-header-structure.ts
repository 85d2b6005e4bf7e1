import { EnvelopeError } from '../../src/core/errors.js';
import type { EgovCode } from '../../src/core/error-codes.js';
import { NS } from '../xml/namespaces.js';
import { StrictSequenceReader, UNBOUNDED } from '../xml/strict-sequence-reader.js';

/** One expected child in a schema sequence: name, and how often it may appear. */
export interface Slot {
  readonly name: string;
  readonly min: 0 | 1;
  readonly max: 1 | 'n';
}

export function fail(code: EgovCode, posizione: string, why: string): never {
  throw egovError(code, posizione, why);
}

function egovError(code: EgovCode, posizione: string, why: string): EnvelopeError {
  return new EnvelopeError(code, posizione, `${code} - ${why} (${posizione})`);
}

export const one = (m: Map<string, Element[]>, name: string): Element | undefined => m.get(name)?.[0];

/**
 * Busta.xsd order is significant: anything out of order, unknown, missing, repeated, or text where
 * elements belong is EGOV_IT_002 at its position; a text-only element holding elements, or an
 * attribute-only element holding anything, too.
 */
const reader = new StrictSequenceReader((r) => {
  switch (r.kind) {
    case 'missing':
      return structural(`${r.path}/${r.slot.name}`, `${r.path}/${r.slot.name} missing`);
    case 'unexpected':
    case 'out-of-order':
    case 'too-many':
    case 'attribute':
      return structural(`${r.path}/${r.element.localName}`, `unexpected or out-of-order element ${r.element.nodeName} in ${r.path}`);
    case 'stray-text':
      return structural(r.path, `text not allowed in ${r.path}`);
    case 'not-text':
      return structural(r.path, `${r.element.localName} must hold text only, not elements`);
    case 'not-empty':
      return structural(r.path, `${r.element.localName} must be empty (its content is in attributes)`);
    default:
      return structural(r.path, `${r.path}: malformed`);
  }
});

const structural = (posizione: string, why: string): EnvelopeError => egovError('EGOV_IT_002', posizione, why);

/** Reads the children of `parent` against a Busta.xsd sequence, all in the e-Gov namespace. */
export function readSequence(parent: Element, path: string, slots: readonly Slot[]): Map<string, Element[]> {
  const seq = reader.sequence(
    parent,
    path,
    slots.map((s) => ({ ns: NS.egov, name: s.name, min: s.min, max: s.max === 'n' ? UNBOUNDED : 1 })),
  );
  return new Map(slots.map((s) => [s.name, [...seq.all(s.name)]]));
}

/** A simple-content element (Busta.xsd: string or dateTime content) holds text only; its value, trimmed. */
export function textOnly(el: Element, path: string): string {
  return reader.text(el, path);
}

/** An element whose schema type has attributes only (ProfiloTrasmissione, Sequenza, Eccezione) is empty. */
export function requireEmpty(el: Element, path: string): void {
  reader.empty(el, path);
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
    if (err instanceof EnvelopeError && err.code === 'EGOV_IT_002')
      throw new EnvelopeError(code, err.posizione, err.message.replace('EGOV_IT_002', code), { cause: err });
    throw err;
  }
}

/** A list element's items; a malformed list is the list's own code (100, 115, 116) rather than 002. */
export function readList(list: Element, path: string, item: string, code: EgovCode): Element[] {
  return withCode(code, () => readSequence(list, path, [{ name: item, min: 1, max: 'n' }])).get(item)!;
}
