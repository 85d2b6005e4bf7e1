import { X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Parsed signer certificates by the base64 text a message carried them in. A peer signs every message
 * with the same certificate, and parsing it (DER, then the key) costs as much as the XML work of a
 * small envelope. Only the parse is cached: trust, dates and binding are checked on every message.
 * Bounded, least recently used first out, so a stream of distinct certificates costs memory only up
 * to the bound.
 */
export class SignerCertificateCache {
  readonly #entries: LRUCache<string, X509Certificate>;
  constructor(capacity: number) {
    this.#entries = new LRUCache({ max: capacity });
  }

  /** The certificate whose DER is `base64` (whitespace already removed); throws as X509Certificate does. */
  get(base64: string): X509Certificate {
    const hit = this.#entries.get(base64);
    if (hit) return hit;
    const cert = new X509Certificate(Buffer.from(base64, 'base64'));
    this.#entries.set(base64, cert);
    return cert;
  }

  get size(): number {
    return this.#entries.size;
  }
}
