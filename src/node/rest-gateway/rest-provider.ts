import { createHash, randomUUID, type X509Certificate } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { ApiError, TramiteError } from '../../core/errors.js';
import type { RestServiceConfig } from '../../config/config-types.js';
import { readBoundedBody } from '../../core/bounded-body.js';
import type { TransportIdentity } from '../reception/transport-identity.js';
import { buildModiRestResponseHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage, type AuditExpectation, type VerifiedModiRest } from '../../../envelopes/modi-rest/rest-message-verify.js';
import { ModiRestError } from '../../../envelopes/modi-rest/modi-rest-error.js';
import type { RestTokenClaims } from '../../../envelopes/modi-rest/rest-token-verify.js';
import { verifyVoucherHeader, voucherAuditExpectation, type PdndVoucher } from '../../pdnd/voucher-verifier.js';
import { declaredPatterns } from './declared-patterns.js';
import { urlBelow } from './api-path.js';
import { modiHeaders, requestHeadersToForward, responseHeadersToReturn, type HeaderList } from './forwarded-headers.js';
import { problemAnswer, type GatewayAnswer } from './gateway-answer.js';
import { headersForLog, loggedRequest, loggedResponse } from './logged-http.js';
import { pdndSigningKey, x509SigningKey } from './rest-signing-keys.js';
import type { GatewaySideDeps } from './gateway-side-deps.js';
import { checkRevocation, describeVerified } from './verified-message.js';

/** A consumer's call to a REST API provided here: `/rest/in/{name}/{version}{path}`. */
export interface InboundRestCall {
  readonly name: string;
  readonly version: string;
  readonly method: string;
  /** What follows the version in the path, with the query. */
  readonly path: string;
  /** The request line's target as received (for the log). */
  readonly target: string;
  /** Headers with their multiplicity (Node's headersDistinct). */
  readonly headers: Record<string, string[] | undefined>;
  readonly body: Buffer;
  /** Over mutual TLS: the peer the client certificate proved; its parties are the only consumers it may carry. */
  readonly transport?: TransportIdentity | undefined;
}

export interface RestProviderDeps extends GatewaySideDeps {
  /** Connections to the back offices' APIs. */
  readonly upstream: Dispatcher;
}

/**
 * Erogazione: verifies a consumer's request (PDND voucher, then the ModI tokens, certificates with the
 * node's trust and revocation, the jti once), forwards it to the back office's API, signs the response
 * (bound to the request's Digest), logs both and answers. Every refusal is the guidelines' generic
 * problem+json (400 / 409), its precise code in the log and, for a collaudo API (`disclose`), in the body.
 */
export class RestProvider {
  constructor(private readonly deps: RestProviderDeps) {}

  async handle(call: InboundRestCall): Promise<GatewayAnswer> {
    const { deps } = this;
    const createdAt = deps.clock.now();
    const id = randomUUID();
    let api: RestServiceConfig | undefined;
    let consumer: string | undefined;
    let voucher: PdndVoucher | undefined;
    const facts: Record<string, unknown> = { method: call.method };
    let response: { status: number; headers: HeaderList; body: Buffer } | undefined;
    /** Until the consumer is verified its body is not kept whole: anyone may send 10 MiB of junk to be refused. */
    let authenticated = false;
    try {
      api = deps.directory.provided(call.name, call.version);
      if (call.body.length > api.api.maxBodyBytes)
        throw new ApiError(
          'TRAMITE_ERR_REST_BODY_TOO_LARGE',
          413,
          `the body has ${call.body.length} bytes; ${api.name} takes at most ${api.api.maxBodyBytes}`,
        );
      // The cheap refusal first: a path that climbs out of the back office's API is not worth a signature check.
      const upstreamUrl = urlBelow(api.api.upstream!.url, call.path);
      const declared = declaredPatterns(api.api);
      if (api.api.pdnd) {
        if (!deps.pdnd) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', 'no PDND is configured (top-level pdnd)');
        const p = api.api.pdnd;
        voucher = await verifyVoucherHeader(call.headers, {
          keys: deps.pdnd.jwks,
          issuer: deps.pdnd.settings.issuer,
          audience: p.audience,
          purposes: p.purposes,
          ...(p.producerId !== undefined ? { producerId: p.producerId } : {}),
          ...(p.eserviceId !== undefined ? { eserviceId: p.eserviceId } : {}),
          ...(p.descriptorId !== undefined ? { descriptorId: p.descriptorId } : {}),
          skewSeconds: deps.skewSeconds,
          clock: deps.clock,
        });
        facts['purposeId'] = voucher.purposeId;
        facts['voucherJti'] = voucher.jti;
        facts['clientId'] = voucher.clientId;
        if (voucher.consumerId !== undefined) facts['consumerId'] = voucher.consumerId;
      }
      const bound: { party?: string } = {};
      const verified = await verifyModiRestMessage(
        { headers: call.headers, body: call.body },
        {
          ...(declared.voucher ? {} : { idAuth: declared.idAuth }),
          ...(declared.integrity ? { integrity: declared.integrity } : {}),
          ...(declared.audit ? { audit: this.auditExpectation(declared.audit, api, voucher) } : {}),
          emptyBody: declared.emptyRequestBody,
          // With a voucher in Authorization, ID_AUTH_REST_02's single-use jti is the integrity token's: required.
          ...(declared.voucher && declared.idAuth === 'ID_AUTH_REST_02' ? { integrityJti: 'require' as const } : {}),
        },
        {
          at: deps.clock.now(),
          skewSeconds: deps.skewSeconds,
          audience: api.api.audience,
          trust: deps.registry.current().auditTrust(),
          ...(deps.pdnd && (declared.integrity === 'INTEGRITY_REST_02' || declared.audit === 'AUDIT_REST_02')
            ? { keyByKid: (kid: string) => deps.pdnd!.keysFor(api!.provider).keyByKid(kid) }
            : {}),
          bindSigner: (cert) => {
            const party = this.consumerOf(cert, api!, call.transport);
            if (bound.party !== undefined && bound.party !== party)
              throw new ModiRestError(
                'TRAMITE_ERR_MODI_REST_BINDING',
                'token',
                `the message's tokens are signed for ${bound.party} and for ${party}`,
              );
            bound.party = party;
          },
          ...(voucher
            ? { bindKid: (kid: string, claims: RestTokenClaims) => this.bindToVoucher(kid, claims, voucher!, api!.provider) }
            : {}),
          replay: deps.replay,
        },
      );
      await checkRevocation(deps.revocation, verified, 'REST token signer');
      authenticated = true;
      consumer = bound.party ?? (voucher ? `pdnd:${voucher.clientId}` : undefined);
      Object.assign(facts, describeVerified(verified));
      const res = await this.forward(api, call, upstreamUrl, id, consumer, verified);
      const signed = await this.signResponse(api, res, verified, voucher);
      response = { status: res.status, headers: signed, body: res.body };
      facts['httpStatus'] = res.status;
      await this.record(id, api, consumer ?? 'unknown', createdAt, 'DISPATCHED', call, response, facts);
      this.trace(api, voucher, res.status);
      return { status: res.status, headers: [...signed, ['tramite-exchange-id', id]], body: res.body };
    } catch (err) {
      const answer = problemAnswer(err, { direction: 'request', disclose: api?.api.disclose ?? false });
      deps.log.warn(
        { exchange: id, api: api?.name ?? call.name, consumer, code: answer.code, err: (err as Error).message },
        'REST request refused',
      );
      if (api)
        await this.record(
          id,
          api,
          consumer ?? (voucher ? `pdnd:${voucher.clientId}` : 'unknown'),
          createdAt,
          'FAILED',
          authenticated ? call : { ...call, body: Buffer.alloc(0) },
          answer,
          {
            ...facts,
            ...(authenticated
              ? {}
              : { requestBody: { bytes: call.body.length, sha256: createHash('sha256').update(call.body).digest('hex') } }),
            httpStatus: answer.status,
            error: { code: answer.code, message: (err as Error).message },
          },
        ).catch((logErr: unknown) => deps.log.error({ exchange: id, err: (logErr as Error).message }, 'REST exchange not logged'));
      if (api) this.trace(api, voucher, answer.status);
      return { status: answer.status, headers: [...answer.headers, ['tramite-exchange-id', id]], body: answer.body };
    }
  }

  /**
   * INTEGRITY_REST_02 / AUDIT_REST_02: a kid-signed token speaks for the voucher's client only — it names
   * that client as iss and sub (the reference: iss = sub = client_id), and its kid is one of that client's
   * own keys on PDND, not any key PDND knows.
   */
  private async bindToVoucher(kid: string, claims: RestTokenClaims, voucher: PdndVoucher, provider: string): Promise<void> {
    if (
      claims.iss !== voucher.clientId ||
      claims.sub !== voucher.clientId ||
      (claims['client_id'] !== undefined && claims['client_id'] !== voucher.clientId)
    )
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_BINDING',
        'token',
        `the token signed with PDND key ${kid} does not name the voucher's client ${voucher.clientId} as iss and sub`,
      );
    if (!(await this.deps.pdnd!.keysFor(provider).isKeyOf(voucher.clientId, kid)))
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_BINDING',
        'token',
        `PDND key ${kid} is not a key of the voucher's client ${voucher.clientId}`,
      );
  }

  private auditExpectation(
    pattern: NonNullable<ReturnType<typeof declaredPatterns>['audit']>,
    api: RestServiceConfig,
    voucher: PdndVoucher | undefined,
  ): AuditExpectation {
    const base = voucher ? voucherAuditExpectation(voucher, pattern) : { pattern };
    return { ...base, requiredClaims: api.api.audit.claims };
  }

  /**
   * The consumer party an X.509 signer is: one of the API's consumers (or of the parties the peers
   * host) that the certificate signs for (by the configured signers, or the CN rule, as for envelopes);
   * over mutual TLS it must also be a party of the peer whose client certificate opened the connection.
   */
  private consumerOf(cert: X509Certificate, api: RestServiceConfig, transport: TransportIdentity | undefined): string {
    const registry = this.deps.registry.current();
    const candidates = api.consumers ?? registry.config.peers.flatMap((p) => [...p.parties]);
    const party = candidates.find((code) => registry.signerIsParty(cert, code));
    if (!party)
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_BINDING',
        'Authorization',
        `${cert.subject.replace(/\n/g, ', ')} signs for no consumer of ${api.name} ${api.api.version}`,
      );
    if (transport && !transport.parties.has(party))
      throw new ModiRestError(
        'TRAMITE_ERR_MODI_REST_BINDING',
        'Authorization',
        `${party} is not hosted by ${transport.peer}, whose TLS client certificate (${transport.certificate}) carried the request`,
      );
    return party;
  }

  private async forward(
    api: RestServiceConfig,
    call: InboundRestCall,
    url: string,
    id: string,
    consumer: string | undefined,
    verified: VerifiedModiRest,
  ) {
    const upstream = api.api.upstream!;
    const auditClaims = verified.audit ? auditClaimsOf(verified.audit.claims) : undefined;
    const headers: HeaderList = [
      ...requestHeadersToForward(call.headers),
      ['tramite-exchange-id', id],
      ...(consumer !== undefined ? [['tramite-consumer', consumer] as [string, string]] : []),
      ...(auditClaims ? [['tramite-audit', JSON.stringify(auditClaims)] as [string, string]] : []),
    ];
    try {
      const res = await request(url, {
        dispatcher: this.deps.upstream,
        method: call.method as 'GET',
        headers: headers.flat(),
        ...(call.body.length > 0 ? { body: call.body } : {}),
        headersTimeout: upstream.timeoutMs,
        bodyTimeout: upstream.timeoutMs,
        // The whole answer within timeoutMs: a back office that drips its body cannot hold the call longer.
        signal: AbortSignal.timeout(upstream.timeoutMs),
      });
      const body = await readBoundedBody(res.body, {
        maxBytes: api.api.maxBodyBytes,
        source: `the back office at ${url}`,
        declaredLength: res.headers['content-length'],
      });
      return { status: res.statusCode, headers: res.headers, body };
    } catch (cause) {
      const timeout =
        /timeout|aborted/i.test((cause as Error).message) ||
        (cause as { code?: string; name?: string }).code?.includes('TIMEOUT') ||
        (cause as Error).name === 'TimeoutError';
      throw new ApiError(
        'TRAMITE_ERR_REST_UPSTREAM',
        timeout ? 504 : 502,
        `the back office of ${api.name} at ${url} ${timeout ? `did not answer within ${upstream.timeoutMs} ms` : `failed: ${(cause as Error).message}`}`,
        { cause },
      );
    }
  }

  /** The response headers: those passed back from the back office, and the provider's integrity token bound to the request. */
  private async signResponse(
    api: RestServiceConfig,
    res: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
    verified: VerifiedModiRest,
    voucher: PdndVoucher | undefined,
  ): Promise<HeaderList> {
    const passed = responseHeadersToReturn(res.headers);
    const declared = declaredPatterns(api.api);
    if (!declared.integrity) return passed;
    const hosted = this.deps.registry.current().hostedParty(api.provider)!;
    const byKid = declared.integrity === 'INTEGRITY_REST_02';
    const key = byKid ? pdndSigningKey(hosted.pdnd!.client) : x509SigningKey(hosted.identity);
    const issuer = byKid ? hosted.pdnd!.client.clientId : api.provider;
    const requester = verified.integrity?.claims.iss ?? verified.idAuth?.claims.iss ?? voucher?.clientId;
    const contentHeaders = Object.fromEntries(passed.filter(([n]) => n === 'content-type' || n === 'content-encoding'));
    const signed = await buildModiRestResponseHeaders(
      {
        audience: requester ?? api.api.audience,
        issuer,
        subject: issuer,
        now: this.deps.clock.now(),
        ttlSeconds: api.api.tokenLifetimeSeconds,
        body: res.body,
        headers: contentHeaders,
        // A response bound to its request is signed even when empty: the consumer requires the binding.
        signEmptyBody: verified.digest !== undefined,
      },
      { integrity: declared.integrity, ...(verified.digest !== undefined ? { requestDigest: verified.digest } : {}) },
      key,
    );
    return [
      ...passed.filter(([n]) => n !== 'content-type' && n !== 'content-encoding'),
      ...Object.entries(signed.headers).map(([n, v]): [string, string] => [n.toLowerCase(), v]),
    ];
  }

  private async record(
    id: string,
    api: RestServiceConfig,
    consumer: string,
    createdAt: Date,
    status: 'DISPATCHED' | 'FAILED',
    call: InboundRestCall,
    response: { status: number; headers: HeaderList; body: Buffer } | undefined,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const received = headersForLog([...requestHeadersToForward(call.headers), ...modiHeaders(call.headers)], api.api.pdnd !== undefined);
    await this.deps.exchanges.recordRestExchange({
      id,
      direction: 'in',
      from: consumer,
      to: api.provider,
      service: api.name,
      version: api.api.version,
      createdAt: createdAt.toISOString(),
      status,
      request: loggedRequest(call.method, call.target, received, call.body),
      ...(response ? { response: loggedResponse(response.status, headersForLog(response.headers, false), response.body) } : {}),
      detail,
    });
  }

  private trace(api: RestServiceConfig, voucher: PdndVoucher | undefined, status: number): void {
    const { pdnd } = this.deps;
    const tenant = pdnd?.tenantOf(api.provider);
    if (!pdnd || !tenant || !voucher) return;
    // Not awaited: the exchange is answered whatever the count; a count the store refused is told.
    void pdnd.ledger
      .record({ tenant, at: this.deps.clock.now(), purposeId: voucher.purposeId, status, voucherJti: voucher.jti })
      .catch((err: unknown) =>
        this.deps.log.warn({ tenant, err: (err as Error).message }, 'PDND traffic not counted in the tracing ledger'),
      );
  }
}

/** The audit claims the back office is told about (not the token's own iat/exp/jti…). */
function auditClaimsOf(claims: RestTokenClaims): Record<string, unknown> {
  const { iss: _i, sub: _s, aud: _a, iat: _t, nbf: _n, exp: _e, jti: _j, dnonce: _d, ...rest } = claims;
  return rest;
}
