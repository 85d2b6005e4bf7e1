import { createHash } from 'node:crypto';
import { NS } from '../../sdk/index.js';
import { childElements, childrenNamed, exclusiveC14n, isElement, parseUntrustedXml, type XmlLimits } from '../../sdk/index.js';
import { ACCEPTED_DIGESTS } from '../../sdk/index.js';

/**
 * Whether the document's enveloped signature Reference (URI="") digests to its DigestValue: the same
 * enveloped transform and exclusive canonicalisation verifyXades applies. Anything unreadable is false.
 */
export function documentDigestMatches(xml: string, limits: XmlLimits): boolean {
  let root: Element;
  try {
    root = parseUntrustedXml(xml, limits).doc.documentElement!;
  } catch {
    return false;
  }
  const signature = childElements(root).at(-1);
  if (!isElement(signature, NS.ds, 'Signature')) return false;
  const signedInfo = childrenNamed(signature, NS.ds, 'SignedInfo')[0];
  const reference =
    signedInfo && childrenNamed(signedInfo, NS.ds, 'Reference').find((r) => r.hasAttribute('URI') && r.getAttribute('URI') === '');
  const method = reference && childrenNamed(reference, NS.ds, 'DigestMethod')[0];
  const value = reference && childrenNamed(reference, NS.ds, 'DigestValue')[0];
  const hash = method ? ACCEPTED_DIGESTS.get(method.getAttribute('Algorithm') ?? '') : undefined;
  if (!hash || !value) return false;
  const canonical = exclusiveC14n(root, { exclude: signature });
  return createHash(hash).update(canonical, 'utf8').digest('base64') === (value.textContent ?? '').replace(/\s+/g, '');
}
