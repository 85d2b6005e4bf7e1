import type { KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from '../../src/core/signer.js';

/** The XML-DSig algorithms the node writes, and the closed lists it accepts when verifying. */
export const ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;

/** The namespace of ec:InclusiveNamespaces (the exclusive C14N algorithm URI itself). */
export const EXC_C14N_NS = ALG.excC14n;

/** SignedInfo canonicalisation: exclusive C14N without comments, as the WS-I Basic Security Profile requires. */
export const ACCEPTED_C14N: ReadonlySet<string> = new Set([ALG.excC14n]);
/** SHA-1 based algorithms are refused: ModI requires SHA-256 or stronger. */
export const ACCEPTED_SIGNATURE: ReadonlySet<string> = new Set([ALG.rsaSha256, ALG.rsaSha512, ALG.ecdsaSha256]);
export const ACCEPTED_DIGEST: ReadonlySet<string> = new Set([ALG.sha256, ALG.sha512]);
/** Reference transforms: C14N and enveloped-signature only (modi-soap.md); XPath/XSLT never. */
export const ACCEPTED_TRANSFORMS: ReadonlySet<string> = new Set([ALG.excC14n, ALG.c14n, ALG.enveloped]);

/** node:crypto digest of each accepted digest algorithm. */
export const DIGEST_HASH: Readonly<Record<string, 'sha256' | 'sha512'>> = { [ALG.sha256]: 'sha256', [ALG.sha512]: 'sha512' };

/**
 * What each accepted SignatureMethod computes, and the only key it may be computed with: RSA PKCS#1
 * v1.5 for rsa-*, ECDSA on P-256 for ecdsa-sha256, whose XML-DSig value is the raw r||s (RFC 4050 /
 * RFC 6931), i.e. node's dsaEncoding 'ieee-p1363'. The key type is checked against the method: a
 * method applied to another kind of key is an algorithm the signer did not declare.
 */
export interface SignatureMethod {
  readonly hash: 'sha256' | 'sha512';
  readonly keyType: 'rsa' | 'ec';
  /** EC only: node's name of the one accepted curve. */
  readonly curve?: 'prime256v1';
  /** EC only: length of the raw r||s value. */
  readonly valueBytes?: number;
}

export const SIGNATURE_METHODS: Readonly<Record<string, SignatureMethod>> = {
  [ALG.rsaSha256]: { hash: 'sha256', keyType: 'rsa' },
  [ALG.rsaSha512]: { hash: 'sha512', keyType: 'rsa' },
  [ALG.ecdsaSha256]: { hash: 'sha256', keyType: 'ec', curve: 'prime256v1', valueBytes: 64 },
};

/** Whether `key` (public or private) is the kind of key `method` works with. */
export function keyFitsMethod(key: KeyObject, method: SignatureMethod): boolean {
  if (key.asymmetricKeyType !== method.keyType) return false;
  return method.keyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve === method.curve;
}

/** The SignatureMethod a party signs with, from its signer's algorithm. */
export const SIGNATURE_METHOD_OF: Readonly<Record<SignatureAlgorithm, string>> = {
  'RSA-SHA256': ALG.rsaSha256,
  'ECDSA-P256-SHA256': ALG.ecdsaSha256,
};

/**
 * Most References a signature may carry: Body, Timestamp, the token, the eGov Intestazione and the
 * seven wsa headers fit well within it. Every Reference costs whole-document work to check, and
 * digests need no key, so an unbounded list is a way to burn CPU.
 */
export const MAX_REFERENCES = 16;
