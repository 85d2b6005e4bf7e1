import { SecurityError } from '../../src/core/errors.js';
import { NS } from '../xml/namespaces.js';
import { MODI_SOAP_PATTERNS, type ModiSoapPattern } from '../../src/core/service-profile.js';
import { childElements, isElement } from '../xml/dom-navigation.js';

/**
 * Which ModI SOAP security patterns a verified envelope satisfies, derived from what its signature
 * covers (the position labels of VerifiedSignature.signed) and how it names its signer:
 *
 * - ID_AUTH_SOAP_01: the signer's certificate is the X.509 token of wsse:Security (KeyInfo holds a
 *   wsse:SecurityTokenReference to it), a wsa:To (the audience) is present, and the Timestamp and every
 *   wsa header present are signed. The token itself need not be signed: GovWay does not sign it, and a
 *   token swapped for another certificate fails the SignatureValue or the signer checks anyway.
 * - ID_AUTH_SOAP_02: ID_AUTH_SOAP_01 with a signed wsa:MessageID. The other half of the pattern, refusing
 *   a MessageID already taken, is the receiver's (the node's duplicate filter), not the envelope's.
 * - INTEGRITY_SOAP_01: an ID_AUTH pattern with the soap:Body signed too.
 */
export interface ModiPatternAssessment {
  /** Every pattern the envelope satisfies (ID_AUTH_SOAP_02 implies ID_AUTH_SOAP_01 too). */
  readonly satisfied: readonly ModiSoapPattern[];
  /** For each pattern not satisfied: the element at fault and why. */
  readonly gaps: ReadonlyMap<ModiSoapPattern, PatternGap>;
}

export interface PatternGap {
  readonly posizione: string;
  readonly why: string;
}

export interface ModiSignatureFacts {
  /** The wsa:* header blocks of the envelope. */
  readonly addressingBlocks: readonly Element[];
  /** The envelope's wsse:Security header. */
  readonly security: Element;
  /** Position labels the signature covers ('Body', 'Header/To', 'Security/Timestamp', …). */
  readonly signed: readonly string[];
}

export function assessModiPatterns(facts: ModiSignatureFacts): ModiPatternAssessment {
  const signed = new Set(facts.signed);
  const headerLabels = facts.addressingBlocks.map((b) => `Header/${b.localName}`);
  const idAuth01 = idAuthGap(facts, signed, headerLabels);
  const gaps = new Map<ModiSoapPattern, PatternGap>();
  if (idAuth01) gaps.set('ID_AUTH_SOAP_01', idAuth01);
  const messageId = !headerLabels.includes('Header/MessageID')
    ? { posizione: 'Header/MessageID', why: 'there is no wsa:MessageID for the receiver to refuse a replay by' }
    : undefined;
  const idAuth02 = idAuth01 ?? messageId;
  if (idAuth02) gaps.set('ID_AUTH_SOAP_02', idAuth02);
  const integrity = idAuth01 ?? (signed.has('Body') ? undefined : { posizione: 'Body', why: 'soap:Body is not signed' });
  if (integrity) gaps.set('INTEGRITY_SOAP_01', integrity);
  const satisfied = MODI_SOAP_PATTERNS.filter((p) => !gaps.has(p));
  return { satisfied, gaps };
}

function idAuthGap(facts: ModiSignatureFacts, signed: ReadonlySet<string>, headerLabels: readonly string[]): PatternGap | undefined {
  if (!signerIsSecurityToken(facts.security)) {
    return {
      posizione: 'Security/BinarySecurityToken',
      why: "the signer's certificate is not a WS-Security X.509 token (KeyInfo holds no wsse:SecurityTokenReference)",
    };
  }
  if (!signed.has('Security/Timestamp')) return { posizione: 'Security/Timestamp', why: 'wsu:Timestamp is not signed' };
  if (!headerLabels.includes('Header/To')) return { posizione: 'Header/To', why: 'there is no wsa:To (the audience)' };
  const unsigned = headerLabels.find((l) => !signed.has(l));
  if (unsigned) return { posizione: unsigned, why: `wsa:${unsigned.slice('Header/'.length)} is not signed` };
  return undefined;
}

/** Whether ds:KeyInfo names the signer through a wsse:SecurityTokenReference (the ModI X.509 token). */
function signerIsSecurityToken(security: Element): boolean {
  const signature = childElements(security).find((e) => isElement(e, NS.ds, 'Signature'));
  const keyInfo = signature && childElements(signature).find((e) => isElement(e, NS.ds, 'KeyInfo'));
  const [first] = keyInfo ? childElements(keyInfo) : [];
  return isElement(first, NS.wsse, 'SecurityTokenReference');
}

/**
 * Refuses an envelope that does not satisfy every pattern `declared` names (TRAMITE_ERR_MODI_PATTERN,
 * on the wire EGOV_IT_200: the service's security policy is not met), naming the element at fault.
 */
export function requireModiPatterns(assessment: ModiPatternAssessment, declared: readonly ModiSoapPattern[], signer?: string): void {
  for (const pattern of declared) {
    const gap = assessment.gaps.get(pattern);
    if (!gap) continue;
    const found = strongestPatterns(assessment.satisfied);
    throw new SecurityError(
      'TRAMITE_ERR_MODI_PATTERN',
      `${declared.join(' + ')} required; the envelope does not satisfy ${pattern}: ${gap.why} (it satisfies ${found.length ? found.join(' + ') : 'no ModI pattern'})`,
      { posizione: gap.posizione, ...(signer !== undefined ? { signer } : {}) },
    );
  }
}

/** The patterns as one says them: the strongest ID_AUTH pattern, then INTEGRITY_SOAP_01 when satisfied. */
export function strongestPatterns(satisfied: readonly ModiSoapPattern[]): ModiSoapPattern[] {
  const idAuth = satisfied.includes('ID_AUTH_SOAP_02')
    ? 'ID_AUTH_SOAP_02'
    : satisfied.includes('ID_AUTH_SOAP_01')
      ? 'ID_AUTH_SOAP_01'
      : undefined;
  if (!idAuth) return [];
  return satisfied.includes('INTEGRITY_SOAP_01') ? [idAuth, 'INTEGRITY_SOAP_01'] : [idAuth];
}
