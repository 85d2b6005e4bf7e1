import { randomUUID } from 'node:crypto';
import { EnvelopeError, SecurityError } from '../src/core/errors.js';
import type { EgovHeader } from './egov/egov-header.js';
import { type AddressingHeader } from './modi/modi-header.js';
import { DEFAULT_MODI_PATTERNS, type ModiSoapPattern } from '../src/core/service-profile.js';
import { NS } from './xml/namespaces.js';
import { childElements, isElement } from './xml/dom-navigation.js';
import { DEFAULT_XML_LIMITS, parseUntrustedXml, type XmlLimits } from './xml/hardened-xml.js';
import { sealSoapEnvelope, type SealOptions } from './security/ws-security-sign.js';
import type { Signer } from '../src/core/signer.js';
import { describeCertificate } from '../src/core/certificate-description.js';
import { verifySoapSignature, type VerifiedSignature, type VerifyPolicy } from './security/ws-security-verify.js';
import { readEgovHeader } from './egov/egov-header-reader.js';
import { writeEgovHeader } from './egov/egov-header-writer.js';
import { isAddressingBlock, readAddressing, writeAddressing } from './modi/addressing.js';
import { assessModiPatterns, requireModiPatterns, type ModiPatternAssessment } from './modi/modi-patterns.js';
import { locateSoapParts, readSoapFault, type SoapFault, type SoapParts } from './soap/soap-envelope.js';

/** Wire formats between nodes: e-Gov busta 1.1 + WS-Security, or ModI (ID_AUTH_SOAP_01/02, with or without INTEGRITY_SOAP_01). */
export type EnvelopeProfile = 'egov' | 'modi';

/** An envelope read from untrusted bytes: structure checked, header typed, signature not yet verified. */
export interface ReadEnvelope {
  readonly profile: EnvelopeProfile;
  readonly egov?: EgovHeader;
  readonly addressing?: AddressingHeader;
  /** The header elements the typed header was read from (Intestazione, or the wsa:* blocks). */
  readonly headerElements: readonly Element[];
  readonly parts: SoapParts;
  /** The single wsse:Security block, if any. */
  readonly security?: Element;
  readonly fault?: SoapFault;
  readonly doc: Document;
  /** The exact text parsed (what the log keeps); signatures are checked over `doc`. */
  readonly text: string;
}

/** The envelope after its signature, certificate and Timestamp passed. */
export interface OpenedEnvelope extends ReadEnvelope {
  readonly signature: VerifiedSignature;
  /** modi: the ModI security patterns the envelope satisfies, and what it lacks for the others. */
  readonly modi?: ModiPatternAssessment;
}

/**
 * Parses untrusted bytes into a ReadEnvelope: hardened XML, SOAP 1.1 structure, then the profile's
 * header — eGov_IT:Intestazione (egov) or WS-Addressing headers (modi).
 */
export function readEnvelope(input: string | Uint8Array, limits: XmlLimits = DEFAULT_XML_LIMITS): ReadEnvelope {
  const { doc, text } = parseUntrustedXml(input, limits);
  const parts = locateSoapParts(doc);
  const securities = parts.headerBlocks.filter((e) => isElement(e, NS.wsse, 'Security'));
  if (securities.length > 1)
    throw new SecurityError('TRAMITE_ERR_SIG_WRAPPING', 'more than one wsse:Security header', { posizione: 'Header/Security' });
  const intestazioni = parts.headerBlocks.filter((e) => isElement(e, NS.egov, 'Intestazione'));
  if (intestazioni.length > 1)
    throw new EnvelopeError('EGOV_IT_002', 'Header/Intestazione', 'EGOV_IT_002 - more than one eGov_IT:Intestazione');
  const fault = readSoapFault(parts.body);
  checkBody(parts.body);
  const common = { parts, doc, text, ...(securities[0] ? { security: securities[0] } : {}), ...(fault ? { fault } : {}) };
  if (intestazioni[0]) {
    return { profile: 'egov', egov: readEgovHeader(intestazioni[0]), headerElements: [intestazioni[0]], ...common };
  }
  const { header, blocks } = readAddressing(parts.headerBlocks);
  // wsa:MessageID is optional on the wire (ID_AUTH_SOAP_01 needs none); the node requires it (its message id).
  if (blocks.length > 0) {
    return { profile: 'modi', addressing: header, headerElements: blocks, ...common };
  }
  throw new EnvelopeError(
    'EGOV_IT_002',
    'Header',
    'EGOV_IT_002 - the envelope carries neither eGov_IT:Intestazione nor WS-Addressing headers',
  );
}

/**
 * Reads a reply that may be a bare SOAP Fault (a refusal made before the request could be trusted
 * carries no busta): the Fault if the Body is one, undefined otherwise.
 */
export function readPlainFault(input: string | Uint8Array, limits: XmlLimits = DEFAULT_XML_LIMITS): SoapFault | undefined {
  const { doc } = parseUntrustedXml(input, limits);
  return readSoapFault(locateSoapParts(doc).body);
}

/** The Body holds elements only: stray text means a malformed body (EGOV_IT_003). */
function checkBody(body: Element): void {
  for (let n = body.firstChild; n; n = n.nextSibling) {
    if ((n.nodeType === 3 || n.nodeType === 4) && (n.nodeValue ?? '').trim() !== '') {
      throw new EnvelopeError('EGOV_IT_003', 'Body', 'EGOV_IT_003 - soap:Body holds text outside any element');
    }
  }
}

/**
 * Verifies the signature of a read envelope. What must be signed: the Timestamp, the header the node
 * reads (Intestazione, or every wsa:* block), and for egov the Body. A modi envelope must also satisfy
 * every pattern in `modiPatterns` (what the caller requires; default ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01,
 * so its Body signed), else TRAMITE_ERR_MODI_PATTERN naming the element missing. References may point
 * only at those, at other direct header blocks, or at this Security header's token — never elsewhere.
 */
export function verifyEnvelope(
  env: ReadEnvelope,
  policy: VerifyPolicy,
  modiPatterns: readonly ModiSoapPattern[] = DEFAULT_MODI_PATTERNS,
): OpenedEnvelope {
  if (!env.security) throw new SecurityError('TRAMITE_ERR_SIG_MISSING', 'the envelope carries no wsse:Security header');
  const signable = new Map<Element, string>([[env.parts.body, 'Body']]);
  for (const block of env.parts.headerBlocks) if (block !== env.security) signable.set(block, `Header/${block.localName}`);
  // A modi Body is the patterns' business (INTEGRITY_SOAP_01), refused below with the pattern's own code.
  const required = env.profile === 'egov' ? [env.parts.body, ...env.headerElements] : [...env.headerElements];
  const signature = verifySoapSignature(env.doc, { security: env.security, signable, required }, policy);
  if (env.profile === 'egov') return { ...env, signature };
  const opened = openedWith(env, signature);
  requireModiPatterns(opened.modi!, modiPatterns, describeCertificate(signature.signer));
  return opened;
}

/**
 * A read envelope with the signature verified over the same bytes (here, or in a verification worker
 * that read them the same way): for modi, the patterns it satisfies follow from what is signed.
 */
export function openedWith(env: ReadEnvelope, signature: VerifiedSignature): OpenedEnvelope {
  if (env.profile === 'egov' || !env.security) return { ...env, signature };
  return {
    ...env,
    signature,
    modi: assessModiPatterns({ addressingBlocks: env.headerElements, security: env.security, signed: signature.signed }),
  };
}

export function openEnvelope(
  input: string | Uint8Array,
  policy: VerifyPolicy,
  limits?: XmlLimits,
  modiPatterns?: readonly ModiSoapPattern[],
): OpenedEnvelope {
  return verifyEnvelope(readEnvelope(input, limits), policy, modiPatterns);
}

export { bodyContent } from './body-content.js';

/** An unsigned e-Gov envelope: the Intestazione, and `bodyXml` (well-formed XML, or empty) as Body. */
export function buildEgovEnvelope(header: EgovHeader, bodyXml: string): string {
  return (
    `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${NS.soap11}"><SOAP_ENV:Header>${writeEgovHeader(header)}</SOAP_ENV:Header>` +
    `<SOAP_ENV:Body>${bodyXml}</SOAP_ENV:Body></SOAP_ENV:Envelope>`
  );
}

/** An unsigned ModI envelope with its WS-Addressing headers. */
export function buildModiEnvelope(addressing: AddressingHeader, bodyXml: string): string {
  return (
    `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${NS.soap11}"><SOAP_ENV:Header>${writeAddressing(addressing)}</SOAP_ENV:Header>` +
    `<SOAP_ENV:Body>${bodyXml}</SOAP_ENV:Body></SOAP_ENV:Envelope>`
  );
}

/**
 * Adds the profile's security to an existing SOAP envelope and signs it: for egov the envelope must
 * already carry its Intestazione; for modi, wsa headers are added where missing from `addressing`
 * (MessageID defaults to a new UUID, ReplyTo to anonymous), and the Body is signed only when
 * `modiPatterns` (default ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01) include INTEGRITY_SOAP_01, as GovWay
 * does: what is signed is what the service's patterns say, no more. Every wsa header, MessageID
 * included, is always signed, so the envelope satisfies ID_AUTH_SOAP_02 whichever ID_AUTH is declared.
 */
export async function sealEnvelope(
  xml: string,
  profile: EnvelopeProfile,
  signer: Signer,
  opts: SealOptions & { addressing?: AddressingHeader; modiPatterns?: readonly ModiSoapPattern[] },
): Promise<string> {
  const signBody = profile === 'egov' || (opts.modiPatterns ?? DEFAULT_MODI_PATTERNS).includes('INTEGRITY_SOAP_01');
  return await sealSoapEnvelope(
    xml,
    (doc) => {
      const parts = locateSoapParts(doc);
      if (profile === 'egov') {
        const intestazione = parts.headerBlocks.filter((e) => isElement(e, NS.egov, 'Intestazione'));
        if (intestazione.length !== 1)
          throw new EnvelopeError(
            'EGOV_IT_002',
            'Header/Intestazione',
            'EGOV_IT_002 - an egov envelope needs exactly one eGov_IT:Intestazione to seal',
          );
        return [parts.body, intestazione[0]!];
      }
      const addressing = ensureAddressing(doc, parts, opts.addressing ?? {});
      return signBody ? [parts.body, ...addressing] : addressing;
    },
    signer,
    opts,
  );
}

function ensureAddressing(doc: Document, parts: SoapParts, wanted: AddressingHeader): Element[] {
  const present = readAddressing(parts.headerBlocks).header;
  const missing: AddressingHeader = {
    ...(present.to === undefined && wanted.to !== undefined ? { to: wanted.to } : {}),
    ...(present.from === undefined && wanted.from !== undefined ? { from: wanted.from } : {}),
    ...(present.action === undefined && wanted.action !== undefined ? { action: wanted.action } : {}),
    ...(present.messageId === undefined ? { messageId: wanted.messageId ?? randomUUID() } : {}),
    ...(present.relatesTo === undefined && wanted.relatesTo !== undefined ? { relatesTo: wanted.relatesTo } : {}),
    ...(present.replyTo === undefined ? { replyTo: wanted.replyTo ?? 'http://www.w3.org/2005/08/addressing/anonymous' } : {}),
  };
  const xml = writeAddressing(missing);
  if (xml) {
    const fragment = parseUntrustedXml(`<w xmlns:wsa="${NS.wsa}">${xml}</w>`).doc.documentElement!;
    for (const el of childElements(fragment)) parts.header!.appendChild(doc.importNode(el, true));
  }
  return childElements(parts.header!).filter(isAddressingBlock);
}
