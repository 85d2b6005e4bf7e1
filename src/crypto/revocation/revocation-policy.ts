import type { X509Certificate } from 'node:crypto';

/**
 * What a trust anchor's operator asks of revocation:
 * - `hard`: a certificate under this anchor is accepted only with a fresh "good" status (OCSP or CRL);
 * - `soft`: revoked is refused, but no fresh status (responder down, stale CRL) is accepted with a warning;
 * - `off`: revocation is not checked (the node's behaviour before revocation existed).
 */
export type RevocationMode = 'hard' | 'soft' | 'off';

export interface RevocationPolicy {
  readonly mode: RevocationMode;
  /**
   * Accept CRLs signed with SHA-1: long-lived CAs still sign them so. Only CRLs: certificates and OCSP
   * responses signed with SHA-1 stay refused.
   */
  readonly allowSha1Crl: boolean;
}

export const REVOCATION_OFF: RevocationPolicy = Object.freeze({ mode: 'off', allowSha1Crl: false });

/** The policy of each anchor (by SHA-256 fingerprint), and the one for anchors not named. */
export class AnchorPolicies {
  readonly #byAnchor: ReadonlyMap<string, RevocationPolicy>;

  constructor(
    readonly fallback: RevocationPolicy,
    byAnchor: ReadonlyArray<{ readonly anchors: readonly X509Certificate[]; readonly policy: RevocationPolicy }> = [],
  ) {
    const map = new Map<string, RevocationPolicy>();
    for (const { anchors, policy } of byAnchor) for (const cert of anchors) map.set(cert.fingerprint256, policy);
    this.#byAnchor = map;
  }

  /** The policy for a chain that ends in `anchor`. */
  of(anchor: X509Certificate): RevocationPolicy {
    return this.#byAnchor.get(anchor.fingerprint256) ?? this.fallback;
  }

  /** Whether any anchor is checked at all (a node with every policy off needs no checker). */
  get anyChecked(): boolean {
    return this.fallback.mode !== 'off' || [...this.#byAnchor.values()].some((p) => p.mode !== 'off');
  }
}
