/**
 * The one strict reader of an element's children against a schema sequence (xs:sequence): each child
 * expected by namespace and local name, at most and at least as often as its slot says, in order; no
 * other element, no non-whitespace text between them. Every refusal is built by the caller's error
 * factory from a typed description, so each vocabulary keeps its own codes and wording (e-Gov's
 * EGOV_IT_002 with posizione, XAdES's 001_ValidazioneFirma, SIATEL's and the Segnatura's errors).
 *
 * Beside the strict `sequence`, lenient look-ups (`one`, `optional`, `all`, `choice`) serve readers
 * that leave order and unknown elements to an XSD validator but must still refuse what would make
 * their reading ambiguous (a repeated single element, both branches of a choice).
 */
import { childElements } from './dom-navigation.js';

/** One expected child of a sequence. Names are unique within one sequence. */
export interface ChildSlot {
  /** Namespace URI; null for an element in no namespace. */
  readonly ns: string | null;
  readonly name: string;
  readonly min: number;
  /** UNBOUNDED for maxOccurs="unbounded". */
  readonly max: number;
  /** Unqualified attributes allowed on the child (namespace declarations aside); undefined: not inspected. */
  readonly attributes?: readonly string[];
}

export const UNBOUNDED = Number.POSITIVE_INFINITY;

/** What was wrong, for the caller's factory to word. `path` is the parent's path (or the element's own). */
export type SequenceRefusal =
  /** Non-whitespace text (or CDATA) directly inside an element-only parent. */
  | { readonly kind: 'stray-text'; readonly parent: Element; readonly path: string }
  /** A required child is absent; `found` is the element standing in its place (it belongs to a later slot), if any. */
  | { readonly kind: 'missing'; readonly parent: Element; readonly path: string; readonly slot: ChildSlot; readonly found?: Element }
  /** A child that fits no slot of the sequence. */
  | { readonly kind: 'unexpected'; readonly parent: Element; readonly path: string; readonly element: Element }
  /** A child of an earlier slot standing after a later one. */
  | { readonly kind: 'out-of-order'; readonly parent: Element; readonly path: string; readonly element: Element; readonly slot: ChildSlot }
  /** One child more than its slot's max. */
  | { readonly kind: 'too-many'; readonly parent: Element; readonly path: string; readonly element: Element; readonly slot: ChildSlot }
  /** An attribute not allowed on `element`: a sequence child (`slot` given, `path` the parent's) or an element checked alone. */
  | { readonly kind: 'attribute'; readonly element: Element; readonly path: string; readonly slot?: ChildSlot; readonly attribute: Attr }
  /** A text-only element holding an element. */
  | { readonly kind: 'not-text'; readonly element: Element; readonly path: string; readonly child: Element }
  /** An element whose content is all in its attributes, holding elements or text. */
  | { readonly kind: 'not-empty'; readonly element: Element; readonly path: string }
  /** Lenient look-up: none of `names` is present (one name, or the branches of a choice). */
  | { readonly kind: 'absent'; readonly parent: Element; readonly path: string; readonly names: readonly string[] }
  /** Lenient look-up: a single element present `count` times. */
  | { readonly kind: 'repeated'; readonly parent: Element; readonly path: string; readonly name: string; readonly count: number }
  /** Lenient look-up: more than one branch of a choice present. */
  | {
      readonly kind: 'ambiguous-choice';
      readonly parent: Element;
      readonly path: string;
      readonly names: readonly string[];
      readonly present: readonly string[];
    };

export type SequenceRefusalFactory = (refusal: SequenceRefusal) => Error;

/** An element as refusals name it: `{namespace}local`, or `local (no namespace)`. */
export function describeElement(el: Element): string {
  return el.namespaceURI ? `{${el.namespaceURI}}${el.localName}` : `${el.localName ?? el.nodeName} (no namespace)`;
}

const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

const fits = (el: Element, slot: ChildSlot): boolean => (el.namespaceURI ?? null) === slot.ns && el.localName === slot.name;

const hasText = (n: Node): boolean => (n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) && (n.nodeValue ?? '').trim() !== '';

/** The children a sequence matched, by slot name. */
export class ChildSequence {
  constructor(
    private readonly reader: StrictSequenceReader,
    readonly parent: Element,
    readonly path: string,
    private readonly slots: readonly ChildSlot[],
    private readonly groups: ReadonlyMap<string, readonly Element[]>,
  ) {}

  /** The one child of a slot with min 1 and max 1. */
  one(name: string): Element {
    const found = this.all(name);
    if (found.length === 0) throw this.reader.refuse({ kind: 'missing', parent: this.parent, path: this.path, slot: this.slot(name) });
    if (found.length > 1)
      throw this.reader.refuse({ kind: 'too-many', parent: this.parent, path: this.path, element: found[1]!, slot: this.slot(name) });
    return found[0]!;
  }

  optional(name: string): Element | undefined {
    return this.all(name)[0];
  }

  all(name: string): readonly Element[] {
    return this.groups.get(name) ?? [];
  }

  private slot(name: string): ChildSlot {
    return this.slots.find((s) => s.name === name) ?? { ns: null, name, min: 1, max: 1 };
  }
}

export class StrictSequenceReader {
  constructor(private readonly factory: SequenceRefusalFactory) {}

  /** The caller's error for `refusal` (to throw, or to return from a helper that throws). */
  refuse(refusal: SequenceRefusal): Error {
    return this.factory(refusal);
  }

  /**
   * Reads the children of `parent` against `slots`, in order. Refusals, in the order they are found:
   * stray text anywhere in the parent; then, walking the children, a child that fits no slot, fits an
   * earlier one, is one too many, carries an attribute its slot does not allow, or stands where a
   * required child is missing; finally a required child missing at the end.
   */
  sequence(parent: Element, path: string, slots: readonly ChildSlot[]): ChildSequence {
    for (let n = parent.firstChild; n; n = n.nextSibling) if (hasText(n)) throw this.refuse({ kind: 'stray-text', parent, path });
    const groups = new Map<string, Element[]>(slots.map((s) => [s.name, []]));
    let s = 0;
    for (const child of childElements(parent)) {
      const at = slots.findIndex((slot) => fits(child, slot));
      if (at < 0) throw this.refuse({ kind: 'unexpected', parent, path, element: child });
      if (at < s) throw this.refuse({ kind: 'out-of-order', parent, path, element: child, slot: slots[at]! });
      for (; s < at; s++) {
        const skipped = slots[s]!;
        if (groups.get(skipped.name)!.length < skipped.min)
          throw this.refuse({ kind: 'missing', parent, path, slot: skipped, found: child });
      }
      const slot = slots[at]!;
      const group = groups.get(slot.name)!;
      if (group.length >= slot.max) throw this.refuse({ kind: 'too-many', parent, path, element: child, slot });
      group.push(child);
      if (slot.attributes) this.checkAttributes(child, path, slot.attributes, slot);
    }
    for (; s < slots.length; s++) {
      const slot = slots[s]!;
      if (groups.get(slot.name)!.length < slot.min) throw this.refuse({ kind: 'missing', parent, path, slot });
    }
    return new ChildSequence(this, parent, path, slots, groups);
  }

  /** A simple-content element: text only (comments aside), returned trimmed. */
  text(el: Element, path: string): string {
    const [child] = childElements(el);
    if (child) throw this.refuse({ kind: 'not-text', element: el, path, child });
    return (el.textContent ?? '').trim();
  }

  /** An element whose type has attributes only: no element and no non-whitespace text inside. */
  empty(el: Element, path: string): void {
    let inside = childElements(el).length > 0;
    for (let n = el.firstChild; n && !inside; n = n.nextSibling) inside = hasText(n);
    if (inside) throw this.refuse({ kind: 'not-empty', element: el, path });
  }

  // Lenient look-ups: order and unknown siblings are not checked.

  all(parent: Element, ns: string | null, name: string): Element[] {
    return childElements(parent).filter((c) => (c.namespaceURI ?? null) === ns && c.localName === name);
  }

  /** At most one child so named. */
  optional(parent: Element, path: string, ns: string | null, name: string): Element | undefined {
    const found = this.all(parent, ns, name);
    if (found.length > 1) throw this.refuse({ kind: 'repeated', parent, path, name, count: found.length });
    return found[0];
  }

  /** Exactly one child so named. */
  one(parent: Element, path: string, ns: string | null, name: string): Element {
    const found = this.optional(parent, path, ns, name);
    if (!found) throw this.refuse({ kind: 'absent', parent, path, names: [name] });
    return found;
  }

  /** Which one of `names` (an xs:choice) is present; exactly one must be. */
  choice<N extends string>(parent: Element, path: string, ns: string | null, names: readonly N[]): N {
    const present = names.filter((name) => this.all(parent, ns, name).length > 0);
    if (present.length === 0) throw this.refuse({ kind: 'absent', parent, path, names });
    if (present.length > 1) throw this.refuse({ kind: 'ambiguous-choice', parent, path, names, present });
    return present[0]!;
  }

  /** Only the unqualified attributes `allowed` on `element` (namespace declarations aside). */
  allowAttributes(element: Element, path: string, allowed: readonly string[]): void {
    this.checkAttributes(element, path, allowed);
  }

  private checkAttributes(element: Element, path: string, allowed: readonly string[], slot?: ChildSlot): void {
    for (let i = 0; i < element.attributes.length; i++) {
      const attribute = element.attributes.item(i)!;
      if (attribute.name === 'xmlns' || attribute.prefix === 'xmlns') continue;
      if (attribute.namespaceURI || !allowed.includes(attribute.name))
        throw this.refuse({ kind: 'attribute', element, path, attribute, ...(slot ? { slot } : {}) });
    }
  }
}
