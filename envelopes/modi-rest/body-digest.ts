import { createHash } from 'node:crypto';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from './modi-rest-patterns.js';
import { ModiRestError } from './modi-rest-error.js';

/**
 * The RFC 3230 `Digest` header value over the exact body bytes as sent: `SHA-256=<base64 with padding>`.
 * Never over a re-serialised object: hash the buffer that goes on the wire.
 */
export function bodyDigest(body: Uint8Array, algorithm: DigestAlgorithm = 'SHA-256'): string {
  return `${algorithm}=${createHash(DIGEST_ALGORITHMS[algorithm]).update(body).digest('base64')}`;
}

/**
 * Checks a received `Digest` value against the received body: the algorithm must be one the patterns
 * allow and the value the standard-base64 digest of those bytes, compared as a string (hex or base64url
 * values cannot match, as at GovWay). Returns the algorithm.
 */
export function checkBodyDigest(received: string, body: Uint8Array): DigestAlgorithm {
  const eq = received.indexOf('=');
  const name = eq > 0 ? received.slice(0, eq).toUpperCase() : '';
  if (!Object.hasOwn(DIGEST_ALGORITHMS, name)) {
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_DIGEST',
      'Digest',
      `Digest "${received.slice(0, 40)}" does not name SHA-256, SHA-384 or SHA-512 as "ALG=base64"`,
    );
  }
  const algorithm = name as DigestAlgorithm;
  const expected = bodyDigest(body, algorithm).slice(algorithm.length + 1);
  if (received.slice(eq + 1) !== expected) {
    throw new ModiRestError('TRAMITE_ERR_MODI_REST_DIGEST', 'Digest', `Digest does not match the ${body.length} body bytes received`);
  }
  return algorithm;
}
