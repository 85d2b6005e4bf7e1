/**
 * The token endpoint's check of a client assertion (RFC 7523), as PDND's authorization server does it
 * (interop-be-monorepo, client-assertion-validation): RS256 only, the kid of a key uploaded to this
 * client, iss = sub = client_id, aud = the endpoint's assertion audience, a fresh jti, iat/exp integers
 * in a short window, only the allowed claims (no nbf), purposeId of the client's for an e-service
 * client, and `digest` {alg: SHA256, value: 64 hex} when present.
 */
import { compactVerify, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import { OAuthRefusal } from './oauth-refusal.js';
import type { RegistryClient, SimulatorRegistry } from './simulator-registry.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ALLOWED_CLAIMS = new Set(['iss', 'sub', 'aud', 'jti', 'iat', 'exp', 'purposeId', 'digest']);

export interface AssertionPolicy {
  readonly audience: string;
  readonly nowSeconds: number;
  readonly skewSeconds: number;
  /** Longest exp − iat accepted. */
  readonly maxLifetimeSeconds: number;
  /** True when jti was not seen before (and now is recorded until `until`). */
  readonly freshJti: (jti: string, untilSeconds: number) => boolean;
}

export interface CheckedAssertion {
  readonly client: RegistryClient;
  readonly purposeId?: string;
  readonly digest?: { alg: string; value: string };
}

export async function checkClientAssertion(
  form: URLSearchParams,
  registry: SimulatorRegistry,
  policy: AssertionPolicy,
): Promise<CheckedAssertion> {
  const one = (name: string): string => {
    const values = form.getAll(name);
    if (values.length !== 1 || values[0] === '') throw new OAuthRefusal('invalid_request', `${name} must be given once`);
    return values[0]!;
  };
  if (one('grant_type') !== 'client_credentials') throw new OAuthRefusal('unsupported_grant_type', 'grant_type must be client_credentials');
  if (one('client_assertion_type') !== CLIENT_ASSERTION_TYPE)
    throw new OAuthRefusal('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
  const clientId = one('client_id');
  const assertion = one('client_assertion');
  const client = registry.clients.get(clientId);
  if (!client) throw new OAuthRefusal('invalid_client', `client ${clientId} is not registered`);

  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new OAuthRefusal('invalid_request', 'client_assertion is not a compact JWS');
  }
  if (header.alg !== 'RS256')
    throw new OAuthRefusal('invalid_client', `client assertion alg ${String(header.alg)}: only RS256 is accepted`);
  const key = typeof header.kid === 'string' ? client.keys.get(header.kid) : undefined;
  if (!key) throw new OAuthRefusal('invalid_client', `kid ${String(header.kid)} is not a key of client ${clientId}`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(assertion, key.publicKey, { algorithms: ['RS256'] }));
  } catch {
    throw new OAuthRefusal('invalid_client', `the client assertion's signature does not verify with key ${key.kid}`);
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as Record<string, unknown>;
  } catch {
    throw new OAuthRefusal('invalid_request', 'the client assertion payload is not JSON');
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims))
    throw new OAuthRefusal('invalid_request', 'the client assertion payload is not a JSON object');
  const extra = Object.keys(claims).filter((c) => !ALLOWED_CLAIMS.has(c));
  if (extra.length > 0) throw new OAuthRefusal('invalid_request', `claims not allowed in a client assertion: ${extra.join(', ')}`);
  if (claims.iss !== clientId || claims.sub !== clientId)
    throw new OAuthRefusal('invalid_client', 'iss and sub of the client assertion must both be the client_id');
  const aud = claims.aud;
  if (!(aud === policy.audience || (Array.isArray(aud) && aud.includes(policy.audience))))
    throw new OAuthRefusal('invalid_client', `Unexpected client assertion audience ${JSON.stringify(aud)}`);
  const { iat, exp, jti } = claims;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) throw new OAuthRefusal('invalid_request', 'iat and exp must be integers');
  if ((exp as number) <= policy.nowSeconds - policy.skewSeconds)
    throw new OAuthRefusal('invalid_grant', 'the client assertion has expired');
  if ((iat as number) > policy.nowSeconds + policy.skewSeconds)
    throw new OAuthRefusal('invalid_grant', 'the client assertion was issued in the future');
  if ((exp as number) - (iat as number) > policy.maxLifetimeSeconds || (exp as number) <= (iat as number))
    throw new OAuthRefusal('invalid_grant', `exp − iat must be between 1 and ${policy.maxLifetimeSeconds} seconds`);
  if (typeof jti !== 'string' || jti === '') throw new OAuthRefusal('invalid_request', 'jti is missing');
  if (!policy.freshJti(`${clientId}:${jti}`, (exp as number) + policy.skewSeconds))
    throw new OAuthRefusal('invalid_grant', `jti ${jti} was already used`);

  let purposeId: string | undefined;
  if (client.kind === 'e-service') {
    if (typeof claims.purposeId !== 'string') throw new OAuthRefusal('invalid_request', 'purposeId is required for an e-service client');
    if (!client.purposes.has(claims.purposeId))
      throw new OAuthRefusal('invalid_grant', `purpose ${claims.purposeId} is not active for client ${clientId}`);
    purposeId = claims.purposeId;
  } else if (claims.purposeId !== undefined) {
    throw new OAuthRefusal('invalid_request', 'an API interoperability client asks for its voucher without purposeId');
  }
  const digest = claims.digest as { alg?: unknown; value?: unknown } | undefined;
  if (digest !== undefined) {
    const keys = digest && typeof digest === 'object' ? Object.keys(digest) : [];
    if (keys.length !== 2 || digest.alg !== 'SHA256' || typeof digest.value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(digest.value))
      throw new OAuthRefusal('invalid_request', 'digest must be {"alg":"SHA256","value":<64 hex digits>}');
  }
  return {
    client,
    ...(purposeId !== undefined ? { purposeId } : {}),
    ...(digest ? { digest: { alg: 'SHA256', value: digest.value as string } } : {}),
  };
}
