/**
 * Generator of the hostile envelopes of issue 12 (one unauthenticated request freezing a node). They
 * are too big to commit, so they are built here, each from a readable recipe; the small hostile
 * cases live as files under test/fixtures/hostile/.
 *
 * - `sixteenReferences`: ~740 KB e-Gov busta whose signature carries 16 References (the most
 *   accepted), each over a ~48 KB block of 700 elements (9 800 in all: within the element limit, so
 *   it reaches verification), really signed — by a certificate its sender made
 *   for itself, so it can only be refused as untrusted (EGOV_IT_200) — after all the digest work
 *   when trust is checked last.
 * - `manyEmptyElements`: ~400 KB, just under 100 000 empty elements in the Body (the old element
 *   limit), signed by the same self-made certificate.
 * - `namespaceDeclarationsPerElement`: ~4.7 MB, every Body element declaring 63 namespaces (one
 *   under the old per-element attribute limit of 64), signed by the same self-made certificate.
 *
 * Each is a well-formed SOAP 1.1 envelope with a real Intestazione naming `from` → `to` on `service`,
 * so nothing but its size, shape or signer is wrong.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { buildEgovEnvelope } from '../envelopes/envelope.js';
import type { EgovHeader } from '../envelopes/egov/egov-header.js';
import { NS } from '../envelopes/xml/namespaces.js';
import { formatMessageId } from '../src/core/message-id.js';
import { childElements, isElement } from '../envelopes/xml/dom-navigation.js';
import { issueCertificate } from '../src/crypto/dev-pki.js';
import type { XmlLimits } from '../envelopes/xml/hardened-xml.js';
import { sealSoapEnvelope } from '../envelopes/security/ws-security-sign.js';
import type { Signer } from '../src/core/signer.js';
import { memorySigner } from '../src/crypto/signer/memory-signer.js';

export interface HostileParties {
  /** Claimed sender, e.g. SPC/ComuneOrtona. */
  readonly from: string;
  /** Hosted recipient, e.g. SPC/RegioneAbruzzo. */
  readonly to: string;
  /** A oneway service of `to`. */
  readonly service: string;
  readonly at?: Date;
}

const HOSTILE_NS = 'urn:tramite:test:hostile';
/** Generous limits for sealing: the generator must be able to sign what the node must refuse. */
const SEAL_LIMITS: XmlLimits = {
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 1_000_000,
  maxAttributes: 1_000,
  maxTotalAttributes: 10_000_000,
  maxNamespaceDeclarations: 1_000,
  maxTotalNamespaceDeclarations: 10_000_000,
};

let selfMade: Signer | undefined;

/** A certificate its holder issued to itself, named like the claimed sender's party. */
export function selfMadeSigner(partyCode: string): Signer {
  if (!selfMade) {
    const now = Date.now();
    const pair = issueCertificate({
      subject: { CN: partyCode.split('/')[1]!, O: 'Self', C: 'IT' },
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 30 * 86_400_000),
      issuer: 'self',
    });
    selfMade = memorySigner({
      privateKey: createPrivateKey(pair.keyPem),
      certificate: new X509Certificate(pair.certPem),
      certPem: pair.certPem,
    });
  }
  return selfMade;
}

function header(p: HostileParties, serial: number): EgovHeader {
  const [mt, mn] = p.from.split('/') as [string, string];
  const [dt, dn] = p.to.split('/') as [string, string];
  const at = p.at ?? new Date();
  return {
    mittente: [{ tipo: mt, nome: mn }],
    destinatario: { tipo: dt, nome: dn },
    profiloCollaborazione: { profile: 'oneway' },
    servizio: { tipo: 'SPC', nome: p.service },
    azione: 'Notifica',
    messaggio: {
      identificatore: formatMessageId(mn, `${mn}SPCoopIT`, serial, at),
      oraRegistrazione: { value: at.toISOString(), tempo: 'EGOV_IT_SPC' },
    },
    profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: true },
    riscontri: [],
    trasmissioni: [],
    eccezioni: [],
  };
}

/** Seals `xml` signing Body, Intestazione and every extra header block (plus the Timestamp). */
function sealAll(xml: string, p: HostileParties): Promise<string> {
  return sealSoapEnvelope(
    xml,
    (doc) => {
      const envelope = doc.documentElement!;
      const soapHeader = childElements(envelope).find((e) => isElement(e, NS.soap11, 'Header'))!;
      const body = childElements(envelope).find((e) => isElement(e, NS.soap11, 'Body'))!;
      return [body, ...childElements(soapHeader)];
    },
    selfMadeSigner(p.from),
    { now: p.at ?? new Date(), ttlSeconds: 300, limits: SEAL_LIMITS },
  );
}

/** Adds header blocks after the Intestazione. */
function withHeaderBlocks(xml: string, blocks: readonly string[]): string {
  return xml.replace('</SOAP_ENV:Header>', `${blocks.join('')}</SOAP_ENV:Header>`);
}

/** 16 References (Timestamp, Body, Intestazione and 13 filler blocks), ~740 KB, self-made signer. */
export function sixteenReferences(p: HostileParties): Promise<string> {
  const rows = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => `<h:${tag} n="${i}">riga ${i} ${'x'.repeat(48)}</h:${tag}>`).join('');
  const fillers = Array.from({ length: 13 }, (_, i) => `<h:Filler${i} xmlns:h="${HOSTILE_NS}">${rows(700, 'r')}</h:Filler${i}>`);
  const body = `<h:Pratica xmlns:h="${HOSTILE_NS}">${rows(700, 'r')}</h:Pratica>`;
  return sealAll(withHeaderBlocks(buildEgovEnvelope(header(p, 1), body), fillers), p);
}

/** 99 950 empty elements in the Body (~400 KB), self-made signer. */
export function manyEmptyElements(p: HostileParties): Promise<string> {
  const body = `<Pratica xmlns="${HOSTILE_NS}">${'<e/>'.repeat(99_950)}</Pratica>`;
  return sealAll(buildEgovEnvelope(header(p, 2), body), p);
}

/** ~4.7 MB: every Body element declares 63 namespaces; self-made signer. */
export function namespaceDeclarationsPerElement(p: HostileParties): Promise<string> {
  const decls = Array.from({ length: 63 }, (_, i) => ` xmlns:n${i}="urn:n:${i}"`).join('');
  const body = `<h:Pratica xmlns:h="${HOSTILE_NS}">${`<h:e${decls}/>`.repeat(3_650)}</h:Pratica>`;
  return sealAll(buildEgovEnvelope(header(p, 3), body), p);
}

/**
 * The baseline the hostile ones are compared with: an ordinary ~6 KB signed busta of the same sender
 * (trusted, in the benchmark, so that it is verified all the way: what an honest message costs).
 */
export function ordinaryEnvelope(p: HostileParties): Promise<string> {
  const body = `<h:Pratica xmlns:h="${HOSTILE_NS}"><h:tipo>residenza</h:tipo><h:nota>${'x'.repeat(1_000)}</h:nota></h:Pratica>`;
  return sealAll(buildEgovEnvelope(header(p, 4), body), p);
}

export const HOSTILE_ENVELOPES = { sixteenReferences, manyEmptyElements, namespaceDeclarationsPerElement } as const;
export type HostileName = keyof typeof HOSTILE_ENVELOPES;
