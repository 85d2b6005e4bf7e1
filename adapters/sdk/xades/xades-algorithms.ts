/**
 * Identifiers of the XAdES seal on the Segnatura, and the closed lists the verifier accepts.
 * Lookups go through Maps, never plain objects: an attacker-chosen URI such as "constructor" must
 * find nothing, not Object.prototype.constructor.
 */

export const XADES_NS = 'http://uri.etsi.org/01903/v1.3.2#';
/** ds:Reference/@Type that marks the Reference covering xades:SignedProperties (XAdES 1.3.2, 6.3.1). */
export const SIGNED_PROPERTIES_TYPE = 'http://uri.etsi.org/01903#SignedProperties';

export const XADES_ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  xpath: 'http://www.w3.org/TR/1999/REC-xpath-19991116',
  xpathFilter2: 'http://www.w3.org/2002/06/xmldsig-filter2',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  sha224: 'http://www.w3.org/2001/04/xmldsig-more#sha224',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha384: 'http://www.w3.org/2001/04/xmldsig-more#sha384',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;

/** The digests the signer writes (Reference digests); SHA-224 is accepted on input but never written. */
export type XadesDigest = 'sha256' | 'sha384' | 'sha512';

export const DIGEST_URI: Readonly<Record<XadesDigest, string>> = {
  sha256: XADES_ALG.sha256,
  sha384: XADES_ALG.sha384,
  sha512: XADES_ALG.sha512,
};

/**
 * Accepted DigestMethod URIs → node:crypto hash name. The AgID guideline asks for SHA-224..SHA-512
 * for the Segnatura; SHA-1 and MD5 are absent, so they are refused.
 */
export const ACCEPTED_DIGESTS: ReadonlyMap<string, string> = new Map([
  [XADES_ALG.sha224, 'sha224'],
  [XADES_ALG.sha256, 'sha256'],
  [XADES_ALG.sha384, 'sha384'],
  [XADES_ALG.sha512, 'sha512'],
]);

/**
 * Accepted SignatureMethod URIs → node:crypto hash name, all RSA PKCS#1 v1.5. ECDSA and RSA-PSS are
 * not accepted yet (see xades-verify.ts).
 */
export const ACCEPTED_SIGNATURES: ReadonlyMap<string, string> = new Map([
  [XADES_ALG.rsaSha256, 'sha256'],
  [XADES_ALG.rsaSha384, 'sha384'],
  [XADES_ALG.rsaSha512, 'sha512'],
]);

/** SignedInfo canonicalisation: exclusive C14N without comments, the XAdES baseline default of most signers. */
export const ACCEPTED_SIGNED_INFO_C14N: ReadonlySet<string> = new Set([XADES_ALG.excC14n]);

/** Namespace of the ds:Transform child of an XPath Filter 2.0 transform. */
export const XPATH_FILTER2_NS = 'http://www.w3.org/2002/06/xmldsig-filter2';

/**
 * The only transform chains accepted, exactly and in order: no general XPath, XSLT or Base64 transforms.
 * Two XPath idioms that mean "leave out the signature" are read as enveloped-signature (see
 * xades-verify.ts, readTransform): DSS, the EU reference signer, writes them instead of it.
 */
export const DOCUMENT_TRANSFORMS: readonly string[] = [XADES_ALG.enveloped, XADES_ALG.excC14n];
export const SIGNED_PROPERTIES_TRANSFORMS: readonly string[] = [XADES_ALG.excC14n];

/** Smallest RSA modulus accepted for a seal (ETSI TS 119 312 and AgID: 2048 bits or more). */
export const MIN_RSA_MODULUS_BITS = 2048;

/**
 * Most certificates accepted in KeyInfo: the seal and up to four CA certificates. They are offered to
 * the trust store as path-building helpers, and path search over attacker-supplied certificates grows
 * factorially with their number, so the list is kept short.
 */
export const MAX_KEYINFO_CERTIFICATES = 5;

/** How far in the future (relative to the verdict instant) a claimed SigningTime may be: clock skew. */
export const SIGNING_TIME_SKEW_MS = 5 * 60 * 1000;
