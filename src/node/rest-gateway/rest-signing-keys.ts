import type { PdndClientKey } from '../../config/config-types.js';
import type { PartyIdentity } from '../../crypto/party-identity.js';
import { signerAlgorithm, type RestSigningKey } from '../../../envelopes/modi-rest/jws-signing.js';

/** A party's own key and certificate chain, referenced by x5c (ID_AUTH, INTEGRITY_REST_01, AUDIT_REST_01). */
export function x509SigningKey(identity: PartyIdentity): RestSigningKey {
  return { privateKey: identity, alg: signerAlgorithm(identity), certificates: [identity.certificate, ...identity.chain] };
}

/** A party's PDND key, referenced by the kid PDND gave it (INTEGRITY_REST_02, AUDIT_REST_02). */
export function pdndSigningKey(key: PdndClientKey): RestSigningKey {
  return { privateKey: key.privateKey, alg: 'RS256', kid: key.kid };
}
