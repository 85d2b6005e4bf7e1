/**
 * Signing keys for the ModI REST tests, from the shared test PKI (RSA, dev CA) and an EC P-256 signer
 * certified by the same CA with openssl; a PDND-style key (kid, no certificate) for the _02 patterns.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { getTestPki, type TestPki } from '../../fixtures/test-pki.js';
import { SIGNER_EXTENSIONS, issueWithOpenssl } from '../../fixtures/openssl-certs.js';
import type { TestSigner } from '../../fixtures/test-pki.js';
import type { RestSigningKey } from '../../../envelopes/modi-rest/jws-signing.js';
import type { ModiRestAlgorithm } from '../../../envelopes/modi-rest/modi-rest-patterns.js';

export interface RestTestKeys {
  readonly pki: TestPki;
  readonly ec: TestSigner;
  /** A key PDND would know by kid (the consumer client's, or the provider's keychain). */
  readonly pdnd: { readonly kid: string; readonly privateKey: KeyObject; readonly publicKey: KeyObject };
}

let cached: RestTestKeys | undefined;

export function restTestKeys(): RestTestKeys {
  if (!cached) {
    const pki = getTestPki();
    const ec = issueWithOpenssl({ issuer: pki.ca, subject: '/C=IT/O=SPC/CN=ComuneEC', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    cached = { pki, ec, pdnd: { kid: 'pdnd-kid-7f3a', privateKey: pair.privateKey, publicKey: pair.publicKey } };
  }
  return cached;
}

/** An X.509 signing key for `signer` (x5c by default). */
export function x509Key(signer: TestSigner, alg: ModiRestAlgorithm, reference: 'x5c' | 'x5t#S256' = 'x5c'): RestSigningKey {
  return { privateKey: signer.privateKey, alg, certificates: [signer.certificate], certificateReference: reference };
}

export function pdndKey(): RestSigningKey {
  const { pdnd } = restTestKeys();
  return { privateKey: pdnd.privateKey, alg: 'RS256', kid: pdnd.kid };
}
