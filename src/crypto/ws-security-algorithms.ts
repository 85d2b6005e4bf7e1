/** The XML-DSig algorithms the node writes, and the closed lists it accepts when verifying. */
export const ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;

/** SignedInfo canonicalisation: exclusive C14N without comments, as the WS-I Basic Security Profile requires. */
export const ACCEPTED_C14N: ReadonlySet<string> = new Set([ALG.excC14n]);
/** SHA-1 based algorithms are refused: ModI requires SHA-256 or stronger. */
export const ACCEPTED_SIGNATURE: ReadonlySet<string> = new Set([ALG.rsaSha256, ALG.rsaSha512]);
export const ACCEPTED_DIGEST: ReadonlySet<string> = new Set([ALG.sha256, ALG.sha512]);
/** Reference transforms: C14N and enveloped-signature only (modi-soap.md); XPath/XSLT never. */
export const ACCEPTED_TRANSFORMS: ReadonlySet<string> = new Set([ALG.excC14n, ALG.c14n, ALG.enveloped]);

/** node:crypto digest of each accepted signature algorithm (RSA PKCS#1 v1.5). */
export const SIGNATURE_DIGEST: Readonly<Record<string, string>> = { [ALG.rsaSha256]: 'sha256', [ALG.rsaSha512]: 'sha512' };

/**
 * Most References a signature may carry: Body, Timestamp, the token, the eGov Intestazione and the
 * seven wsa headers fit well within it. Every Reference costs whole-document work to check, and
 * digests need no key, so an unbounded list is a way to burn CPU.
 */
export const MAX_REFERENCES = 16;
