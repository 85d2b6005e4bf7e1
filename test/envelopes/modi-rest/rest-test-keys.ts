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
import { ModiRestError } from '../../../envelopes/modi-rest/modi-rest-error.js';
import type { RestVerifyPolicy } from '../../../envelopes/modi-rest/rest-token-verify.js';
import type { TramiteCode } from '../../../src/core/error-codes.js';
import { expect } from 'vitest';

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

/** The provider's audience the REST tests sign for and expect. */
export const REST_AUDIENCE = 'https://regione.example.it/rest/anagrafe/v1';

/** A verification policy at `at`: the test PKI's trust, the PDND key by kid, 5 s of skew, 5 min of age. */
export function restPolicy(at: Date, extra: Partial<RestVerifyPolicy> = {}): RestVerifyPolicy {
  const { pki, pdnd } = restTestKeys();
  return {
    at,
    skewSeconds: 5,
    maxAgeSeconds: 300,
    audience: REST_AUDIENCE,
    trust: pki.trust,
    keyByKid: (kid) => (kid === pdnd.kid ? pdnd.publicKey : undefined),
    ...extra,
  };
}

/** The ModiRestError `promise` is refused with (the test fails when it is not one). */
export async function modiRefusal(promise: Promise<unknown>): Promise<ModiRestError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModiRestError);
  return err as ModiRestError;
}

/** `promise` is refused with `code` (and at `position`, when given). */
export async function expectModiRefused(promise: Promise<unknown>, code: TramiteCode, position?: string): Promise<ModiRestError> {
  const err = await modiRefusal(promise);
  expect(err.code, err.message).toBe(code);
  if (position) expect(err.position).toBe(position);
  return err;
}
