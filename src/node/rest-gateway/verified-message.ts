import { SecurityError } from '../../core/errors.js';
import type { RevocationChecker } from '../../crypto/revocation/revocation-checker.js';
import { ModiRestError, type ModiRestPosition } from '../../../envelopes/modi-rest/modi-rest-error.js';
import type { VerifiedModiRest } from '../../../envelopes/modi-rest/rest-message-verify.js';

/** The revocation status of every X.509 signer of a verified message, as for envelope signers. */
export async function checkRevocation(revocation: RevocationChecker | undefined, verified: VerifiedModiRest, role: string): Promise<void> {
  if (!revocation) return;
  const tokens: Array<[ModiRestPosition, VerifiedModiRest['idAuth']]> = [
    ['Authorization', verified.idAuth],
    ['Agid-JWT-Signature', verified.integrity],
    ['Agid-JWT-TrackingEvidence', verified.audit],
  ];
  for (const [position, token] of tokens) {
    if (!token?.chain || token.chain.length === 0) continue;
    try {
      await revocation.checkChain(token.chain, { role });
    } catch (err) {
      if (err instanceof SecurityError) throw new ModiRestError(err.reason, position, err.message, { cause: err });
      throw err;
    }
  }
}

export function describeVerified(v: VerifiedModiRest): Record<string, unknown> {
  const signer = v.idAuth?.signer ?? v.integrity?.signer ?? v.audit?.signer;
  return {
    patterns: v.patterns,
    ...(signer ? { signer: signer.subject.replace(/\n/g, ', '), signerFingerprint: signer.fingerprint256 } : {}),
    ...(v.idAuth?.claims.jti ? { authorizationJti: v.idAuth.claims.jti } : {}),
    ...(v.integrity?.claims.jti ? { signatureJti: v.integrity.claims.jti } : {}),
    ...(v.audit?.claims.jti ? { auditJti: v.audit.claims.jti } : {}),
    ...(v.integrity?.kid ? { kid: v.integrity.kid } : {}),
    ...(v.digest ? { digest: v.digest } : {}),
  };
}
