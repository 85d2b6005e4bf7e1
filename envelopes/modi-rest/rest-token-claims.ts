import { createHash, randomInt, randomUUID } from 'node:crypto';

/** The times and identities every ModI REST token carries. */
export interface TokenTiming {
  readonly now: Date;
  /** exp − iat; short (GovWay's default is 300 s). */
  readonly ttlSeconds: number;
  /** Also write nbf (= iat). */
  readonly notBefore?: boolean;
}

export interface TokenParties {
  /** Who the token is for: the provider's audience on a request, the consumer on a response. */
  readonly audience: string;
  readonly issuer?: string;
  readonly subject?: string;
  /** A fresh jti for each token by default (UUID). */
  readonly jti?: string;
}

/** iat, exp (and nbf), aud, iss, sub, jti: the claims common to the three tokens. */
export function standardClaims(parties: TokenParties, timing: TokenTiming): Record<string, unknown> {
  const iat = Math.floor(timing.now.getTime() / 1000);
  return {
    ...(parties.issuer !== undefined ? { iss: parties.issuer } : {}),
    ...(parties.subject !== undefined ? { sub: parties.subject } : {}),
    aud: parties.audience,
    iat,
    ...(timing.notBefore ? { nbf: iat } : {}),
    exp: iat + timing.ttlSeconds,
    jti: parties.jti ?? randomUUID(),
  };
}

/** AUDIT_REST_02's `dnonce`: 13 random digits as a JSON number, as GovWay sends it. */
export function auditNonce(): number {
  return randomInt(1_000_000_000_000, 10_000_000_000_000);
}

/** The voucher's binding to an audit token (AUDIT_REST_02): hex SHA-256 of the compact JWS string. */
export interface AuditDigestClaim {
  readonly alg: 'SHA256';
  readonly value: string;
}

/** What goes in the PDND client assertion's `digest` claim for this audit token (PDND copies it into the voucher). */
export function auditTokenDigest(auditToken: string): AuditDigestClaim {
  return { alg: 'SHA256', value: createHash('sha256').update(auditToken, 'ascii').digest('hex') };
}
