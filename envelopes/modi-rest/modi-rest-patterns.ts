/**
 * The ModI REST security patterns (AgID Linee guida sull'interoperabilità tecnica, Allegato 2, and its
 * 2023–2024 revision for INTEGRITY_REST_02 and AUDIT_REST_01/02) and the names they put on the wire.
 */

import { MODI_REST_PATTERN_NAMES, type ModiRestPatternName } from '../../src/core/service-profile.js';

/** The six patterns: one list, in src/core, which configuration declares them by too. */
export const MODI_REST_PATTERNS = MODI_REST_PATTERN_NAMES;
export type ModiRestPattern = ModiRestPatternName;

export type IdAuthRestPattern = 'ID_AUTH_REST_01' | 'ID_AUTH_REST_02';
export type IntegrityRestPattern = 'INTEGRITY_REST_01' | 'INTEGRITY_REST_02';
export type AuditRestPattern = 'AUDIT_REST_01' | 'AUDIT_REST_02';

/** The HTTP headers the patterns use, lower-cased as Node presents received headers. */
export const MODI_REST_HEADER = {
  authorization: 'authorization',
  signature: 'agid-jwt-signature',
  trackingEvidence: 'agid-jwt-trackingevidence',
  digest: 'digest',
  contentType: 'content-type',
  contentEncoding: 'content-encoding',
} as const;

/** The same headers as an integrator writes them (what `buildModiRest…Headers` returns). */
export const MODI_REST_HEADER_SPELLING = {
  authorization: 'Authorization',
  signature: 'Agid-JWT-Signature',
  trackingEvidence: 'Agid-JWT-TrackingEvidence',
  digest: 'Digest',
} as const;

/**
 * The asymmetric JWS algorithms of the AgID algorithm table. HS* are in that table too but mean a
 * shared secret, which makes no sense between organisations; `none` is never accepted (RFC 8725).
 */
export const MODI_REST_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'] as const;
export type ModiRestAlgorithm = (typeof MODI_REST_ALGORITHMS)[number];

export function isModiRestAlgorithm(alg: unknown): alg is ModiRestAlgorithm {
  return typeof alg === 'string' && (MODI_REST_ALGORITHMS as readonly string[]).includes(alg);
}

/** RFC 3230 `Digest` algorithms the patterns allow, with node:crypto's name for each. */
export const DIGEST_ALGORITHMS = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

/**
 * Bounds checked before anything is parsed: a token carrying a certificate chain is a few kilobytes,
 * so 32 KiB leaves room for long chains and nothing for abuse.
 */
export interface ModiRestLimits {
  /** Characters of one compact JWS. */
  readonly maxTokenChars: number;
  /** Distinct header names in a received message. */
  readonly maxHeaders: number;
  /** Certificates in an `x5c` chain. */
  readonly maxChainLength: number;
  /** Entries of a `signed_headers` claim. */
  readonly maxSignedHeaders: number;
  /** Levels of nested objects/arrays in a token's claims (the payload object is 1): deeper is refused, not walked. */
  readonly maxClaimDepth: number;
}

export const DEFAULT_MODI_REST_LIMITS: ModiRestLimits = {
  maxTokenChars: 32 * 1024,
  maxHeaders: 100,
  maxChainLength: 8,
  maxSignedHeaders: 32,
  maxClaimDepth: 32,
};
