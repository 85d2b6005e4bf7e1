import { XMLSerializer } from '@xmldom/xmldom';
import { NS } from './xml/namespaces.js';
import { childElements, idAttributesOf, isElement } from './xml/dom-navigation.js';
import { parsePrefixList } from './security/exc-c14n.js';
import { ALG, EXC_C14N_NS } from './security/ws-security-algorithms.js';
import type { SoapParts } from './soap/soap-envelope.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** What the body extraction needs of an envelope: its parts, and its Security header if any. */
export interface BodySource {
  readonly parts: SoapParts;
  readonly security?: Element;
}

/**
 * The Body's content as XML text, each child serialised with the namespaces it uses — no more than
 * the signature covered:
 * - without comments: canonicalisation leaves them out of the signature, so a comment in the Body may
 *   have been added after signing (`1<!---->000`) and must not reach the back office;
 * - when the Body was signed with exclusive C14N, without the namespace declarations that C14N did not
 *   digest: one that no element or attribute name uses (and that the Reference's PrefixList does not
 *   name) can be rebound after signing, and a prefix used only inside content (`xsi:type="t:X"`) would
 *   then reach the back office bound to what an attacker chose. Such a prefix arrives unbound, as signed.
 */
export function bodyContent(env: BodySource): string {
  const keep = digestedDeclarations(env);
  const s = new XMLSerializer();
  return childElements(env.parts.body)
    .map((c) => {
      const copy = withoutComments(c.cloneNode(true) as Element);
      if (keep) withoutUndigestedDeclarations(copy, keep);
      return s.serializeToString(copy);
    })
    .join('');
}

/**
 * Which namespace declarations in the Body its signature digested: undefined when all of them were
 * (inclusive C14N) or the Body is not signed at all (nothing to protect); else the exclusive C14N
 * PrefixList of the Body's Reference ('' for #default) — visibly used prefixes are digested anyway.
 */
function digestedDeclarations(env: BodySource): ReadonlySet<string> | undefined {
  const ids = new Set(idAttributesOf(env.parts.body).map((id) => `#${id}`));
  const signature = env.security && childElements(env.security).find((e) => isElement(e, NS.ds, 'Signature'));
  const signedInfo = signature && childElements(signature).find((e) => isElement(e, NS.ds, 'SignedInfo'));
  const reference =
    signedInfo && childElements(signedInfo).find((e) => isElement(e, NS.ds, 'Reference') && ids.has(e.getAttribute('URI') ?? ''));
  if (!reference) return undefined;
  const transforms = childElements(reference)
    .filter((e) => isElement(e, NS.ds, 'Transforms'))
    .flatMap((t) => childElements(t).filter((e) => isElement(e, NS.ds, 'Transform')));
  const exclusive = transforms.find((t) => t.getAttribute('Algorithm') === ALG.excC14n);
  if (!exclusive) return undefined;
  const list = childElements(exclusive).find((e) => isElement(e, EXC_C14N_NS, 'InclusiveNamespaces'));
  return new Set(parsePrefixList(list?.getAttribute('PrefixList') ?? ''));
}

function withoutComments<T extends Node>(node: T): T {
  for (let n = node.firstChild; n;) {
    const next = n.nextSibling;
    if (n.nodeType === 8) node.removeChild(n);
    else withoutComments(n);
    n = next;
  }
  return node;
}

/** Drops, on `el` and below, each declaration neither visibly used there nor in `listed`. */
function withoutUndigestedDeclarations(el: Element, listed: ReadonlySet<string>): void {
  const used = new Set<string>([el.prefix ?? '']);
  const declarations: Attr[] = [];
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    if (a.namespaceURI === XMLNS_NS || a.name === 'xmlns' || a.name.startsWith('xmlns:')) declarations.push(a);
    else if (a.prefix) used.add(a.prefix);
  }
  for (const a of declarations) {
    const prefix = a.name === 'xmlns' ? '' : a.name.slice('xmlns:'.length);
    if (!used.has(prefix) && !listed.has(prefix)) el.removeAttributeNode(a);
  }
  for (const child of childElements(el)) withoutUndigestedDeclarations(child, listed);
}
