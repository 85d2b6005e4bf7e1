/**
 * Asks PDND's token endpoint for a voucher (client_credentials with an RFC 7523 client assertion).
 * The assertion carries only what PDND accepts: header alg RS256, kid (the id PDND gave the uploaded
 * key), typ JWT; claims iss = sub = client_id, aud (the environment's `…/client-assertion`, no
 * https://), jti, iat, exp (short), purposeId for an e-service voucher, and `digest` for AUDIT_REST_02.
 * It is signed by the wire package's signCompactJws, the one signing function (a KeyObject today, the
 * node's Signer when it lands). One call = one token request: caching is voucher-cache.ts's job.
 */
import { randomUUID } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { decodeJwt } from 'jose';
import { type RestSigningKey, signCompactJws } from '../../envelopes/modi-rest/jws-signing.js';
import { type Clock, systemClock } from '../core/clock.js';
import { TramiteError } from '../core/errors.js';
import { readBoundedBody } from '../core/bounded-body.js';
import { PdndTokenError } from './pdnd-token-error.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface VoucherClientOptions {
  /** e.g. https://auth.uat.interop.pagopa.it/token.oauth2 */
  readonly tokenEndpoint: string;
  /** The client assertion aud, e.g. auth.uat.interop.pagopa.it/client-assertion. */
  readonly assertionAudience: string;
  readonly clientId: string;
  /** The party's PDND key: RS256 with the kid PDND gave it. */
  readonly key: RestSigningKey;
  /** exp − iat of the assertion (default 60 s: it is used at once). */
  readonly assertionLifetimeSeconds?: number;
  /** Whole request, connect to last byte (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest token response read (default 64 KiB). */
  readonly maxResponseBytes?: number;
  /** undici dispatcher: the node's TLS agent (trust store, client certificate) when wired. */
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
}

/** The audit-token binding of AUDIT_REST_02: hex SHA-256 of the audit JWS. */
export interface VoucherDigest {
  readonly alg: 'SHA256';
  readonly value: string;
}

export interface VoucherRequest {
  /** Absent for an "API interoperabilità" voucher (PDND's own APIs: keys, tracing). */
  readonly purposeId?: string;
  readonly digest?: VoucherDigest;
}

export interface IssuedVoucher {
  /** The compact JWS, for `Authorization: Bearer`. A bearer token: never log it whole. */
  readonly token: string;
  readonly jti: string | undefined;
  readonly purposeId: string | undefined;
  readonly issuedAt: Date;
  /** The earlier of the voucher's exp and the response's expires_in. */
  readonly expiresAt: Date;
}

/** Anything that gets a fresh voucher: the client below, or (later) one that goes through a proxy. */
export interface VoucherSource {
  requestVoucher(req: VoucherRequest): Promise<IssuedVoucher>;
}

export class PdndVoucherClient implements VoucherSource {
  private readonly clock: Clock;

  constructor(private readonly opts: VoucherClientOptions) {
    if (opts.key.alg !== 'RS256' || opts.key.kid === undefined)
      throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', 'a PDND client assertion is signed RS256 with the kid PDND gave the key');
    this.clock = opts.clock ?? systemClock;
  }

  /** The signed client assertion for one token request. */
  async clientAssertion(req: VoucherRequest): Promise<string> {
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.opts.clientId,
      sub: this.opts.clientId,
      aud: this.opts.assertionAudience,
      jti: randomUUID(),
      iat,
      exp: iat + (this.opts.assertionLifetimeSeconds ?? 60),
      ...(req.purposeId !== undefined ? { purposeId: req.purposeId } : {}),
      ...(req.digest ? { digest: { alg: req.digest.alg, value: req.digest.value } } : {}),
    };
    return signCompactJws({ alg: 'RS256', kid: this.opts.key.kid!, typ: 'JWT' }, claims, this.opts.key);
  }

  async requestVoucher(req: VoucherRequest): Promise<IssuedVoucher> {
    const endpoint = this.opts.tokenEndpoint;
    const form = new URLSearchParams({
      client_id: this.opts.clientId,
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await this.clientAssertion(req),
    }).toString();
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    let status: number;
    let text: string;
    try {
      const res = await request(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      status = res.statusCode;
      text = (
        await readBoundedBody(res.body, {
          maxBytes: this.opts.maxResponseBytes ?? 64 * 1024,
          source: `PDND token endpoint ${endpoint}`,
          declaredLength: res.headers['content-length'],
        })
      ).toString('utf8');
    } catch (cause) {
      throw new PdndTokenError(endpoint, `no answer within ${timeoutMs} ms or unreachable (${(cause as Error).message})`, { cause });
    }
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (status !== 200) {
      const oauthError = typeof body?.error === 'string' ? body.error : undefined;
      const description = typeof body?.error_description === 'string' ? `: ${body.error_description}` : '';
      throw new PdndTokenError(endpoint, `HTTP ${status}${oauthError ? ` ${oauthError}` : ''}${description}`, {
        status,
        ...(oauthError ? { oauthError } : {}),
      });
    }
    const token = body?.access_token;
    const expiresIn = body?.expires_in;
    if (typeof token !== 'string' || typeof body?.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer')
      throw new PdndTokenError(endpoint, 'the answer is not {access_token, token_type: Bearer, expires_in}', { status });
    if (!Number.isInteger(expiresIn) || (expiresIn as number) <= 0)
      throw new PdndTokenError(endpoint, 'expires_in is missing or not a positive integer', { status });
    let claims: ReturnType<typeof decodeJwt>;
    try {
      // Read only: the consumer does not verify its own voucher, the provider does; exp and jti are for the cache and tracing.
      claims = decodeJwt(token);
    } catch (cause) {
      throw new PdndTokenError(endpoint, 'access_token is not a JWT', { status, cause });
    }
    const now = this.clock.now().getTime();
    const byExpiresIn = now + (expiresIn as number) * 1000;
    const expiresAt = typeof claims.exp === 'number' ? Math.min(claims.exp * 1000, byExpiresIn) : byExpiresIn;
    return {
      token,
      jti: claims.jti,
      purposeId: typeof claims.purposeId === 'string' ? claims.purposeId : req.purposeId,
      issuedAt: new Date(now),
      expiresAt: new Date(expiresAt),
    };
  }
}
