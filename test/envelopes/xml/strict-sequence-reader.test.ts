import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import {
  StrictSequenceReader,
  UNBOUNDED,
  describeElement,
  type ChildSlot,
  type SequenceRefusal,
} from '../../../envelopes/xml/strict-sequence-reader.js';

const NS = 'urn:test';
/** The refusal travels in the error, so each test can check what was found, not only that it threw. */
class Refused extends Error {
  constructor(readonly refusal: SequenceRefusal) {
    super(refusal.kind);
  }
}
const reader = new StrictSequenceReader((r) => new Refused(r));

const root = (inner: string, attrs = ''): Element =>
  new DOMParser().parseFromString(`<t:P xmlns:t="${NS}" xmlns:o="urn:other"${attrs}>${inner}</t:P>`, 'text/xml').documentElement as Element;

const slot = (name: string, min: number, max: number, attributes?: readonly string[]): ChildSlot => ({
  ns: NS,
  name,
  min,
  max,
  ...(attributes ? { attributes } : {}),
});
/** A(1..1) B(0..1) C(1..unbounded) D(0..1) */
const SLOTS = [slot('A', 1, 1), slot('B', 0, 1), slot('C', 1, UNBOUNDED), slot('D', 0, 1)];

function refusal(read: () => unknown): SequenceRefusal {
  try {
    read();
  } catch (err) {
    if (err instanceof Refused) return err.refusal;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('StrictSequenceReader.sequence', () => {
  it('reads the children in schema order, grouped by slot, whitespace and comments between them', () => {
    const seq = reader.sequence(root('\n  <t:A/> <!-- note --> <t:C>1</t:C><t:C>2</t:C>\n  <t:D/>\n'), 'P', SLOTS);
    expect(seq.one('A').localName).toBe('A');
    expect(seq.optional('B')).toBeUndefined();
    expect(seq.all('C').map((c) => c.textContent)).toEqual(['1', '2']);
    expect(seq.optional('D')).toBeDefined();
  });

  it('refuses stray text, CDATA included, before anything else', () => {
    expect(refusal(() => reader.sequence(root('<t:A/>text<t:C/>'), 'P', SLOTS))).toMatchObject({ kind: 'stray-text', path: 'P' });
    expect(refusal(() => reader.sequence(root('<t:A/><![CDATA[x]]><t:C/>'), 'P', SLOTS))).toMatchObject({ kind: 'stray-text' });
    // Text is reported even when the elements are wrong as well.
    expect(refusal(() => reader.sequence(root('<t:Z/>text'), 'P', SLOTS))).toMatchObject({ kind: 'stray-text' });
  });

  it('refuses a missing required child at the end', () => {
    const r = refusal(() => reader.sequence(root('<t:A/><t:B/>'), 'P', SLOTS));
    expect(r).toMatchObject({ kind: 'missing', path: 'P', slot: { name: 'C' } });
    expect(r.kind === 'missing' && r.found).toBeUndefined();
  });

  it('refuses a missing required child, naming the later element standing in its place', () => {
    const r = refusal(() => reader.sequence(root('<t:B/><t:C/>'), 'P', SLOTS));
    expect(r).toMatchObject({ kind: 'missing', slot: { name: 'A' } });
    expect(r.kind === 'missing' && r.found?.localName).toBe('B');
  });

  it('refuses an element no slot takes: unknown name or another namespace', () => {
    const unknown = refusal(() => reader.sequence(root('<t:A/><t:Z/><t:C/>'), 'P', SLOTS));
    expect(unknown.kind === 'unexpected' && unknown.element.localName).toBe('Z');
    const foreign = refusal(() => reader.sequence(root('<o:A/><t:C/>'), 'P', SLOTS));
    expect(foreign.kind === 'unexpected' && foreign.element.namespaceURI).toBe('urn:other');
  });

  it('refuses an element of an earlier slot standing after a later one', () => {
    const r = refusal(() => reader.sequence(root('<t:A/><t:C/><t:B/>'), 'P', SLOTS));
    expect(r).toMatchObject({ kind: 'out-of-order', slot: { name: 'B' } });
  });

  it('refuses one child more than its slot allows', () => {
    const r = refusal(() => reader.sequence(root('<t:A/><t:A/><t:C/>'), 'P', SLOTS));
    expect(r).toMatchObject({ kind: 'too-many', slot: { name: 'A', max: 1 } });
    const capped = refusal(() => reader.sequence(root('<t:C/><t:C/><t:C/>'), 'P', [slot('C', 1, 2)]));
    expect(capped).toMatchObject({ kind: 'too-many', slot: { max: 2 } });
  });

  it('refuses an attribute its slot does not allow, qualified ones included; namespace declarations are no attributes', () => {
    const slots = [slot('A', 1, 1, ['Id'])];
    expect(() => reader.sequence(root('<t:A Id="x" xmlns:q="urn:q"/>'), 'P', slots)).not.toThrow();
    const extra = refusal(() => reader.sequence(root('<t:A Id="x" Other="y"/>'), 'P', slots));
    expect(extra.kind === 'attribute' && extra.attribute.name).toBe('Other');
    expect(extra.kind === 'attribute' && extra.slot?.name).toBe('A');
    const qualified = refusal(() => reader.sequence(root('<t:A t:Id="x"/>'), 'P', slots));
    expect(qualified.kind === 'attribute' && qualified.attribute.name).toBe('t:Id');
  });

  it('checks the attributes of an element on its own', () => {
    const el = root('', ' Id="x" Bad="y"');
    const r = refusal(() => reader.allowAttributes(el, 'P', ['Id']));
    expect(r.kind === 'attribute' && r.attribute.name).toBe('Bad');
    expect(r.kind === 'attribute' && r.slot).toBeUndefined();
  });

  it('an empty sequence takes no element at all', () => {
    expect(() => reader.sequence(root('  '), 'P', [])).not.toThrow();
    expect(refusal(() => reader.sequence(root('<t:A/>'), 'P', []))).toMatchObject({ kind: 'unexpected' });
  });
});

describe('StrictSequenceReader: text and empty elements', () => {
  it('reads text-only content, trimmed; an element inside is refused', () => {
    expect(reader.text(root('  value <!-- c --> '), 'P')).toBe('value');
    const r = refusal(() => reader.text(root('a<t:X/>'), 'P/T'));
    expect(r).toMatchObject({ kind: 'not-text', path: 'P/T' });
    expect(r.kind === 'not-text' && r.child.localName).toBe('X');
  });

  it('an attribute-only element holds neither elements nor text', () => {
    expect(() => reader.empty(root(' \n '), 'P')).not.toThrow();
    expect(refusal(() => reader.empty(root('x'), 'P'))).toMatchObject({ kind: 'not-empty' });
    expect(refusal(() => reader.empty(root('<t:A/>'), 'P'))).toMatchObject({ kind: 'not-empty' });
  });
});

describe('StrictSequenceReader: lenient look-ups', () => {
  const parent = root('<t:X/><t:Y/><t:Y/><t:Z/><o:W/>');

  it('finds children by namespace and name, in document order, ignoring the rest', () => {
    expect(reader.all(parent, NS, 'Y')).toHaveLength(2);
    expect(reader.all(parent, NS, 'W')).toHaveLength(0);
    expect(reader.one(parent, 'P', NS, 'X').localName).toBe('X');
    expect(reader.optional(parent, 'P', NS, 'Q')).toBeUndefined();
  });

  it('refuses a single element repeated, and a required one absent', () => {
    expect(refusal(() => reader.optional(parent, 'P', NS, 'Y'))).toMatchObject({ kind: 'repeated', name: 'Y', count: 2 });
    expect(refusal(() => reader.one(parent, 'P', NS, 'Q'))).toMatchObject({ kind: 'absent', names: ['Q'] });
  });

  it('a choice: exactly one branch present', () => {
    expect(reader.choice(parent, 'P', NS, ['Q', 'Z'] as const)).toBe('Z');
    expect(refusal(() => reader.choice(parent, 'P', NS, ['Q', 'R']))).toMatchObject({ kind: 'absent', names: ['Q', 'R'] });
    expect(refusal(() => reader.choice(parent, 'P', NS, ['X', 'Z']))).toMatchObject({ kind: 'ambiguous-choice', present: ['X', 'Z'] });
  });

  it('elements in no namespace are looked up with a null namespace', () => {
    const plain = new DOMParser().parseFromString('<P><A/></P>', 'text/xml').documentElement as Element;
    expect(reader.one(plain, 'P', null, 'A').localName).toBe('A');
    expect(reader.all(plain, NS, 'A')).toHaveLength(0);
  });
});

describe('describeElement', () => {
  it('names an element by namespace and local name, or says it has no namespace', () => {
    expect(describeElement(root(''))).toBe(`{${NS}}P`);
    expect(describeElement(new DOMParser().parseFromString('<P/>', 'text/xml').documentElement as Element)).toBe('P (no namespace)');
  });
});
