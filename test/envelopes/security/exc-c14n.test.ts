/**
 * Our Exclusive XML Canonicalization (and Canonical XML 1.0 for the c14n transform), compared byte for
 * byte with xmlsec1's canonicaliser (libxml2): each case's target is put under a Reference of a
 * signature template, `xmlsec1 --sign --store-references` prints the bytes it digested, and ours must
 * be the same. xml-crypto is compared too where it is right, and shown wrong where it is not
 * (namespace declarations ordered with localeCompare instead of by code point).
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { compareCodePoints, exclusiveC14n, inclusiveC14n, parsePrefixList } from '../../../envelopes/security/exc-c14n.js';
import { ALG } from '../../../envelopes/security/ws-security-algorithms.js';
import { requireXmlsec1, xmlsec1Sign, type IdElement } from '../../../test-support/xmlsec1.js';

const DS = 'http://www.w3.org/2000/09/xmldsig#';
let keyPem: string;

beforeAll(() => {
  requireXmlsec1();
  keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
});

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');

function byId(doc: Document, id: string): Element {
  const all = doc.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) if (all[i]!.getAttribute('Id') === id) return all[i]!;
  throw new Error(`test setup: no element with Id ${id}`);
}

interface Target {
  readonly id: string;
  readonly transform: 'exclusive' | 'inclusive';
  /** Exclusive only: the InclusiveNamespaces PrefixList, as written in the template. */
  readonly prefixList?: string;
}

/**
 * xmlsec1's canonical bytes for each target: a signature template with one Reference per target is
 * appended as the last child of the root element (outside every target), and xmlsec1 signs it.
 */
function xmlsec1Canonical(xml: string, targets: readonly Target[]): string[] {
  const doc = parse(xml);
  const ids: IdElement[] = [];
  for (const t of targets) {
    const el = byId(doc, t.id);
    if (!ids.some((i) => i.ns === (el.namespaceURI ?? '') && i.local === el.localName))
      ids.push({ ns: el.namespaceURI ?? '', local: el.localName! });
  }
  const references = targets
    .map((t) => {
      const alg = t.transform === 'exclusive' ? ALG.excC14n : ALG.c14n;
      const list = t.prefixList !== undefined ? `<ec:InclusiveNamespaces xmlns:ec="${ALG.excC14n}" PrefixList="${t.prefixList}"/>` : '';
      return `<ds:Reference URI="#${t.id}"><ds:Transforms><ds:Transform Algorithm="${alg}">${list}</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="${ALG.sha256}"/><ds:DigestValue/></ds:Reference>`;
    })
    .join('');
  const template =
    `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"/>` +
    `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"/>${references}</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`;
  const end = xml.lastIndexOf('</');
  const signed = xmlsec1Sign(xml.slice(0, end) + template + xml.slice(end), { keyPem, ids });
  expect(signed.references).toHaveLength(targets.length);
  return [...signed.references];
}

function ours(xml: string, t: Target): string {
  const target = byId(parse(xml), t.id);
  return t.transform === 'exclusive'
    ? exclusiveC14n(target, { inclusivePrefixes: parsePrefixList(t.prefixList ?? '') })
    : inclusiveC14n(target);
}

function xmlCrypto(xml: string, id: string): string {
  return new ExclusiveCanonicalization().process(byId(parse(xml), id), {});
}

const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const EGOV = 'http://www.cnipa.it/schemas/2003/eGovIT/Busta1_0/';

interface Case {
  readonly name: string;
  readonly xml: string;
  readonly prefixList?: string;
  /** Whether xml-crypto's exclusive C14N gives the spec's bytes for this case (no PrefixList). */
  readonly xmlCrypto?: 'right' | 'wrong';
}

const CASES: Case[] = [
  {
    name: 'prefixes of mixed case on an eGov Intestazione: SOAP_ENV, Z, a, eGov_IT by code point',
    xml:
      `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${SOAP}" xmlns:eGov_IT="${EGOV}" xmlns:a="urn:a" xmlns:Z="urn:z"><SOAP_ENV:Header>` +
      `<eGov_IT:Intestazione Id="target" SOAP_ENV:actor="http://www.cnipa.it/eGov_it/portadominio" SOAP_ENV:mustUnderstand="1" a:x="1" Z:y="2">` +
      `<eGov_IT:Mittente><eGov_IT:IdentificativoParte tipo="SPC">ComuneA</eGov_IT:IdentificativoParte></eGov_IT:Mittente></eGov_IT:Intestazione></SOAP_ENV:Header></SOAP_ENV:Envelope>`,
    xmlCrypto: 'wrong',
  },
  {
    name: 'the element prefix sorts after an attribute prefix (b:e with a:x)',
    xml: '<r xmlns:a="urn:a" xmlns:b="urn:b"><b:e Id="target" a:x="1"/></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'a default namespace from an ancestor, and xmlns="" in a descendant',
    xml: '<r xmlns="urn:d"><p:t xmlns:p="urn:p" Id="target"><c/><p:c xmlns=""><d/></p:c><e xmlns=""><f/></e></p:t></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'an unprefixed apex in a default namespace, with an unqualified child that must undeclare it',
    xml: '<r xmlns="urn:d"><t Id="target"><u xmlns=""/><v/></t></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'attributes from several namespaces: ordered by namespace URI, then local name, unqualified first',
    xml: '<r xmlns:b="urn:a-ns" xmlns:a="urn:z-ns"><t Id="target" a:k="1" b:k="2" k="3" b:a="4" z="5" a:a="6"/></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'attributes whose namespace URI and local name concatenate alike (urn:a + bc, urn:ab + c): namespace URI first',
    xml: '<r xmlns:p="urn:a" xmlns:q="urn:ab"><t Id="target" q:c="2" p:bc="1"/></r>',
    xmlCrypto: 'wrong',
  },
  {
    name: 'InclusiveNamespaces PrefixList with an unused prefix, #default and a prefix not in scope',
    xml: '<r xmlns:used="urn:u" xmlns:unused="urn:n" xmlns="urn:def"><x:t xmlns:x="urn:x" Id="target"><x:c used:a="1"/></x:t></r>',
    prefixList: 'unused #default nothere',
  },
  {
    name: 'PrefixList: a listed prefix redeclared below with the same value (superfluous) and with another',
    xml: '<r xmlns:p="urn:1"><t Id="target"><a xmlns:p="urn:1"><b xmlns:p="urn:2"><c xmlns:p="urn:2"/></b></a></t></r>',
    prefixList: 'p',
  },
  {
    name: 'PrefixList as WSS4J writes it (soapenv xsd) on a Body',
    xml: '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://services.samples/xsd"><soapenv:Body Id="target"><xsd:q xmlns="http://services.samples/xsd"><v>1</v></xsd:q></soapenv:Body></soapenv:Envelope>',
    prefixList: 'soapenv xsd',
  },
  {
    name: 'a prefix redeclared with another value in nested elements',
    xml: '<r xmlns:p="urn:1"><t Id="target"><p:a><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:2"/><p:d xmlns:p="urn:1"/></p:b></p:a></t></r>',
    xmlCrypto: 'right',
  },
  {
    name: "xml:* attributes: the apex keeps its own, never its ancestors' (exclusive)",
    xml: '<r xml:lang="it" xml:base="http://example/"><t Id="target" xml:space="preserve"><c xml:lang="en"/></t></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'escaping of text and attribute values (&, <, >, quotes, tab, line feed, carriage return)',
    xml: '<r><t Id="target" a="&lt;&amp;&quot;\'&#9;&#10;&#13;&gt;" b="x\ty">x &amp; &lt; &gt; &#13; "\'<![CDATA[<&>]]>&#x1F600;é</t></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'comments dropped, processing instructions kept',
    xml: '<r><t Id="target"><!-- c --><?pi data  here?><?pi2?>x<!--d--><i><!--e--></i></t></r>',
  },
  {
    name: 'empty elements as start and end tags, whitespace kept',
    xml: '<r><t Id="target">\n  <e/>\n  <f></f>\n\t<g a="1"/>\n</t></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'a prefix used by attributes only, declared on an ancestor, rendered once',
    xml: '<r xmlns:q="urn:q"><t Id="target" q:a="1"><u q:b="2"><v q:c="3"/></u></t></r>',
    xmlCrypto: 'right',
  },
  {
    name: 'attribute local names beyond ASCII ordered by code point (Z, z, é, Ａ)',
    xml: '<r xmlns:p="urn:x:b" xmlns:q="urn:x:a"><t Id="target" p:k="1" q:k="2" \uFF21="3" \u00E9="4" z="5" Z="6"/></r>',
  },
  {
    name: 'prefixes Z, a, SOAP_ENV, eGov_IT, _x all visibly used by descendants',
    xml: `<r xmlns:Z="urn:z" xmlns:a="urn:a" xmlns:SOAP_ENV="${SOAP}" xmlns:eGov_IT="${EGOV}" xmlns:_x="urn:_"><t Id="target"><a:e Z:k="1" eGov_IT:k="2" SOAP_ENV:k="3" _x:k="4"/></t></r>`,
    xmlCrypto: 'wrong',
  },
];

describe('exclusive C14N: the same bytes as xmlsec1', () => {
  it.each(CASES)('$name', (c) => {
    const target: Target = { id: 'target', transform: 'exclusive', ...(c.prefixList !== undefined ? { prefixList: c.prefixList } : {}) };
    const [reference] = xmlsec1Canonical(c.xml, [target]);
    expect(ours(c.xml, target)).toBe(reference);
  });
});

describe('Canonical XML 1.0 (the c14n Reference transform): the same bytes as xmlsec1', () => {
  it.each(CASES)('$name', (c) => {
    const target: Target = { id: 'target', transform: 'inclusive' };
    const [reference] = xmlsec1Canonical(c.xml, [target]);
    expect(ours(c.xml, target)).toBe(reference);
  });
});

describe('xml-crypto as a second opinion', () => {
  it.each(CASES.filter((c) => c.xmlCrypto === 'right'))('agrees where it is right: $name', (c) => {
    expect(exclusiveC14n(byId(parse(c.xml), 'target'))).toBe(xmlCrypto(c.xml, 'target'));
  });

  it.each(CASES.filter((c) => c.xmlCrypto === 'wrong'))('disagrees with xmlsec1 (and we agree with xmlsec1): $name', (c) => {
    const [reference] = xmlsec1Canonical(c.xml, [{ id: 'target', transform: 'exclusive' }]);
    expect(xmlCrypto(c.xml, 'target')).not.toBe(reference);
    expect(exclusiveC14n(byId(parse(c.xml), 'target'))).toBe(reference);
  });

  it('disagrees on the e-Gov Intestazione, where it puts eGov_IT before SOAP_ENV (item 8 of issue 12)', () => {
    const c = CASES[0]!;
    const [reference] = xmlsec1Canonical(c.xml, [{ id: 'target', transform: 'exclusive' }]);
    expect(reference).toMatch(/^<eGov_IT:Intestazione xmlns:SOAP_ENV="[^"]+" xmlns:Z="urn:z" xmlns:a="urn:a" xmlns:eGov_IT=/);
    expect(xmlCrypto(c.xml, 'target')).not.toBe(reference);
    expect(exclusiveC14n(byId(parse(c.xml), 'target'))).toBe(reference);
  });
});

describe('code point order', () => {
  it('orders upper case before lower case and underscore between them, as code points do', () => {
    expect(['eGov_IT', 'a', 'SOAP_ENV', '_x', 'Z', ''].sort(compareCodePoints)).toEqual(['', 'SOAP_ENV', 'Z', '_x', 'a', 'eGov_IT']);
  });

  it('puts a character beyond U+FFFF after U+FF21, where UTF-16 code units would not', () => {
    expect(compareCodePoints('\u{10400}', '\uFF21')).toBeGreaterThan(0);
    expect('\u{10400}' < '\uFF21').toBe(true);
  });

  it('reads #default in a PrefixList as the default namespace', () => {
    expect(parsePrefixList(' soapenv  #default\txsd ')).toEqual(['soapenv', '', 'xsd']);
  });
});

// ---------------------------------------------------------------------------------------------------
// Random documents: many subtrees of random prefixes, default namespaces, attributes and text, in one
// document, each under its own Reference (exclusive, with a random PrefixList, or inclusive).

const PREFIXES = ['', 'a', 'Z', 'SOAP_ENV', 'eGov_IT', 'b'] as const;
const URIS = ['', 'urn:a', 'urn:Z', SOAP, EGOV, 'urn:b'] as const;
const LOCALS = ['a', 'b', 'c', 'k'] as const;
const VALUES = ['v', 'a&b', '<', '"q"', 'x\ty', '', 'é\u{1F600}'] as const;
const TEXTS = ['t', ' ', 'a&b', '<x>', '\r', 'é\u{1F600}', ']]>'] as const;

interface GenElement {
  readonly prefix: number;
  readonly decls: ReadonlyArray<{ readonly p: number; readonly u: number }>;
  readonly attrs: ReadonlyArray<{ readonly p: number; readonly local: number; readonly value: number }>;
  readonly children: ReadonlyArray<GenElement | number>;
}

const { element: elementArb } = fc.letrec<{ element: GenElement }>((tie) => ({
  element: fc.record({
    prefix: fc.nat(PREFIXES.length - 1),
    decls: fc.array(fc.record({ p: fc.nat(PREFIXES.length - 1), u: fc.nat(URIS.length - 1) }), { maxLength: 3 }),
    attrs: fc.array(fc.record({ p: fc.nat(PREFIXES.length - 1), local: fc.nat(LOCALS.length - 1), value: fc.nat(VALUES.length - 1) }), {
      maxLength: 4,
    }),
    children: fc.array(fc.oneof({ maxDepth: 3, depthIdentifier: 'tree' }, fc.nat(TEXTS.length - 1), tie('element')), { maxLength: 3 }),
  }),
}));

const escapeSource = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\r/g, '&#13;')
    .replace(/>/g, '&gt;');

/** Well-formed XML for a generated element: prefixes declared where needed, no duplicate attributes. */
function renderGenerated(el: GenElement, scope: ReadonlyMap<string, string>, extra = ''): string {
  const next = new Map(scope);
  const decls = new Map<string, string>();
  for (const d of el.decls) {
    const p = PREFIXES[d.p]!;
    const u = URIS[d.u]!;
    if (p !== '' && u === '') continue;
    decls.set(p, u);
    next.set(p, u);
  }
  const prefix = PREFIXES[el.prefix]!;
  if (prefix !== '' && !next.get(prefix)) {
    decls.set(prefix, `urn:auto:${prefix}`);
    next.set(prefix, `urn:auto:${prefix}`);
  }
  const seen = new Set<string>();
  const attrs: string[] = [];
  for (const a of el.attrs) {
    const p = PREFIXES[a.p]!;
    const local = LOCALS[a.local]!;
    const uri = p === '' ? '' : next.get(p);
    if (uri === undefined || (p !== '' && uri === '')) continue;
    if (seen.has(`${uri} ${local}`)) continue;
    seen.add(`${uri} ${local}`);
    attrs.push(` ${p ? `${p}:` : ''}${local}="${escapeSource(VALUES[a.value]!)}"`);
  }
  const name = `${prefix ? `${prefix}:` : ''}e`;
  const ns = [...decls].map(([p, u]) => ` xmlns${p ? `:${p}` : ''}="${escapeSource(u)}"`).join('');
  const children = el.children.map((c) => (typeof c === 'number' ? escapeSource(TEXTS[c]!) : renderGenerated(c, next))).join('');
  return `<${name}${extra}${ns}${attrs.join('')}>${children}</${name}>`;
}

const listArb = fc.subarray(['#default', ...PREFIXES.filter((p) => p !== '')]).map((l) => l.join(' '));

describe('random documents: the same bytes as xmlsec1 (fast-check)', () => {
  it('for every subtree, exclusive with a random PrefixList and inclusive', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(elementArb, listArb, fc.boolean()), { minLength: 12, maxLength: 12 }), (trees) => {
        const rootScope = new Map([
          ['a', 'urn:a'],
          ['', 'urn:root'],
          ['SOAP_ENV', SOAP],
        ]);
        const body = trees.map(([el], i) => renderGenerated(el, rootScope, ` Id="t${i}"`)).join('');
        const xml = `<root xmlns:a="urn:a" xmlns="urn:root" xmlns:SOAP_ENV="${SOAP}" xml:lang="it"><holder>${body}</holder></root>`;
        const targets: Target[] = trees.map(([, list, inclusive], i) =>
          inclusive ? { id: `t${i}`, transform: 'inclusive' } : { id: `t${i}`, transform: 'exclusive', prefixList: list },
        );
        const references = xmlsec1Canonical(xml, targets);
        targets.forEach((t, i) => expect(ours(xml, t), `subtree t${i} of ${xml}`).toBe(references[i]));
      }),
      { numRuns: 8 },
    );
  }, 120_000);
});
