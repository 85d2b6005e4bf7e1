/**
 * The Segnatura on the SOAP leg, server side: the standalone document handed to the handler, rebuilt
 * from the msgprot:Segnatura element of a RequestMessageInoltro as written.
 */
import { TramiteError } from '../../../src/core/errors.js';
import { NS } from '../../sdk/index.js';
import type { XmlLimits } from '../../sdk/index.js';
import { PROTOCOLLO_NS } from '../segnatura/segnatura-reader.js';
import { inScopeAbove, namespaceDeclarationsOn, prefixesFromOutside } from './namespace-scope.js';
import { escapeAttribute } from '../../sdk/index.js';
import { PROTOCOLLO_SOAP, PROTOCOLLO_SOAP_OPERATIONS } from './protocollo-soap-contract.js';
import { rawElementAt, type RawElement } from './raw-element.js';
import { documentDigestMatches } from './segnatura-seal-digest.js';

/**
 * In RequestMessageInoltro the Segnatura is the element `msgprot:Segnatura` (type SegnaturaInformaticaType),
 * while the AOO sealed a standalone `prot:SegnaturaInformatica` document: the enveloped XAdES Reference
 * (URI="", exclusive C14N) covers the root element, name included, so the same content under another
 * root name does not verify. What happens, on both sides:
 *
 * - the client copies the standalone document's root attributes (namespace declarations included) and
 *   content, as written, under `msgprot:Segnatura` — a document already rooted at msgprot:Segnatura is
 *   copied whole, its own name kept;
 * - the server rebuilds a standalone document from that element, as written, declaring only the
 *   namespaces the content takes from the SOAP envelope, and tries the root names the seal can have
 *   been made over: the element's own name, and SegnaturaInformatica with each prefix bound (there) to
 *   the 2021 namespaces. It keeps the one whose canonical form matches the DigestValue of the seal's
 *   document Reference — a digest, not a verification: it needs no trust and proves nothing; the handler
 *   verifies what it gets. With no match (no seal, or altered), it hands the prot:SegnaturaInformatica
 *   form, which the readers accept and on which verifyXades then reports what is wrong.
 *
 * So a Segnatura sealed by the bus (prot:SegnaturaInformatica) arrives byte for byte as sealed (when it
 * was written with the `<?xml version="1.0" encoding="UTF-8"?>` line, as the bus writes it; a comment
 * outside the root is not carried), and one sealed over a root named msgprot:Segnatura, as some
 * implementations may do, arrives with that root and verifies too — but readSegnatura does not accept
 * that root today.
 */
export function standaloneSegnatura(text: string, segnatura: Element, limits: XmlLimits): Buffer {
  const raw = rawElementAt(text, SEGNATURA_PATH);
  if (!raw)
    throw new TramiteError(
      'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
      'internal: the Segnatura element read from the DOM was not found in the text',
    );
  const own = namespaceDeclarationsOn(segnatura);
  const outer = inScopeAbove(segnatura);
  const fromOutside = prefixesFromOutside(segnatura);
  const documents = rootCandidates(segnatura, own, outer)
    .map((candidate) => ({ candidate, xml: standaloneText(raw, candidate, own, outer, fromOutside) }))
    .filter((d): d is { candidate: RootCandidate; xml: string } => d.xml !== undefined);
  const chosen = documents.find((d) => documentDigestMatches(d.xml, limits)) ?? documents.find((d) => d.candidate.standard) ?? documents[0];
  if (!chosen) throw new TramiteError('TRAMITE_ERR_ADAPTER_UNAVAILABLE', 'internal: no standalone form of the Segnatura could be written');
  return Buffer.from(chosen.xml, 'utf8');
}

const SEGNATURA_PATH = [
  { ns: NS.soap11, local: 'Envelope' },
  { ns: NS.soap11, local: 'Body' },
  { ns: PROTOCOLLO_SOAP.destinatario.ns, local: PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.request },
  { ns: PROTOCOLLO_NS.messaggi, local: 'Segnatura' },
] as const;

interface RootCandidate {
  readonly qname: string;
  readonly prefix: string;
  readonly ns: string | null;
  /** prot:SegnaturaInformatica: the form to hand over when no candidate matches the seal. */
  readonly standard: boolean;
}

/** The element's own name first, then SegnaturaInformatica under every prefix bound to a 2021 namespace. */
function rootCandidates(el: Element, own: ReadonlyMap<string, string>, outer: ReadonlyMap<string, string>): RootCandidate[] {
  const candidates: RootCandidate[] = [{ qname: el.tagName, prefix: el.prefix ?? '', ns: el.namespaceURI ?? null, standard: false }];
  const bindings = [...own, ...[...outer].filter(([prefix]) => !own.has(prefix))];
  for (const [prefix, uri] of bindings) {
    if (uri !== PROTOCOLLO_NS.segnatura && uri !== PROTOCOLLO_NS.pec) continue;
    candidates.push({
      qname: prefix ? `${prefix}:SegnaturaInformatica` : 'SegnaturaInformatica',
      prefix,
      ns: uri,
      standard: uri === PROTOCOLLO_NS.segnatura,
    });
  }
  if (!own.has('prot') && !outer.has('prot'))
    candidates.push({ qname: 'prot:SegnaturaInformatica', prefix: 'prot', ns: PROTOCOLLO_NS.segnatura, standard: true });
  return candidates;
}

/**
 * `<?xml…?>` + the element as written, renamed to the candidate, with the declarations its content (and
 * the new name) need from outside it. Undefined when the candidate's prefix is bound to another namespace.
 */
function standaloneText(
  raw: RawElement,
  candidate: RootCandidate,
  own: ReadonlyMap<string, string>,
  outer: ReadonlyMap<string, string>,
  fromOutside: ReadonlySet<string>,
): string | undefined {
  const declarations = new Map<string, string>();
  for (const prefix of [...fromOutside, candidate.prefix]) {
    if (own.has(prefix)) continue;
    const uri = outer.get(prefix);
    if (prefix === candidate.prefix) {
      if (uri !== undefined && uri !== (candidate.ns ?? '')) return undefined;
      if (candidate.ns) declarations.set(prefix, candidate.ns);
    } else if (uri) {
      declarations.set(prefix, uri);
    }
  }
  const declared = [...declarations]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([prefix, uri]) => ` ${prefix ? `xmlns:${prefix}` : 'xmlns'}="${escapeAttribute(uri)}"`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${candidate.qname}${declared}${raw.attributes}>${raw.content}</${candidate.qname}>`;
}
